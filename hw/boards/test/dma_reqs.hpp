// The core's side of the board adapters' DMA interfaces, shared by the AXI
// (Alveo) and TLP (Stratix 10 MX) adapter tests: random requests, and the
// write requests presented beat by beat as the core does.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "wide.hpp"

namespace norman::boards_test {

struct WrReq {
  std::uint64_t addr;
  std::uint32_t len;
  std::vector<std::uint8_t> data;
};

struct RdReq {
  std::uint64_t addr;
  std::uint32_t len;
  std::uint8_t tag;
};

// 64-byte beats a request of len bytes at addr spans.
inline unsigned beats_of(std::uint64_t addr, std::uint32_t len) {
  return static_cast<unsigned>(((addr & 63) + len + 63) / 64);
}

// An address for len bytes inside [0, window), moved up by `high` (a second
// window, e.g. above 4 GiB) on a coin flip when `high` is not 0.
inline std::uint64_t random_addr(std::mt19937& rng, std::uint32_t len, std::uint64_t window,
                                 std::uint64_t high) {
  std::uint64_t a = std::uniform_int_distribution<std::uint64_t>(0, window - len - 1)(rng);
  if (high != 0 && (rng() & 1)) a += high;
  return a;
}

inline std::vector<WrReq> random_wr_reqs(std::mt19937& rng, int n, std::uint32_t max_len,
                                         std::uint64_t window, std::uint64_t high = 0) {
  std::vector<WrReq> out;
  std::uniform_int_distribution<std::uint32_t> len(1, max_len);
  for (int i = 0; i < n; ++i) {
    WrReq r;
    r.len = len(rng);
    r.addr = random_addr(rng, r.len, window, high);
    r.data.resize(r.len);
    for (auto& b : r.data) b = static_cast<std::uint8_t>(rng());
    out.push_back(std::move(r));
  }
  return out;
}

inline std::vector<RdReq> random_rd_reqs(std::mt19937& rng, int n, std::uint32_t max_len,
                                         std::uint64_t window, std::uint64_t high = 0) {
  std::vector<RdReq> out;
  std::uniform_int_distribution<std::uint32_t> len(1, max_len);
  for (int i = 0; i < n; ++i) {
    RdReq r;
    r.len = len(rng);
    r.addr = random_addr(rng, r.len, window, high);
    r.tag = static_cast<std::uint8_t>(rng());
    out.push_back(r);
  }
  return out;
}

// Presents write requests on a top's dma_wr_* inputs one 64-byte beat at a
// time, offering a beat on (100 - stall_pct) % of cycles; bytes of a beat
// outside the request are random, as the strobes must mask them.
class WrReqDriver {
 public:
  explicit WrReqDriver(const std::vector<WrReq>& reqs) : reqs_(reqs) {}

  template <typename Top>
  void present(Top& top, std::mt19937& rng, std::uniform_int_distribution<int>& pct,
               int stall_pct) {
    top.dma_wr_valid_i = 0;
    if (ri_ == reqs_.size() || pct(rng) < stall_pct) return;
    const WrReq& r = reqs_[ri_];
    const std::uint64_t first_blk = r.addr & ~63ULL;
    Block b{};
    for (int j = 0; j < 64; ++j) {
      const std::uint64_t a = first_blk + 64ULL * beat_ + j;
      b[j] = (a >= r.addr && a < r.addr + r.len) ? r.data[a - r.addr]
                                                 : static_cast<std::uint8_t>(rng());
    }
    put_block(top.dma_wr_data_i, b);
    top.dma_wr_valid_i = 1;
    top.dma_wr_addr_i = r.addr;
    top.dma_wr_len_i = static_cast<std::uint16_t>(r.len);
    top.dma_wr_last_i = (beat_ + 1 == beats_of(r.addr, r.len));
  }

  // The presented beat was taken.
  void taken() {
    const WrReq& r = reqs_[ri_];
    if (++beat_ == beats_of(r.addr, r.len)) {
      beat_ = 0;
      ++ri_;
    }
  }

  [[nodiscard]] std::size_t sent() const { return ri_; }
  [[nodiscard]] bool done() const { return ri_ == reqs_.size(); }

 private:
  const std::vector<WrReq>& reqs_;
  std::size_t ri_ = 0;
  unsigned beat_ = 0;
};

}  // namespace norman::boards_test
