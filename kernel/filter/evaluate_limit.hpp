// The rate-limit matches in the reference classifier: a context carrying
// the packet's time and the limiter state, and the rule-level check that
// consults it in iptables' order. Internal to norman_filter, apart from
// LimitContext, which evaluate.hpp exposes.
#pragma once

#include <cstdint>
#include <functional>

#include "flat.hpp"
#include "rate_limit.hpp"
#include "ruleset.hpp"

namespace norman::filter {

// What the limiters need to judge one packet: when it arrived and the
// state left by the packets before it. evaluate() updates `state`.
struct LimitContext {
  std::uint64_t now_ns = 0;
  KernelClock clock;
  LimiterState* state = nullptr;
};

namespace detail {

enum class LimitOutcome : std::uint8_t { kMatch, kNoMatch, kHotdrop };

inline bool has_limits(const Rule& r) { return r.limit || r.hashlimit; }

// The rule with the matches at and after module position `n` removed: what
// the kernel has checked when it reaches the n-th match (the IP part, then
// the matches in the order written).
[[nodiscard]] Rule rule_prefix(const Rule& r, std::size_t n);

// Whether rule `r` (with rate-limit matches) matches the packet. `matches`
// is the classifier's stateless rule check. The kernel runs a rule's
// matches in order and stops at the first that fails, so a limiter takes a
// token only when everything before it matched; a hashlimit table that is
// full, or a packet whose ports it cannot read, drops the packet (hotdrop).
[[nodiscard]] LimitOutcome limits_match(const Rule& r, const Key& key, LimitContext& ctx,
                                        const std::function<bool(const Rule&)>& matches);

}  // namespace detail

}  // namespace norman::filter
