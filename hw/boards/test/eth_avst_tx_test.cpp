// eth_avst_tx between the 250 MHz core (which may pause inside a frame) and
// a 390.625 MHz MAC: frames leave in order with the first byte in the top
// lane and the right `empty`, and once a frame has started its beats follow
// without a gap (store and forward: the MAC must never underflow).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "Veth_avst_tx.h"
#include "two_clocks.hpp"
#include "wide.hpp"

namespace {

using norman::boards_test::Block;
using norman::boards_test::get_block;
using norman::boards_test::put_block;
using norman::boards_test::TwoClocks;

using Frame = std::vector<std::uint8_t>;

std::vector<Frame> run(const std::vector<Frame>& frames, unsigned seed, int gap_pct,
                       bool mac_always_ready) {
  auto ctx = std::make_unique<VerilatedContext>();
  auto top = std::make_unique<Veth_avst_tx>(ctx.get());
  TwoClocks clocks(4000, 2560);  // a: core, b: MAC
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pct(0, 99);
  auto tick = [&](TwoClocks::Edge e) {
    top->core_clk_i = 0;
    top->mac_clk_i = 0;
    top->eval();
    top->core_clk_i = e.a;
    top->mac_clk_i = e.b;
    top->eval();
  };
  top->core_rst_ni = 0;
  top->mac_rst_ni = 0;
  for (int i = 0; i < 10; ++i) tick(clocks.next());
  top->core_rst_ni = 1;
  top->mac_rst_ni = 1;

  std::vector<Frame> got;
  Frame cur;
  bool in_frame = false;
  std::size_t fi = 0;
  unsigned beat = 0, idle = 0;
  while (idle < 5000) {
    const TwoClocks::Edge e = clocks.next();
    if (e.a) {  // core
      top->tvalid_i = 0;
      if (fi < frames.size() && pct(rng) >= gap_pct) {
        const Frame& f = frames[fi];
        const unsigned beats = static_cast<unsigned>((f.size() + 63) / 64);
        Block b{};
        std::uint64_t keep = 0;
        for (int j = 0; j < 64; ++j) {
          const std::size_t i = 64ULL * beat + j;
          if (i < f.size()) {
            b[j] = f[i];
            keep |= 1ULL << j;
          }
        }
        put_block(top->tdata_i, b);
        top->tkeep_i = keep;
        top->tlast_i = beat + 1 == beats;
        top->tvalid_i = 1;
      }
      top->eval();
      if (top->tvalid_i && top->tready_o) {
        const unsigned beats = static_cast<unsigned>((frames[fi].size() + 63) / 64);
        if (++beat == beats) {
          beat = 0;
          ++fi;
        }
      }
    }
    if (e.b) {  // MAC
      top->avst_ready_i = mac_always_ready || pct(rng) < 70;
      top->eval();
      if (in_frame && top->avst_ready_i) {
        EXPECT_TRUE(top->avst_valid_o) << "gap inside a frame";
      }
      if (top->avst_valid_o && top->avst_ready_i) {
        EXPECT_EQ(static_cast<bool>(top->avst_sop_o), !in_frame);
        const Block d = get_block(top->avst_data_o);
        const unsigned n = top->avst_eop_o ? 64u - top->avst_empty_o : 64u;
        for (unsigned j = 0; j < n; ++j) cur.push_back(d[63 - j]);
        in_frame = !top->avst_eop_o;
        if (top->avst_eop_o) {
          got.push_back(cur);
          cur.clear();
        }
      }
    }
    tick(e);
    idle = (fi == frames.size() && !in_frame) ? idle + 1 : 0;
  }
  return got;
}

std::vector<Frame> random_frames(unsigned seed, int n) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> len(14, 1518);
  std::vector<Frame> out;
  for (int i = 0; i < n; ++i) {
    Frame f(len(rng));
    for (auto& b : f) b = static_cast<std::uint8_t>(rng());
    out.push_back(std::move(f));
  }
  return out;
}

TEST(EthAvstTx, FramesInOrderWithoutGapsFromAPausingCore) {
  const auto sent = random_frames(7, 200);
  const auto got = run(sent, 8, 40, true);
  EXPECT_EQ(got, sent);
}

TEST(EthAvstTx, MacBackPressure) {
  const auto sent = random_frames(9, 200);
  const auto got = run(sent, 10, 0, false);
  EXPECT_EQ(got, sent);
}

}  // namespace
