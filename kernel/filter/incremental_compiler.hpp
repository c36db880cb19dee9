// compile() for a rule set that changes a little between calls (normand
// recompiles after every nfw command): the same entries and the same errors
// as filter::compile, at the cost of the change plus a scan of the rule ids
// and a shift of the entries after it, rather than of the whole table.
//
// The first-match list is, per built-in chain (INPUT then OUTPUT), what each
// of its rules contributes when the chain walk reaches it, then the policy
// entry. A rule's contribution depends on the rule, on what the walk knows
// about the keys that missed the rules before it (a conjunction, usually
// just the direction), on the user chains it enters and, for jump, LOG and
// no-target rules, on the rest of the chain and the policy. Contributions
// are kept per rule with those inputs and reused while they are unchanged;
// everything else (ids, checks, matches) is redone for the changed rules
// only, and anything not shown unchanged is recomputed.
//
// Memory: a copy of each rule with its match, and the program twice (the
// entries kept stop at the capacity, as compile() stores them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "compiler.hpp"

namespace norman::filter {

class IncrementalCompiler {
 public:
  // What compile() may take for granted about the rule set, compared with
  // the one given to the previous call.
  enum class Assume : std::uint8_t {
    // Nothing: every rule is compared with the one that had its id.
    kNothing,
    // A rule whose id the previous rule set had is that same rule (same
    // matches and target), wherever it is now. Ids are then all that is
    // compared, which a caller that hands out a fresh id for every new or
    // changed rule, and never hands one out twice, can promise.
    kStableIds,
  };

  // What the last compile() did, for tests and logs.
  struct Stats {
    bool full = false;              // everything was recomputed
    bool patched = false;           // the program was patched where it changed
    std::size_t rules_matched = 0;  // rules whose match was computed
    std::size_t rules_walked = 0;   // built-in chain rules whose entries were computed
  };

  IncrementalCompiler();
  ~IncrementalCompiler();
  IncrementalCompiler(const IncrementalCompiler&) = delete;
  IncrementalCompiler& operator=(const IncrementalCompiler&) = delete;

  // filter::compile(rules, ids, options), entry for entry, error for error.
  // Every answer `ids` gave for the matches kept is asked again on each
  // call, so that owner ids that changed since are noticed. The program
  // stays valid until the next call or reset().
  const Program& compile(const Ruleset& rules, OwnerIds& ids, const CompileOptions& options = {},
                         Assume assume = Assume::kNothing);

  // Forgets everything: the next compile() starts from scratch.
  void reset();

  // Whether the rule set last compiled has cgroup matches, whose ids grow as
  // cgroups appear (false after a compile() that failed but for capacity).
  [[nodiscard]] bool uses_cgroups() const;

  [[nodiscard]] const Stats& stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace norman::filter
