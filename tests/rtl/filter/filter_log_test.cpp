// filter_log alone (the LOG records of the filter overlay): the ring room it
// counts against LOG_CONS, with records still in its FIFO and holding
// register, as LOG_CONS moves and the DMA write port stalls. A record must
// never be written where the host has not consumed (room over-counted) and
// every free slot must be used (room under-counted), one cycle after
// LOG_CONS changes at the latest. The whole-NIC LOG tests are
// tests/nic/filter_log_test.cpp.
#include <gtest/gtest.h>
#include <verilated.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "Vfilter_log.h"
#include "norman/regmap.hpp"

namespace {

namespace fl = norman::regmap::filter_log;

constexpr std::uint64_t kBase = 0x100000;

class FilterLog : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<Vfilter_log>(&ctx_);
    m_->rst_ni = 0;
    m_->wr_ready_i = 1;
    m_->base_i = kBase;
    step();
    step();
    m_->rst_ni = 1;
    step();
  }

  // One clock. Drops and accepted writes are taken before the edge, as the
  // counter bank and the DMA arbiter see them.
  void step() {
    m_->clk_i = 0;
    m_->eval();
    if (m_->rst_ni) {
      dropped_ += m_->drop_count_o;
      if (m_->wr_valid_o && m_->wr_ready_i) take_write();
    }
    m_->clk_i = 1;
    m_->eval();
    m_->cfg_we_i = 0;
    m_->rate_we_i = 0;
    m_->ev_valid_i = 0;
  }

  void take_write() {
    const std::uint64_t addr = m_->wr_addr_o;
    const std::uint32_t seq = (m_->wr_data_o[15] >> 16) & 0xFFFF;  // word 7, bits 63:48
    ASSERT_EQ(fl::kSeq.arg, 7u);
    ASSERT_EQ(fl::kSeq.lsb, 48u);
    const std::uint32_t idx = (seq - 1) & 0xFFFF;  // the record's producer index
    const std::uint32_t size = 1u << log2_;
    EXPECT_EQ(addr, kBase + std::uint64_t{idx % size} * fl::kRecordBytes);
    EXPECT_EQ(idx, written_) << "records in order, none skipped";
    // The slot was free: the host had consumed up to cons_ (LOG_CONS as the
    // NIC could have seen it: this cycle's or the previous one's).
    EXPECT_LT(static_cast<std::uint16_t>(idx - seen_cons_), size)
        << "record " << idx << " written over one the host owns (cons " << seen_cons_ << ")";
    ++written_;
  }

  // The ring as normand sets it up: consumer 0, then LOG_CFG.
  void ring(unsigned log2) {
    log2_ = log2;
    set_cons(0);
    m_->log2_i = static_cast<std::uint8_t>(log2);
    m_->cfg_we_i = 1;
    step();
    written_ = 0;
  }

  void set_cons(std::uint16_t c) {
    // The lower of the old and new values until the NIC has seen the new one.
    seen_cons_ = cons_;
    cons_ = c;
    m_->cons_i = c;
    step();
    seen_cons_ = c;
  }

  // n LOG events, one per port per cycle while both are used.
  void events(unsigned n, bool both_ports) {
    while (n > 0) {
      unsigned v = 1;
      if (both_ports && n > 1) v = 3;
      m_->ev_valid_i = static_cast<std::uint8_t>(v);
      m_->ev_slot_i = 7;
      m_->ev_bytes_i = 60;
      events_ += (v == 3) ? 2 : 1;
      n -= (v == 3) ? 2 : 1;
      step();
    }
  }

  void settle(unsigned cycles = 20) {
    for (unsigned i = 0; i < cycles; ++i) step();
  }

  VerilatedContext ctx_;
  std::unique_ptr<Vfilter_log> m_;
  unsigned log2_ = 0;
  std::uint16_t cons_ = 0;
  std::uint16_t seen_cons_ = 0;
  std::uint32_t written_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t events_ = 0;
};

// Exactly the free slots are filled, whatever the consumer's position, and
// every event is either written or counted dropped.
TEST_F(FilterLog, FillsExactlyTheFreeSlots) {
  ring(3);  // 8 records
  events(20, false);
  settle();
  EXPECT_EQ(written_, 8u);
  EXPECT_EQ(dropped_, 12u);
  set_cons(5);
  settle(2);
  events(9, true);
  settle();
  EXPECT_EQ(written_, 13u);
  EXPECT_EQ(dropped_, 16u);
  set_cons(13);  // all consumed
  events(8, false);
  settle();
  EXPECT_EQ(written_, 21u);
  EXPECT_EQ(dropped_, 16u);
  EXPECT_EQ(written_ + dropped_, events_);
  EXPECT_TRUE(m_->idle_o);
}

// Records still in the FIFO and the holding register (the DMA port stalled)
// occupy ring slots: once they are written, only what is left is free.
TEST_F(FilterLog, PendingRecordsOccupyTheRing) {
  ring(3);
  m_->wr_ready_i = 0;
  events(3, false);  // held: one in the holding register, two in the FIFO
  settle(5);
  EXPECT_EQ(written_, 0u);
  EXPECT_EQ(dropped_, 0u);
  m_->wr_ready_i = 1;
  events(10, true);  // 5 more fit beside the 3 held
  settle();
  EXPECT_EQ(written_, 8u);
  EXPECT_EQ(dropped_, 5u);
  // A stalled port with the ring nearly full: the FIFO holds what the ring
  // has room for and no more.
  set_cons(6);  // 6 free
  m_->wr_ready_i = 0;
  events(4, false);
  settle(3);
  m_->wr_ready_i = 1;
  settle(10);
  events(6, true);  // 2 free left
  settle();
  EXPECT_EQ(written_, 14u);
  EXPECT_EQ(dropped_, 9u);
  EXPECT_EQ(written_ + dropped_, events_);
}

// The consumer moving every cycle while events arrive: no record lands on a
// slot the host has not consumed, none is skipped, and all are accounted.
TEST_F(FilterLog, ConsumerMovingUnderLoad) {
  ring(2);  // 4 records
  for (unsigned round = 0; round < 200; ++round) {
    m_->wr_ready_i = (round % 7) != 3;
    // The host consumes everything written so far, now and then.
    if (round % 3 == 0) {
      seen_cons_ = cons_;
      cons_ = static_cast<std::uint16_t>(written_);
      m_->cons_i = cons_;
    } else {
      seen_cons_ = cons_;
    }
    m_->ev_valid_i = static_cast<std::uint8_t>(1 + round % 3);
    m_->ev_slot_i = 1;
    events_ += (round % 3 == 2) ? 2 : 1;
    step();
  }
  m_->wr_ready_i = 1;
  settle();
  EXPECT_EQ(written_ + dropped_, events_);
  // At most 4 records between two consumer moves (3 rounds): a third of the
  // 1.33 events per round can be written, and at least some are.
  EXPECT_GT(written_, 100u);
}

// A new ring (LOG_CFG) starts at producer 0 with all its slots free, even
// when the old one was full.
TEST_F(FilterLog, NewRingStartsEmpty) {
  ring(2);
  events(6, false);
  settle();
  EXPECT_EQ(written_, 4u);
  ring(2);
  events(6, true);
  settle();
  EXPECT_EQ(written_, 4u);
  EXPECT_EQ(dropped_, 4u);
}

}  // namespace
