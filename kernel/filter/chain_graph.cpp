#include "chain_graph.hpp"

#include <functional>
#include <string_view>
#include <unordered_map>

namespace norman::filter::detail {

std::string where(const Chain& chain, std::size_t index) {
  return "(chain " + chain.name + ", rule " + std::to_string(index + 1) + ")";
}

ChainGraph build_chain_graph(const Ruleset& rules) {
  ChainGraph g;
  const std::size_t n = rules.chains.size();
  g.target.resize(n);
  std::unordered_map<std::string_view, std::size_t> by_name;
  for (std::size_t c = 0; c < n; ++c) by_name.emplace(rules.chains[c].name, c);
  for (std::size_t c = 0; c < n; ++c) {
    const Chain& chain = rules.chains[c];
    if (chain.name == "INPUT")
      g.builtin[static_cast<unsigned>(Direction::kInput)] = static_cast<int>(c);
    if (chain.name == "OUTPUT")
      g.builtin[static_cast<unsigned>(Direction::kOutput)] = static_cast<int>(c);
    g.target[c].assign(chain.rules.size(), -1);
    for (std::size_t i = 0; i < chain.rules.size(); ++i) {
      const Target& t = chain.rules[i].target;
      if (t.kind != TargetKind::kJump && t.kind != TargetKind::kGoto) continue;
      const auto it = by_name.find(t.chain);
      if (it == by_name.end()) {
        throw CompileError("nfw: Couldn't load target `" + t.chain +
                           "': No such file or directory " + where(chain, i));
      }
      if (rules.chains[it->second].builtin()) {
        throw CompileError("nfw: cannot jump to built-in chain " + t.chain + " " + where(chain, i));
      }
      g.target[c][i] = static_cast<int>(it->second);
    }
  }
  for (int b : g.builtin) {
    if (b < 0 || !rules.chains[static_cast<std::size_t>(b)].builtin()) {
      throw CompileError("nfw: the filter table needs built-in chains INPUT and OUTPUT");
    }
  }

  // Depth-first search over chains: a chain met again while still on the
  // search path is a loop.
  enum : unsigned char { kWhite, kGrey, kBlack };
  std::vector<unsigned char> colour(n, kWhite);
  std::vector<std::size_t> on_path;
  std::function<void(std::size_t)> visit = [&](std::size_t c) {
    colour[c] = kGrey;
    on_path.push_back(c);
    const Chain& chain = rules.chains[c];
    for (std::size_t i = 0; i < g.target[c].size(); ++i) {
      if (g.target[c][i] < 0) continue;
      const auto t = static_cast<std::size_t>(g.target[c][i]);
      if (colour[t] == kGrey) {
        std::string cycle;
        bool in = false;
        for (std::size_t p : on_path) {
          if (p == t) in = true;
          if (in) cycle += rules.chains[p].name + " -> ";
        }
        cycle += rules.chains[t].name;
        throw CompileError("nfw: Too many levels of links: " + cycle + " " + where(chain, i));
      }
      if (colour[t] == kWhite) visit(t);
    }
    on_path.pop_back();
    colour[c] = kBlack;
  };
  for (std::size_t c = 0; c < n; ++c) {
    if (colour[c] == kWhite) visit(c);
  }

  for (unsigned d = 0; d < 2; ++d) {
    auto& reach = g.reachable[d];
    reach.assign(n, false);
    std::vector<std::size_t> todo{static_cast<std::size_t>(g.builtin[d])};
    reach[todo.front()] = true;
    while (!todo.empty()) {
      const std::size_t c = todo.back();
      todo.pop_back();
      for (int t : g.target[c]) {
        if (t >= 0 && !reach[static_cast<std::size_t>(t)]) {
          reach[static_cast<std::size_t>(t)] = true;
          todo.push_back(static_cast<std::size_t>(t));
        }
      }
    }
  }
  return g;
}

}  // namespace norman::filter::detail
