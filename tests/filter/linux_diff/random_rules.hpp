// Random filter tables that real iptables and nfw must judge identically
// on INPUT traffic: user chains with jumps, goto and RETURN, rules without a
// target, and every supported match except owner and cgroup (Linux has no
// owner for received packets), with negations. Targets that the NIC or the
// comparison cannot carry (LOG, REJECT) are left out.
#pragma once

#include <random>

#include "ruleset.hpp"
#include "trace.hpp"

namespace norman::filter::difftest {

struct RuleGenOptions {
  unsigned user_chains = 3;
  unsigned input_rules = 12;
  unsigned chain_rules = 5;
  // Rules that only the host's netfilter would run (docs/nfw-host.md); a
  // normand without --host-netfilter refuses a table holding one.
  bool host_rules = true;
};

Ruleset random_ruleset(std::mt19937& rng, const Pools& pools, const RuleGenOptions& opt = {});

}  // namespace norman::filter::difftest
