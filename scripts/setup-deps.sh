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
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
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
