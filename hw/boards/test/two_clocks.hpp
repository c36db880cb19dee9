// Two free-running clocks for a Verilator model, in picoseconds: call
// step() to advance to the next rising edge of either; the caller drives
// inputs for that domain before the edge (pre) and samples after (post).
#pragma once

#include <cstdint>

namespace norman::boards_test {

class TwoClocks {
 public:
  TwoClocks(std::uint64_t a_ps, std::uint64_t b_ps) : a_(a_ps), b_(b_ps) {}
  // Which clocks rise at the next edge time (both may).
  struct Edge {
    bool a, b;
  };
  Edge next() {
    const std::uint64_t na = (now_ / a_ + 1) * a_, nb = (now_ / b_ + 1) * b_;
    now_ = na < nb ? na : nb;
    return {now_ == na, now_ == nb};
  }

 private:
  std::uint64_t a_, b_, now_ = 0;
};

}  // namespace norman::boards_test
