// UdpSocket: one UDP connection of the NIC (a listening/bound one or a
// connected one), with its RX ring and TX ring mapped into this process.
// Sending and receiving never makes a system call: rings in shared memory,
// doorbells through the runtime's doorbell transport.
//
// Errors: "nothing to receive" and "TX ring full" are return values (0,
// false, nullopt), never exceptions. Every refusal is a std::system_error
// with an errno code: EMSGSIZE (payload > kMaxPayload), EDESTADDRREQ (no
// destination on a listening socket), EINVAL (misused alloc/commit), plus
// whatever normand returns on the slow path.
//
// Destinations (send_to on a listening socket): sending never waits for
// ARP. A destination off the NIC's subnet is ENETUNREACH at once. One whose
// MAC is not known yet is resolved in the background: its datagrams are
// held (at most kMaxHeldPerDestination per destination, kMaxHeld per
// socket; the oldest goes first, counted) and the send succeeds; they are
// sent when the answer comes (on the socket's next call, or when its
// notification queue wakes) or dropped and counted if nobody answers. A
// destination that did not resolve stays FAILED for
// RuntimeOptions::neighbor_failed_hold: sends to it fail at once with
// EHOSTUNREACH. Single sends (send_to, try_send_to) throw these errors, as
// sendto(2) returns them; batches (try_send_batch, commit) never throw
// them: such a datagram is dropped and counted, and its error queued for
// take_error() (like the kernel's IP_RECVERR error queue), so one bad
// destination never costs the others of the batch.
//
// Thread safety: a socket (and the NotifyQueue it is attached to) is used by
// one thread at a time. Different sockets may be used from different threads
// (each has, by default, its own notification queue).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "norman/net.hpp"
#include "norman/notify_queue.hpp"
#include "norman/rings.hpp"
#include "normand_proto.hpp"

namespace norman {

class Runtime;

// A received datagram, zero-copy: `payload` points into the RX ring and stays
// valid until UdpSocket::release() (or the next blocking/copying receive).
struct RxDatagram {
  std::span<const std::uint8_t> payload;
  Endpoint from;
};

struct RecvResult {
  std::size_t len = 0;  // bytes copied
  Endpoint from;
  bool truncated = false;  // the datagram was longer than the buffer (the rest is lost)
};

// For try_recv_batch: a buffer in, a result out.
struct RecvMsg {
  std::span<std::uint8_t> buffer;
  RecvResult result;
};

// For try_send_batch: payload and destination (unset = the connected peer).
struct TxDatagram {
  std::span<const std::uint8_t> payload;
  Endpoint to{};
};

// Zero-copy TX: a reserved slot of the TX ring. Write the payload into
// `buffer` (kMaxPayload bytes), set `len` (and `to` on a listening socket),
// then commit().
struct TxSlot {
  std::span<std::uint8_t> buffer;
  std::size_t len = 0;
  Endpoint to{};
};

// Every datagram the runtime did not deliver, and every TX fate, by reason.
struct SocketStats {
  // RX
  std::uint64_t rx_datagrams = 0;        // delivered to the application
  std::uint64_t rx_bytes = 0;            // payload bytes delivered
  std::uint64_t rx_truncated = 0;        // copied into a smaller buffer (delivered, rest discarded)
  std::uint64_t rx_drop_malformed = 0;   // NIC parser flagged MALFORMED
  std::uint64_t rx_drop_fragment = 0;    // IPv4 fragment (no reassembly)
  std::uint64_t rx_drop_not_ipv4 = 0;    // other EtherType / IP version
  std::uint64_t rx_drop_not_udp = 0;     // other IP protocol
  std::uint64_t rx_drop_bad_length = 0;  // inconsistent Ethernet/IP/UDP lengths
  std::uint64_t rx_drop_bad_checksum = 0;  // only with UdpOptions::verify_checksums
  // TX
  std::uint64_t tx_datagrams = 0;     // posted to the NIC
  std::uint64_t tx_bytes = 0;         // payload bytes posted
  std::uint64_t tx_ring_full = 0;     // datagrams a try_send* could not post (ring full)
  std::uint64_t tx_sent = 0;          // completed SENT
  std::uint64_t tx_drop_spoof = 0;    // completed DROP_SPOOF (headers not matching the connection)
  std::uint64_t tx_drop_bad_len = 0;  // completed DROP_BAD_LEN
  std::uint64_t tx_drop_filter = 0;   // completed DROP_FILTER (an nfw rule)
  // completed DROP_VLAN, DROP_MARTIAN or DROP_BROADCAST (frames the NIC
  // refuses from applications; the runtime's own sends never are)
  std::uint64_t tx_drop_refused = 0;
  std::uint64_t tx_drop_closed = 0;     // completed DROP_CLOSED (the connection was closed)
  std::uint64_t tx_status_unknown = 0;  // completed with a status this runtime does not know
  // Neighbour resolution (listening sockets' send_to; see the top of this file)
  std::uint64_t tx_held_unresolved = 0;     // held until their destination's MAC was known
  std::uint64_t tx_drop_unresolved = 0;     // destination did not resolve (EHOSTUNREACH)
  std::uint64_t tx_drop_unreachable = 0;    // destination off the NIC's subnet (ENETUNREACH)
  std::uint64_t tx_drop_held_overflow = 0;  // too many held: the oldest was dropped
  std::uint64_t tx_errors_lost = 0;         // errors not queued for take_error() (queue full)

  [[nodiscard]] std::uint64_t rx_dropped() const {
    return rx_drop_malformed + rx_drop_fragment + rx_drop_not_ipv4 + rx_drop_not_udp +
           rx_drop_bad_length + rx_drop_bad_checksum;
  }
  [[nodiscard]] std::uint64_t tx_dropped_unsent() const {
    return tx_drop_unresolved + tx_drop_unreachable + tx_drop_held_overflow;
  }
  [[nodiscard]] std::uint64_t tx_completed() const {
    return tx_sent + tx_drop_spoof + tx_drop_bad_len + tx_drop_filter + tx_drop_refused +
           tx_drop_closed + tx_status_unknown;
  }
};

struct UdpOptions {
  // The notification queue to attach to; null = a private queue for this
  // socket (then blocking calls on different sockets are independent).
  std::shared_ptr<NotifyQueue> nq;
  std::optional<Ipv4> local_ip;  // default: the NIC's address
  std::uint16_t local_port = 0;  // udp_connect: 0 = ephemeral (udp_bind takes the port as argument)
  unsigned rx_log2 =
      ctl::kDefaultRxLog2;  // RX ring: 2^rx_log2 slots of 2 KiB (ctl::kMinRingLog2..kMaxRxLog2)
  unsigned tx_log2 = ctl::kDefaultTxLog2;  // TX ring: 2^tx_log2 descriptors and 2 KiB slots
  bool notify_tx = false;                  // TX_DONE notifications (event::kTxDone)
  // May send to 255.255.255.255 and nic0's subnet broadcast (SO_BROADCAST);
  // without it such sends fail with EACCES (and the NIC drops them).
  bool broadcast = false;
  bool udp_checksum = true;  // compute UDP checksums on send (false: send 0, allowed for IPv4)
  bool verify_checksums =
      false;  // verify IPv4 header and UDP checksums on receive (drop + count if bad)
  std::chrono::milliseconds linger{
      1000};                    // on close, wait up to this long for posted datagrams to complete
  std::uint64_t user_data = 0;  // reported in Event::user_data
};

namespace detail {
// An mmap'ed region, unmapped on destruction.
class Mapping {
 public:
  Mapping(void* p, std::size_t n) : p_(p), n_(n) {}
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  [[nodiscard]] std::uint8_t* data() const { return static_cast<std::uint8_t*>(p_); }
  [[nodiscard]] std::size_t size() const { return n_; }

 private:
  void* p_;
  std::size_t n_;
};
}  // namespace detail

// A datagram the socket could not send, reported after the call that took
// it (see take_error()).
struct TxError {
  Endpoint to;
  int error = 0;  // EHOSTUNREACH, ENETUNREACH
};

// What udp_open granted (used by Runtime to construct a socket).
struct UdpGrant {
  std::uint32_t conn_id = 0;
  Endpoint local;
  std::optional<Endpoint> remote;
  MacAddr mac;
  std::uint64_t db_page = 0;
  unsigned rx_log2 = 0;
  unsigned tx_log2 = 0;
  std::uint64_t rx_off = 0, tx_desc_off = 0, tx_data_off = 0, bytes = 0;
};

class UdpSocket {
  struct PrivateTag {};

 public:
  static constexpr std::size_t kMaxPayload = kMaxUdpPayload;  // 1472
  // Held datagrams (unresolved destinations): as the kernel's
  // unres_qlen_bytes (about 100 KiB), enough for a first window of replies.
  static constexpr std::size_t kMaxHeldPerDestination = 64;
  static constexpr std::size_t kMaxHeld = 256;   // per socket, whatever the destinations
  static constexpr std::size_t kMaxErrors = 16;  // take_error()'s queue

  UdpSocket(PrivateTag, std::shared_ptr<detail::RuntimeCore> core, std::shared_ptr<NotifyQueue> nq,
            const UdpGrant& g, const UdpOptions& o, std::unique_ptr<detail::Mapping> mem,
            std::optional<MacAddr> peer_mac);
  // Lingers for in-flight TX (UdpOptions::linger), then closes the connection
  // (normand close); errors are ignored here, use close() to see them.
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // ---- identity
  [[nodiscard]] Endpoint local() const { return local_; }
  [[nodiscard]] std::optional<Endpoint> remote() const { return remote_; }
  [[nodiscard]] bool connected() const { return remote_.has_value(); }
  [[nodiscard]] std::uint32_t conn_id() const { return conn_id_; }
  [[nodiscard]] MacAddr mac() const { return mac_; }
  [[nodiscard]] NotifyQueue& notify_queue() const { return *nq_; }
  [[nodiscard]] const std::shared_ptr<NotifyQueue>& notify_queue_ptr() const { return nq_; }
  [[nodiscard]] std::uint64_t user_data() const { return user_data_; }
  void set_user_data(std::uint64_t v) { user_data_ = v; }
  [[nodiscard]] bool notify_tx() const { return notify_tx_; }
  [[nodiscard]] std::uint32_t rx_ring_size() const { return rx_.size(); }
  [[nodiscard]] std::uint32_t tx_ring_size() const { return tx_.size(); }

  // ---- receive, zero-copy
  // Up to out.size() datagrams after those already peeked; 0 = none ready.
  // Frames the runtime drops (see SocketStats) are skipped and counted.
  std::size_t try_peek(std::span<RxDatagram> out);
  std::optional<RxDatagram> try_peek();
  // Returns every peeked datagram's slot to the NIC and invalidates their
  // payload spans. The RX_CONS doorbell (which also re-arms the socket's
  // notification) is written at once when no further frame is waiting;
  // while more are waiting it is deferred until a quarter of the ring is
  // taken, the ring runs empty, or the socket's NotifyQueue is polled or
  // waited on -- so the NIC never waits for it while the application sleeps.
  void release();
  // Datagrams peeked and not yet released.
  [[nodiscard]] std::uint32_t peeked() const { return peeked_; }
  // Blocking peek: release()s first, then waits up to `timeout` for at least
  // one datagram. 0 on timeout.
  std::size_t peek(std::span<RxDatagram> out, std::chrono::nanoseconds timeout = kForever);

  // ---- receive, copying (each call ends with release())
  std::optional<RecvResult> try_recv(std::span<std::uint8_t> buf);
  std::size_t try_recv_batch(std::span<RecvMsg> msgs);
  std::optional<RecvResult> recv(std::span<std::uint8_t> buf,
                                 std::chrono::nanoseconds timeout = kForever);
  std::size_t recv_batch(std::span<RecvMsg> msgs, std::chrono::nanoseconds timeout = kForever);

  // True if a frame is waiting in the RX ring (it may still be dropped).
  [[nodiscard]] bool readable() const { return rx_.ready(); }
  // Blocking: release()s, then waits until readable() or the timeout.
  bool wait_readable(std::chrono::nanoseconds timeout = kForever);

  // ---- send, copying (one TX_PROD doorbell per call)
  // false = TX ring full (counted in tx_ring_full).
  bool try_send(std::span<const std::uint8_t> payload);
  bool try_send_to(std::span<const std::uint8_t> payload, const Endpoint& to);
  // Takes a prefix of `dgrams`: posted, held for neighbour resolution, or
  // dropped for an unreachable destination (counted, see take_error());
  // returns how many (0 = ring full). Sizes and missing destinations are
  // checked first: a bad one throws and nothing is sent.
  std::size_t try_send_batch(std::span<const TxDatagram> dgrams);
  // Wait up to `timeout` for ring room (spin, then short sleeps). false on timeout.
  bool send(std::span<const std::uint8_t> payload, std::chrono::nanoseconds timeout = kForever);
  bool send_to(std::span<const std::uint8_t> payload, const Endpoint& to,
               std::chrono::nanoseconds timeout = kForever);

  // ---- send, zero-copy
  // Reserves up to out.size() TX slots (0 = ring full). A new try_alloc
  // discards the previous uncommitted reservation.
  std::size_t try_alloc(std::span<TxSlot> out);
  // Sends slots[0..n) of the last reservation, in order (one TX_PROD
  // doorbell). A slot to a destination not resolved yet is held; one to an
  // unreachable destination is dropped and counted (take_error()).
  void commit(std::span<const TxSlot> slots);

  // ---- per-datagram errors of batches and held datagrams
  // The oldest error not yet taken (kMaxErrors are kept; more are counted
  // in tx_errors_lost).
  std::optional<TxError> take_error();
  [[nodiscard]] std::size_t pending_errors() const { return errors_.size(); }
  // Datagrams held until their destination resolves.
  [[nodiscard]] std::size_t held() const { return held_.size(); }

  // ---- TX completions
  // Collects completed descriptors into the stats; returns how many.
  std::uint32_t poll_tx();
  [[nodiscard]] std::uint32_t tx_in_flight() const { return tx_.in_flight(); }
  // Waits until every posted datagram completed; false on timeout.
  bool flush(std::chrono::nanoseconds timeout = kForever);

  // Collects TX completions first.
  const SocketStats& stats();
  [[nodiscard]] const SocketStats& stats_snapshot() const { return stats_; }

  // Closes the connection now; throws std::system_error if normand refuses.
  void close();

  // Layer-1 access for tests and tools.
  RxRing& rx_ring() { return rx_; }
  TxRing& tx_ring() { return tx_; }

 private:
  friend class Runtime;
  friend class NotifyQueue;

  void count_drop(RxVerdict v);
  void release_rx();  // lazy RX_CONS (see release())
  std::size_t take(std::span<RxDatagram> out);
  // Where a datagram goes: to the connected peer's template, to a known
  // MAC, held (resolution under way), or nowhere (err).
  struct Route {
    const MacAddr* mac = nullptr;  // null with err 0: the peer (to_peer) or held
    bool to_peer = false;
    bool hold = false;
    int err = 0;
  };
  void build_frame(std::uint32_t k, std::size_t len, const Endpoint* to, const Route& r);
  Route route(const Endpoint& to);
  void reap_if_needed(std::uint32_t want);
  bool wait_tx_room(std::chrono::steady_clock::time_point deadline);
  void check_shape(std::size_t len, const Endpoint& to);
  // Holds a copy of a datagram until its destination resolves.
  void hold(std::span<const std::uint8_t> payload, const Endpoint& to);
  // Counts a datagram that cannot be sent; queues its error (batches).
  void drop_unsendable(const Endpoint& to, int err, bool queue_error);
  [[noreturn]] void throw_unsendable(const Endpoint& to, int err);
  // Sends or drops held datagrams whose destination resolved or failed
  // (never inside an alloc/commit reservation).
  void flush_held();

  // ---- hot state
  RxRing rx_;
  TxRing tx_;
  std::uint32_t peeked_ = 0;   // datagrams handed out by try_peek, not released
  std::uint32_t alloc_n_ = 0;  // slots reserved by the last try_alloc
  std::uint16_t ip_id_ = 0;
  bool udp_checksum_;
  bool verify_checksums_;
  bool notify_tx_;
  bool broadcast_;
  RxFlagBits flag_bits_;
  SocketStats stats_;
  UdpHeaderTemplate tmpl_any_;   // destination zero (send_to)
  UdpHeaderTemplate tmpl_peer_;  // the connected peer (send)
  struct NeighborSlot {
    Ipv4 ip{};
    std::uint32_t gen = 0;  // 0 = empty
    MacAddr mac;
  };
  static constexpr std::size_t kNeighborSlots = 16;
  NeighborSlot ncache_[kNeighborSlots];

  // ---- cold state
  std::shared_ptr<detail::RuntimeCore> core_;
  std::shared_ptr<NotifyQueue> nq_;
  std::unique_ptr<detail::Mapping> mem_;
  Endpoint local_;
  std::optional<Endpoint> remote_;
  MacAddr mac_;
  std::uint32_t conn_id_;
  std::uint64_t user_data_;
  std::chrono::milliseconds linger_;
  std::uint32_t nq_units_;
  std::uint32_t nq_flags_ = 0;  // NotifyQueue: flags not yet reported
  bool rx_deferred_ = false;    // NotifyQueue: RX_CONS doorbell deferred, flush before waiting
  bool closed_ = false;
  struct Held {
    Endpoint to;
    std::vector<std::uint8_t> payload;
  };
  std::deque<Held> held_;
  std::uint64_t held_seen_ = 0;  // the resolver's events() when held_ was last looked at
  std::deque<TxError> errors_;
};

}  // namespace norman
