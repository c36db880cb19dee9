#!/usr/bin/env bash
# Runs the demo scenario with already-built binaries: nsim with a net_tap port
# whose TAP device is moved into a fresh network namespace that plays the
# remote Linux host. Usage: run-demo.sh BUILD_DIR. Needs root; removes
# everything it created on exit. Exit 77 means "cannot run here" (skip).
set -euo pipefail
bin=${1:?usage: run-demo.sh BUILD_DIR}
if [[ $(id -u) -ne 0 ]]; then
  echo "run-demo: skipped: needs root (network namespace and TAP device)" >&2
  exit 77
fi
if ! command -v ip >/dev/null || ! command -v socat >/dev/null; then
  echo "run-demo: skipped: needs iproute2 and socat" >&2
  exit 77
fi

ns=${NORMAN_DEMO_NS:-norman-demo-peer}
tap=${NORMAN_DEMO_TAP:-ndemo0}
tmp=$(mktemp -d)
nsim_pid=
cleanup() {
  if [[ -n $nsim_pid ]]; then
    kill "$nsim_pid" 2>/dev/null || true
    wait "$nsim_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"

"$bin/sim/nsim" --socket "$tmp/nsim.sock" --port "net_tap0,iface=$tap" >"$tmp/nsim.log" 2>&1 &
nsim_pid=$!
for _ in $(seq 300); do
  [[ -S $tmp/nsim.sock ]] && ip link show "$tap" >/dev/null 2>&1 && break
  kill -0 "$nsim_pid" 2>/dev/null || { cat "$tmp/nsim.log" >&2; exit 1; }
  sleep 0.1
done
if ! [[ -S $tmp/nsim.sock ]]; then
  echo "run-demo: nsim did not start" >&2
  cat "$tmp/nsim.log" >&2
  exit 1
fi
echo "nsim is running the NIC's RTL under Verilator; its port 0 is a DPDK net_tap device."

# The TAP device is the peer's end of the simulated wire.
ip link set "$tap" netns "$ns"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"
ip netns exec "$ns" ip addr add 10.11.0.1/24 dev "$tap"
ip netns exec "$ns" ip link set "$tap" up
ip netns exec "$ns" ip link set lo up
# Until the control plane answers ARP through the host kernel, the peer knows
# the NIC's address statically.
ip netns exec "$ns" ip neigh replace 10.11.0.2 lladdr 02:00:00:00:00:02 dev "$tap" nud permanent
echo "Namespace $ns plays the remote host 10.11.0.1 with ordinary Linux networking."
echo

timeout 120 "$bin/tools/norman-demo" --socket "$tmp/nsim.sock" --peer-ns "$ns" \
  --peer-ip 10.11.0.1 --nic-ip 10.11.0.2 --nic-mac 02:00:00:00:00:02
