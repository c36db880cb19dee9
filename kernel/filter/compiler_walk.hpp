// The parts of compile() that the incremental compiler shares with it, so
// both produce the same entries and refuse with the same errors: the checks,
// each rule's match, and the chain walk that flattens them (compiler.cpp).
// Internal to norman_filter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "chain_graph.hpp"
#include "compiler.hpp"
#include "compiler_conj.hpp"

namespace norman::filter::detail {

// Hard stop for pathological blow-ups: the walk counts entries past the
// NIC's capacity (to say by how much) but not forever.
inline constexpr std::size_t kCountLimit = std::size_t{1} << 21;

// What compile() throws past it.
[[nodiscard]] CompileError count_limit_error(const CompileOptions& options);

// What the walk needs to know of one rule: the keys it matches, their
// complement when that is one conjunction (the walk prunes with it), and
// the chain index its jump or goto lands in (-1 for other targets).
struct RuleMatch {
  Disj match;
  std::optional<Conj> miss;
  int target = -1;
};

// Whether every key of p matches m.
[[nodiscard]] bool implies(const Conj& p, const Disj& m);

// p after a rule that some keys of p matched and others did not: what the
// keys that go on are known to be, given that they missed it. False when no
// key goes on.
[[nodiscard]] bool missed(const RuleMatch& rule, Conj& p, Disj& scratch);

// compile()'s checks, in the order it runs them after build_chain_graph.
// Each throws CompileError naming the first offending rule.
void check_ids(const Ruleset& rules);
void check_directions(const Ruleset& rules, const ChainGraph& graph);

// Rule i of `chain` (target left at -1). Throws CompileError naming the rule
// for what the NIC cannot match.
[[nodiscard]] RuleMatch rule_match(const Chain& chain, std::size_t i, OwnerIds& ids,
                                   const CompileOptions& options);

// The flattening walk (see compiler.cpp) over one rule set whose matches
// are given per chain and rule.
class Walker {
 public:
  Walker(const Ruleset& rules, std::span<const std::vector<const RuleMatch*>> matches,
         const std::array<int, 2>& builtin, const CompileOptions& options)
      : rules_(rules), matches_(matches), builtin_(builtin), options_(options) {}

  // Entries are appended to `out` while the running count, which starts at
  // `needed`, stays within `store_limit`; past it they are only counted.
  void output(std::vector<CompiledEntry>& out, std::size_t needed, std::size_t store_limit) {
    out_ = &out;
    needed_ = needed;
    store_limit_ = store_limit;
  }
  [[nodiscard]] std::size_t needed() const { return needed_; }

  // The whole walk of d's built-in chain, as compile() does it.
  void walk_builtin(Direction d);

  // What rule i of d's built-in chain emits when the walk of that chain gets
  // to it with `p` known about the keys (the walk's context is then the
  // direction alone). The walk of the chain is these, rule after rule, each
  // starting with the previous one's p, until one is final, then the policy
  // entry if none was.
  struct TopRule {
    bool final = false;  // no later rule (nor the policy) is reached
    Conj p;              // what the next rule starts with (when not final)
    // A jump, LOG or no-target rule that matched walks the rest of the chain
    // too, inside these contexts: a later rule that matches no key of them
    // is skipped there, as if it were not there.
    bool tail = false;
    Disj contexts;
    bool policy = false;  // the entries include the chain's policy
    // User chains the walk entered (sorted, each once).
    std::vector<std::uint32_t> chains;
  };
  void top_rule(Direction d, std::uint32_t i, const Conj& p, TopRule& out);
  // The policy entry that ends d's walk when no rule was final.
  void top_policy(Direction d);

  // The context the walk of d starts with (the direction flag).
  [[nodiscard]] static Conj top(Direction d);

 private:
  struct Frame {
    std::uint32_t chain;
    std::uint32_t next;
  };
  struct Scratch {
    Disj taken;    // c ∧ m, by conjunction
    Disj taken_p;  // p ∧ m, one per conjunction of taken
    Disj tmp;
  };
  enum class Next : std::uint8_t { kOn, kInPlace, kStop };

  void emit(const Conj& c, rf::Action action, rf::RejectWith reject_with);
  void emit_policy(const Conj& c);
  void walk(std::vector<Frame> stack, Conj c, Conj p);
  void run(std::vector<Frame>& stack, Conj& c, Conj& p);
  Next step(std::vector<Frame>& stack, const Frame& f, Conj& c, Conj& p, Scratch& s);

  const Ruleset& rules_;
  std::span<const std::vector<const RuleMatch*>> matches_;
  std::array<int, 2> builtin_;
  const CompileOptions& options_;
  Direction dir_ = Direction::kInput;
  std::vector<CounterRef> path_;
  unsigned logs_ = 0;
  std::vector<CompiledEntry>* out_ = nullptr;
  std::size_t needed_ = 0;
  std::size_t store_limit_ = 0;
  // What top_rule() reports; off for walk_builtin().
  bool track_ = false;
  bool policy_used_ = false;
  std::vector<std::uint32_t> chains_used_;
};

}  // namespace norman::filter::detail
