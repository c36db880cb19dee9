// pcie_dma_wr against a C++ parser of the memory-write TLPs it emits:
// random writes below and above 4 GiB, unaligned, long and short, with
// random back-pressure, for 128- and 256-byte max payload. Every TLP must
// be well formed (3-DW header below 4 GiB, 4-DW above, length and byte
// enables matching the bytes, no crossing of a max-payload boundary,
// payload right after the header, eop on the last beat, data credits
// reported per beat adding up to the TLP's), and applying them must leave
// memory exactly as the requests say.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "Vpcie_dma_wr.h"
#include "dma_reqs.hpp"
#include "wide.hpp"

namespace {

constexpr std::uint64_t kHigh = 0x1'0000'0000ULL;  // second window, above 4 GiB
constexpr std::uint64_t kWin = 1 << 18;
constexpr std::uint16_t kRid = 0x6500;

using norman::boards_test::WrReq;
using norman::boards_test::WrReqDriver;

class WrTlpBench {
 public:
  WrTlpBench(unsigned seed, unsigned mps_code) : rng_(seed), mps_(128u << mps_code) {
    top_ = std::make_unique<Vpcie_dma_wr>(ctx_.get());
    top_->requester_id_i = kRid;
    top_->max_payload_i = static_cast<std::uint8_t>(mps_code);
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
      top_->tlp_ready_i = pct(rng_) >= stall_pct;
      top_->eval();
      const bool took = top_->dma_wr_valid_i && top_->dma_wr_ready_o;
      if (top_->tlp_valid_o && top_->tlp_ready_i) tlp_beat();
      tick();
      if (took) core.taken();
      if (core.done() && top_->idle_o) break;
    }
    EXPECT_EQ(core.sent(), reqs.size());
    EXPECT_FALSE(in_tlp_) << "TLP left open";
    EXPECT_FALSE(top_->error_o);
    EXPECT_EQ(mem_, ref_);
  }

  std::mt19937& rng() { return rng_; }

 private:
  void tlp_beat() {
    std::uint32_t d[16];
    for (int i = 0; i < 16; ++i) d[i] = top_->tlp_data_o[i];
    int from = 0;
    if (top_->tlp_sop_o) {
      EXPECT_FALSE(in_tlp_) << "sop inside a TLP";
      const unsigned fmt = d[0] >> 29, type = (d[0] >> 24) & 31;
      ASSERT_TRUE(fmt == 2 || fmt == 3) << "not a MWr: fmt " << fmt;
      EXPECT_EQ(type, 0u);
      EXPECT_EQ(d[0] & 0x00FFFC00u, 0u) << "TC/attr/TD/EP must be 0 (no relaxed ordering)";
      len_ = d[0] & 1023;
      if (len_ == 0) len_ = 1024;
      EXPECT_EQ(d[1] >> 16, kRid);
      fbe_ = d[1] & 15;
      lbe_ = (d[1] >> 4) & 15;
      hdr_ = fmt == 3 ? 4 : 3;
      addr_ = fmt == 3 ? (static_cast<std::uint64_t>(d[2]) << 32) | (d[3] & ~3u) : (d[2] & ~3u);
      if (fmt == 3) {
        EXPECT_GE(addr_, 1ULL << 32) << "4-DW header below 4 GiB";
      }
      EXPECT_LE(len_ * 4, mps_);
      EXPECT_EQ(addr_ / mps_, (addr_ + 4ULL * len_ - 1) / mps_) << "crosses max payload";
      if (len_ == 1) {
        EXPECT_EQ(lbe_, 0u);
      }
      EXPECT_EQ(top_->tlp_credits_o, (len_ + 3) / 4);
      dws_ = 0;
      credits_ = 0;
      in_tlp_ = true;
      from = static_cast<int>(hdr_);
    }
    ASSERT_TRUE(in_tlp_) << "beat outside a TLP";
    credits_ += top_->tlp_beat_cr_o;
    for (int i = from; i < 16 && dws_ < len_; ++i, ++dws_) {
      const unsigned be = (dws_ == 0) ? fbe_ : (dws_ + 1 == len_ ? lbe_ : 15u);
      for (int k = 0; k < 4; ++k) {
        if ((be >> k) & 1)
          mem_[addr_ + 4ULL * dws_ + k] = static_cast<std::uint8_t>(d[i] >> (8 * k));
      }
    }
    EXPECT_EQ(static_cast<bool>(top_->tlp_eop_o), dws_ == len_);
    if (top_->tlp_eop_o) {
      EXPECT_EQ(credits_, (len_ + 3) / 4) << "reported data credits";
      in_tlp_ = false;
    }
  }

  void tick() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }

  std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vpcie_dma_wr> top_;
  std::mt19937 rng_;
  unsigned mps_;
  std::map<std::uint64_t, std::uint8_t> mem_, ref_;
  bool in_tlp_ = false;
  unsigned len_ = 0, fbe_ = 0, lbe_ = 0, hdr_ = 0, dws_ = 0, credits_ = 0;
  std::uint64_t addr_ = 0;
};

std::vector<WrReq> random_reqs(std::mt19937& rng, int n, std::uint32_t max_len) {
  return norman::boards_test::random_wr_reqs(rng, n, max_len, kWin, kHigh);
}

TEST(PcieDmaWr, SmallWrites256) {
  WrTlpBench b(21, 1);
  b.run(random_reqs(b.rng(), 400, 72), 0);
}

TEST(PcieDmaWr, FramesWithStalls256) {
  WrTlpBench b(22, 1);
  b.run(random_reqs(b.rng(), 200, 1600), 30);
}

TEST(PcieDmaWr, FramesWithStalls128) {
  WrTlpBench b(23, 0);
  b.run(random_reqs(b.rng(), 200, 1600), 30);
}

TEST(PcieDmaWr, LongWrites) {
  WrTlpBench b(24, 1);
  b.run(random_reqs(b.rng(), 30, 12000), 10);
}

}  // namespace
