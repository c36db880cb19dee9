// -s/-d with address lists and host names: one rule per address (each
// source with each destination), as iptables expands them at load time;
// -I puts them at the same number (so in reverse), -C needs all of them,
// -R refuses a list; and FORWARD's policy counters, which -c keeps.
#include "command.hpp"
#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

std::string save_of(const filter::Ruleset& rs) { return without_comments(format_save(rs, false)); }

filter::Ruleset run(const std::vector<std::string>& lines) {
  filter::Ruleset rs;
  Ids ids;
  for (const auto& l : lines) filter::apply(rs, cmd(l), ids.fn());
  return rs;
}

TEST(AddressList, ExpandsEachSourceWithEachDestination) {
  const Command c = cmd("-A INPUT -s 10.0.0.1,10.0.0.2/24 -d 1.1.1.1,2.2.2.2 -j ACCEPT");
  ASSERT_EQ(c.expanded.size(), 4u);
  EXPECT_TRUE(c.rule->same_spec(c.expanded.front()));
  EXPECT_EQ(save_of(run({"-A INPUT -s 10.0.0.1,10.0.0.2/24 -d 1.1.1.1,2.2.2.2 -j ACCEPT"})),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            "-A INPUT -s 10.0.0.1/32 -d 1.1.1.1/32 -j ACCEPT\n"
            "-A INPUT -s 10.0.0.1/32 -d 2.2.2.2/32 -j ACCEPT\n"
            "-A INPUT -s 10.0.0.0/24 -d 1.1.1.1/32 -j ACCEPT\n"
            "-A INPUT -s 10.0.0.0/24 -d 2.2.2.2/32 -j ACCEPT\n"
            "COMMIT\n");
  // One address: no expansion, the rule as before.
  EXPECT_TRUE(cmd("-A INPUT -s 10.0.0.1 -j DROP").expanded.empty());
}

TEST(AddressList, InsertDeleteCheckAsIptables) {
  filter::Ruleset rs = run({"-A INPUT -j ACCEPT", "-I INPUT 1 -s 3.3.3.3,4.4.4.4 -j DROP"});
  EXPECT_EQ(save_of(rs),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            "-A INPUT -s 4.4.4.4/32 -j DROP\n-A INPUT -s 3.3.3.3/32 -j DROP\n-A INPUT -j ACCEPT\n"
            "COMMIT\n");
  Ids ids;
  EXPECT_TRUE(filter::apply(rs, cmd("-C INPUT -s 3.3.3.3,4.4.4.4 -j DROP"), ids.fn()));
  EXPECT_FALSE(filter::apply(rs, cmd("-C INPUT -s 3.3.3.3,4.4.4.9 -j DROP"), ids.fn()));
  // -D of a list with one rule missing deletes nothing.
  const filter::Ruleset before = rs;
  EXPECT_THROW(filter::apply(rs, cmd("-D INPUT -s 3.3.3.3,4.4.4.9 -j DROP"), ids.fn()),
               filter::CommandError);
  EXPECT_EQ(save_of(rs), save_of(before));
  filter::apply(rs, cmd("-D INPUT -s 3.3.3.3,4.4.4.4 -j DROP"), ids.fn());
  EXPECT_EQ(rs.find("INPUT")->rules.size(), 1u);
  EXPECT_EQ(error_message("-R INPUT 1 -s 5.5.5.5,6.6.6.6 -j DROP"),
            "nfw: Replacement rule does not specify a unique address");
  EXPECT_EQ(error_token("-A INPUT ! -s 1.1.1.1,2.2.2.2 -j DROP"), "1.1.1.1,2.2.2.2");
}

TEST(AddressList, HostNamesResolve) {
  // localhost comes from /etc/hosts: no network needed.
  const filter::Rule r = rule("-A INPUT -s localhost -j ACCEPT");
  ASSERT_TRUE(r.src);
  EXPECT_EQ(r.src->prefix.addr, 0x7F000001u);
  EXPECT_EQ(error_message("-A INPUT -s no-such-host.invalid -j ACCEPT"),
            "nfw: host/network `no-such-host.invalid' not found");
}

TEST(AddressList, RestoreFileLinesExpandWithTheirCounters) {
  filter::Ruleset rs;
  Ids ids;
  apply_restore(rs,
                parse_restore("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                              ":OUTPUT ACCEPT [0:0]\n[3:4] -A INPUT -s 1.1.1.1,2.2.2.2 -j DROP\n"
                              "COMMIT\n"),
                false, true, ids.fn());
  EXPECT_EQ(without_comments(format_save(rs, true)),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            "[3:4] -A INPUT -s 1.1.1.1/32 -j DROP\n[3:4] -A INPUT -s 2.2.2.2/32 -j DROP\n"
            "COMMIT\n");
}

TEST(AddressList, CommandJsonCarriesTheExpansion) {
  const Command c = cmd("-A INPUT -s 1.1.1.1,2.2.2.2 -j DROP");
  const Command back = nlohmann::json(c).get<Command>();
  ASSERT_EQ(back.expanded.size(), c.expanded.size());
  for (std::size_t i = 0; i < c.expanded.size(); ++i)
    EXPECT_TRUE(back.expanded[i].same_spec(c.expanded[i])) << i;
}

TEST(ForwardPolicy, CountersRoundTripWithC) {
  const std::string text =
      "*filter\n:INPUT ACCEPT [1:2]\n:FORWARD ACCEPT [5:600]\n:OUTPUT ACCEPT [3:4]\nCOMMIT\n";
  filter::Ruleset rs;
  Ids ids;
  apply_restore(rs, parse_restore(text), false, true, ids.fn());
  EXPECT_EQ(without_comments(format_save(rs, true)), text);
  // Through normand's JSON too.
  EXPECT_EQ(without_comments(format_save(nlohmann::json(rs).get<filter::Ruleset>(), true)), text);
  EXPECT_EQ(format_rules(rs, cmd("-S FORWARD -v")), "-P FORWARD ACCEPT -c 5 600\n");
  // Without -c the file's counters are not taken; -Z zeroes them.
  filter::Ruleset plain;
  apply_restore(plain, parse_restore(text), false, false, ids.fn());
  EXPECT_EQ(plain.forward.policy_counters, filter::Counters{});
  filter::apply(rs, cmd("-Z FORWARD"), ids.fn());
  EXPECT_EQ(rs.forward.policy_counters, filter::Counters{});
}

}  // namespace
}  // namespace norman::nfw::test
