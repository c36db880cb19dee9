// 512-bit Verilator signals (VlWide<16>) to and from bytes, for the board
// adapter tests.
#pragma once

#include <verilated.h>

#include <array>
#include <cstdint>

namespace norman::boards_test {

using Block = std::array<std::uint8_t, 64>;

template <typename W>
void put_block(W& w, const Block& b) {
  for (int i = 0; i < 16; ++i) {
    w[i] = static_cast<std::uint32_t>(b[4 * i]) | (static_cast<std::uint32_t>(b[4 * i + 1]) << 8) |
           (static_cast<std::uint32_t>(b[4 * i + 2]) << 16) |
           (static_cast<std::uint32_t>(b[4 * i + 3]) << 24);
  }
}

template <typename W>
Block get_block(const W& w) {
  Block b{};
  for (int i = 0; i < 16; ++i) {
    for (int k = 0; k < 4; ++k) b[4 * i + k] = static_cast<std::uint8_t>(w[i] >> (8 * k));
  }
  return b;
}

// Dword i of a 512-bit signal.
template <typename W>
std::uint32_t dw(const W& w, int i) {
  return w[i];
}

}  // namespace norman::boards_test
