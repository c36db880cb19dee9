// Flattens a Ruleset into the NIC's first-match entry list, preserving
// iptables semantics exactly: chains, jumps, goto, RETURN, non-terminal
// rules (LOG, no target), negations and multiport are inlined so that the
// first matching entry gives the verdict the chain walk would give, and
// each entry records the rules that matched on the way (its path), so
// per-rule counters are sums of per-entry hardware counters.
//
// Only what can be represented is accepted; everything else is refused with a
// message naming the rule (chain and 1-based number) and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "flat.hpp"
#include "owner_ids.hpp"
#include "ruleset.hpp"

namespace norman::filter {

// Where a rule counter comes from: a rule (by id) or a built-in chain's policy.
struct CounterRef {
  enum class Kind : std::uint8_t { kRule, kPolicy };
  Kind kind = Kind::kRule;
  std::uint64_t rule_id = 0;  // kRule
  Direction chain = Direction::kInput;  // kPolicy: INPUT or OUTPUT
  friend bool operator==(const CounterRef&, const CounterRef&) = default;
  friend auto operator<=>(const CounterRef&, const CounterRef&) = default;
};

struct CompiledEntry {
  Entry entry;
  // Every counter a packet deciding on this entry increments (the rules that
  // matched along the walk, in walk order, ending with the deciding rule or
  // the policy).
  std::vector<CounterRef> path;
  friend bool operator==(const CompiledEntry&, const CompiledEntry&) = default;
};

struct Program {
  std::vector<CompiledEntry> entries;  // first match wins, in this order
};

class CompileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when the flattened program needs more slots than the NIC has.
class CapacityError : public CompileError {
 public:
  CapacityError(std::size_t needed, std::size_t capacity);
  std::size_t needed;
  std::size_t capacity;
};

struct CompileOptions {
  std::size_t capacity = norman::regmap::kFilterEntries;
  // Interfaces nic0..nic{ports-1} exist; -i/-o naming others are refused.
  unsigned ports = 2;
};

// Rule ids must be set (non-zero, unique); throws CompileError otherwise.
[[nodiscard]] Program compile(const Ruleset& rules, OwnerIds& ids, const CompileOptions& options = {});

// Per-rule counters from per-entry counters (entry_counts[i] belongs to
// program.entries[i]): every rule and policy on an entry's path gets its counts.
void attribute_counters(const Program& program, std::span<const Counters> entry_counts, Ruleset& rules);

}  // namespace norman::filter
