// The compiler against the reference classifier: on thousands of random rule
// sets, the first matching flattened entry must give the chain walk's
// verdict, LOG flag and counter path for every probed key, and counters
// attributed from per-entry counts must equal the classifier's counts.
#include <gtest/gtest.h>

#include <sstream>

#include "compiler.hpp"
#include "evaluate.hpp"
#include "random_rules.hpp"
#include "test_util.hpp"

namespace norman::filter {
namespace {

std::string describe(const Key& k) {
  std::ostringstream o;
  for (unsigned i = 0; i < rf::kNumFields; ++i)
    o << rf::kFields[i].name << '=' << k.field[i] << ' ';
  o << "flags=0x" << std::hex << k.flags;
  return o.str();
}

std::string describe(const std::vector<CounterRef>& path) {
  std::ostringstream o;
  for (const CounterRef& r : path) {
    if (r.kind == CounterRef::Kind::kPolicy) {
      o << "policy(" << (r.chain == Direction::kInput ? "INPUT" : "OUTPUT") << ") ";
    } else {
      o << r.rule_id << ' ';
    }
  }
  return o.str();
}

void zero_counters(Ruleset& rs) {
  for (Chain& c : rs.chains) {
    c.policy_counters = {};
    for (Rule& r : c.rules) r.counters = {};
  }
}

struct Stats {
  std::size_t rulesets = 0;
  std::size_t keys = 0;
  std::size_t entries = 0;
  std::size_t max_entries = 0;
};

// Checks one rule set on `keys` random keys; returns false after the first
// disagreement (reported through gtest).
bool check_equivalent(const Ruleset& rs, test::RandomRules& gen, test::MapIds& ids, unsigned keys,
                      Stats& stats) {
  CompileOptions opt;
  opt.capacity = std::size_t{1} << 20;
  const Program prog = compile(rs, ids, opt);
  std::vector<Entry> flat;
  flat.reserve(prog.entries.size());
  for (const CompiledEntry& ce : prog.entries) flat.push_back(ce.entry);
  ++stats.rulesets;
  stats.entries += flat.size();
  stats.max_entries = std::max(stats.max_entries, flat.size());

  const auto probe = test::RandomRules::probe_values(prog);
  Ruleset by_walk = rs;
  Ruleset by_entries = rs;
  zero_counters(by_walk);
  zero_counters(by_entries);
  std::vector<Counters> entry_counts(flat.size());
  for (unsigned n = 0; n < keys; ++n) {
    const Key k = gen.key(probe);
    ++stats.keys;
    const Verdict v = evaluate(rs, k, ids);
    const auto hit = first_match(flat, k);
    if (!hit) {
      ADD_FAILURE() << "no entry matches " << describe(k);
      return false;
    }
    const CompiledEntry& ce = prog.entries[*hit];
    if (ce.entry.action != v.action || ce.entry.log != v.log || ce.path != v.path ||
        (v.action == rf::Action::kReject && ce.entry.reject_with != v.reject_with)) {
      ADD_FAILURE() << "key " << describe(k) << "\n walk:  action " << static_cast<int>(v.action)
                    << " log " << v.log << " path " << describe(v.path) << "\n entry " << *hit
                    << ": action " << static_cast<int>(ce.entry.action) << " log " << ce.entry.log
                    << " path " << describe(ce.path);
      return false;
    }
    count(by_walk, v, k);
    entry_counts[*hit].packets += 1;
    entry_counts[*hit].bytes += k.frame_bytes;
  }
  attribute_counters(prog, entry_counts, by_entries);
  for (std::size_t c = 0; c < rs.chains.size(); ++c) {
    if (by_walk.chains[c].policy_counters != by_entries.chains[c].policy_counters) {
      ADD_FAILURE() << "policy counters of " << rs.chains[c].name;
      return false;
    }
    for (std::size_t i = 0; i < rs.chains[c].rules.size(); ++i) {
      if (by_walk.chains[c].rules[i].counters != by_entries.chains[c].rules[i].counters) {
        ADD_FAILURE() << "counters of " << rs.chains[c].name << " rule " << i + 1;
        return false;
      }
    }
  }
  return true;
}

void run_random(std::uint64_t seed, unsigned rulesets, unsigned keys, unsigned max_chains,
                unsigned max_rules) {
  test::RandomRules gen(seed);
  Stats stats;
  for (unsigned n = 0; n < rulesets; ++n) {
    test::MapIds ids;
    test::RandomRules::add_cgroups(ids);
    const Ruleset rs = gen.ruleset(max_chains, max_rules);
    if (!check_equivalent(rs, gen, ids, keys, stats)) {
      ADD_FAILURE() << "seed " << seed << " rule set " << n;
      return;
    }
  }
  std::printf("seed %llu: %zu rule sets, %zu keys, %.1f entries on average, %zu at most\n",
              static_cast<unsigned long long>(seed), stats.rulesets, stats.keys,
              static_cast<double>(stats.entries) / static_cast<double>(stats.rulesets),
              stats.max_entries);
}

TEST(CompilerEquivalence, SmallRuleSets) { run_random(1, 3000, 200, 3, 5); }

TEST(CompilerEquivalence, DeeperRuleSets) { run_random(2, 1500, 300, 5, 8); }

TEST(CompilerEquivalence, SingleChainManyRules) { run_random(3, 400, 500, 0, 30); }

}  // namespace
}  // namespace norman::filter
