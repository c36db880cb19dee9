// axi_dma_wr against a C++ AXI4 slave with host memory: random writes
// (unaligned, crossing 4 KiB pages, long and short) with random stalls on
// every channel must leave memory exactly as the requests say, never touch
// a byte outside them, and never issue a burst that crosses a 4 KiB page.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "Vaxi_dma_wr.h"
#include "dma_reqs.hpp"
#include "wide.hpp"

namespace {

using norman::boards_test::Block;
using norman::boards_test::get_block;

constexpr std::size_t kMem = 1 << 20;

using norman::boards_test::WrReq;
using norman::boards_test::WrReqDriver;

struct WBeat {
  Block data;
  std::uint64_t strb;
  bool last;
};

struct Burst {
  std::uint64_t addr;
  unsigned beats;
  unsigned done = 0;
};

class WrBench {
 public:
  explicit WrBench(unsigned seed) : rng_(seed), mem_(kMem, 0xA5), ref_(kMem, 0xA5) {
    top_ = std::make_unique<Vaxi_dma_wr>(ctx_.get());
    top_->rst_ni = 0;
    for (int i = 0; i < 3; ++i) tick();
    top_->rst_ni = 1;
    tick();
  }

  void run(const std::vector<WrReq>& reqs, int stall_pct) {
    for (const WrReq& r : reqs) {
      for (std::uint32_t i = 0; i < r.len; ++i) ref_[r.addr + i] = r.data[i];
    }
    WrReqDriver core(reqs);
    std::uniform_int_distribution<int> pct(0, 99);
    for (unsigned cycle = 0; cycle < 2000000; ++cycle) {
      core.present(*top_, rng_, pct, stall_pct);
      top_->m_axi_awready = pct(rng_) >= stall_pct;
      top_->m_axi_wready = pct(rng_) >= stall_pct;
      top_->m_axi_bvalid = !bq_.empty();
      top_->m_axi_bresp = 0;
      top_->eval();
      const bool took = top_->dma_wr_valid_i && top_->dma_wr_ready_o;
      const bool aw = top_->m_axi_awvalid && top_->m_axi_awready;
      const bool w = top_->m_axi_wvalid && top_->m_axi_wready;
      const bool b = top_->m_axi_bvalid && top_->m_axi_bready;
      if (aw) {
        const std::uint64_t a = top_->m_axi_awaddr;
        const unsigned n = top_->m_axi_awlen + 1u;
        EXPECT_EQ(top_->m_axi_awsize, 6);
        EXPECT_EQ(top_->m_axi_awburst, 1);
        EXPECT_EQ(a >> 12, ((a & ~63ULL) + 64ULL * (n - 1)) >> 12) << "burst crosses 4 KiB";
        bursts_.push_back({a, n});
      }
      if (w)
        wq_.push_back({get_block(top_->m_axi_wdata), top_->m_axi_wstrb,
                       static_cast<bool>(top_->m_axi_wlast)});
      // AXI lets W run ahead of its AW: apply beats once their burst is known.
      while (!wq_.empty() && !bursts_.empty()) {
        Burst& bu = bursts_.front();
        const WBeat& wb = wq_.front();
        const std::uint64_t blk = (bu.addr & ~63ULL) + 64ULL * bu.done;
        for (int j = 0; j < 64; ++j) {
          if ((wb.strb >> j) & 1) mem_[blk + j] = wb.data[j];
        }
        ++bu.done;
        EXPECT_EQ(wb.last, bu.done == bu.beats);
        wq_.pop_front();
        if (bu.done == bu.beats) {
          bursts_.pop_front();
          bq_.push_back(1);
        }
      }
      if (b) bq_.pop_front();
      tick();
      if (took) core.taken();
      if (core.done() && bursts_.empty() && wq_.empty() && bq_.empty() && !top_->m_axi_wvalid &&
          !top_->m_axi_awvalid) {
        break;
      }
    }
    EXPECT_EQ(core.sent(), reqs.size()) << "requests left unsent";
    EXPECT_FALSE(top_->error_o);
    for (std::size_t i = 0; i < kMem; ++i) {
      ASSERT_EQ(mem_[i], ref_[i]) << "byte " << i;
    }
  }

  std::mt19937& rng() { return rng_; }

 private:
  void tick() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }

  std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vaxi_dma_wr> top_;
  std::mt19937 rng_;
  std::vector<std::uint8_t> mem_, ref_;
  std::deque<Burst> bursts_;
  std::deque<WBeat> wq_;
  std::deque<int> bq_;
};

std::vector<WrReq> random_reqs(std::mt19937& rng, int n, std::uint32_t max_len) {
  return norman::boards_test::random_wr_reqs(rng, n, max_len, kMem);
}

TEST(AxiDmaWr, SmallWritesNoStalls) {
  WrBench b(1);
  b.run(random_reqs(b.rng(), 400, 80), 0);
}

TEST(AxiDmaWr, FramesWithStalls) {
  WrBench b(2);
  b.run(random_reqs(b.rng(), 300, 1600), 30);
}

TEST(AxiDmaWr, LongWritesAcrossPages) {
  WrBench b(3);
  std::vector<WrReq> reqs = random_reqs(b.rng(), 40, 20000);
  // Exactly at and around page ends.
  for (std::uint64_t a : {4096ULL - 1, 4096ULL - 64, 8192ULL - 63, 12288ULL}) {
    WrReq r{a + 65536, 130, std::vector<std::uint8_t>(130, 0x5A)};
    reqs.push_back(r);
  }
  b.run(reqs, 20);
}

}  // namespace
