#!/usr/bin/env bash
# The main demo: a Linux peer in a network namespace talks UDP to a
# kernel-bypass application through the simulated NIC (nsim), and every step
# is explained. Needs root (it creates a namespace and a TAP device), installs
# what is missing, builds, and removes everything it created on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: needs root: it creates a network namespace and a TAP device" >&2
  exit 1
fi
preset=${NORMAN_PRESET:-ci}
echo "Building nsim and the demo (first time: several minutes) ..."
scripts/build.sh --target nsim norman-demo >/dev/null
bin=build/$preset

ns=norman-demo-peer
tap=ndemo0
tmp=$(mktemp -d)
nsim_pid=
cleanup() {
  [[ -n $nsim_pid ]] && kill "$nsim_pid" 2>/dev/null && wait "$nsim_pid" 2>/dev/null
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
[[ -S $tmp/nsim.sock ]] || { echo "demo: nsim did not start" >&2; cat "$tmp/nsim.log" >&2; exit 1; }
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

"$bin/tools/norman-demo" --socket "$tmp/nsim.sock" --peer-ns "$ns" \
  --peer-ip 10.11.0.1 --nic-ip 10.11.0.2 --nic-mac 02:00:00:00:00:02
