#!/usr/bin/env bash
# The Norman demo, end to end, with already-built binaries:
#   nsim (the NIC's RTL under Verilator) with a net_tap port whose TAP device
#   is moved into a fresh network namespace that plays a remote Linux host;
#   normand (the control plane) owning the NIC and nic0; norman-echo-server
#   (a kernel-bypass application) running as an unprivileged user; a plain
#   Linux peer pinging and talking UDP to it; normanctl showing what normand
#   knows. Every step is checked and explained.
#
# Usage: run-demo.sh BUILD_DIR. Needs root. Removes everything it created on
# exit. Exit 0: every check passed; 1: a problem (explained); 77: cannot run
# here (skip).
# Environment: NORMAN_DEMO_NS (namespace, default norman-demo-peer),
# NORMAN_DEMO_TAP (nsim's TAP device, default ndemo0), NORMAN_DEMO_NIC
# (normand's TAP for the host kernel, default nic0).
set -uo pipefail

bin=${1:?usage: run-demo.sh BUILD_DIR}
if [[ $(id -u) -ne 0 ]]; then
  echo "run-demo: skipped: needs root (network namespace, TAP devices, running a program as another user)" >&2
  exit 77
fi
for tool in ip socat ping setpriv python3 timeout; do
  if ! command -v "$tool" >/dev/null; then
    echo "run-demo: skipped: needs $tool (scripts/setup-deps.sh installs the packages)" >&2
    exit 77
  fi
done
if [[ ! -c /dev/net/tun ]]; then
  echo "run-demo: skipped: no /dev/net/tun (TAP devices are not available here)" >&2
  exit 77
fi
bin=$(cd "$bin" 2>/dev/null && pwd) || { echo "run-demo: no such build directory: $1" >&2; exit 1; }
nsim=$bin/sim/nsim
normand=$bin/kernel/normand/normand
echo_server=$bin/runtime/norman-echo-server
normanctl=$bin/tools/normanctl
for b in "$nsim" "$normand" "$echo_server" "$normanctl"; do
  if [[ ! -x $b ]]; then
    echo "run-demo: $b is missing: build the targets nsim normand norman-echo-server normanctl" >&2
    exit 1
  fi
done

ns=${NORMAN_DEMO_NS:-norman-demo-peer}
tap=${NORMAN_DEMO_TAP:-ndemo0}
nic=${NORMAN_DEMO_NIC:-nic0}
peer_ip=10.11.0.1
nic_ip=10.11.0.2
nic_mac=02:00:00:00:00:02
port=7000
nobody=65534
message="hello from the Linux peer"

tmp=
nsim_pid=
normand_pid=
echo_pid=
ns_created=0

# --- helpers -----------------------------------------------------------------------

# Stops a process we started: SIGTERM (or $2), at most 5 s, then SIGKILL.
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  [[ -n $pid ]] || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$echo_pid" KILL
  stop_pid "$normand_pid"   # removes nic0 and its socket
  stop_pid "$nsim_pid"      # removes its TAP device
  if ((ns_created)); then ip netns del "$ns" 2>/dev/null || true; fi
  [[ -n $tmp ]] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
ok() { echo "   ok: $*"; }
problem() {
  echo "   PROBLEM: $*"
  failed=1
}
# Ends the demo now (something the rest depends on failed).
give_up() {
  problem "$*"
  for log in nsim normand echo-server; do
    if [[ -s $tmp/$log.log ]]; then
      echo "   --- last lines of $log's log:"
      tail -n 15 "$tmp/$log.log" | sed 's/^/   | /'
    fi
  done
  echo
  echo "Demo finished with problems (see above)."
  exit 1
}
indent() { sed 's/^/      /'; }
# json FILE EXPR: evaluates a Python expression over the JSON document d.
json() {
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2" 2>/dev/null
}
ctl() { timeout 20 "$normanctl" --socket "$tmp/normand.sock" "$@"; }
status_json() { ctl status --json >"$1" 2>"$tmp/normanctl.err"; }
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null; }

# A problem found before the demo could start.
cannot_start() {
  echo "run-demo: $*" >&2
  echo "Demo finished with problems (see above)."
  exit 1
}

# --- preconditions -----------------------------------------------------------------

if ip link show "$nic" >/dev/null 2>&1; then
  cannot_start "an interface named $nic already exists (another normand?);" \
    "stop it or pick another name with NORMAN_DEMO_NIC"
fi
if ip -4 route show to match "$peer_ip" 2>/dev/null | grep -qv '^default'; then
  cannot_start "this host already routes $peer_ip ($(ip -4 route show to match "$peer_ip" | grep -v '^default' | head -1));" \
    "the demo's 10.11.0.0/24 would clash with it"
fi
ip netns del "$ns" 2>/dev/null || true
if ! ip netns add "$ns" 2>/dev/null; then
  echo "run-demo: skipped: cannot create network namespace $ns here" >&2
  exit 77
fi
ns_created=1
tmp=$(mktemp -d /tmp/norman-demo.XXXXXX)
# The echo server runs as nobody and must reach normand's socket in here.
chmod 0755 "$tmp"
if ! setpriv --reuid=$nobody --regid=$nobody --clear-groups test -x "$echo_server"; then
  cannot_start "user nobody (uid $nobody) cannot run $echo_server: build in a directory" \
    "everyone can read (not under /root, for example)"
fi

echo "Norman demo: a kernel-bypass UDP echo server behind a simulated SmartNIC, a real"
echo "Linux peer talking to it, and the operating system still in charge of the NIC."
echo

# --- 1. the NIC --------------------------------------------------------------------

echo "1. Start the NIC"
"$nsim" --socket "$tmp/nsim.sock" --port "net_tap0,iface=$tap" >"$tmp/nsim.log" 2>&1 &
nsim_pid=$!
for _ in $(seq 300); do
  [[ -S $tmp/nsim.sock ]] && ip link show "$tap" >/dev/null 2>&1 && break
  kill -0 "$nsim_pid" 2>/dev/null || break
  sleep 0.1
done
if ! [[ -S $tmp/nsim.sock ]] || ! ip link show "$tap" >/dev/null 2>&1; then
  give_up "nsim did not start within 30 s"
fi
if ! { ip link set "$tap" netns "$ns" &&
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" &&
  ip netns exec "$ns" ip addr add "$peer_ip/24" dev "$tap" &&
  ip netns exec "$ns" ip link set "$tap" up &&
  ip netns exec "$ns" ip link set lo up; }; then
  give_up "cannot set up $tap in namespace $ns"
fi
peer_mac=$(ip netns exec "$ns" cat "/sys/class/net/$tap/address")
echo "   nsim (pid $nsim_pid) runs the NIC's SystemVerilog under Verilator, as its own process."
echo "   The NIC's Ethernet port 0 is a DPDK net_tap device, $tap, now moved into a fresh"
echo "   network namespace, $ns. That namespace plays a remote Linux host:"
echo "   $peer_ip/24, MAC $peer_mac, ordinary Linux networking, and no static ARP entry:"
echo "   it must ask with ARP like any host."
echo

# --- 2. the control plane ----------------------------------------------------------

echo "2. Start the control plane"
"$normand" --socket "$tmp/normand.sock" --nsim-socket "$tmp/nsim.sock" --tap "$nic" \
  --address "$nic_ip/24" --mac "$nic_mac" >"$tmp/normand.log" 2>&1 &
normand_pid=$!
for _ in $(seq 200); do
  [[ -S $tmp/normand.sock ]] && ip link show "$nic" >/dev/null 2>&1 && break
  kill -0 "$normand_pid" 2>/dev/null || break
  sleep 0.1
done
if ! [[ -S $tmp/normand.sock ]] || ! ip link show "$nic" >/dev/null 2>&1; then
  give_up "normand did not start within 20 s"
fi
# Keeps the counters below easy to read: no IPv6 chatter from the host kernel.
sysctl -qw "net.ipv6.conf.$nic.disable_ipv6=1" 2>/dev/null || true
echo "   normand (pid $normand_pid, root) owns the NIC: it is the only program that configures it."
echo "   It created $nic ($nic_mac, $nic_ip/24), the host kernel's view of the NIC port,"
echo "   and serves applications on $tmp/normand.sock."
echo "   Traffic that no application's connection claims (ARP, ping, ...) reaches the host kernel"
echo "   through $nic, and the kernel's answers go back out through the NIC: the fallback path."
status_json "$tmp/status0.json" || give_up "normanctl status failed: $(cat "$tmp/normanctl.err")"
dma_base=$(json "$tmp/status0.json" 'd["dma_bytes"]')
echo

# --- 3. the application ------------------------------------------------------------

echo "3. Start a kernel-bypass application as an unprivileged user"
setpriv --reuid=$nobody --regid=$nobody --clear-groups \
  "$echo_server" --port "$port" --blocking --normand-socket "$tmp/normand.sock" \
  >"$tmp/echo-server.log" 2>&1 &
echo_pid=$!
for _ in $(seq 100); do
  grep -q "listening" "$tmp/echo-server.log" 2>/dev/null && break
  kill -0 "$echo_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "listening" "$tmp/echo-server.log" || give_up "norman-echo-server did not start within 10 s"
echo "   norman-echo-server (pid $echo_pid) runs as uid $nobody (nobody), with no privileges."
echo "   It asked normand for a UDP socket on port $port and got its own RX and TX rings in"
echo "   shared memory, which the NIC fills and drains by DMA: no system call per packet."
echo "   It runs in blocking mode: when idle it sleeps until the NIC raises an interrupt."
echo "   It says:"
head -n 1 "$tmp/echo-server.log" | indent
echo

# --- 4. what normand knows ---------------------------------------------------------

echo "4. Ask normand what it knows: normanctl status"
ctl status >"$tmp/status1.txt" 2>&1 || give_up "normanctl status failed: $(cat "$tmp/status1.txt")"
sed -n '/^Connections/,/^$/p' "$tmp/status1.txt" | sed '/^$/d' | indent
status_json "$tmp/status1.json" || give_up "normanctl status --json failed: $(cat "$tmp/normanctl.err")"
sel='[c for c in d["connections"] if c["local_port"] == '$port']'
owner_uid=$(json "$tmp/status1.json" "${sel}[0]['owner']['uid']")
owner_pid=$(json "$tmp/status1.json" "${sel}[0]['owner']['pid']")
owner_comm=$(json "$tmp/status1.json" "${sel}[0]['owner']['comm']")
conn_id=$(json "$tmp/status1.json" "${sel}[0]['conn_id']")
echo "   normand learned the owner from the kernel, not from the application: uid and pid are the"
echo "   socket's peer credentials (SO_PEERCRED), command and cgroup come from /proc/$echo_pid"
echo "   (the kernel keeps the first 15 characters of a command's name)."
echo "   The NIC has the same owner in its connection table, so rules can match on it."
if [[ $owner_uid == "$nobody" && $owner_pid == "$echo_pid" && $owner_comm == norman-echo-se* ]]; then
  ok "connection $conn_id (port $port) belongs to uid $owner_uid, pid $owner_pid, command $owner_comm"
else
  problem "expected connection on port $port owned by uid $nobody pid $echo_pid, got uid '$owner_uid' pid '$owner_pid' command '$owner_comm'"
fi
echo

# --- 5. traffic from the Linux peer -----------------------------------------------

echo "5. Traffic from the Linux peer"
cpu0=$(cpu_ticks "$echo_pid")
t0=$(date +%s%N)
echo "   In namespace $ns: ping -c 2 $nic_ip"
ip netns exec "$ns" timeout 15 ping -c 2 -W 3 "$nic_ip" >"$tmp/ping.txt" 2>&1
ping_rc=$?
indent <"$tmp/ping.txt"
echo "   No application listens for ping. The NIC found no connection for the peer's ARP request"
echo "   and ICMP echo requests and handed them to normand's fallback path; the host kernel"
echo "   answered on $nic, and normand sent the answers out through the NIC."
if ((ping_rc == 0)) && grep -q " 2 received" "$tmp/ping.txt"; then
  ok "both pings answered by the host kernel"
else
  problem "ping was not answered (exit $ping_rc)"
fi
echo
echo "   In namespace $ns, socat (a plain Linux UDP client) sends"
echo "   \"$message\" to $nic_ip:$port and prints what comes back:"
reply=$(printf '%s' "$message" |
  ip netns exec "$ns" timeout 15 socat -t 3 - "UDP4:$nic_ip:$port,sourceport=5555" 2>"$tmp/socat.err")
echo "      received: \"$reply\""
echo "   The NIC matched the datagram to connection $conn_id and wrote it straight into the echo"
echo "   server's RX ring, then woke it with an interrupt. The server wrote the reply into its TX"
echo "   ring and rang its doorbell; the NIC checked that the headers match the connection (no"
echo "   forged address or port) and sent it."
if [[ $reply == "$message" ]]; then
  ok "the echo came back unchanged"
else
  problem "expected the echo \"$message\", got \"$reply\" $(head -c 200 "$tmp/socat.err")"
fi
# Let the server go back to sleep before its CPU time is read.
sleep 1
cpu1=$(cpu_ticks "$echo_pid")
t1=$(date +%s%N)
echo

# --- 6. behind the scenes ---------------------------------------------------------

echo "6. Behind the scenes"
echo "   The host kernel's neighbor table on $nic (ip neigh show dev $nic):"
ip neigh show dev "$nic" | indent
neigh_mac=$(ip neigh show "$peer_ip" dev "$nic" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
echo "   To send its reply, the echo server needed the peer's MAC. It never sends ARP itself (the"
echo "   NIC would refuse raw ARP from it): it asked normand, which asked the host kernel, which"
echo "   resolved it on $nic through the fallback path. normanctl neigh $peer_ip asks the same:"
ctl neigh "$peer_ip" 2>&1 | indent
if [[ $neigh_mac == "$peer_mac" ]]; then
  ok "the kernel knows $peer_ip is at $peer_mac, the peer's MAC"
else
  problem "the kernel's neighbor entry for $peer_ip on $nic is '$neigh_mac', expected $peer_mac"
fi
echo
status_json "$tmp/status2.json" || give_up "normanctl status failed: $(cat "$tmp/normanctl.err")"
if [[ -n $cpu0 && -n $cpu1 ]]; then
  hz=$(getconf CLK_TCK)
  cpu_ms=$(((cpu1 - cpu0) * 1000 / hz))
  wall_ms=$(((t1 - t0) / 1000000))
  echo "   The echo server's CPU time during those $wall_ms ms (from /proc/$echo_pid/stat): $cpu_ms ms."
  echo "   It slept on the NIC's interrupt instead of spinning on its RX ring."
  if ((cpu_ms * 10 <= wall_ms)); then
    ok "the blocked server used ${cpu_ms} ms of CPU in $wall_ms ms (a busy-polling one would use all of it)"
  else
    problem "the echo server used $cpu_ms ms of CPU in $wall_ms ms: it did not sleep"
  fi
else
  problem "cannot read the echo server's CPU time from /proc/$echo_pid/stat"
fi
echo
ctl status >"$tmp/status2.txt" 2>&1
echo "   The fallback bridge's counters (normanctl status):"
sed -n '/^Fallback bridge/,/^$/p' "$tmp/status2.txt" | sed 1d | sed '/^$/d' | indent
fb_in=$(json "$tmp/status2.json" 'd["fallback"]["to_kernel_frames"]')
fb_out=$(json "$tmp/status2.json" 'd["fallback"]["from_kernel_frames"]')
if ((${fb_in:-0} >= 3 && ${fb_out:-0} >= 3)); then
  ok "the ARP request and both pings went to the kernel ($fb_in frames), its answers out ($fb_out frames)"
else
  problem "the fallback bridge carried too little: $fb_in frames to the kernel, $fb_out from it"
fi
echo "   The NIC's own counters:"
sed -n '/^NIC counters/,$p' "$tmp/status2.txt" | sed 1d | indent
early=$(json "$tmp/status0.json" 'd["nic_counters"]["rx_drop_no_queue"]')
if ((${early:-0} > 0)) && [[ $early == $(json "$tmp/status2.json" 'd["nic_counters"]["rx_drop_no_queue"]') ]]; then
  echo "   (rx_drop_no_queue: $early frame(s) reached the NIC before normand had configured it; the"
  echo "   peer's interface sends IPv6 announcements as it comes up. Dropped, but counted.)"
fi
delivered=$(json "$tmp/status2.json" 'd["nic_counters"]["rx_delivered_conn"]')
spoof=$(json "$tmp/status2.json" 'd["nic_counters"]["tx_drop_spoof"]')
if [[ $(json "$tmp/status2.json" 'd["rx_balanced"]') == true && ${delivered:-0} -ge 1 && $spoof == 0 ]]; then
  ok "every frame the NIC received is accounted for; $delivered went to an application, no forged TX"
else
  problem "NIC counters: rx_balanced=$(json "$tmp/status2.json" 'd.get("rx_balanced")'), rx_delivered_conn=$delivered, tx_drop_spoof=$spoof"
fi
echo

# --- 7. the application dies -------------------------------------------------------

echo "7. Kill the application (SIGKILL: it gets no chance to clean up)"
kill -KILL "$echo_pid" 2>/dev/null
wait "$echo_pid" 2>/dev/null
killed_pid=$echo_pid
echo_pid=
reclaimed=0
for _ in $(seq 50); do
  if status_json "$tmp/status3.json" &&
    [[ $(json "$tmp/status3.json" "len([c for c in d['connections'] if c.get('owner', {}).get('pid') == $killed_pid])") == 0 &&
      $(json "$tmp/status3.json" 'len(d["nqs"])') == 0 ]]; then
    reclaimed=1
    break
  fi
  sleep 0.1
done
ctl status >"$tmp/status3.txt" 2>&1
sed -n '/^Connections/,/^$/p;/^Notification queues/,/^$/p;/^DMA memory/p' "$tmp/status3.txt" | sed '/^$/d' | indent
if grep -q "detached.*pid $killed_pid " "$tmp/normand.log"; then
  echo "   normand's log says:"
  grep "detached.*pid $killed_pid " "$tmp/normand.log" | tail -n 1 | indent
fi
dma_after=$(json "$tmp/status3.json" 'd["dma_bytes"]')
echo "   The kernel closed the dead process's control socket; normand noticed, removed its"
echo "   connection from the NIC and freed its rings: nothing leaks when an application crashes."
if ((reclaimed)) && [[ $dma_after == "$dma_base" ]]; then
  ok "connection $conn_id and its queue are gone; DMA memory is back to $dma_after bytes (the fallback path's own)"
else
  problem "after the kill normand still holds the application's resources (DMA $dma_after bytes, $dma_base before it started)"
fi
echo

if ((failed)); then
  echo "Demo finished with problems (see above)."
  exit 1
fi
echo "Demo finished: everything behaved as described."
exit 0
