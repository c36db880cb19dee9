// The incremental compiler against compile(): random rule sets edited at
// random (rules inserted, appended, deleted, replaced and moved; chains
// created, deleted, renamed and flushed; policies; owner ids; edits that make
// the set invalid), and after every edit the same program entry for entry,
// or the same error. Also that small edits of a large chain recompute little.
#include "incremental_compiler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "compiler.hpp"
#include "random_rules.hpp"
#include "test_util.hpp"

namespace norman::filter {
namespace {

using Assume = IncrementalCompiler::Assume;
using test::chain;
using test::ip;
using test::make_rule;

struct Outcome {
  std::optional<Program> program;
  std::string error;  // what() of the CompileError
  bool capacity = false;
  std::size_t needed = 0;
};

template <typename F>
Outcome outcome_of(F&& compile_it) {
  Outcome o;
  try {
    o.program = compile_it();
  } catch (const CapacityError& e) {
    o.error = e.what();
    o.capacity = true;
    o.needed = e.needed;
  } catch (const CompileError& e) {
    o.error = e.what();
  }
  return o;
}

// Whether the incremental compiler agrees with compile() on rs now.
::testing::AssertionResult agrees(IncrementalCompiler& inc, const Ruleset& rs, test::MapIds& ids,
                                  const CompileOptions& opt, Assume assume, bool* valid = nullptr) {
  const Outcome want = outcome_of([&] { return compile(rs, ids, opt); });
  const Outcome got = outcome_of([&] { return inc.compile(rs, ids, opt, assume); });
  if (valid != nullptr) *valid = want.program.has_value() || want.capacity;
  if (want.error != got.error || want.capacity != got.capacity || want.needed != got.needed) {
    return ::testing::AssertionFailure()
           << "compile: \"" << want.error << "\", incremental: \"" << got.error << "\"";
  }
  if (!want.program) return ::testing::AssertionSuccess();
  const auto& w = want.program->entries;
  const auto& g = got.program->entries;
  if (w.size() != g.size()) {
    return ::testing::AssertionFailure()
           << "compile: " << w.size() << " entries, incremental: " << g.size();
  }
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!(w[i] == g[i])) return ::testing::AssertionFailure() << "entry " << i << " differs";
  }
  return ::testing::AssertionSuccess();
}

class Editor {
 public:
  Editor(test::RandomRules& gen, Assume assume) : gen_(gen), assume_(assume) {}

  // One random edit of rs (or of the owner ids).
  std::string edit(Ruleset& rs, test::MapIds& ids) {
    const unsigned what = gen_.pick(100);
    const std::size_t c = gen_.pick(static_cast<std::uint32_t>(rs.chains.size()));
    std::vector<Rule>& rules = rs.chains[c].rules;
    const auto at = [&](std::size_t extra) {
      return static_cast<std::ptrdiff_t>(
          gen_.pick(static_cast<std::uint32_t>(rules.size() + extra)));
    };
    if (what < 28) {
      rules.insert(rules.begin() + at(1), rule(rs, c));
      return "insert";
    }
    if (what < 36) {
      rules.push_back(rule(rs, c));
      return "append";
    }
    if (what < 54) {
      if (!rules.empty()) rules.erase(rules.begin() + at(0));
      return "delete";
    }
    if (what < 64) {
      if (rules.empty()) return "none";
      const auto i = at(0);
      Rule r = rule(rs, c);
      // Same id, other rule: only when the compiler is not told ids name rules.
      if (assume_ == Assume::kNothing && gen_.chance(50))
        r.id = rules[static_cast<std::size_t>(i)].id;
      rules[static_cast<std::size_t>(i)] = r;
      return "replace";
    }
    if (what < 68) {
      // The same rule (id and all) elsewhere, maybe in another chain.
      if (rules.empty()) return "none";
      const auto from = at(0);
      Rule r = rules[static_cast<std::size_t>(from)];
      rules.erase(rules.begin() + from);
      std::vector<Rule>& to =
          rs.chains[gen_.pick(static_cast<std::uint32_t>(rs.chains.size()))].rules;
      to.insert(to.begin() + static_cast<std::ptrdiff_t>(
                                 gen_.pick(static_cast<std::uint32_t>(to.size() + 1))),
                r);
      return "move";
    }
    if (what < 73) {
      Chain& b = rs.chains[gen_.pick(2)];
      b.policy = *b.policy == Policy::kAccept ? Policy::kDrop : Policy::kAccept;
      return "policy";
    }
    if (what < 75) {
      rules.clear();
      return "flush";
    }
    if (what < 78) {
      rs.chains.push_back(Chain{"N" + std::to_string(next_chain_++), std::nullopt, {}, {}});
      return "new chain";
    }
    if (what < 80) {
      if (rs.chains.size() <= 2) return "none";
      const std::size_t u = 2 + gen_.pick(static_cast<std::uint32_t>(rs.chains.size() - 2));
      const std::string name = rs.chains[u].name;
      rs.chains.erase(rs.chains.begin() + static_cast<std::ptrdiff_t>(u));
      if (gen_.chance(70)) {
        for (Chain& ch : rs.chains) {
          std::erase_if(ch.rules, [&](const Rule& r) { return jumps_to(r, name); });
        }
      }
      return "delete chain";
    }
    if (what < 82) {
      if (rs.chains.size() <= 2) return "none";
      Chain& u = rs.chains[2 + gen_.pick(static_cast<std::uint32_t>(rs.chains.size() - 2))];
      const std::string old = u.name;
      u.name = "R" + std::to_string(next_chain_++);
      for (Chain& ch : rs.chains) {
        for (Rule& r : ch.rules) {
          if (!jumps_to(r, old)) continue;
          r.target.chain = u.name;
          // Another rule now: another id, unless ids are compared with content.
          if (assume_ == Assume::kStableIds) r.id = gen_.rule(rs, 0).id;
        }
      }
      return "rename chain";
    }
    if (what < 86) {
      if (gen_.chance(50)) {
        ids.cgroups["/a/x" + std::to_string(next_chain_++)] =
            static_cast<std::uint16_t>(10 + gen_.pick(100));
      } else if (!ids.cgroups.empty()) {
        ids.cgroups.erase(ids.cgroups.begin());
      }
      return "cgroups";
    }
    if (what < 87) {
      if (!ids.cmds.empty())
        ids.cmds.begin()->second = static_cast<std::uint16_t>(50 + gen_.pick(9));
      return "cmd id";
    }
    if (what < 94) return "none";
    return bad(rs, c);
  }

 private:
  static bool jumps_to(const Rule& r, const std::string& name) {
    return (r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto) &&
           r.target.chain == name;
  }

  Rule rule(const Ruleset& rs, std::size_t c) {
    Rule r = gen_.rule(rs, c);
    if (gen_.chance(8)) {
      static const std::vector<std::string> names{"nic0", "nic1", "nic+"};
      if (rs.chains[c].name == "INPUT") r.in = Iface{gen_.one_of(names), gen_.chance(30)};
      if (rs.chains[c].name == "OUTPUT") r.out = Iface{gen_.one_of(names), gen_.chance(30)};
    }
    return r;
  }

  // Edits compile() refuses (most of the time: some turn out fine).
  std::string bad(Ruleset& rs, std::size_t c) {
    std::vector<Rule>& rules = rs.chains[c].rules;
    Rule r = rule(rs, c);
    switch (gen_.pick(7)) {
      case 0:
        r.id = 0;
        break;
      case 1:
        if (!rules.empty()) r.id = rules[gen_.pick(static_cast<std::uint32_t>(rules.size()))].id;
        break;
      case 2:
        r.proto.reset();
        r.dport = PortMatch{{80, 80}, false};
        break;
      case 3:
        r.out = Iface{"nic0", false};
        break;
      case 4:
        r.in = Iface{"eth7", false};
        break;
      case 5:
        r.target = make_rule(0, TargetKind::kJump, "missing").target;
        break;
      default:
        // A jump back to an earlier user chain: a loop when that chain
        // reaches this one.
        if (c > 2) {
          r.target = make_rule(0, TargetKind::kJump, rs.chains[2].name).target;
        } else if (rs.chains.size() > 2) {
          r.target = make_rule(0, TargetKind::kGoto, rs.chains.back().name).target;
        }
        break;
    }
    rules.insert(rules.begin() + static_cast<std::ptrdiff_t>(
                                     gen_.pick(static_cast<std::uint32_t>(rules.size() + 1))),
                 r);
    return "bad";
  }

  test::RandomRules& gen_;
  Assume assume_;
  unsigned next_chain_ = 0;
};

struct RunStats {
  std::size_t edits = 0;
  std::size_t errors = 0;
  std::size_t walked = 0;
  std::size_t full = 0;
  std::size_t patched = 0;
};

void run_edits(std::uint64_t seed, unsigned runs, unsigned edits, unsigned max_chains,
               unsigned max_rules, Assume assume, std::size_t capacity = std::size_t{1} << 20) {
  test::RandomRules gen(seed);
  Editor editor(gen, assume);
  CompileOptions opt;
  opt.capacity = capacity;
  RunStats st;
  for (unsigned run = 0; run < runs; ++run) {
    test::MapIds ids;
    test::RandomRules::add_cgroups(ids);
    Ruleset rs = gen.ruleset(max_chains, max_rules);
    IncrementalCompiler inc;
    bool valid = true;
    ASSERT_TRUE(agrees(inc, rs, ids, opt, assume, &valid)) << "seed " << seed << " run " << run;
    for (unsigned e = 0; e < edits; ++e) {
      const Ruleset before = rs;
      const test::MapIds ids_before = ids;
      const std::string what = editor.edit(rs, ids);
      ASSERT_TRUE(agrees(inc, rs, ids, opt, assume, &valid))
          << "seed " << seed << " run " << run << " edit " << e << " (" << what << ")";
      ++st.edits;
      st.walked += inc.stats().rules_walked;
      st.full += inc.stats().full ? 1 : 0;
      st.patched += inc.stats().patched ? 1 : 0;
      if (!valid) {
        ++st.errors;
        // Mostly go back, as normand does when a command is refused.
        if (gen.chance(90)) {
          rs = before;
          ids = ids_before;
          ASSERT_TRUE(agrees(inc, rs, ids, opt, assume))
              << "seed " << seed << " run " << run << " edit " << e << " undone";
        }
      }
    }
  }
  std::printf(
      "seed %llu: %zu edits, %zu refused, %zu full recompiles, %zu patches, %.1f rules walked "
      "per edit\n",
      static_cast<unsigned long long>(seed), st.edits, st.errors, st.full, st.patched,
      static_cast<double>(st.walked) / static_cast<double>(st.edits));
}

TEST(IncrementalCompiler, RandomEditsOfSmallSets) {
  run_edits(11, 300, 40, 4, 7, Assume::kNothing);
}

TEST(IncrementalCompiler, RandomEditsOfSmallSetsWithStableIds) {
  run_edits(12, 300, 40, 4, 7, Assume::kStableIds);
}

TEST(IncrementalCompiler, RandomEditsOfLongerChains) {
  run_edits(13, 50, 80, 2, 24, Assume::kNothing);
  run_edits(14, 50, 80, 2, 24, Assume::kStableIds);
}

TEST(IncrementalCompiler, RandomEditsNearCapacity) {
  run_edits(15, 100, 40, 3, 8, Assume::kNothing, 24);
  run_edits(16, 100, 40, 3, 8, Assume::kStableIds, 40);
}

TEST(IncrementalCompiler, OneRuleEditOfAFlatChainWalksOneRule) {
  Ruleset rs = test::flat_host_port_chain(3000);
  test::MapIds ids;
  CompileOptions opt;
  opt.capacity = 1u << 20;
  IncrementalCompiler inc;
  ASSERT_TRUE(agrees(inc, rs, ids, opt, Assume::kStableIds));
  EXPECT_TRUE(inc.stats().full);

  auto& rules = rs.chains[0].rules;
  Rule r = rules[3];
  r.id = 100000;
  r.src = Addr{{ip(192, 0, 2, 1), 32}, false};
  rules.insert(rules.begin() + 1500, r);
  ASSERT_TRUE(agrees(inc, rs, ids, opt, Assume::kStableIds));
  EXPECT_FALSE(inc.stats().full);
  EXPECT_TRUE(inc.stats().patched);
  EXPECT_EQ(inc.stats().rules_walked, 1u);
  EXPECT_EQ(inc.stats().rules_matched, 1u);

  // A rule that matches one field only: what missing it says about the keys
  // (p) changes for every rule after it, but not which of their keys they take.
  r = make_rule(100002, TargetKind::kDrop);
  r.src = Addr{{ip(192, 0, 2, 2), 32}, false};
  rules.insert(rules.begin() + 1000, r);
  ASSERT_TRUE(agrees(inc, rs, ids, opt, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 1u);

  rules.erase(rules.begin() + 10);
  ASSERT_TRUE(agrees(inc, rs, ids, opt, Assume::kNothing));
  EXPECT_EQ(inc.stats().rules_walked, 0u);
  EXPECT_EQ(inc.stats().rules_matched, 0u);

  r.id = 100001;
  r.target.kind = TargetKind::kAccept;
  rules[2000] = r;
  ASSERT_TRUE(agrees(inc, rs, ids, opt, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 1u);

  // The rule after a changed one starts from the same point, so the rest is kept.
  rs.chains[0].policy = Policy::kDrop;
  ASSERT_TRUE(agrees(inc, rs, ids, opt, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 0u);
}

TEST(IncrementalCompiler, RulesThatWalkTheRestOfTheChainSeeOnlyOverlappingEdits) {
  Ruleset rs = test::flat_host_port_chain(200);
  auto& rules = rs.chains[0].rules;
  Rule log = make_rule(5000, TargetKind::kLog);
  log.src = Addr{{ip(192, 168, 0, 0), 16}, false};
  rules.insert(rules.begin(), log);
  test::MapIds ids;
  IncrementalCompiler inc;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));

  // 10.x.y.1 never overlaps 192.168/16: the LOG rule's walk skips it.
  Rule far = make_rule(5001, TargetKind::kDrop);
  far.src = Addr{{ip(10, 99, 0, 1), 32}, false};
  rules.insert(rules.begin() + 100, far);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 1u);

  Rule near = make_rule(5002, TargetKind::kDrop);
  near.src = Addr{{ip(192, 168, 3, 4), 32}, false};
  rules.insert(rules.begin() + 100, near);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 2u);

  rules.erase(rules.begin() + 100);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 1u);

  // The policy ends the LOG rule's walk.
  rs.chains[0].policy = Policy::kDrop;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 1u);
}

TEST(IncrementalCompiler, UserChainEditsRecomputeTheirCallers) {
  Ruleset rs = test::flat_host_port_chain(100);
  Rule jump = make_rule(7000, TargetKind::kJump, "U");
  jump.proto = Proto{17, false};
  chain(rs, "U").rules.push_back(make_rule(7001, TargetKind::kReturn));
  rs.chains[0].rules.insert(rs.chains[0].rules.begin() + 50, jump);
  test::MapIds ids;
  IncrementalCompiler inc;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  Rule udp = make_rule(7002, TargetKind::kDrop);
  udp.proto = Proto{17, false};
  udp.modules = {Module::kUdp};
  udp.dport = PortMatch{{53, 53}, false};
  chain(rs, "U").rules.insert(chain(rs, "U").rules.begin(), udp);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_EQ(inc.stats().rules_walked, 1u);
}

TEST(IncrementalCompiler, OwnerIdsAreAskedAgain) {
  Ruleset rs = test::flat_host_port_chain(20);
  Rule cg = make_rule(900, TargetKind::kDrop);
  cg.cgroup = Cgroup{"/a", false};
  Rule cmd = make_rule(901, TargetKind::kAccept);
  cmd.owner = Owner{std::nullopt, std::nullopt, Owner::Name{"nginx", false}};
  chain(rs, "OUTPUT").rules = {cg, cmd};
  test::MapIds ids;
  test::RandomRules::add_cgroups(ids);
  IncrementalCompiler inc;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_TRUE(inc.uses_cgroups());
  ids.cgroups["/a/new"] = 42;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  ids.cmds["nginx"] = 77;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  chain(rs, "OUTPUT").rules.erase(chain(rs, "OUTPUT").rules.begin());
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  EXPECT_FALSE(inc.uses_cgroups());
}

TEST(IncrementalCompiler, CapacityErrorsAndRecovery) {
  Ruleset rs = test::flat_host_port_chain(4094);
  test::MapIds ids;
  IncrementalCompiler inc;
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));  // exactly full
  auto& rules = rs.chains[0].rules;
  Rule r = rules[5];
  r.id = 50000;
  rules.insert(rules.begin() + 7, r);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));  // one too many
  EXPECT_FALSE(inc.stats().full);
  r.id = 50001;
  rules.insert(rules.begin() + 3000, r);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  rules.erase(rules.begin() + 7);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));
  rules.erase(rules.begin() + 2999);
  ASSERT_TRUE(agrees(inc, rs, ids, {}, Assume::kStableIds));  // fits again
  EXPECT_LE(inc.stats().rules_walked, 3u);
}

}  // namespace
}  // namespace norman::filter
