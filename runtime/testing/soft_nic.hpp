// A software NIC for libnorman's unit tests and benchmark: it plays the NIC's
// side of the rings in exactly the formats of norman/regmap.hpp.
//
//  - Doorbells arrive as they do from nsim: through nsim MMIO channels (the
//    shared-memory SPSC ring of sim/proto/nsim_proto.hpp, created in a memfd
//    as nsim's MmioHub does). process_doorbells() drains them and acts:
//    RX_CONS frees slots and re-arms the connection's RX notification (a new
//    one is written at once if frames are still unconsumed); TX_PROD fetches
//    descriptors, checks each frame against the connection like the NIC's
//    tx_check (src MAC, IPv4, UDP, src IP, src port -> DROP_SPOOF; length ->
//    DROP_BAD_LEN), writes them back with the final STATUS and posts TX_DONE
//    for notify_tx connections; NQ CONS / ARM drive the interrupt (an eventfd
//    write, one-shot, at once if entries are pending).
//  - deliver() writes a frame into a connection's RX ring (right-aligned,
//    trailer last with a release store) and posts an RX notification unless
//    one is outstanding; a full notification queue drops it (and counts).
//
// Thread-safe (one mutex); start() runs process_doorbells() on a thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "norman/net.hpp"
#include "norman/unique_fd.hpp"
#include "nsim_proto.hpp"

namespace norman::testing {

using Bytes = std::vector<std::uint8_t>;

// An nsim MMIO channel in a memfd (the NIC side).
class Channel {
 public:
  explicit Channel(std::uint32_t id);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  [[nodiscard]] int fd() const { return fd_.get(); }
  // Pops every queued request: on_write(addr, value) for writes; reads are
  // answered with all ones. Returns the number of requests.
  template <typename F>
  std::size_t drain(F&& on_write) {
    auto* s = shm_;
    std::uint64_t tail = s->req_tail.load(std::memory_order_relaxed);
    const std::uint64_t head = s->req_head.load(std::memory_order_acquire);
    std::size_t n = 0;
    while (tail != head) {
      const nsim::proto::MmioReq r = s->req[tail % nsim::proto::kChannelEntries];
      ++tail;
      ++n;
      if ((r.flags & nsim::proto::kMmioWrite) != 0) {
        on_write(r.addr, r.data);
      } else {
        answer_read(r.seq);
      }
    }
    if (n != 0) s->req_tail.store(tail, std::memory_order_release);
    return n;
  }
  [[nodiscard]] bool idle() const {
    return shm_->req_head.load(std::memory_order_acquire) ==
           shm_->req_tail.load(std::memory_order_relaxed);
  }
  nsim::proto::MmioChannelShm* shm() { return shm_; }

 private:
  void answer_read(std::uint32_t seq);
  UniqueFd fd_;
  nsim::proto::MmioChannelShm* shm_ = nullptr;
};

struct DoorbellWrite {
  std::uint64_t addr;
  std::uint64_t value;
  friend bool operator==(const DoorbellWrite&, const DoorbellWrite&) = default;
};

// What the control plane configured for a connection.
struct SoftConn {
  std::uint32_t id = 0;
  std::uint32_t nq_id = 0;
  std::uint8_t* mem = nullptr;  // the connection's memfd, mapped
  std::uint64_t rx_off = 0, tx_desc_off = 0, tx_data_off = 0, bytes = 0;
  unsigned rx_log2 = 0, tx_log2 = 0;
  bool notify_tx = false;
  bool raw = false;
  MacAddr mac;
  Endpoint local;
  std::optional<Endpoint> remote;
};

struct SoftNq {
  std::uint32_t id = 0;
  std::uint8_t* ring = nullptr;
  unsigned log2 = 0;
  int irq_fd = -1;  // eventfd (not owned)
};

class SoftNic {
 public:
  SoftNic();
  ~SoftNic();
  SoftNic(const SoftNic&) = delete;
  SoftNic& operator=(const SoftNic&) = delete;

  // A new MMIO channel for one client (its fd goes into hello's "doorbells").
  int open_channel();

  void add_nq(const SoftNq& nq);
  void remove_nq(std::uint32_t id);
  void add_conn(const SoftConn& c);
  void remove_conn(std::uint32_t id);

  // Drains every channel and acts on the doorbells. Returns writes processed.
  std::size_t process_doorbells();
  // Runs process_doorbells() on a thread until stop() (or destruction).
  void start();
  void stop();
  // Waits (up to `limit`) until every channel is drained and processed.
  bool settle(std::chrono::milliseconds limit = std::chrono::milliseconds(2000));

  // ---- RX
  // Writes `frame` into conn's RX ring as the NIC does; false if the ring is
  // full (the NIC would count RX_DROP_RING_FULL). flags: RX slot FLAGS bits.
  bool deliver(std::uint32_t conn, std::span<const std::uint8_t> frame, std::uint32_t flags = 0);
  // A UDP datagram from `from` to the connection's local endpoint.
  bool deliver_udp(std::uint32_t conn, const Endpoint& from, std::span<const std::uint8_t> payload,
                   const MacAddr& from_mac = MacAddr{{0x02, 0, 0, 0, 0, 0x01}});
  // Frames written but not yet released by RX_CONS.
  std::uint32_t rx_unconsumed(std::uint32_t conn);

  // ---- TX
  // Auto completion (default on): TX_PROD completes descriptors at once.
  // Off: they stay PENDING until complete_tx().
  void set_auto_complete(bool on);
  // Loopback wire: a SENT UDP frame whose destination is another
  // connection's local endpoint is delivered to that connection's RX ring.
  void set_loopback(bool on);
  // Overrides the status the checks would give (nullopt = run the checks).
  void set_forced_status(std::optional<std::uint16_t> status);
  // Completes up to `max` pending descriptors (announced by TX_PROD); returns how many.
  std::size_t complete_tx(std::uint32_t conn, std::size_t max = SIZE_MAX);
  // Frames that completed SENT, oldest first (and forgets them).
  std::vector<Bytes> take_sent(std::uint32_t conn);
  // Every completed descriptor's status, in order (and forgets them).
  std::vector<std::uint16_t> take_tx_statuses(std::uint32_t conn);

  // ---- notifications
  // Writes a raw NQ entry (as the NIC would), interrupting if armed.
  bool notify(std::uint32_t nq, std::uint32_t conn, std::uint32_t kind);

  // ---- observations
  std::vector<DoorbellWrite> take_doorbells();
  std::uint32_t rx_cons(std::uint32_t conn);
  std::uint32_t tx_prod(std::uint32_t conn);
  std::uint32_t nq_cons(std::uint32_t nq);
  bool nq_armed(std::uint32_t nq);
  std::uint64_t irqs(std::uint32_t nq);
  std::uint64_t notifications_dropped(std::uint32_t nq);
  std::uint64_t doorbells_invalid();
  // Frames deliver()/loopback could not place because the RX ring was full.
  std::uint64_t rx_ring_full_drops();

  // A connection's configuration (ring memory and layout), e.g. for a
  // benchmark that writes the rings itself.
  SoftConn conn(std::uint32_t id);
  // steady_clock time (ns since its epoch) just before the last interrupt's
  // eventfd write.
  std::int64_t last_irq_ns() const { return last_irq_ns_.load(std::memory_order_acquire); }

  // Channel access (the benchmark drains it itself).
  Channel& channel(std::size_t i) { return *channels_.at(i); }

 private:
  struct ConnState {
    SoftConn cfg;
    std::uint32_t rx_prod = 0;
    std::uint32_t rx_cons = 0;
    bool rx_outstanding = false;
    std::uint32_t tx_prod = 0;
    std::uint32_t tx_cons = 0;
    std::vector<Bytes> sent;
    std::vector<std::uint16_t> statuses;
  };
  struct NqState {
    SoftNq cfg;
    std::uint32_t prod = 0;
    std::uint32_t cons = 0;
    bool armed = false;
    std::uint64_t irqs = 0;
    std::uint64_t dropped = 0;
  };

  void on_write(std::uint64_t addr, std::uint64_t value);
  bool notify_locked(NqState& q, std::uint32_t conn, std::uint32_t kind);
  void fire(NqState& q);
  std::size_t complete_locked(ConnState& c, std::size_t max);
  std::uint16_t check_frame(const ConnState& c, std::span<const std::uint8_t> f) const;
  bool deliver_locked(ConnState& c, std::span<const std::uint8_t> frame, std::uint32_t flags);
  void loop_back(std::span<const std::uint8_t> frame);

  std::mutex mu_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::map<std::uint32_t, ConnState> conns_;
  std::map<std::uint32_t, NqState> nqs_;
  std::vector<DoorbellWrite> log_;
  std::uint64_t invalid_ = 0;
  std::uint64_t rx_ring_full_ = 0;
  bool auto_complete_ = true;
  bool loopback_ = false;
  std::optional<std::uint16_t> forced_status_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> last_irq_ns_{0};
  std::thread thread_;
};

// Builds an Ethernet/IPv4/UDP frame byte by byte (an implementation
// independent of libnorman's, with an RFC 1071 loop for the checksums).
Bytes make_udp_frame(const MacAddr& src_mac, const MacAddr& dst_mac, const Endpoint& src,
                     const Endpoint& dst, std::span<const std::uint8_t> payload,
                     bool udp_checksum = true);
// RFC 1071, the plain way: 16-bit big-endian words, end-around carry.
std::uint16_t rfc1071(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

}  // namespace norman::testing
