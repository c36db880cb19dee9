// Which chain each jump/goto lands in, checked once: every target exists and
// is a user chain, and no chain reaches itself (iptables refuses loops at
// load time, so neither the classifier nor the compiler ever walks one).
// Internal to norman_filter.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "ruleset.hpp"

namespace norman::filter::detail {

struct ChainGraph {
  // target[c][i]: chain index of rule i of chain c's jump/goto, or -1.
  std::vector<std::vector<int>> target;
  std::array<int, 2> builtin{-1, -1};  // indexed by Direction
  // reachable[d][c]: chain c can be walked from the built-in chain of d.
  std::array<std::vector<bool>, 2> reachable;
};

// Throws CompileError for unknown targets, jumps to built-in chains, loops
// and missing built-in chains.
[[nodiscard]] ChainGraph build_chain_graph(const Ruleset& rules);

// "(chain X, rule N)": how errors name a rule (N is 1-based).
[[nodiscard]] std::string where(const Chain& chain, std::size_t index);

}  // namespace norman::filter::detail
