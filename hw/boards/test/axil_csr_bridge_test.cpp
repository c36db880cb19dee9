// axil_csr_bridge between two unrelated clocks (AXI-Lite slower than the
// core, and a ratio that is not an integer) with a C++ register file as the
// core: 64-bit registers written and read as low word then high word must
// behave as 64-bit accesses, a 64-bit read must be one core read (the two
// halves of one value), and the documented 32-bit corner cases hold.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <random>

#include "Vaxil_csr_bridge.h"

namespace {

class Bench {
 public:
  Bench(unsigned axil_ps, unsigned core_ps, unsigned seed)
      : axil_ps_(axil_ps), core_ps_(core_ps), rng_(seed) {
    top_ = std::make_unique<Vaxil_csr_bridge>(ctx_.get());
    top_->axil_rst_ni = 0;
    top_->core_rst_ni = 0;
    for (int i = 0; i < 20; ++i) step();
    top_->axil_rst_ni = 1;
    top_->core_rst_ni = 1;
    for (int i = 0; i < 20; ++i) step();
  }

  void write32(std::uint32_t addr, std::uint32_t data) {
    top_->s_axil_awvalid = 1;
    top_->s_axil_awaddr = addr;
    top_->s_axil_wvalid = 1;
    top_->s_axil_wdata = data;
    wait_axil([&] { return top_->s_axil_awready && top_->s_axil_wready; });
    top_->s_axil_awvalid = 0;
    top_->s_axil_wvalid = 0;
    top_->s_axil_bready = 1;
    wait_axil([&] { return top_->s_axil_bvalid; });
    top_->s_axil_bready = 0;
  }

  std::uint32_t read32(std::uint32_t addr) {
    top_->s_axil_arvalid = 1;
    top_->s_axil_araddr = addr;
    wait_axil([&] { return top_->s_axil_arready; });
    top_->s_axil_arvalid = 0;
    top_->s_axil_rready = 1;
    std::uint32_t v = 0;
    wait_axil([&] {
      v = top_->s_axil_rdata;
      return top_->s_axil_rvalid;
    });
    top_->s_axil_rready = 0;
    return v;
  }

  void write64(std::uint32_t addr, std::uint64_t v) {
    write32(addr, static_cast<std::uint32_t>(v));
    write32(addr + 4, static_cast<std::uint32_t>(v >> 32));
  }
  std::uint64_t read64(std::uint32_t addr) {
    const std::uint64_t lo = read32(addr);
    return lo | (static_cast<std::uint64_t>(read32(addr + 4)) << 32);
  }

  // Drains posted writes into the register file.
  void settle() {
    for (int i = 0; i < 200; ++i) step();
  }

  std::map<std::uint32_t, std::uint64_t> regs;  // the core's registers (by byte address)
  unsigned core_reads = 0;

 private:
  template <typename F>
  void wait_axil(F done) {
    for (int guard = 0; guard < 100000; ++guard) {
      // Sample at the AXI-Lite clock's rising edge.
      const bool hit = step_until_axil_edge(done);
      if (hit) return;
    }
    FAIL() << "AXI-Lite handshake never completed";
  }

  // Advances time to the next AXI-Lite rising edge; returns whether `done`
  // held just before it (the handshake happens at that edge).
  template <typename F>
  bool step_until_axil_edge(F done) {
    for (;;) {
      const std::uint64_t next_a = next_edge(axil_ps_), next_c = next_edge(core_ps_);
      if (next_c < next_a) {
        now_ = next_c;
        core_edge();
        continue;
      }
      now_ = next_a;
      top_->eval();
      const bool d = done();
      edge(true);
      if (next_c == next_a) core_edge();
      return d;
    }
  }

  std::uint64_t next_edge(unsigned period) const { return (now_ / period + 1) * period; }

  void step() {
    const std::uint64_t next_a = next_edge(axil_ps_), next_c = next_edge(core_ps_);
    now_ = std::min(next_a, next_c);
    if (now_ == next_a) edge(true);
    if (now_ == next_c) core_edge();
  }

  void edge(bool axil) {
    if (axil) {
      top_->axil_clk_i = 0;
      top_->eval();
      top_->axil_clk_i = 1;
      top_->eval();
    }
  }

  // The core: takes requests (sometimes not), answers reads 1..4 cycles later.
  void core_edge() {
    top_->csr_rsp_valid_i = 0;
    if (!pending_.empty() && --pending_.front().first == 0) {
      top_->csr_rsp_valid_i = 1;
      top_->csr_rsp_rdata_i = pending_.front().second;
      pending_.pop_front();
    }
    top_->csr_req_ready_i = (rng_() % 4) != 0;
    top_->eval();
    if (top_->csr_req_valid_o && top_->csr_req_ready_i) {
      const std::uint32_t a = top_->csr_req_addr_o;
      EXPECT_EQ(a & 7, 0u);
      if (top_->csr_req_write_o) {
        regs[a] = top_->csr_req_wdata_o;
      } else {
        ++core_reads;
        pending_.push_back({1 + rng_() % 4, regs[a]});
      }
    }
    top_->core_clk_i = 0;
    top_->eval();
    top_->core_clk_i = 1;
    top_->eval();
  }

  std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
  std::unique_ptr<Vaxil_csr_bridge> top_;
  unsigned axil_ps_, core_ps_;
  std::uint64_t now_ = 0;
  std::mt19937 rng_;
  std::deque<std::pair<unsigned, std::uint64_t>> pending_;
};

void random_traffic(Bench& b, unsigned seed) {
  std::mt19937 rng(seed);
  std::map<std::uint32_t, std::uint64_t> model;
  for (int i = 0; i < 400; ++i) {
    const auto reg =
        static_cast<std::uint32_t>(0x100000 + 8 * (rng() % 16));  // above the window: ignored bits
    if (rng() % 2) {
      const std::uint64_t v = (static_cast<std::uint64_t>(rng()) << 32) | rng();
      b.write64(reg, v);
      model[reg & 0xFFFFF] = v;
    } else {
      const unsigned before = b.core_reads;
      EXPECT_EQ(b.read64(reg), model[reg & 0xFFFFF]) << "register " << std::hex << reg;
      EXPECT_EQ(b.core_reads, before + 1) << "a 64-bit read must be one core read";
    }
  }
  b.settle();
  for (const auto& [a, v] : model) EXPECT_EQ(b.regs[a], v);
}

TEST(AxilCsrBridge, Registers64BitAt125And250MHz) {
  Bench b(8000, 4000, 1);
  random_traffic(b, 2);
}

TEST(AxilCsrBridge, Registers64BitUnrelatedClocks) {
  Bench b(7919, 4001, 3);
  random_traffic(b, 4);
}

TEST(AxilCsrBridge, ThirtyTwoBitCorners) {
  Bench b(8000, 4000, 5);
  b.write64(0x10, 0x1111222233334444ULL);
  // A low word alone writes nothing.
  b.write32(0x18, 0xDEADBEEF);
  b.settle();
  EXPECT_EQ(b.regs.count(0x18), 0u);
  // A high word after a low word of another register takes 0 as its low word.
  b.write32(0x20, 0xAAAAAAAA);
  b.write32(0x2C, 0x55555555);
  b.settle();
  EXPECT_EQ(b.regs[0x28], 0x5555555500000000ULL);
  // A high word read alone reads the register.
  const unsigned before = b.core_reads;
  EXPECT_EQ(b.read32(0x14), 0x11112222u);
  EXPECT_EQ(b.core_reads, before + 1);
  // A write between the halves of a read: the high half is read again.
  EXPECT_EQ(b.read32(0x10), 0x33334444u);
  b.write64(0x10, 0x9999888877776666ULL);
  EXPECT_EQ(b.read32(0x14), 0x99998888u);
}

}  // namespace
