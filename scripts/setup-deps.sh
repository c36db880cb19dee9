#!/usr/bin/env bash
# Install the Debian 12 packages Norman needs, if any are missing. Idempotent.
set -euo pipefail

# clang and libclang-rt-14-dev (libFuzzer, ASan, UBSan): the fuzz targets.
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3
  verilator
  libdpdk-dev dpdk
  libgtest-dev libgmock-dev
  libboost-dev libboost-system-dev
  libpcap-dev libbpf-dev
  libcli11-dev nlohmann-json3-dev libmnl-dev
  iproute2 iptables tcpdump socat iputils-ping procps
  ipset conntrack
  clang libclang-rt-14-dev
)

# node (and npm, which nodesource builds bundle): the synthesis check (hw/synth) runs a pinned WebAssembly
# Yosys from npm (Debian's Yosys is too old to read the RTL).
PACKAGES+=(nodejs)

# The pinned Yosys, installed from hw/synth/package-lock.json into
# hw/synth/node_modules (gitignored) when missing or out of date.
install_synth_yosys() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/hw/synth"
  if ! command -v npm >/dev/null; then
    echo "setup-deps: no npm; the synthesis check (hw/synth) needs it: apt-get install npm" >&2
    return 0
  fi
  if [[ ! -f $dir/node_modules/.package-lock.json ]] ||
    ! cmp -s <(sed -n '/"node_modules\//,$p' "$dir/package-lock.json") \
      <(sed -n '/"node_modules\//,$p' "$dir/node_modules/.package-lock.json"); then
    echo "setup-deps: installing the pinned Yosys (npm ci in hw/synth)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  install_synth_yosys
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup-deps: missing Debian packages: ${missing[*]}" >&2
  echo "setup-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "setup-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_synth_yosys
