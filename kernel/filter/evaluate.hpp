// The reference classifier: walks the chains of a Ruleset for one packet key
// the way iptables' filter table does, with no flattening. It is the oracle
// for the compiler (flattened first-match must agree with it on every key)
// and for the NIC (RTL verdicts and counters must agree with it).
#pragma once

#include <vector>

#include "compiler.hpp"
#include "evaluate_limit.hpp"
#include "flat.hpp"
#include "owner_ids.hpp"
#include "ruleset.hpp"

namespace norman::filter {

struct Verdict {
  rf::Action action = rf::Action::kAccept;
  rf::RejectWith reject_with = rf::RejectWith::kIcmpPortUnreachable;
  bool log = false;                 // a LOG rule matched on the way
  std::vector<CounterRef> path;     // every counter the packet increments
  friend bool operator==(const Verdict&, const Verdict&) = default;
};

// The chain walked is INPUT or OUTPUT according to the key's DIR flag.
[[nodiscard]] Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids);
// The same with the packet's connection tracking (norman_conntrack's view of
// it), which -m state and -m conntrack read; nullptr: none (such rules then
// never match).
[[nodiscard]] Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids,
                               const CtView* ct);
// Rate-limit matches (-m limit, -m hashlimit) consult `limits` (the
// packet's time and the state the earlier packets left) and update it;
// without one, each packet meets full buckets.
[[nodiscard]] Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids,
                               LimitContext* limits);
// Both: connection tracking and rate limits.
[[nodiscard]] Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids,
                               const CtView* ct, LimitContext* limits);

// Adds the key's packet (and frame_bytes) to every counter on its path.
void count(Ruleset& rules, const Verdict& v, const Key& key);

}  // namespace norman::filter
