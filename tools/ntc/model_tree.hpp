// A port's tc configuration as the NIC scheduler's class tree (the reference
// model's and the layout's input, kernel/qos): the port itself is the root
// (rate = ceil = line rate), tc's root classes its children, so tc trees of
// up to three levels fit the scheduler's four.
#pragma once

#include <cstdint>
#include <vector>

#include "htb_model.hpp"
#include "tc_config.hpp"

namespace norman::ntc {

// The port's class id in the model (tc ids are 16-bit minors, so no clash).
inline constexpr std::uint32_t kPortClassId = 0x10000;
// Class levels a tc tree may have on the NIC (the port takes the fourth).
inline constexpr unsigned kMaxTcLevels = 3;

struct ModelTree {
  std::vector<qos::HtbClassSpec> classes;  // the port first, then tc's classes by id
  qos::HtbParams params;
};

// Throws TcError when cfg has no HTB qdisc. Linux accepts ceil < rate and
// then never lets the class exceed ceil; the model wants rate <= ceil, so
// such a class gets rate = ceil, which is what Linux enforces.
[[nodiscard]] ModelTree model_tree(const PortConfig& cfg, std::uint64_t line_rate_bytes);

}  // namespace norman::ntc
