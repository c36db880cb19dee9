// pcie_mmio_target with a C++ register file as the core: memory requests
// as the host sends them (3- and 4-DW headers, 64-bit and 32-bit accesses)
// must become the right CSR accesses, and every non-posted request must get
// exactly one well-formed completion (CplD with the dwords asked for, or
// UR for what the BAR does not support).
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <tuple>

#include "Vpcie_mmio_target.h"

namespace {

constexpr std::uint16_t kCompleter = 0x6500;
constexpr std::uint16_t kHost = 0x0010;

struct Cpl {
  unsigned fmt, type, len, status, byte_count, lower_addr, tag;
  std::uint16_t completer, requester;
  std::uint32_t d0, d1;
};

class Bench {
 public:
  explicit Bench(unsigned seed) : rng_(seed) {
    top_ = std::make_unique<Vpcie_mmio_target>(ctx_.get());
    top_->completer_id_i = kCompleter;
    top_->rst_ni = 0;
    for (int i = 0; i < 3; ++i) tick();
    top_->rst_ni = 1;
    tick();
  }

  // One request TLP (single beat); returns its completion, if any.
  std::optional<Cpl> request(bool write, std::uint64_t addr, unsigned len, unsigned fbe,
                             unsigned lbe, std::uint32_t p0 = 0, std::uint32_t p1 = 0,
                             unsigned bar = 0, unsigned tag = 0x42) {
    const bool four = addr >= (1ULL << 32);
    std::uint32_t d[16] = {};
    d[0] = ((write ? 2u : 0u) | (four ? 1u : 0u)) << 29 | (len & 1023);
    d[1] = static_cast<std::uint32_t>(kHost) << 16 | (tag << 8) | (lbe << 4) | fbe;
    int p = 3;
    if (four) {
      d[2] = static_cast<std::uint32_t>(addr >> 32);
      d[3] = static_cast<std::uint32_t>(addr) & ~3u;
      p = 4;
    } else {
      d[2] = static_cast<std::uint32_t>(addr) & ~3u;
    }
    d[p] = p0;
    d[p + 1] = p1;
    for (int i = 0; i < 16; ++i) top_->req_data_i[i] = d[i];
    top_->req_valid_i = 1;
    top_->req_sop_i = 1;
    top_->req_eop_i = 1;
    top_->req_bar_i = static_cast<std::uint8_t>(bar);
    for (int guard = 0;; ++guard) {
      if (guard > 1000) {
        ADD_FAILURE() << "request never taken";
        return std::nullopt;
      }
      cycle();
      if (taken_) break;
    }
    top_->req_valid_i = 0;
    std::optional<Cpl> out;
    for (int i = 0; i < 60; ++i) {
      cycle();
      if (got_) {
        EXPECT_FALSE(out) << "two completions for one request";
        out = got_;
        got_.reset();
      }
    }
    return out;
  }

  std::map<std::uint32_t, std::uint64_t> regs;
  unsigned core_reads = 0, core_writes = 0;

 private:
  void cycle() {
    taken_ = false;
    top_->csr_rsp_valid_i = 0;
    if (!pending_.empty() && --pending_.front().first == 0) {
      top_->csr_rsp_valid_i = 1;
      top_->csr_rsp_rdata_i = pending_.front().second;
      pending_.pop_front();
    }
    top_->csr_req_ready_i = (rng_() % 3) != 0;
    top_->cpl_ready_i = (rng_() % 3) != 0;
    top_->eval();
    taken_ = top_->req_valid_i && top_->req_ready_o;
    if (top_->csr_req_valid_o && top_->csr_req_ready_i) {
      const std::uint32_t a = top_->csr_req_addr_o;
      if (top_->csr_req_write_o) {
        regs[a] = top_->csr_req_wdata_o;
        ++core_writes;
      } else {
        ++core_reads;
        pending_.push_back({1 + rng_() % 3, regs[a]});
      }
    }
    if (top_->cpl_valid_o && top_->cpl_ready_i) {
      const auto& c = top_->cpl_data_o;
      Cpl r{c[0] >> 29,
            (c[0] >> 24) & 31,
            c[0] & 1023,
            (c[1] >> 13) & 7,
            c[1] & 0xFFF,
            c[2] & 0x7F,
            (c[2] >> 8) & 0xFF,
            static_cast<std::uint16_t>(c[1] >> 16),
            static_cast<std::uint16_t>(c[2] >> 16),
            c[3],
            c[4]};
      got_ = r;
    }
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }

  void tick() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }

  std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vpcie_mmio_target> top_;
  std::mt19937 rng_;
  std::deque<std::pair<unsigned, std::uint64_t>> pending_;
  bool taken_ = false;
  std::optional<Cpl> got_;
};

TEST(PcieMmioTarget, SixtyFourBitAccesses) {
  Bench b(1);
  EXPECT_FALSE(b.request(true, 0x208, 2, 0xF, 0xF, 0x33334444, 0x11112222));
  EXPECT_EQ(b.regs[0x208], 0x1111222233334444ULL);
  auto c = b.request(false, 0x208, 2, 0xF, 0xF, 0, 0, 0, 0x17);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->fmt, 2u);  // CplD
  EXPECT_EQ(c->type, 0x0Au);
  EXPECT_EQ(c->len, 2u);
  EXPECT_EQ(c->status, 0u);
  EXPECT_EQ(c->byte_count, 8u);
  EXPECT_EQ(c->lower_addr, 0x08u);
  EXPECT_EQ(c->tag, 0x17u);
  EXPECT_EQ(c->completer, kCompleter);
  EXPECT_EQ(c->requester, kHost);
  EXPECT_EQ(c->d0, 0x33334444u);
  EXPECT_EQ(c->d1, 0x11112222u);
}

TEST(PcieMmioTarget, DoorbellAboveTheRegistersAnd4DwHeaders) {
  Bench b(2);
  // A doorbell page (CONN_DB_BASE + c * 4096) is within the 1 GiB BAR.
  const std::uint64_t bar = 0x3'8000'0000ULL;  // BAR placed above 4 GiB: 4-DW headers
  EXPECT_FALSE(b.request(true, bar + 0x10005008, 2, 0xF, 0xF, 7, 0));
  EXPECT_EQ(b.regs[0x10005008], 7u);
  auto c = b.request(false, bar + 0x10005008, 2, 0xF, 0xF);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->d0, 7u);
}

TEST(PcieMmioTarget, ThirtyTwoBitAccesses) {
  Bench b(3);
  EXPECT_FALSE(b.request(true, 0x10, 1, 0xF, 0, 0xAAAA0000));
  EXPECT_EQ(b.core_writes, 0u) << "a low word alone writes nothing";
  EXPECT_FALSE(b.request(true, 0x14, 1, 0xF, 0, 0x0000BBBB));
  EXPECT_EQ(b.regs[0x10], 0x0000BBBBAAAA0000ULL);
  auto lo = b.request(false, 0x10, 1, 0xF, 0);
  auto hi = b.request(false, 0x14, 1, 0xF, 0);
  ASSERT_TRUE(lo && hi);
  EXPECT_EQ(lo->d0, 0xAAAA0000u);
  EXPECT_EQ(hi->d0, 0x0000BBBBu);
  EXPECT_EQ(hi->lower_addr, 0x14u);
  EXPECT_EQ(hi->byte_count, 4u);
}

TEST(PcieMmioTarget, UnsupportedRequestsAreAnsweredOrDropped) {
  Bench b(4);
  b.regs[0x40] = 5;
  // Reads the BAR does not support: UR, no core access.
  for (auto [addr, len, bar] :
       {std::tuple{0x40ULL, 4u, 0u}, std::tuple{0x40ULL, 2u, 2u}, std::tuple{0x44ULL, 2u, 0u}}) {
    auto c = b.request(false, addr, len, 0xF, 0xF, 0, 0, bar);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->fmt, 0u);     // Cpl without data
    EXPECT_EQ(c->status, 1u);  // UR
  }
  // Writes it does not support: dropped, no completion, no core access.
  EXPECT_FALSE(b.request(true, 0x40, 2, 0x3, 0xF, 1, 2));
  EXPECT_FALSE(b.request(true, 0x40, 2, 0xF, 0xF, 1, 2, 1));
  EXPECT_EQ(b.core_reads, 0u);
  EXPECT_EQ(b.core_writes, 0u);
  EXPECT_EQ(b.regs[0x40], 5u);
}

}  // namespace
