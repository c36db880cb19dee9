// conn_ctx_mem against a reference model: contexts and valid bits written by
// the command port, read by the registered RX/TX ports (old data on a
// same-cycle write) and by the combinational probe; reset invalidates every
// context at once, including the ones whose valid-bit word was never written.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>

#include "Vctx_tb.h"
#include "verilated.h"

namespace {

struct Ctx {
  bool valid = false;
  std::uint16_t nq = 0;
  std::uint64_t rx_base = 0;
  std::uint64_t tx_base = 0;
  std::uint32_t uid = 0;
  std::uint16_t sport = 0;
};

class CtxMem : public ::testing::Test {
 protected:
  void SetUp() override {
    vctx_ = std::make_unique<VerilatedContext>();
    top_ = std::make_unique<Vctx_tb>(vctx_.get());
    reset();
  }
  void TearDown() override { top_->final(); }

  void reset() {
    top_->rst_ni = 0;
    top_->clk_i = 0;
    top_->eval();
    tick();
    tick();
    top_->rst_ni = 1;
    for (auto& [conn, c] : ref_) c.valid = false;
    rx_valid_ = tx_valid_ = false;
  }

  void tick() {
    top_->clk_i = 1;
    top_->eval();
    top_->clk_i = 0;
    top_->eval();
  }

  Ctx ref(std::uint16_t conn) const {
    const auto it = ref_.find(conn);
    return it == ref_.end() ? Ctx{} : it->second;
  }

  // One cycle: an optional write and reads; checks the probe before the
  // edge and the read ports after it.
  void cycle(bool we, std::uint16_t wconn, const Ctx& w, bool rx_re, std::uint16_t rx_conn,
             bool tx_re, std::uint16_t tx_conn, std::uint16_t probe) {
    top_->we_i = we;
    top_->wconn_i = wconn;
    top_->wvalid_i = w.valid;
    top_->wnq_i = w.nq;
    top_->wrx_base_i = w.rx_base;
    top_->wtx_base_i = w.tx_base;
    top_->wuid_i = w.uid;
    top_->wsport_i = w.sport;
    top_->rx_re_i = rx_re;
    top_->rx_conn_i = rx_conn;
    top_->tx_re_i = tx_re;
    top_->tx_conn_i = tx_conn;
    top_->probe_conn_i = probe;
    top_->eval();
    ASSERT_EQ(top_->probe_valid_o != 0, ref(probe).valid) << "probe " << probe;
    if (rx_re) rx_exp_ = ref(rx_conn);
    if (tx_re) tx_exp_ = ref(tx_conn);
    if (we) ref_[wconn] = w;
    tick();
    top_->we_i = 0;
    top_->rx_re_i = 0;
    top_->tx_re_i = 0;
    if (rx_re) rx_valid_ = true;
    if (tx_re) tx_valid_ = true;
    if (rx_valid_) {
      ASSERT_EQ(top_->rx_valid_o != 0, rx_exp_.valid);
      if (rx_exp_.valid) {
        EXPECT_EQ(top_->rx_nq_o, rx_exp_.nq);
        EXPECT_EQ(top_->rx_base_o, rx_exp_.rx_base);
        EXPECT_EQ(top_->rx_uid_o, rx_exp_.uid);
      }
    }
    if (tx_valid_) {
      ASSERT_EQ(top_->tx_valid_o != 0, tx_exp_.valid);
      if (tx_exp_.valid) {
        EXPECT_EQ(top_->tx_nq_o, tx_exp_.nq);
        EXPECT_EQ(top_->tx_base_o, tx_exp_.tx_base);
        EXPECT_EQ(top_->tx_uid_o, tx_exp_.uid);
        EXPECT_EQ(top_->tx_sport_o, tx_exp_.sport);
      }
    }
  }

  std::unique_ptr<VerilatedContext> vctx_;
  std::unique_ptr<Vctx_tb> top_;
  std::unordered_map<std::uint16_t, Ctx> ref_;
  Ctx rx_exp_, tx_exp_;
  bool rx_valid_ = false, tx_valid_ = false;
};

// Connections near each other share a valid-bit word: setting one must not
// validate its neighbours, before or after a reset.
TEST_F(CtxMem, NeighboursStayInvalidAndResetClearsAll) {
  Ctx c;
  c.valid = true;
  c.nq = 3;
  c.rx_base = 0x1000;
  c.tx_base = 0x2000;
  c.uid = 1000;
  c.sport = 80;
  cycle(true, 130, c, false, 0, false, 0, 130);
  for (std::uint16_t n = 128; n < 192; n++) cycle(false, 0, c, true, n, true, n, n);
  reset();
  for (std::uint16_t n = 128; n < 192; n++) cycle(false, 0, c, true, n, true, n, n);
  // The word's first write after reset clears what the bits held before.
  cycle(true, 131, c, false, 0, false, 0, 0);
  for (std::uint16_t n = 128; n < 192; n++) cycle(false, 0, c, true, n, true, n, n);
}

// Random writes, clears and reads, clustered so that words and entries are
// hit again and again, with reads of the entry written in the same cycle.
TEST_F(CtxMem, RandomAgainstReference) {
  std::mt19937 rng(14);
  auto conn = [&]() -> std::uint16_t {
    const unsigned r = rng() % 4;
    if (r == 0) return static_cast<std::uint16_t>(rng());
    return static_cast<std::uint16_t>(0x4000 + rng() % 200);
  };
  for (unsigned round = 0; round < 3; round++) {
    for (unsigned i = 0; i < 20000; i++) {
      Ctx w;
      w.valid = rng() % 4 != 0;
      w.nq = static_cast<std::uint16_t>(rng() % 1024);
      w.rx_base = (std::uint64_t{rng()} << 32) | rng();
      w.tx_base = (std::uint64_t{rng()} << 32) | rng();
      w.uid = static_cast<std::uint32_t>(rng());
      w.sport = static_cast<std::uint16_t>(rng());
      const bool we = rng() % 3 == 0;
      const std::uint16_t wc = conn();
      const bool same = rng() % 8 == 0;
      cycle(we, wc, w, rng() % 2 == 0, same ? wc : conn(), rng() % 2 == 0, same ? wc : conn(),
            same ? wc : conn());
      if (HasFatalFailure()) return;
    }
    reset();
  }
}

}  // namespace
