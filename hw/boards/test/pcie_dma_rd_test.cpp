// pcie_dma_rd against a C++ completer: every MRd it emits must read one
// aligned 64-byte block (16 DW, all bytes enabled, 3-DW header below 4 GiB,
// 4-DW above, our requester ID, a tag not already in flight); the bench
// answers them in random order, with gaps between the two beats of a
// completion. The core side must still get every request back in order,
// packed from lane 0, with its tag, ceil(len/64) beats and `last`. With
// extended tags off, at most 32 reads are in flight and tags stay 5-bit.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "Vpcie_dma_rd.h"
#include "dma_reqs.hpp"
#include "wide.hpp"

namespace {

using norman::boards_test::Block;
using norman::boards_test::get_block;

constexpr std::uint64_t kHigh = 0x1'0000'0000ULL;
constexpr std::uint64_t kWin = 1 << 18;
constexpr std::uint16_t kRid = 0x6500;

using Req = norman::boards_test::RdReq;

struct Read {
  std::uint64_t addr;
  unsigned tag;
};

std::uint8_t mem_at(std::uint64_t a) {
  const std::uint64_t x = a * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::uint8_t>(x >> 56);
}

class RdTlpBench {
 public:
  RdTlpBench(unsigned seed, bool ext_tags) : rng_(seed), ext_(ext_tags) {
    top_ = std::make_unique<Vpcie_dma_rd>(ctx_.get());
    top_->requester_id_i = kRid;
    top_->ext_tag_en_i = ext_tags;
    top_->rst_ni = 0;
    for (int i = 0; i < 3; ++i) tick();
    top_->rst_ni = 1;
    tick();
  }

  void run(const std::vector<Req>& reqs, int stall_pct) {
    std::uniform_int_distribution<int> pct(0, 99);
    std::size_t issued = 0, checked = 0;
    std::deque<Req> waiting;
    std::vector<std::uint8_t> got;
    unsigned beats_got = 0, max_in_flight = 0;
    for (unsigned cycle = 0; cycle < 2000000 && checked < reqs.size(); ++cycle) {
      top_->dma_rd_req_valid_i = issued < reqs.size();
      if (issued < reqs.size()) {
        top_->dma_rd_req_addr_i = reqs[issued].addr;
        top_->dma_rd_req_len_i = static_cast<std::uint16_t>(reqs[issued].len);
        top_->dma_rd_req_tag_i = reqs[issued].tag;
      }
      top_->dma_rd_cpl_ready_i = pct(rng_) >= stall_pct;
      top_->tlp_ready_i = pct(rng_) >= stall_pct;
      // Completer: start a random outstanding read's completion, send its
      // second beat some cycles later.
      top_->cpl_valid_i = 0;
      if (half_ && pct(rng_) >= stall_pct) {
        drive_cpl(*half_, false);
      } else if (!half_ && !reads_.empty() && pct(rng_) >= stall_pct) {
        auto it = reads_.begin();
        std::advance(it, std::uniform_int_distribution<std::size_t>(0, reads_.size() - 1)(rng_));
        half_ = it->second;
        reads_.erase(it);
        drive_cpl(*half_, true);
      }
      top_->eval();
      const bool req = top_->dma_rd_req_valid_i && top_->dma_rd_req_ready_o;
      const bool cpl_out = top_->dma_rd_cpl_valid_o && top_->dma_rd_cpl_ready_i;
      const bool cpl_in_second = top_->cpl_valid_i && top_->cpl_eop_i;
      if (top_->tlp_valid_o && top_->tlp_ready_i) mrd();
      max_in_flight = std::max<unsigned>(max_in_flight, static_cast<unsigned>(reads_.size()));
      if (cpl_out) {
        ASSERT_FALSE(waiting.empty()) << "completion with no request";
        const Req& w = waiting.front();
        EXPECT_EQ(top_->dma_rd_cpl_tag_o, w.tag);
        const Block d = get_block(top_->dma_rd_cpl_data_o);
        got.insert(got.end(), d.begin(), d.end());
        ++beats_got;
        const unsigned want = (w.len + 63) / 64;
        EXPECT_EQ(static_cast<bool>(top_->dma_rd_cpl_last_o), beats_got == want);
        if (top_->dma_rd_cpl_last_o || beats_got == want) {
          for (std::uint32_t i = 0; i < w.len; ++i) {
            ASSERT_EQ(got[i], mem_at(w.addr + i)) << "request " << checked << " byte " << i;
          }
          got.clear();
          beats_got = 0;
          waiting.pop_front();
          ++checked;
        }
      }
      tick();
      if (cpl_in_second) half_.reset();
      if (req) waiting.push_back(reqs[issued++]);
    }
    EXPECT_EQ(checked, reqs.size());
    EXPECT_LE(max_in_flight, ext_ ? 256u : 32u);
    EXPECT_FALSE(top_->error_o);
  }

  std::mt19937& rng() { return rng_; }

 private:
  void mrd() {
    std::uint32_t d[16];
    for (int i = 0; i < 16; ++i) d[i] = top_->tlp_data_o[i];
    const unsigned fmt = d[0] >> 29;
    ASSERT_TRUE(fmt == 0 || fmt == 1) << "not a MRd";
    EXPECT_EQ((d[0] >> 24) & 31, 0u);
    EXPECT_EQ(d[0] & 1023, 16u);
    EXPECT_EQ(d[1] >> 16, kRid);
    EXPECT_EQ(d[1] & 0xFF, 0xFFu) << "byte enables";
    const unsigned tag = (d[1] >> 8) & 0xFF;
    if (!ext_) {
      EXPECT_LT(tag, 32u);
    }
    const std::uint64_t a = fmt == 1 ? (static_cast<std::uint64_t>(d[2]) << 32) | d[3]
                                     : static_cast<std::uint64_t>(d[2]);
    if (fmt == 1) {
      EXPECT_GE(a, 1ULL << 32) << "4-DW header below 4 GiB";
    }
    EXPECT_EQ(a & 63, 0u);
    EXPECT_EQ(reads_.count(tag), 0u) << "tag " << tag << " reused while in flight";
    reads_[tag] = Read{a, tag};
  }

  // A 16-DW CplD: header and DW0..12 in the first beat, DW13..15 in the second.
  void drive_cpl(const Read& r, bool first) {
    std::uint32_t block[16];
    for (int i = 0; i < 16; ++i) {
      block[i] = 0;
      for (int k = 0; k < 4; ++k)
        block[i] |= static_cast<std::uint32_t>(mem_at(r.addr + 4 * i + k)) << (8 * k);
    }
    for (int i = 0; i < 16; ++i) top_->cpl_data_i[i] = 0;
    if (first) {
      top_->cpl_data_i[0] = (2u << 29) | (0x0Au << 24) | 16u;
      top_->cpl_data_i[1] = (0x0100u << 16) | 64u;
      top_->cpl_data_i[2] = (static_cast<std::uint32_t>(kRid) << 16) | (r.tag << 8) |
                            static_cast<std::uint32_t>(r.addr & 0x7F);
      for (int i = 0; i < 13; ++i) top_->cpl_data_i[3 + i] = block[i];
    } else {
      for (int i = 0; i < 3; ++i) top_->cpl_data_i[i] = block[13 + i];
    }
    top_->cpl_valid_i = 1;
    top_->cpl_sop_i = first;
    top_->cpl_eop_i = !first;
  }

  void tick() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }

  std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vpcie_dma_rd> top_;
  std::mt19937 rng_;
  bool ext_;
  std::map<unsigned, Read> reads_;
  std::optional<Read> half_;
};

std::vector<Req> random_reqs(std::mt19937& rng, int n, std::uint32_t max_len) {
  return norman::boards_test::random_rd_reqs(rng, n, max_len, kWin, kHigh);
}

TEST(PcieDmaRd, DescriptorSizedReads) {
  RdTlpBench b(31, true);
  b.run(random_reqs(b.rng(), 500, 64), 0);
}

TEST(PcieDmaRd, FramesOutOfOrderWithStalls) {
  RdTlpBench b(32, true);
  b.run(random_reqs(b.rng(), 200, 1600), 30);
}

TEST(PcieDmaRd, WithoutExtendedTags) {
  RdTlpBench b(33, false);
  b.run(random_reqs(b.rng(), 200, 1600), 10);
}

TEST(PcieDmaRd, LongReads) {
  RdTlpBench b(34, true);
  b.run(random_reqs(b.rng(), 20, 16000), 5);
}

}  // namespace
