// Differential tests of the filter table's semantics against real iptables:
// random rule sets (chains, jumps, goto, RETURN, count-only rules, every
// supported match but owner/cgroup, negations) are loaded into iptables in
// a network namespace and into our reference classifier; the same random
// IPv4 trace goes through both; every rule's and the INPUT policy's packet
// and byte counters must be equal. The NIC is checked against the same
// oracle by nfw_nsim_diff_test. Needs root and iptables; skips otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <random>

#include "evaluate.hpp"
#include "linux_filter_ns.hpp"
#include "random_rules.hpp"
#include "syntax.hpp"
#include "trace.hpp"

namespace norman::filter::difftest {
namespace {

class NoOwners : public OwnerIds {
 public:
  std::uint16_t cmd_id(std::string_view) override { return 1; }
  std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
};

// Counters of every rule of `rules` read back from iptables-save -c output.
Ruleset parse_counters(const std::string& saved) {
  const auto file = nfw::parse_restore(saved);
  Ruleset out;
  std::uint64_t id = 1;
  nfw::apply_restore(out, file, false, true, [&id] { return id++; });
  return out;
}

std::string compare(const Ruleset& want, const Ruleset& got) {
  std::ostringstream diff;
  for (const auto& c : want.chains) {
    if (c.name == "OUTPUT") continue;  // Linux's OUTPUT sees the kernel's replies
    const Chain* g = got.find(c.name);
    if (g == nullptr || g->rules.size() != c.rules.size()) {
      diff << "chain " << c.name << " differs in shape\n";
      continue;
    }
    if (c.builtin() && !(c.policy_counters == g->policy_counters)) {
      diff << c.name << " policy: reference " << c.policy_counters.packets << "/"
           << c.policy_counters.bytes << " iptables " << g->policy_counters.packets << "/"
           << g->policy_counters.bytes << "\n";
    }
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      if (!(c.rules[i].counters == g->rules[i].counters)) {
        diff << c.name << " rule " << (i + 1) << ": reference " << c.rules[i].counters.packets
             << "/" << c.rules[i].counters.bytes << " iptables " << g->rules[i].counters.packets
             << "/" << g->rules[i].counters.bytes << "\n";
      }
    }
  }
  return diff.str();
}

TEST(LinuxDiff, ReferenceClassifierCountsLikeIptables) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespace, iptables)";
  if (sh("command -v iptables-restore").first != 0) GTEST_SKIP() << "iptables is not installed";
  LinuxFilterNs ns;
  const Pools pools = default_pools();
  std::mt19937 rng(20261123);
  NoOwners ids;
  unsigned total_hits = 0;
  for (int round = 0; round < 30; ++round) {
    Ruleset rs = random_ruleset(rng, pools);
    const std::string text = nfw::format_save(rs, false);
    ns.restore(text);
    ASSERT_EQ(
        sh("ip netns exec nfwdiff-" + std::to_string(::getpid() % 100000) + " iptables -Z").first,
        0);
    std::vector<Frame> trace;
    for (int i = 0; i < 300; ++i)
      trace.push_back(random_frame(rng, pools, ns.nic_mac(), ns.peer_mac()));
    ns.send(trace);
    for (const auto& f : trace) {
      const auto key = key_of_frame(f.bytes, Direction::kInput, 0, std::nullopt);
      ASSERT_TRUE(key.has_value());
      count(rs, evaluate(rs, *key, ids), *key);
    }
    const Ruleset linux_counts = parse_counters(ns.save_with_counters());
    const std::string diff = compare(rs, linux_counts);
    EXPECT_TRUE(diff.empty()) << "round " << round << ":\n" << diff << "--- rules ---\n" << text;
    for (const auto& c : rs.chains) {
      for (const auto& r : c.rules) total_hits += r.counters.packets > 0 ? 1 : 0;
    }
  }
  // The generator must exercise the rules, not just the policies.
  EXPECT_GT(total_hits, 150u);
}

}  // namespace
}  // namespace norman::filter::difftest
