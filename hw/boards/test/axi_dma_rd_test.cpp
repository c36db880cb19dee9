// axi_dma_rd against a C++ AXI4 slave over host memory: random reads
// (unaligned, across 4 KiB pages, many in flight) with random stalls must
// come back in request order, packed from lane 0, with the request's tag,
// exactly ceil(len/64) beats and `last` on the final one; no burst crosses
// a 4 KiB page.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "Vaxi_dma_rd.h"
#include "dma_reqs.hpp"
#include "wide.hpp"

namespace {

using norman::boards_test::Block;
using norman::boards_test::get_block;
using norman::boards_test::put_block;

constexpr std::size_t kMem = 1 << 20;

using Req = norman::boards_test::RdReq;

struct Burst {
  std::uint64_t addr;
  unsigned beats;
  unsigned done = 0;
};

class RdBench {
 public:
  explicit RdBench(unsigned seed) : rng_(seed), mem_(kMem) {
    for (auto& b : mem_) b = static_cast<std::uint8_t>(rng_());
    top_ = std::make_unique<Vaxi_dma_rd>(ctx_.get());
    top_->rst_ni = 0;
    for (int i = 0; i < 3; ++i) tick();
    top_->rst_ni = 1;
    tick();
  }

  void run(const std::vector<Req>& reqs, int stall_pct) {
    std::uniform_int_distribution<int> pct(0, 99);
    std::size_t issued = 0, checked = 0;
    std::deque<Req> waiting;  // issued, completions not yet all seen
    std::vector<std::uint8_t> got;
    unsigned beats_got = 0;
    for (unsigned cycle = 0; cycle < 2000000 && checked < reqs.size(); ++cycle) {
      top_->dma_rd_req_valid_i = issued < reqs.size();
      if (issued < reqs.size()) {
        top_->dma_rd_req_addr_i = reqs[issued].addr;
        top_->dma_rd_req_len_i = static_cast<std::uint16_t>(reqs[issued].len);
        top_->dma_rd_req_tag_i = reqs[issued].tag;
      }
      top_->dma_rd_cpl_ready_i = pct(rng_) >= stall_pct;
      top_->m_axi_arready = pct(rng_) >= stall_pct;
      const bool r_offer = !bursts_.empty() && pct(rng_) >= stall_pct;
      top_->m_axi_rvalid = r_offer;
      if (r_offer) {
        const Burst& bu = bursts_.front();
        Block b{};
        const std::uint64_t blk = (bu.addr & ~63ULL) + 64ULL * bu.done;
        for (int j = 0; j < 64; ++j) b[j] = mem_[(blk + j) % kMem];
        put_block(top_->m_axi_rdata, b);
        top_->m_axi_rlast = (bu.done + 1 == bu.beats);
        top_->m_axi_rresp = 0;
      }
      top_->eval();
      const bool req = top_->dma_rd_req_valid_i && top_->dma_rd_req_ready_o;
      const bool ar = top_->m_axi_arvalid && top_->m_axi_arready;
      const bool r = top_->m_axi_rvalid && top_->m_axi_rready;
      const bool cpl = top_->dma_rd_cpl_valid_o && top_->dma_rd_cpl_ready_i;
      if (ar) {
        const std::uint64_t a = top_->m_axi_araddr;
        const unsigned n = top_->m_axi_arlen + 1u;
        EXPECT_EQ(a >> 12, ((a & ~63ULL) + 64ULL * (n - 1)) >> 12) << "burst crosses 4 KiB";
        bursts_.push_back({a, n});
      }
      if (cpl) {
        EXPECT_FALSE(waiting.empty()) << "completion with no request";
        if (!waiting.empty()) {
          const Req& w = waiting.front();
          EXPECT_EQ(top_->dma_rd_cpl_tag_o, w.tag);
          const Block d = get_block(top_->dma_rd_cpl_data_o);
          got.insert(got.end(), d.begin(), d.end());
          ++beats_got;
          const unsigned want = (w.len + 63) / 64;
          EXPECT_EQ(static_cast<bool>(top_->dma_rd_cpl_last_o), beats_got == want);
          if (top_->dma_rd_cpl_last_o || beats_got == want) {
            EXPECT_EQ(beats_got, want);
            for (std::uint32_t i = 0; i < w.len; ++i) {
              ASSERT_EQ(got[i], mem_[w.addr + i]) << "request " << checked << " byte " << i;
            }
            got.clear();
            beats_got = 0;
            waiting.pop_front();
            ++checked;
          }
        }
      }
      tick();
      if (r) {
        Burst& bu = bursts_.front();
        if (++bu.done == bu.beats) bursts_.pop_front();
      }
      if (req) waiting.push_back(reqs[issued++]);
    }
    EXPECT_EQ(checked, reqs.size());
    EXPECT_FALSE(top_->error_o);
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
  std::unique_ptr<Vaxi_dma_rd> top_;
  std::mt19937 rng_;
  std::vector<std::uint8_t> mem_;
  std::deque<Burst> bursts_;
};

std::vector<Req> random_reqs(std::mt19937& rng, int n, std::uint32_t max_len) {
  return norman::boards_test::random_rd_reqs(rng, n, max_len, kMem);
}

TEST(AxiDmaRd, DescriptorSizedReads) {
  RdBench b(11);
  b.run(random_reqs(b.rng(), 500, 64), 0);
}

TEST(AxiDmaRd, FramesWithStalls) {
  RdBench b(12);
  b.run(random_reqs(b.rng(), 300, 1600), 30);
}

TEST(AxiDmaRd, LongReadsAcrossPages) {
  RdBench b(13);
  std::vector<Req> reqs = random_reqs(b.rng(), 40, 20000);
  for (std::uint64_t a : {4096ULL - 1, 4096ULL - 64, 8192ULL - 63, 12288ULL}) {
    reqs.push_back({a, 200, 7});
  }
  b.run(reqs, 20);
}

}  // namespace
