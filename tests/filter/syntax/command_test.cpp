#include "command.hpp"

#include <cerrno>

#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

using filter::CommandError;

// The errno and message of a refused command (and that nothing changed).
std::pair<int, std::string> refusal(filter::Ruleset& rs, const std::string& line) {
  Ids ids{100};
  const filter::Ruleset before = rs;
  try {
    filter::apply(rs, cmd(line), ids.fn());
  } catch (const CommandError& e) {
    EXPECT_EQ(format_rules(rs, Command{}), format_rules(before, Command{}))
        << line << " changed the table";
    EXPECT_EQ(format_save(rs, true).size(), format_save(before, true).size()) << line;
    return {e.errno_value, e.what()};
  }
  ADD_FAILURE() << line << " was accepted";
  return {0, ""};
}

std::string rules_of(const filter::Ruleset& rs, const std::string& chain) {
  Command c;
  c.op = Command::Op::kListRules;
  c.chain = chain;
  return format_rules(rs, c);
}

TEST(Apply, AppendInsertAndItsLimits) {
  filter::Ruleset rs;
  Ids ids;
  run(rs, ids,
      {"-A INPUT -s 10.0.0.1 -j ACCEPT", "-I INPUT -s 10.0.0.2 -j ACCEPT",
       "-I INPUT 3 -s 10.0.0.3 -j DROP", "-I INPUT 2 -s 10.0.0.4"});
  EXPECT_EQ(rules_of(rs, "INPUT"),
            "-P INPUT ACCEPT\n"
            "-A INPUT -s 10.0.0.2/32 -j ACCEPT\n"
            "-A INPUT -s 10.0.0.4/32\n"
            "-A INPUT -s 10.0.0.1/32 -j ACCEPT\n"
            "-A INPUT -s 10.0.0.3/32 -j DROP\n");
  EXPECT_EQ(rs.chains[0].rules[0].id, 2u);
  EXPECT_EQ(refusal(rs, "-I INPUT 6 -j DROP"),
            std::make_pair(E2BIG, std::string("Index of insertion too big")));
  run(rs, ids, {"-I INPUT 5 -j DROP"});
  EXPECT_EQ(rs.chains[0].rules.size(), 5u);
  EXPECT_EQ(refusal(rs, "-A nochain -j DROP"),
            std::make_pair(ENOENT, std::string("Chain 'nochain' does not exist")));
  EXPECT_EQ(refusal(rs, "-A INPUT -j nochain"),
            std::make_pair(ENOENT, std::string("Couldn't load target `nochain'")));
  EXPECT_EQ(refusal(rs, "-A INPUT -o eth0"),
            std::make_pair(EINVAL, std::string("Can't use -o with INPUT")));
  EXPECT_EQ(refusal(rs, "-A OUTPUT -i eth0"),
            std::make_pair(EINVAL, std::string("Can't use -i with OUTPUT")));
  EXPECT_EQ(refusal(rs, "-A INPUT -j OUTPUT").first, EINVAL);
  EXPECT_EQ(refusal(rs, "-A FORWARD -j OUTPUT").first, EINVAL);
  // FORWARD is the host's chain (docs/nfw-host.md): it takes rules.
  run(rs, ids, {"-A FORWARD -i wg0 -o eth1 -j ACCEPT"});
  EXPECT_EQ(rs.find("FORWARD")->rules.size(), 1u);
}

TEST(Apply, DeleteReplaceCheck) {
  filter::Ruleset rs;
  Ids ids;
  run(rs, ids,
      {"-A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
       "-A INPUT -j DROP"});
  EXPECT_TRUE(filter::apply(rs, cmd("-C INPUT -p tcp -m tcp --dport 22 -j ACCEPT"), ids.fn()));
  EXPECT_FALSE(filter::apply(rs, cmd("-C INPUT -p tcp --dport 23 -j ACCEPT"), ids.fn()));
  EXPECT_FALSE(cmd("-C INPUT -j DROP").changes_rules());
  // -D RULESPEC removes the first rule with the same matches and target.
  const auto second_id = rs.chains[0].rules[1].id;
  run(rs, ids, {"-D INPUT -p tcp --dport 22 -j ACCEPT"});
  ASSERT_EQ(rs.chains[0].rules.size(), 2u);
  EXPECT_EQ(rs.chains[0].rules[0].id, second_id);
  EXPECT_EQ(
      refusal(rs, "-D INPUT -p tcp --dport 23 -j ACCEPT"),
      std::make_pair(ENOENT, std::string("Bad rule (does a matching rule exist in that chain?)")));
  EXPECT_EQ(refusal(rs, "-D INPUT 3"),
            std::make_pair(E2BIG, std::string("Index of deletion too big")));
  EXPECT_EQ(refusal(rs, "-R INPUT 3 -j DROP"),
            std::make_pair(E2BIG, std::string("Index of replacement too big")));
  run(rs, ids, {"-R INPUT 2 -c 4 5 -j REJECT", "-D INPUT 1"});
  EXPECT_EQ(rules_of(rs, "INPUT"),
            "-P INPUT ACCEPT\n-A INPUT -j REJECT --reject-with icmp-port-unreachable\n");
  EXPECT_EQ(rs.chains[0].rules[0].counters, (filter::Counters{4, 5}));
}

TEST(Apply, FlushAndZero) {
  filter::Ruleset rs;
  Ids ids;
  run(rs, ids,
      {"-N u", "-A INPUT -c 1 2 -j u", "-A INPUT -c 3 4", "-A OUTPUT -c 5 6", "-A u -c 7 8"});
  rs.chains[0].policy_counters = {9, 9};
  run(rs, ids, {"-Z INPUT 2"});
  EXPECT_EQ(rs.chains[0].rules[0].counters, (filter::Counters{1, 2}));
  EXPECT_EQ(rs.chains[0].rules[1].counters, (filter::Counters{}));
  EXPECT_EQ(refusal(rs, "-Z INPUT 3"),
            std::make_pair(E2BIG, std::string("Index of counter too big")));
  run(rs, ids, {"-Z INPUT"});
  EXPECT_EQ(rs.chains[0].rules[0].counters, (filter::Counters{}));
  EXPECT_EQ(rs.chains[0].policy_counters, (filter::Counters{}));
  EXPECT_EQ(rs.chains[1].rules[0].counters, (filter::Counters{5, 6}));
  EXPECT_TRUE(cmd("-L -Z").changes_rules());
  EXPECT_FALSE(cmd("-L").changes_rules());
  run(rs, ids, {"-L OUTPUT -Z"});
  EXPECT_EQ(rs.chains[1].rules[0].counters, (filter::Counters{}));
  EXPECT_EQ(rs.find("u")->rules[0].counters, (filter::Counters{7, 8}));
  run(rs, ids, {"-Z"});
  EXPECT_EQ(rs.find("u")->rules[0].counters, (filter::Counters{}));
  run(rs, ids, {"-F OUTPUT"});
  EXPECT_TRUE(rs.find("OUTPUT")->rules.empty());
  EXPECT_EQ(rs.find("INPUT")->rules.size(), 2u);
  run(rs, ids, {"-F"});
  EXPECT_TRUE(rs.find("INPUT")->rules.empty());
  EXPECT_TRUE(rs.find("u")->rules.empty());
  EXPECT_NE(rs.find("u"), nullptr);
  EXPECT_EQ(refusal(rs, "-F nochain"),
            std::make_pair(ENOENT, std::string("No chain/target/match by that name")));
  EXPECT_EQ(refusal(rs, "-L nochain").first, ENOENT);
}

TEST(Apply, ChainsNewDeleteRename) {
  filter::Ruleset rs;
  Ids ids;
  run(rs, ids, {"-N web", "-N abcdefghijabcdefghijabcdefgh"});
  EXPECT_EQ(refusal(rs, "-N web"), std::make_pair(EEXIST, std::string("Chain already exists")));
  EXPECT_EQ(refusal(rs, "-N INPUT"), std::make_pair(EEXIST, std::string("Chain already exists")));
  EXPECT_EQ(refusal(rs, "-N abcdefghijabcdefghijabcdefghi").first, EINVAL);
  for (const char* name : {"ACCEPT", "DROP", "REJECT", "RETURN", "LOG"}) {
    EXPECT_EQ(refusal(rs, std::string("-N ") + name),
              std::make_pair(EINVAL, std::string("chain name may not clash with target name")));
  }
  EXPECT_EQ(refusal(rs, "-N !x"),
            std::make_pair(EINVAL, std::string("chain name not allowed to start with `!'")));

  run(rs, ids, {"-N db", "-A INPUT -j web", "-A OUTPUT -g web", "-A db -j DROP"});
  EXPECT_EQ(refusal(rs, "-X INPUT"),
            std::make_pair(EINVAL, std::string("Can't delete built-in chain")));
  EXPECT_EQ(refusal(rs, "-X web"), std::make_pair(EMLINK, std::string("Too many links")));
  EXPECT_EQ(refusal(rs, "-X db"), std::make_pair(ENOTEMPTY, std::string("Directory not empty")));
  EXPECT_EQ(refusal(rs, "-X nochain"),
            std::make_pair(ENOENT, std::string("No chain/target/match by that name")));

  // -E renames and carries the references along.
  run(rs, ids, {"-E web www"});
  EXPECT_EQ(rs.find("web"), nullptr);
  EXPECT_EQ(rs.references("www"), 2u);
  EXPECT_EQ(rs.find("INPUT")->rules[0].target.chain, "www");
  EXPECT_EQ(refusal(rs, "-E www db"), std::make_pair(EEXIST, std::string("File exists")));
  EXPECT_EQ(refusal(rs, "-E INPUT x").first, EINVAL);
  EXPECT_EQ(refusal(rs, "-E nochain x").first, ENOENT);
  EXPECT_EQ(refusal(rs, "-E www ACCEPT").first, EINVAL);

  // -X without a name: every user chain that is empty and unreferenced.
  run(rs, ids, {"-X"});
  EXPECT_NE(rs.find("www"), nullptr);
  EXPECT_NE(rs.find("db"), nullptr);
  EXPECT_EQ(rs.find("abcdefghijabcdefghijabcdefgh"), nullptr);
  run(rs, ids, {"-F", "-X"});
  EXPECT_EQ(rs.chains.size(), 2u);
}

TEST(Apply, PolicyAndLoops) {
  filter::Ruleset rs;
  Ids ids;
  run(rs, ids, {"-P INPUT DROP", "-N a", "-N b", "-A a -j b"});
  EXPECT_EQ(rs.find("INPUT")->policy, filter::Policy::kDrop);
  EXPECT_EQ(refusal(rs, "-P a DROP"),
            std::make_pair(ENOENT, std::string("Bad built-in chain name")));
  EXPECT_EQ(refusal(rs, "-P nochain DROP").first, ENOENT);
  run(rs, ids, {"-P FORWARD DROP"});
  EXPECT_EQ(rs.forward.policy, filter::Policy::kDrop);
  run(rs, ids, {"-P FORWARD ACCEPT"});
  // The error names the chains of the loop the jump would close.
  EXPECT_EQ(refusal(rs, "-A b -j a"),
            std::make_pair(ELOOP, std::string("Too many levels of symbolic links: the jump would "
                                              "make the loop b -> a -> b")));
  EXPECT_EQ(refusal(rs, "-I b -g a").first, ELOOP);
  EXPECT_EQ(refusal(rs, "-A a -j a"),
            std::make_pair(ELOOP, std::string("Too many levels of symbolic links: the jump would "
                                              "make the loop a -> a")));
  run(rs, ids, {"-N c", "-N d", "-A b -j c", "-A c -p tcp -j DROP", "-A c -g d"});
  EXPECT_EQ(
      refusal(rs, "-A d -j a").second,
      "Too many levels of symbolic links: the jump would make the loop d -> a -> b -> c -> d");
}

}  // namespace
}  // namespace norman::nfw::test
