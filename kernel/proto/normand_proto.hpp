// The normand control protocol, defined once and used by normand (kernel/),
// libnorman (runtime/) and the tools.
//
// Transport: a UNIX SOCK_SEQPACKET socket (default kDefaultSocketPath, mode
// 0666: anyone may connect, normand decides from the peer credentials what
// each client may do). One datagram = one message = a JSON object (UTF-8,
// at most kMaxMessageBytes), with file descriptors attached as SCM_RIGHTS.
//
// Requests:   {"op": "<Op>", "seq": N, ...arguments}
// Responses:  {"seq": N, "ok": true, ...results, "fds": ["what", ...]}
//         or  {"seq": N, "ok": false, "errno": 98, "error": "EADDRINUSE",
//              "message": "10.11.0.2:7000 is already in use by ..."}
// "fds" names the attached descriptors in order. Responses come in request
// order; a client sends one request at a time.
//
// Ops (arguments -> results); every id a client names must be its own:
//   auth       {}                              -> {nonce}
//   auth       {nonce}                         -> {pid, uid, gid, comm, cgroup,
//              caps: ["CAP_NET_RAW", ...], initial_userns}
//              The identity handshake (docs/security.md): the first auth makes
//              normand read the peer's identity from /proc (capabilities, user
//              namespace, comm, cgroup) and answer a fresh random nonce; the
//              second must carry that nonce and come from the very process
//              that connected (the kernel attaches its pid, SO_PASSCRED). Only
//              then do capabilities count: the process answered with code that
//              ran after the read, so it had not exec'd a file-capability
//              binary before it. Without auth a session has the rights of its
//              uid (root or not) and no capabilities. Before hello only;
//              ctl::Client::connect does it for every client.
//   hello      {version}                       -> {version, pid, uid, gid, comm,
//              cgroup, cmd_id, cgroup_class, nic: {mac, ip, prefix_len, port,
//              num_ports, build_id}, doorbell: "nsim-mmio"}; fds: ["doorbells"]
//              (the client's doorbell channel; pages are granted to it as the
//              client opens connections and queues). Must be the first request.
//   nq_open    {log2}                          -> {nq_id, log2, db_page, bytes};
//              fds: ["ring", "irq"] (the ring memfd, mmap it; an eventfd the
//              NIC's interrupt for this queue writes, arm via the ARM doorbell)
//   nq_close   {nq_id}                         -> {}
//   udp_open   {nq_id, local_ip?, local_port?, remote_ip?, remote_port?,
//              rx_log2?, tx_log2?, notify_tx?, raw?, broadcast?}
//              -> {conn_id, local_ip, local_port, remote_ip, remote_port, mac,
//                  db_page, rx_log2, tx_log2, layout: {rx_off, tx_desc_off,
//                  tx_data_off, bytes}}; fds: ["ring"]
//              Without remote_ip/remote_port it listens (any remote); with both
//              it is connected. local_ip defaults to the NIC address, local_port
//              0 picks an ephemeral port. raw (TX headers unchecked) needs root
//              or CAP_NET_RAW. broadcast (as SO_BROADCAST) lets the connection
//              send to 255.255.255.255 and nic0's subnet broadcast address;
//              without it the NIC drops such datagrams (TX_DROP_BROADCAST).
//   close      {conn_id}                       -> {}
//   neigh      {ip}                            -> {ip, mac} (resolved by the
//              host kernel on nic0; EHOSTUNREACH if nobody answers)
//   filter_get {}                              -> {generation, entries, capacity};
//              fds: ["ruleset"] (a sealed memfd holding the filter table as
//              JSON, norman::filter::Ruleset, with current counters)
//   filter_cmd {command}                       -> {result, generation}: one
//              nfw command (norman::filter::Command JSON); result is -C's answer
//   filter_replace {counters, [generation], [test]}; fds: ["ruleset"] (memfd, JSON)
//                                              -> {generation}: the whole table,
//              atomically (nfw-restore); EAGAIN if `generation` is given and the
//              table changed since; with test: true only checks it (compiles and
//              places it, installs nothing: nfw-restore --test). Every filter op needs root or
//              CAP_NET_ADMIN (EPERM) and works without hello.
//   cap_open   {program: [[code, jt, jf, k], ...], interface: "nic0"|"nic1"|..|"any",
//              in, out, snaplen, log2?, uid?, pid?, comm?, cgroup?}
//              -> {capture_id, log2, slot_bytes, header_bytes, in_subset,
//                  clock: {ref_cycles, ref_ns, ns_per_cycle}}; fds: ["ring"]
//              A capture session on the NIC (docs/capture.md, "normand's
//              capture service"): the program is pcap_compile's for DLT_EN10MB
//              (bpf_validate must accept it), snaplen 0 is the whole frame;
//              uid/pid/comm/cgroup are owner filters (cgroup matches the path
//              and everything under it). The ring (2^log2 CAPTURE_REC slots) is
//              a read-only descriptor of memory the NIC writes: mmap it
//              PROT_READ, MAP_SHARED. Needs root or CAP_NET_RAW in the initial
//              user namespace (EPERM); EBUSY when every NIC session is taken,
//              EDQUOT above the per-user limit, EOPNOTSUPP when the NIC has no
//              capture overlay, EAGAIN while the NIC still clears the owner
//              bits of a capture that ended (retry).
//   cap_stats  {capture_id}                    -> {matched, captured, dropped,
//              clock}: the NIC's exact counts since cap_open
//   cap_cons   {capture_id, cons}              -> {clock}: the reader's
//              free-running consumer index (16 bits): slots before it may be
//              reused by the NIC
//   cap_owner  {conn_id}                       -> {conn_id, fallback: true} for
//              conn 0 (host-kernel traffic through nic0: no owner), else
//              {conn_id, uid, gid, pid, comm, cgroup}; ENOENT if no such open
//              connection. Needs the rights of cap_open.
//   cap_close  {capture_id}                    -> {matched, captured, dropped}:
//              ends the session (so does closing the control connection)
//              Every cap_* op works without hello; every capture_id must be the
//              caller's own (ENOENT otherwise).
//   sets       {args: ["add", "blocklist", "192.0.2.7"], ...}; fds: ["input"]
//              (restore only: the text to restore, as a JSON string in a memfd)
//                                              -> {status}; fds: ["result"] (a
//              sealed memfd: {status, out, err}, what ipset would exit with and
//              print): one ipset command line (nipset's) run against the sets
//              normand keeps (docs/sets.md), all or nothing. Needs root or
//              CAP_NET_ADMIN (EPERM); works without hello. -file is refused
//              (nipset reads and writes files itself).
//   status     {}                              -> {clients, connections:[...],
//              nqs, dma_bytes, fallback: {...}, nic_counters: {...},
//              rx_balanced} (root sees every owner; others see only their own
//              connections in detail; the NIC's counters are aggregates and
//              everyone sees them)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "norman/regmap.hpp"

namespace norman::ctl {

inline constexpr const char* kDefaultSocketPath = "/run/norman/normand.sock";
inline constexpr int kProtoVersion = 1;
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;
inline constexpr std::size_t kMaxFds = 4;
// auth's nonce: random bytes, sent as lowercase hex.
inline constexpr std::size_t kNonceBytes = 16;

namespace op {
inline constexpr std::string_view kAuth = "auth";
inline constexpr std::string_view kHello = "hello";
inline constexpr std::string_view kNqOpen = "nq_open";
inline constexpr std::string_view kNqClose = "nq_close";
inline constexpr std::string_view kUdpOpen = "udp_open";
inline constexpr std::string_view kClose = "close";
inline constexpr std::string_view kNeigh = "neigh";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kFilterGet = "filter_get";
inline constexpr std::string_view kFilterCmd = "filter_cmd";
inline constexpr std::string_view kFilterReplace = "filter_replace";
inline constexpr std::string_view kCapOpen = "cap_open";
inline constexpr std::string_view kCapStats = "cap_stats";
inline constexpr std::string_view kCapCons = "cap_cons";
inline constexpr std::string_view kCapOwner = "cap_owner";
inline constexpr std::string_view kCapClose = "cap_close";
inline constexpr std::string_view kSets = "sets";
}  // namespace op

// Largest JSON payload passed in a memfd (a 16,384-rule table is ~5 MiB).
inline constexpr std::size_t kMaxPayloadBytes = std::size_t{256} << 20;

// Ring sizes a client may ask for (log2 of entries), and the defaults.
inline constexpr unsigned kMinRingLog2 = 3;
inline constexpr unsigned kMaxRxLog2 = 12;  // 4096 x 2 KiB = 8 MiB per connection
inline constexpr unsigned kMaxTxLog2 = 12;
inline constexpr unsigned kMaxNqLog2 = 15;
inline constexpr unsigned kDefaultRxLog2 = 9;
inline constexpr unsigned kDefaultTxLog2 = 8;
inline constexpr unsigned kDefaultNqLog2 = 12;
// Capture rings (cap_open's log2): 2 KiB slots, 4 MiB at most per session.
inline constexpr unsigned kMinCapLog2 = 3;
inline constexpr unsigned kMaxCapLog2 = 11;
inline constexpr unsigned kDefaultCapLog2 = 10;

inline constexpr std::uint64_t page_round(std::uint64_t n) {
  return (n + regmap::kPageBytes - 1) / regmap::kPageBytes * regmap::kPageBytes;
}

// Where a connection's rings live inside its one memfd: RX slots, then TX
// descriptors, then TX data slots, each starting on a page.
struct ConnLayout {
  std::uint64_t rx_off = 0;
  std::uint64_t tx_desc_off = 0;
  std::uint64_t tx_data_off = 0;
  std::uint64_t bytes = 0;
};
inline constexpr ConnLayout conn_layout(unsigned rx_log2, unsigned tx_log2) {
  ConnLayout l;
  l.rx_off = 0;
  l.tx_desc_off = page_round(std::uint64_t{regmap::rx_slot::kSlotBytes} << rx_log2);
  l.tx_data_off = l.tx_desc_off + page_round(std::uint64_t{regmap::tx_desc::kDescBytes} << tx_log2);
  l.bytes = l.tx_data_off + page_round(std::uint64_t{regmap::tx_desc::kSlotBytes} << tx_log2);
  return l;
}
inline constexpr std::uint64_t nq_bytes(unsigned log2) {
  return page_round(std::uint64_t{regmap::notify::kEntryBytes} << log2);
}

// Doorbell page addresses (what db_page carries).
inline constexpr std::uint64_t conn_db_page(std::uint32_t conn_id) {
  return regmap::kConnDbBase + std::uint64_t{conn_id} * regmap::kPageBytes;
}
inline constexpr std::uint64_t nq_db_page(std::uint32_t nq_id) {
  return regmap::kNqDbBase + std::uint64_t{nq_id} * regmap::kPageBytes;
}

}  // namespace norman::ctl
