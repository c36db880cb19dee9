// eth_avst_rx between a 390.625 MHz MAC that cannot be stalled and the
// 250 MHz core: frames arrive in order with the first wire byte in lane 0,
// the right tkeep and tuser for MAC/FCS errors; when the core stalls, whole
// frames are dropped and counted, never a part of one; a frame too long for
// the FIFO is cut and closed with a bad beat.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "Veth_avst_rx.h"
#include "two_clocks.hpp"
#include "wide.hpp"

namespace {

using norman::boards_test::Block;
using norman::boards_test::get_block;
using norman::boards_test::put_block;
using norman::boards_test::TwoClocks;

struct Frame {
  std::vector<std::uint8_t> bytes;
  bool bad = false;
};

class RxBench {
 public:
  explicit RxBench(unsigned seed) : rng_(seed) {
    top_ = std::make_unique<Veth_avst_rx>(ctx_.get());
    top_->mac_rst_ni = 0;
    top_->core_rst_ni = 0;
    for (int i = 0; i < 10; ++i) step();
    top_->mac_rst_ni = 1;
    top_->core_rst_ni = 1;
    for (int i = 0; i < 10; ++i) step();
  }

  // Sends frames (MAC side, gaps with probability gap_pct) while the core
  // takes beats with probability ready_pct; returns frames delivered.
  std::vector<Frame> run(const std::vector<Frame>& frames, int gap_pct, int ready_pct,
                         unsigned drain_cycles = 20000) {
    std::size_t fi = 0;
    unsigned beat = 0;
    std::vector<Frame> got;
    Frame cur;
    std::uniform_int_distribution<int> pct(0, 99);
    unsigned idle = 0;
    while (idle < drain_cycles) {
      const TwoClocks::Edge e = clocks_.next();
      if (e.a) {  // MAC
        top_->avst_valid_i = 0;
        if (fi < frames.size() && pct(rng_) >= gap_pct) {
          const Frame& f = frames[fi];
          const unsigned beats = static_cast<unsigned>((f.bytes.size() + 63) / 64);
          Block b{};
          for (int j = 0; j < 64; ++j) {
            const std::size_t i = 64ULL * beat + j;
            b[63 - j] = i < f.bytes.size() ? f.bytes[i] : 0;  // first byte in the top lane
          }
          put_block(top_->avst_data_i, b);
          top_->avst_valid_i = 1;
          top_->avst_sop_i = beat == 0;
          top_->avst_eop_i = beat + 1 == beats;
          top_->avst_empty_i =
              static_cast<std::uint8_t>(beat + 1 == beats ? 64 * beats - f.bytes.size() : 0);
          top_->avst_error_i = (beat + 1 == beats && f.bad) ? 1 : 0;
          top_->avst_fcs_error_i = 0;
          if (++beat == beats) {
            beat = 0;
            ++fi;
          }
        }
      }
      if (e.b) {  // core
        top_->tready_i = pct(rng_) < ready_pct;
        top_->eval();
        if (top_->tvalid_o && top_->tready_i) {
          const Block d = get_block(top_->tdata_o);
          const std::uint64_t keep = top_->tkeep_o;
          for (int j = 0; j < 64; ++j) {
            if ((keep >> j) & 1) cur.bytes.push_back(d[j]);
          }
          if (!top_->tlast_o) {
            EXPECT_EQ(keep, ~0ULL);
          }
          if (top_->tlast_o) {
            cur.bad = top_->tuser_o;
            got.push_back(cur);
            cur = Frame{};
          }
        }
      }
      tick(e);
      idle = (fi == frames.size()) ? idle + 1 : 0;
    }
    return got;
  }

  std::uint32_t dropped() const { return top_->dropped_o; }
  std::mt19937& rng() { return rng_; }

 private:
  void step() { tick(clocks_.next()); }
  void tick(TwoClocks::Edge e) {
    top_->mac_clk_i = 0;
    top_->core_clk_i = 0;
    top_->eval();
    top_->mac_clk_i = e.a;
    top_->core_clk_i = e.b;
    top_->eval();
  }

  std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
  std::unique_ptr<Veth_avst_rx> top_;
  TwoClocks clocks_{2560, 4000};
  std::mt19937 rng_;
};

std::vector<Frame> random_frames(std::mt19937& rng, int n) {
  std::vector<Frame> out;
  std::uniform_int_distribution<std::size_t> len(14, 1518);
  for (int i = 0; i < n; ++i) {
    Frame f;
    f.bytes.resize(len(rng));
    for (auto& b : f.bytes) b = static_cast<std::uint8_t>(rng());
    f.bad = (rng() % 8) == 0;
    out.push_back(std::move(f));
  }
  return out;
}

TEST(EthAvstRx, FramesInOrderWhenTheCoreKeepsUp) {
  RxBench b(1);
  const auto sent = random_frames(b.rng(), 300);
  const auto got = b.run(sent, 40, 100);
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i].bytes, sent[i].bytes) << "frame " << i;
    EXPECT_EQ(got[i].bad, sent[i].bad) << "frame " << i;
  }
  EXPECT_EQ(b.dropped(), 0u);
}

TEST(EthAvstRx, ASlowCoreLosesWholeFramesAndCountsThem) {
  RxBench b(2);
  const auto sent = random_frames(b.rng(), 300);
  const auto got = b.run(sent, 0, 30);
  // Delivered frames are sent frames, whole, in order.
  std::size_t si = 0;
  for (const Frame& g : got) {
    while (si < sent.size() && sent[si].bytes != g.bytes) ++si;
    ASSERT_LT(si, sent.size()) << "a delivered frame matches no sent frame";
    ++si;
  }
  EXPECT_LT(got.size(), sent.size());
  EXPECT_EQ(b.dropped(), sent.size() - got.size());
}

TEST(EthAvstRx, AnOversizeFrameIsCutAndMarkedBad) {
  RxBench b(3);
  Frame huge;
  huge.bytes.assign(64 * 100, 0x77);           // longer than the 64-beat FIFO
  const auto got = b.run({huge}, 0, 0, 2000);  // the core takes nothing meanwhile
  EXPECT_TRUE(got.empty());
  const auto after = b.run({}, 0, 100, 2000);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0].bad);
  EXPECT_EQ(b.dropped(), 1u);
}

}  // namespace
