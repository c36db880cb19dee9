// Layer 1: the ring primitives over raw memory, with a recording doorbell.
// The "NIC" here is a few lines writing the exact formats of the register map.
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <vector>

#include "norman/regmap.hpp"
#include "norman/rings.hpp"

namespace norman {
namespace {

namespace rm = norman::regmap;

constexpr std::uint64_t kConnPage = rm::kConnDbBase + 5 * rm::kPageBytes;
constexpr std::uint64_t kNqPage = rm::kNqDbBase + 3 * rm::kPageBytes;

// NIC side of an RX ring.
struct RxProducer {
  std::uint8_t* base;
  unsigned log2;
  std::uint32_t prod = 0;
  void write(std::span<const std::uint8_t> frame, std::uint32_t flags = 0,
             std::uint32_t seq_override = 0) {
    std::uint8_t* slot = base + std::size_t{prod & ((1U << log2) - 1)} * rm::rx_slot::kSlotBytes;
    std::memcpy(slot + rm::rx_slot::kTrailerOffset - frame.size(), frame.data(), frame.size());
    std::uint64_t t = 0;
    rm::rx_slot::kLen.set(t, frame.size());
    rm::rx_slot::kFlags.set(t, flags);
    rm::rx_slot::kSeq.set(t, seq_override != 0 ? seq_override : (prod + 1) & 0xFFFF);
    __atomic_store_n(reinterpret_cast<std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset),
                     static_cast<std::uint32_t>(t), __ATOMIC_RELEASE);
    ++prod;
  }
};

std::vector<std::uint8_t> frame_of(std::uint32_t n, std::size_t len) {
  std::vector<std::uint8_t> f(len);
  for (std::size_t i = 0; i < len; ++i) f[i] = static_cast<std::uint8_t>(n + i);
  return f;
}

TEST(RxRing, ZeroedMemoryIsNotReady) {
  std::vector<std::uint8_t> mem(8 * rm::rx_slot::kSlotBytes, 0);
  RecordingDoorbell db;
  RxRing rx(mem.data(), 3, &db, kConnPage);
  RxRing::Frame f;
  EXPECT_FALSE(rx.ready());
  EXPECT_FALSE(rx.next(f));
  rx.release();
  EXPECT_TRUE(db.writes().empty()) << "no RX_CONS write when nothing was taken";
}

TEST(RxRing, FrameIsRightAlignedWithTrailerFields) {
  std::vector<std::uint8_t> mem(8 * rm::rx_slot::kSlotBytes, 0);
  RecordingDoorbell db;
  RxRing rx(mem.data(), 3, &db, kConnPage);
  RxProducer nic{mem.data(), 3};
  const auto fr = frame_of(7, 123);
  nic.write(fr, 1U << rm::rx_slot::kFlagsVlan);
  RxRing::Frame f;
  ASSERT_TRUE(rx.next(f));
  EXPECT_EQ(f.len, 123U);
  EXPECT_EQ(f.flags, 1U << rm::rx_slot::kFlagsVlan);
  EXPECT_EQ(f.data, mem.data() + rm::rx_slot::kTrailerOffset - 123);
  EXPECT_EQ(0, std::memcmp(f.data, fr.data(), fr.size()));
}

TEST(RxRing, WrongSequenceIsNotReady) {
  std::vector<std::uint8_t> mem(8 * rm::rx_slot::kSlotBytes, 0);
  RecordingDoorbell db;
  RxRing rx(mem.data(), 3, &db, kConnPage);
  RxProducer nic{mem.data(), 3};
  nic.write(frame_of(0, 60), 0, /*seq*/ 2);  // slot 0 must carry SEQ 1
  EXPECT_FALSE(rx.ready());
  // A previous lap's trailer (SEQ = i + 1 - size) never matches either.
  std::vector<std::uint8_t> mem2(8 * rm::rx_slot::kSlotBytes, 0);
  RxRing rx2(mem2.data(), 3, &db, kConnPage);
  RxProducer nic2{mem2.data(), 3};
  RxRing::Frame f;
  for (int i = 0; i < 8; ++i) nic2.write(frame_of(static_cast<std::uint32_t>(i), 60));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(rx2.next(f));
  EXPECT_FALSE(rx2.next(f)) << "slot 0 still holds the first lap's frame";
}

TEST(RxRing, WrapAroundAnd16BitSequenceWrap) {
  constexpr unsigned kLog2 = 3;
  std::vector<std::uint8_t> mem(8 * rm::rx_slot::kSlotBytes, 0);
  RecordingDoorbell db;
  RxRing rx(mem.data(), kLog2, &db, kConnPage);
  RxProducer nic{mem.data(), kLog2};
  RxRing::Frame f;
  constexpr std::uint32_t kTotal = 70000;  // > 2^16: the SEQ field wraps
  std::uint32_t got = 0;
  while (got < kTotal) {
    // The NIC fills what RX_CONS freed.
    while (nic.prod - rx.cons() < 8 && nic.prod < kTotal) {
      nic.write(frame_of(nic.prod, 60 + nic.prod % 100));
    }
    std::uint32_t batch = 0;
    while (rx.next(f)) {
      ASSERT_EQ(f.len, 60 + got % 100);
      ASSERT_EQ(f.data[0], static_cast<std::uint8_t>(got));
      ++got;
      ++batch;
    }
    ASSERT_GT(batch, 0U);
    rx.release();
  }
  const auto w = db.writes();
  ASSERT_FALSE(w.empty());
  EXPECT_EQ(w.back().addr, kConnPage + rm::kDbConnRxCons);
  EXPECT_EQ(w.back().value, kTotal) << "RX_CONS carries the free-running index";
  EXPECT_EQ(w.size(), kTotal / 8) << "one doorbell per batch of 8";
}

TEST(TxRing, DescriptorFormatPublishAndReap) {
  constexpr unsigned kLog2 = 3;
  std::vector<std::uint64_t> desc(8, 0xDEADBEEF);
  std::vector<std::uint8_t> data(8 * rm::tx_desc::kSlotBytes, 0);
  RecordingDoorbell db;
  TxRing tx(desc.data(), data.data(), kLog2, &db, kConnPage);
  EXPECT_EQ(tx.free_slots(), 8U);
  EXPECT_EQ(tx.slot(0), data.data());
  EXPECT_EQ(tx.slot(9), data.data() + rm::tx_desc::kSlotBytes) << "index 9 -> slot 1";
  for (std::uint32_t k = 0; k < 3; ++k) tx.write_desc(k, 60 + k);
  tx.publish(3);
  EXPECT_EQ(tx.free_slots(), 5U);
  EXPECT_EQ(db.take(), (std::vector<RecordingDoorbell::Write>{{kConnPage + rm::kDbConnTxProd, 3}}));
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rm::tx_desc::kLen.get(desc[i]), 60 + i);
    EXPECT_EQ(rm::tx_desc::kStatus.get(desc[i]), rm::tx_desc::kStatusPending);
    EXPECT_EQ(rm::tx_desc::kSeq.get(desc[i]), i + 1);
    EXPECT_EQ(rm::tx_desc::kFlags.get(desc[i]), 0U);
  }
  // Nothing completed yet.
  std::vector<std::uint32_t> st;
  auto on = [&](std::uint32_t s, std::uint32_t) { st.push_back(s); };
  EXPECT_EQ(tx.reap(on), 0U);
  // The NIC completes descriptor 0 (SENT) and 2 (DROP_SPOOF) but not 1: reaping stops at 1.
  rm::tx_desc::kStatus.set(desc[0], rm::tx_desc::kStatusSent);
  rm::tx_desc::kStatus.set(desc[2], rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(tx.reap(on), 1U);
  rm::tx_desc::kStatus.set(desc[1], rm::tx_desc::kStatusDropFilter);
  EXPECT_EQ(tx.reap(on), 2U);
  EXPECT_EQ(st,
            (std::vector<std::uint32_t>{rm::tx_desc::kStatusSent, rm::tx_desc::kStatusDropFilter,
                                        rm::tx_desc::kStatusDropSpoof}));
  EXPECT_EQ(tx.free_slots(), 8U);
  EXPECT_EQ(tx.in_flight(), 0U);
  tx.publish(0);
  EXPECT_TRUE(db.writes().empty()) << "an empty batch rings no doorbell";
}

TEST(TxRing, WrapsAroundWithFreeRunningProducer) {
  std::vector<std::uint64_t> desc(8, 0);
  std::vector<std::uint8_t> data(8 * rm::tx_desc::kSlotBytes, 0);
  RecordingDoorbell db;
  TxRing tx(desc.data(), data.data(), 3, &db, kConnPage);
  std::uint32_t total = 0;
  for (int round = 0; round < 100; ++round) {
    const std::uint32_t n = tx.free_slots();
    ASSERT_EQ(n, 8U);
    for (std::uint32_t k = 0; k < n; ++k) tx.write_desc(k, 100);
    tx.publish(n);
    total += n;
    EXPECT_EQ(tx.free_slots(), 0U);
    for (auto& d : desc) rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusSent);
    EXPECT_EQ(tx.reap([](std::uint32_t, std::uint32_t) {}), 8U);
  }
  EXPECT_EQ(db.writes().back().value, total);
  EXPECT_EQ(rm::tx_desc::kSeq.get(desc[0]), (total - 8 + 1) & 0xFFFFU);
}

TEST(NotifyRing, EntriesSequenceConsAndArm) {
  std::vector<std::uint64_t> ring(8, 0);
  RecordingDoorbell db;
  NotifyRing nq(ring.data(), 3, &db, kNqPage);
  NotifyRing::Entry e;
  EXPECT_FALSE(nq.pending());
  EXPECT_FALSE(nq.next(e));
  auto put = [&](std::uint32_t i, std::uint32_t conn, std::uint32_t kind) {
    std::uint64_t w = 0;
    rm::notify::kConnId.set(w, conn);
    rm::notify::kKind.set(w, kind);
    rm::notify::kSeq.set(w, (i + 1) & 0xFFFF);
    ring[i & 7] = w;
  };
  put(0, 42, rm::notify::kKindsRx);
  put(1, 43, rm::notify::kKindsTxDone);
  EXPECT_TRUE(nq.pending());
  ASSERT_TRUE(nq.next(e));
  EXPECT_EQ(e.conn_id, 42U);
  EXPECT_EQ(e.kind, rm::notify::kKindsRx);
  ASSERT_TRUE(nq.next(e));
  EXPECT_EQ(e.conn_id, 43U);
  EXPECT_EQ(e.kind, rm::notify::kKindsTxDone);
  EXPECT_FALSE(nq.next(e));
  EXPECT_EQ(nq.release(), 2U);
  EXPECT_EQ(nq.release(), 0U);
  nq.arm();
  EXPECT_EQ(db.take(), (std::vector<RecordingDoorbell::Write>{{kNqPage + rm::kDbNqCons, 2},
                                                              {kNqPage + rm::kDbNqArm, 1}}));
  // Wrap: 20 more entries in lap order.
  for (std::uint32_t i = 2; i < 22; ++i) {
    put(i, i, rm::notify::kKindsRx);
    ASSERT_TRUE(nq.next(e));
    EXPECT_EQ(e.conn_id, i);
  }
  EXPECT_FALSE(nq.next(e));
}

}  // namespace
}  // namespace norman
