#include "fallback_bridge.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "norman/regmap.hpp"

namespace norman::normand {

namespace asio = boost::asio;
namespace rm = norman::regmap;

namespace {
constexpr std::uint16_t kConn = 0;  // reserved for the bridge (see the header)
constexpr std::uint16_t kNq = 0;
constexpr std::uint32_t kVector = 0;
constexpr unsigned kRxLog2 = 9;  // 512 slots
constexpr unsigned kTxLog2 = 8;  // 256 descriptors
// NQ 0 carries at most one RX notification plus one TX_DONE per completed TX
// batch between two drains, so 1024 entries never fill in practice.
constexpr unsigned kNqLog2 = 10;
constexpr std::uint32_t kRxSize = 1U << kRxLog2;
constexpr std::uint32_t kTxSize = 1U << kTxLog2;
constexpr std::uint32_t kNqSize = 1U << kNqLog2;
constexpr std::size_t kTxDescBytes = 4096;  // 256 x 8 B, rounded up to a page
// Frames read from the TAP per wake-up: bounds the time the NIC side waits.
constexpr unsigned kTapBatch = 64;

std::size_t page_round(std::size_t n) { return (n + 4095) / 4096 * 4096; }

std::uint32_t load_acquire32(const std::uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const std::uint32_t*>(p), __ATOMIC_ACQUIRE);
}
std::uint64_t load_acquire64(const std::uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(p), __ATOMIC_ACQUIRE);
}

// Counters written by the io_context thread, read by stats() from anywhere.
struct Counters {
  std::atomic<std::uint64_t> to_kernel_frames{0}, to_kernel_bytes{0}, to_kernel_malformed{0},
      from_kernel_frames{0}, from_kernel_bytes{0}, drop_tap_write{0}, drop_tx_ring_full{0},
      drop_too_big{0}, tx_failed{0}, rejects_answered{0}, rejects_unanswered{0};
};
void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}
}  // namespace

struct FallbackBridge::Impl {
  Impl(asio::io_context& ctx, device::Device& d, TapDevice& t)
      : io(ctx), dev(d), tap(t), irq(ctx), tap_sd(ctx) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { teardown(); }

  void setup(unsigned port);
  void teardown() noexcept;
  void wait_irq();
  void wait_tap();
  void on_irq();
  void on_tap();
  void service();  // one pass over NQ 0, the RX ring and TX completions
  [[nodiscard]] bool pending() const;
  void reclaim_tx();
  // Queues a frame on conn 0's TX ring (no doorbell); false if the ring is full.
  bool enqueue_tx(const std::uint8_t* data, std::size_t len);
  void answer_reject(const std::uint8_t* frame, std::size_t len);

  [[nodiscard]] std::uint8_t* rx_slot(std::uint32_t i) const {
    return rx.data + static_cast<std::size_t>(i % kRxSize) * rm::rx_slot::kSlotBytes;
  }
  [[nodiscard]] std::uint8_t* tx_desc(std::uint32_t i) const {
    return tx.data + static_cast<std::size_t>(i % kTxSize) * rm::tx_desc::kDescBytes;
  }
  [[nodiscard]] std::uint8_t* nq_entry(std::uint32_t i) const {
    return nq.data + static_cast<std::size_t>(i % kNqSize) * rm::notify::kEntryBytes;
  }
  static std::uint32_t conn_db() {
    return static_cast<std::uint32_t>(rm::kConnDbBase + kConn * rm::kPageBytes);
  }
  static std::uint32_t nq_db() {
    return static_cast<std::uint32_t>(rm::kNqDbBase + kNq * rm::kPageBytes);
  }

  asio::io_context& io;
  device::Device& dev;
  TapDevice& tap;
  device::DmaBuffer rx, tx, nq;
  asio::posix::stream_descriptor irq;     // owns the eventfd
  asio::posix::stream_descriptor tap_sd;  // borrows tap.fd(): released, not closed
  bool nq_set = false, irq_bound = false, conn_set = false;
  // Free-running indices, as the ring formats define them.
  std::uint32_t rx_cons = 0, nq_cons = 0, tx_prod = 0, tx_done = 0;
  std::uint32_t tx_rung = 0;  // tx_prod as last told to the NIC
  std::vector<std::uint8_t> frame = std::vector<std::uint8_t>(65536);
  Counters c;
  FallbackBridge::RejectHandler reject;
  // Handlers hold a weak reference: one that completed but had not run yet
  // when the bridge went away finds it expired and does nothing.
  std::shared_ptr<int> alive = std::make_shared<int>(0);
};

void FallbackBridge::Impl::setup(unsigned port) {
  rx = dev.alloc_dma(static_cast<std::size_t>(kRxSize) * rm::rx_slot::kSlotBytes, "fallback-rx");
  tx = dev.alloc_dma(kTxDescBytes + static_cast<std::size_t>(kTxSize) * rm::tx_desc::kSlotBytes,
                     "fallback-tx");
  nq = dev.alloc_dma(page_round(kNqSize * rm::notify::kEntryBytes), "fallback-nq");

  // The queue and its interrupt exist before the connection can notify.
  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) throw std::system_error(errno, std::generic_category(), "fallback bridge: eventfd");
  irq.assign(efd);
  dev.nic().nq_set({.nq_id = kNq, .vector = kVector, .log2 = kNqLog2, .base = nq.iova});
  nq_set = true;
  dev.bind_irq(kVector, efd);
  irq_bound = true;

  device::ConnConfig cc{};
  cc.conn_id = kConn;
  cc.nq_id = kNq;
  cc.port = static_cast<std::uint8_t>(port);
  cc.raw = true;  // the kernel's frames (ARP, ICMP, any source) go out unchecked
  // TX_DONE notifications let completions (and tx_failed) be accounted for
  // when they happen, not only when the kernel sends its next frame.
  cc.notify_tx = true;
  cc.rx_base = rx.iova;
  cc.rx_log2 = kRxLog2;
  cc.tx_desc_base = tx.iova;
  cc.tx_data_base = tx.iova + kTxDescBytes;
  cc.tx_log2 = kTxLog2;
  dev.nic().conn_set(cc);
  conn_set = true;

  tap_sd.assign(tap.fd());
}

void FallbackBridge::Impl::teardown() noexcept {
  // Cancel first: aborted handlers return without touching *this.
  boost::system::error_code ignored;
  if (tap_sd.is_open()) (void)tap_sd.release();
  irq.close(ignored);
  try {
    // The NIC does not support clearing a connection with TX in flight:
    // give it a bounded moment to finish.
    for (int i = 0; conn_set && tx_done != tx_prod && i < 200; ++i) {
      reclaim_tx();
      if (tx_done != tx_prod) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (conn_set) dev.nic().conn_clear(kConn);
    if (nq_set) dev.nic().nq_clear(kNq);
    if (irq_bound) dev.unbind_irq(kVector);
  } catch (const std::exception&) {
    // The device is gone (nsim exited): nothing left to clear there.
  }
  conn_set = nq_set = irq_bound = false;
  for (auto* b : {&rx, &tx, &nq}) {
    try {
      if (b->size != 0) dev.free_dma(*b);
    } catch (const std::exception&) {
    }
  }
}

void FallbackBridge::Impl::wait_irq() {
  irq.async_wait(asio::posix::stream_descriptor::wait_read,
                 [this, w = std::weak_ptr<int>(alive)](const boost::system::error_code& ec) {
                   if (ec || w.expired()) return;  // cancelled: the bridge is being destroyed
                   on_irq();
                 });
}

void FallbackBridge::Impl::wait_tap() {
  tap_sd.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, w = std::weak_ptr<int>(alive)](const boost::system::error_code& ec) {
                      if (ec || w.expired()) return;
                      on_tap();
                    });
}

void FallbackBridge::Impl::on_irq() {
  std::uint64_t n = 0;
  (void)!::read(irq.native_handle(), &n, sizeof n);  // reset the count; EAGAIN is fine
  // Drain, re-arm, then look again: whatever arrived between the last look
  // and the ARM is either seen here or raises the (one-shot) interrupt.
  for (int round = 0; round < 64; ++round) {
    service();
    dev.nic().write_doorbell(nq_db(), rm::kDbNqArm, 1);
    if (!pending()) break;
  }
  wait_irq();
}

bool FallbackBridge::Impl::pending() const {
  const std::uint64_t e = load_acquire64(nq_entry(nq_cons));
  if (rm::notify::kSeq.get(e) == ((nq_cons + 1) & 0xFFFF)) return true;
  const std::uint32_t t = load_acquire32(rx_slot(rx_cons) + rm::rx_slot::kTrailerOffset);
  return rm::rx_slot::kSeq.get(t) == ((rx_cons + 1) & 0xFFFF);
}

void FallbackBridge::Impl::service() {
  // NQ 0 serves conn 0 only, so its entries just say "look at the rings".
  const std::uint32_t nq_start = nq_cons;
  while (rm::notify::kSeq.get(load_acquire64(nq_entry(nq_cons))) == ((nq_cons + 1) & 0xFFFF))
    ++nq_cons;
  if (nq_cons != nq_start) dev.nic().write_doorbell(nq_db(), rm::kDbNqCons, nq_cons);

  for (;;) {
    const std::uint8_t* slot = rx_slot(rx_cons);
    const std::uint32_t t = load_acquire32(slot + rm::rx_slot::kTrailerOffset);
    if (rm::rx_slot::kSeq.get(t) != ((rx_cons + 1) & 0xFFFF)) break;
    const auto len = static_cast<std::size_t>(rm::rx_slot::kLen.get(t));
    const auto flags = rm::rx_slot::kFlags.get(t);
    if ((flags & (1U << rm::rx_slot::kFlagsReject)) != 0) {
      if (len <= rm::rx_slot::kMaxLen) answer_reject(slot + rm::rx_slot::kTrailerOffset - len, len);
      ++rx_cons;
      continue;
    }
    // Non-blocking: a full or refusing TAP costs this frame, never the loop.
    // (A LEN beyond the slot would be a NIC bug: counted, not followed.)
    if (len <= rm::rx_slot::kMaxLen && ::write(tap.fd(), slot + rm::rx_slot::kTrailerOffset - len,
                                               len) == static_cast<ssize_t>(len)) {
      bump(c.to_kernel_frames);
      bump(c.to_kernel_bytes, len);
      if ((flags & (1U << rm::rx_slot::kFlagsMalformed)) != 0) bump(c.to_kernel_malformed);
    } else {
      bump(c.drop_tap_write);
    }
    ++rx_cons;
  }
  // Always written: it frees the slots and re-arms conn 0's RX notification
  // (even one the NIC could not post because NQ 0 was full).
  dev.nic().write_doorbell(conn_db(), rm::kDbConnRxCons, rx_cons);
  if (tx_prod != tx_rung) {
    dev.nic().write_doorbell(conn_db(), rm::kDbConnTxProd, tx_prod);
    tx_rung = tx_prod;
  }

  reclaim_tx();
}

void FallbackBridge::Impl::answer_reject(const std::uint8_t* frame_data, std::size_t len) {
  std::optional<std::vector<std::uint8_t>> reply;
  if (reject) reply = reject({frame_data, len});
  if (!reply || reply->size() > rm::kMaxFrameBytes) {
    bump(c.rejects_unanswered);
    return;
  }
  if (!enqueue_tx(reply->data(), reply->size())) {
    bump(c.drop_tx_ring_full);
    bump(c.rejects_unanswered);
    return;
  }
  bump(c.rejects_answered);
}

bool FallbackBridge::Impl::enqueue_tx(const std::uint8_t* data_in, std::size_t len) {
  if (tx_prod - tx_done == kTxSize) {
    reclaim_tx();
    if (tx_prod - tx_done == kTxSize) return false;
  }
  std::uint8_t* data = tx.data + kTxDescBytes +
                       static_cast<std::size_t>(tx_prod % kTxSize) * rm::tx_desc::kSlotBytes;
  std::memcpy(data, data_in, len);
  std::uint64_t d = 0;
  rm::tx_desc::kLen.set(d, len);
  rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusPending);
  // Release: the NIC must not see the descriptor before the frame data.
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(tx_desc(tx_prod)), d, __ATOMIC_RELEASE);
  ++tx_prod;
  return true;
}

void FallbackBridge::Impl::reclaim_tx() {
  while (tx_done != tx_prod) {
    const auto st = rm::tx_desc::kStatus.get(load_acquire64(tx_desc(tx_done)));
    if (st == rm::tx_desc::kStatusPending) break;
    if (st != rm::tx_desc::kStatusSent) bump(c.tx_failed);
    ++tx_done;
  }
}

void FallbackBridge::Impl::on_tap() {
  reclaim_tx();
  const std::uint32_t start = tx_prod;
  for (unsigned i = 0; i < kTapBatch; ++i) {
    const ssize_t n = ::read(tap.fd(), frame.data(), frame.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // EAGAIN: drained (other errors: retried on next readiness)
    const auto len = static_cast<std::size_t>(n);
    if (len > rm::kMaxFrameBytes) {
      bump(c.drop_too_big);
      continue;
    }
    if (!enqueue_tx(frame.data(), len)) {
      bump(c.drop_tx_ring_full);
      continue;
    }
    bump(c.from_kernel_frames);
    bump(c.from_kernel_bytes, len);
  }
  if (tx_prod != start) {
    dev.nic().write_doorbell(conn_db(), rm::kDbConnTxProd, tx_prod);
    tx_rung = tx_prod;
  }
  wait_tap();
}

FallbackBridge::FallbackBridge(asio::io_context& io, device::Device& dev, TapDevice& tap,
                               unsigned port)
    : impl_(std::make_unique<Impl>(io, dev, tap)) {
  impl_->setup(port);  // on a throw, ~Impl undoes whatever was done
}

FallbackBridge::~FallbackBridge() = default;

void FallbackBridge::on_reject(RejectHandler fn) { impl_->reject = std::move(fn); }

void FallbackBridge::start() {
  // Frames may have arrived since the constructor enabled the NIC: the first
  // pass runs as if an interrupt had come.
  asio::post(impl_->io, [impl = impl_.get(), w = std::weak_ptr<int>(impl_->alive)] {
    if (w.expired()) return;
    impl->on_irq();
    impl->wait_tap();
  });
}

FallbackStats FallbackBridge::stats() const {
  const auto& c = impl_->c;
  auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  FallbackStats s;
  s.to_kernel_frames = ld(c.to_kernel_frames);
  s.to_kernel_bytes = ld(c.to_kernel_bytes);
  s.to_kernel_malformed = ld(c.to_kernel_malformed);
  s.rejects_answered = ld(c.rejects_answered);
  s.rejects_unanswered = ld(c.rejects_unanswered);
  s.from_kernel_frames = ld(c.from_kernel_frames);
  s.from_kernel_bytes = ld(c.from_kernel_bytes);
  s.drop_tap_write = ld(c.drop_tap_write);
  s.drop_tx_ring_full = ld(c.drop_tx_ring_full);
  s.drop_too_big = ld(c.drop_too_big);
  s.tx_failed = ld(c.tx_failed);
  return s;
}

nlohmann::json FallbackBridge::status() const {
  const auto s = stats();
  return {{"to_kernel_frames", s.to_kernel_frames},
          {"to_kernel_bytes", s.to_kernel_bytes},
          {"to_kernel_malformed", s.to_kernel_malformed},
          {"rejects_answered", s.rejects_answered},
          {"rejects_unanswered", s.rejects_unanswered},
          {"from_kernel_frames", s.from_kernel_frames},
          {"from_kernel_bytes", s.from_kernel_bytes},
          {"drop_tap_write", s.drop_tap_write},
          {"drop_tx_ring_full", s.drop_tx_ring_full},
          {"drop_too_big", s.drop_too_big},
          {"tx_failed", s.tx_failed}};
}

}  // namespace norman::normand
