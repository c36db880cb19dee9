// Ring primitives over raw memory, in the NIC's formats (norman/regmap.hpp):
// the per-connection RX ring and TX ring and the notification queue ring.
// They know nothing about normand; give them memory, a size and a doorbell.
// Header-only, no allocation, no system call; each doorbell write is one
// Doorbell::write64 call per batch.
//
// Indices are free-running 32-bit counters; the NIC uses their low 16 bits.
// A ring object is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "norman/doorbell.hpp"
#include "norman/regmap.hpp"

namespace norman {

namespace rm = norman::regmap;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// ---- RX ------------------------------------------------------------------------

// 2^log2 slots of 2048 B. The NIC writes a frame right-aligned to end at the
// trailer (offset 2044), then the trailer LEN/FLAGS/SEQ; slot i is ready when
// SEQ == (i + 1) mod 2^16. The consumer writes its index to RX_CONS, which
// frees the slots and re-arms the connection's RX notification.
class RxRing {
 public:
  struct Frame {
    const std::uint8_t* data;
    std::uint32_t len;
    std::uint32_t flags;  // FLAGS bits: 1 << rx_slot::kFlagsMalformed, ...
  };

  RxRing() = default;
  // `db_addr` = the connection's doorbell page (RX_CONS is added here).
  RxRing(void* base, unsigned log2, Doorbell* db, std::uint64_t db_page)
      : base_(static_cast<std::uint8_t*>(base)),
        mask_((1U << log2) - 1),
        db_(db),
        cons_addr_(db_page + rm::kDbConnRxCons) {}

  // The frame at free-running index i, if the NIC has written it.
  bool ready(std::uint32_t i, Frame& f) const {
    const std::uint8_t* slot = base_ + std::size_t{i & mask_} * rm::rx_slot::kSlotBytes;
    const std::uint32_t t =
        __atomic_load_n(reinterpret_cast<const std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset),
                        __ATOMIC_ACQUIRE);
    if ((t >> kSeqLsb) != ((i + 1) & 0xFFFFU)) return false;
    f.len = t & kLenMask;
    f.flags = (t >> kFlagsLsb) & kFlagsMask;
    f.data = slot + rm::rx_slot::kTrailerOffset - f.len;
    return true;
  }
  [[nodiscard]] bool ready() const {
    Frame f;
    return ready(head_, f);
  }
  // Takes the next ready frame (advances the read cursor, not RX_CONS).
  bool next(Frame& f) {
    if (!ready(head_, f)) return false;
    if (f.len > rm::rx_slot::kMaxLen)
      f.len = rm::rx_slot::kMaxLen;  // cannot happen with 12 bits; belt and braces
    ++head_;
    return true;
  }
  // Hints the CPU to fetch the trailer `ahead` slots past the cursor.
  void prefetch(std::uint32_t ahead) const {
    __builtin_prefetch(base_ + std::size_t{(head_ + ahead) & mask_} * rm::rx_slot::kSlotBytes +
                       rm::rx_slot::kTrailerOffset);
  }
  // Returns every taken slot to the NIC: one RX_CONS write, if anything changed.
  void release() {
    if (head_ != cons_) {
      cons_ = head_;
      db_->write64(cons_addr_, cons_);
    }
  }
  // The same, but only once a quarter of the ring is taken or when no frame
  // is waiting (under load, one doorbell per quarter ring instead of per
  // batch). Returns false if taken slots remain unreleased: the caller must
  // release() them before it may wait for a notification.
  bool release_lazy() {
    if (head_ == cons_) return true;
    if (head_ - cons_ < (mask_ + 1) / 4 && ready()) return false;
    release();
    return true;
  }
  [[nodiscard]] std::uint32_t head() const { return head_; }
  [[nodiscard]] std::uint32_t cons() const { return cons_; }
  [[nodiscard]] std::uint32_t size() const { return mask_ + 1; }
  [[nodiscard]] std::uint32_t taken_unreleased() const { return head_ - cons_; }

 private:
  static constexpr unsigned kLenLsb = rm::rx_slot::kLen.lsb;
  static constexpr std::uint32_t kLenMask = static_cast<std::uint32_t>(rm::rx_slot::kLen.mask());
  static constexpr unsigned kFlagsLsb = rm::rx_slot::kFlags.lsb;
  static constexpr std::uint32_t kFlagsMask =
      static_cast<std::uint32_t>(rm::rx_slot::kFlags.mask());
  static constexpr unsigned kSeqLsb = rm::rx_slot::kSeq.lsb;
  static_assert(kLenLsb == 0 && rm::rx_slot::kSeq.lsb + rm::rx_slot::kSeq.width == 32);

  std::uint8_t* base_ = nullptr;
  std::uint32_t mask_ = 0;
  std::uint32_t head_ = 0;  // next index to read
  std::uint32_t cons_ = 0;  // last value written to RX_CONS
  Doorbell* db_ = nullptr;
  std::uint64_t cons_addr_ = 0;
};

// ---- TX ------------------------------------------------------------------------

// 2^log2 8-byte descriptors + 2^log2 data slots of 2048 B. The producer writes
// the frame, then the descriptor (LEN, STATUS = PENDING) with a release store,
// then its free-running index to TX_PROD. The NIC writes each descriptor back
// with its final STATUS; a slot is reusable once STATUS != PENDING.
class TxRing {
 public:
  TxRing() = default;
  TxRing(void* desc_base, void* data_base, unsigned log2, Doorbell* db, std::uint64_t db_page)
      : desc_(static_cast<std::uint64_t*>(desc_base)),
        data_(static_cast<std::uint8_t*>(data_base)),
        mask_((1U << log2) - 1),
        db_(db),
        prod_addr_(db_page + rm::kDbConnTxProd) {}

  // Slots that can be filled now (without reaping completions).
  [[nodiscard]] std::uint32_t free_slots() const { return size() - (prod_ - clean_); }
  // The data slot of free-running index i (prod() + k for the k-th next frame).
  [[nodiscard]] std::uint8_t* slot(std::uint32_t i) const {
    return data_ + std::size_t{i & mask_} * rm::tx_desc::kSlotBytes;
  }
  // Writes the descriptor of index prod() + k (its frame is already in its
  // slot); publish(k + 1) then makes it visible to the NIC.
  void write_desc(std::uint32_t k, std::uint32_t frame_len) {
    const std::uint32_t i = prod_ + k;
    const std::uint64_t d =
        (std::uint64_t{frame_len} << rm::tx_desc::kLen.lsb) |
        (std::uint64_t{rm::tx_desc::kStatusPending} << rm::tx_desc::kStatus.lsb) |
        (std::uint64_t{(i + 1) & 0xFFFFU} << rm::tx_desc::kSeq.lsb);
    __atomic_store_n(&desc_[i & mask_], d, __ATOMIC_RELEASE);
  }
  // Advances the producer index by n (after write_desc of each) and rings
  // TX_PROD once.
  void publish(std::uint32_t n) {
    if (n == 0) return;
    prod_ += n;
    db_->write64(prod_addr_, prod_);
  }
  // Collects completed descriptors in order: calls on_done(status, frame_len)
  // for each, stops at the first still PENDING. Returns how many completed.
  template <typename F>
  std::uint32_t reap(F&& on_done) {
    std::uint32_t n = 0;
    while (clean_ != prod_) {
      const std::uint64_t d = __atomic_load_n(&desc_[clean_ & mask_], __ATOMIC_ACQUIRE);
      const auto st = static_cast<std::uint32_t>(rm::tx_desc::kStatus.get(d));
      if (st == rm::tx_desc::kStatusPending) break;
      on_done(st, static_cast<std::uint32_t>(rm::tx_desc::kLen.get(d)));
      ++clean_;
      ++n;
    }
    return n;
  }
  [[nodiscard]] std::uint32_t prod() const { return prod_; }
  [[nodiscard]] std::uint32_t clean() const { return clean_; }
  [[nodiscard]] std::uint32_t in_flight() const { return prod_ - clean_; }
  [[nodiscard]] std::uint32_t size() const { return mask_ + 1; }
  [[nodiscard]] std::uint64_t desc(std::uint32_t i) const {
    return __atomic_load_n(&desc_[i & mask_], __ATOMIC_ACQUIRE);
  }

 private:
  std::uint64_t* desc_ = nullptr;
  std::uint8_t* data_ = nullptr;
  std::uint32_t mask_ = 0;
  std::uint32_t prod_ = 0;   // next index to fill; last value written to TX_PROD
  std::uint32_t clean_ = 0;  // oldest descriptor not yet seen completed
  Doorbell* db_ = nullptr;
  std::uint64_t prod_addr_ = 0;
};

// ---- notification queue --------------------------------------------------------------

// 2^log2 8-byte entries CONN_ID/KIND/SEQ; entry i valid when SEQ == (i + 1)
// mod 2^16. The consumer writes its index to CONS and 1 to ARM (one-shot
// interrupt on the next notification, at once if entries are pending).
class NotifyRing {
 public:
  struct Entry {
    std::uint32_t conn_id;
    std::uint32_t kind;  // notify::kKindsRx, kKindsTxDone
  };

  NotifyRing() = default;
  NotifyRing(void* base, unsigned log2, Doorbell* db, std::uint64_t db_page)
      : ring_(static_cast<const std::uint64_t*>(base)),
        mask_((1U << log2) - 1),
        db_(db),
        page_(db_page) {}

  bool next(Entry& e) {
    const std::uint64_t w = __atomic_load_n(&ring_[head_ & mask_], __ATOMIC_ACQUIRE);
    if (rm::notify::kSeq.get(w) != ((head_ + 1) & 0xFFFFU)) return false;
    e.conn_id = static_cast<std::uint32_t>(rm::notify::kConnId.get(w));
    e.kind = static_cast<std::uint32_t>(rm::notify::kKind.get(w));
    ++head_;
    return true;
  }
  [[nodiscard]] bool pending() const {
    const std::uint64_t w = __atomic_load_n(&ring_[head_ & mask_], __ATOMIC_ACQUIRE);
    return rm::notify::kSeq.get(w) == ((head_ + 1) & 0xFFFFU);
  }
  // Writes CONS if entries were taken since the last write; returns how many
  // (the caller judges from it whether the NIC may have found the queue full:
  // it drops notifications to a full queue).
  std::uint32_t release() {
    const std::uint32_t n = head_ - cons_;
    if (n == 0) return 0;
    cons_ = head_;
    db_->write64(page_ + rm::kDbNqCons, cons_);
    return n;
  }
  // One-shot interrupt request.
  void arm() { db_->write64(page_ + rm::kDbNqArm, 1); }
  [[nodiscard]] std::uint32_t head() const { return head_; }
  [[nodiscard]] std::uint32_t cons() const { return cons_; }
  [[nodiscard]] std::uint32_t size() const { return mask_ + 1; }

 private:
  const std::uint64_t* ring_ = nullptr;
  std::uint32_t mask_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t cons_ = 0;
  Doorbell* db_ = nullptr;
  std::uint64_t page_ = 0;
};

}  // namespace norman
