// filter_limit (the NIC's -m limit token buckets) against the model of
// Linux's xt_limit (kernel/filter/rate_limit.hpp): random requests, many
// to the same slot back to back (every forwarding distance of the
// pipeline), across jiffy ticks, with the bucket's answers compared packet
// by packet. The NIC's jiffy is short here (CyclesPerJiffy = 64) so that
// refills happen within a short run.
#include <gtest/gtest.h>
#include <verilated.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>

#include "Vfilter_limit.h"
#include "rate_limit.hpp"

namespace {

using norman::filter::Limit;
using norman::filter::LimitBucket;
namespace xt = norman::filter::xt_limit;

constexpr unsigned kHz = 250;
constexpr unsigned kSlots = 16;

class FilterLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<Vfilter_limit>(&ctx_);
    m_->rst_ni = 0;
    m_->cpj_log2_i = 7;  // CREDITS_PER_JIFFY = 128 at HZ 250
    step();
    step();
    m_->rst_ni = 1;
    step();
  }

  void step() {
    m_->clk_i = 0;
    m_->eval();
    if (m_->rst_ni && m_->rsp_valid_o) {
      ASSERT_FALSE(expected_.empty()) << "an answer nobody asked for";
      const auto [slot, admit] = expected_.front();
      expected_.pop_front();
      EXPECT_EQ(m_->rsp_slot_o, slot);
      EXPECT_EQ(static_cast<bool>(m_->rsp_admit_o), admit) << "request " << answered_;
      ++answered_;
      admitted_ += admit ? 1 : 0;
    }
    m_->clk_i = 1;
    m_->eval();
    m_->req_valid_i = 0;
    m_->cfg_valid_i = 0;
  }

  void configure(unsigned slot, const Limit& l) {
    for (int i = 0; i < 100 && !m_->cfg_ready_o; ++i) step();
    ASSERT_TRUE(m_->cfg_ready_o);
    m_->cfg_valid_i = 1;
    m_->cfg_slot_i = static_cast<CData>(slot);
    m_->cfg_cost_i = xt::user2credits(l.avg, kHz);
    m_->cfg_cap_i = xt::user2credits(l.avg * l.burst, kHz);
    m_->eval();
    model_.erase(slot);
    model_.emplace(slot, LimitBucket(l, kHz, m_->jiffies_o));
    step();
  }

  // Offers a request for `slot` this cycle if the limiter takes one; the
  // model answers it at the jiffy the request entered with.
  bool request(unsigned slot) {
    m_->eval();
    if (!m_->req_ready_o) return false;
    m_->req_valid_i = 1;
    m_->req_slot_i = static_cast<CData>(slot);
    expected_.emplace_back(slot, model_.at(slot).admit(m_->jiffies_o));
    return true;
  }

  VerilatedContext ctx_;
  std::unique_ptr<Vfilter_limit> m_;
  std::map<unsigned, LimitBucket> model_;
  std::deque<std::pair<unsigned, bool>> expected_;
  std::uint64_t answered_ = 0;
  std::uint64_t admitted_ = 0;
};

TEST_F(FilterLimit, AnswersAsXtLimitPacketByPacket) {
  // Rates from 10000/sec (cost 3 credits, 42 tokens a jiffy) to 3/hour,
  // bursts from 1 to 10000, and the u32-wrapping 1/hour burst 10000.
  const Limit limits[] = {
      {1, 1},    {1, 10000}, {3, 5},     {33, 2},  {333, 7},          {2000, 3},
      {3333, 5}, {10000, 1}, {166, 100}, {50, 50}, {36000000, 10000}, {12000000, 5}};
  for (unsigned s = 0; s < kSlots; ++s) configure(s, limits[s % std::size(limits)]);
  std::mt19937 rng(7);
  for (int cycle = 0; cycle < 200000; ++cycle) {
    const auto r = static_cast<unsigned>(rng() % 100);
    if (r < 70) {
      // Mostly a few hot slots, so that the same slot follows itself at
      // every distance the pipeline forwards from.
      const auto slot = static_cast<unsigned>((rng() % 4 == 0) ? rng() % kSlots : rng() % 3);
      (void)request(slot);
    }
    if (cycle % 50000 == 49999)
      configure(static_cast<unsigned>(rng() % kSlots), limits[rng() % std::size(limits)]);
    step();
  }
  for (int i = 0; i < 10; ++i) step();
  EXPECT_TRUE(expected_.empty());
  EXPECT_GT(answered_, 100000u);
  EXPECT_GT(admitted_, 1000u);
  EXPECT_LT(admitted_, answered_);
}

TEST_F(FilterLimit, JiffiesAdvanceWithTheClockAndRequestsStopOnlyAroundATick) {
  const std::uint32_t j0 = m_->jiffies_o;
  int refused = 0;
  configure(0, Limit{1, 1});
  for (int cycle = 0; cycle < 64 * 100; ++cycle) {
    if (!request(0)) ++refused;
    step();
  }
  for (int i = 0; i < 10; ++i) step();
  EXPECT_NEAR(static_cast<double>(m_->jiffies_o - j0), 100.0, 1.0);
  // Each tick costs the cycles to drain the pipeline (4) and the tick's own.
  EXPECT_LE(refused, 100 * 6);
}

}  // namespace
