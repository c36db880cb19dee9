// One rules.v4 for the whole host in nfw's syntax (docs/nfw-host.md): the
// host's tables kept as text and edited with nfw -t TABLE, FORWARD as a
// chain, the JSON form normand keeps, which rules run where, and -L -v
// saying so.
#include <fstream>
#include <sstream>

#include "host_split.hpp"
#include "host_syntax.hpp"
#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(NFW_RULE_FILES) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

filter::Ruleset load(const std::string& text, bool counters = false) {
  filter::Ruleset rs;
  Ids ids;
  apply_restore(rs, parse_restore(text), false, counters, ids.fn());
  return rs;
}

std::string run(filter::Ruleset& rs, const std::string& table, const std::string& line) {
  const auto args = split_line(line);
  return host_command(rs, table, args).out;
}

TEST(HostTables, JsonKeepsForwardAndHostTables) {
  const filter::Ruleset rs = load(read("router_host.v4"));
  ASSERT_EQ(rs.host_tables.size(), 3u);
  EXPECT_EQ(rs.host_tables[0].name, "mangle");
  EXPECT_EQ(rs.forward.policy, filter::Policy::kDrop);
  EXPECT_EQ(rs.forward.rules.size(), 3u);
  const filter::Ruleset back = nlohmann::json(rs).get<filter::Ruleset>();
  EXPECT_EQ(format_save(back, true), format_save(rs, true));
  EXPECT_EQ(back.host_tables, rs.host_tables);
}

TEST(HostTables, WhereEachRuleRuns) {
  const filter::Ruleset rs = load(read("router_host.v4"));
  const auto reach = filter::nic_reachable(rs);
  auto where = [&](const char* chain, std::size_t i) {
    return std::string(filter::runs_on_name(
        filter::runs_on(rs.find(chain)->rules[i], chain, reach.contains(chain))));
  };
  EXPECT_EQ(where("INPUT", 0), "host");      // -i lo
  EXPECT_EQ(where("INPUT", 1), "nic");       // -i nic0
  EXPECT_EQ(where("INPUT", 2), "host");      // -i br0 -j lan-in
  EXPECT_EQ(where("INPUT", 3), "host");      // -i veth+
  EXPECT_EQ(where("INPUT", 4), "nic+host");  // ! -i wg0
  EXPECT_EQ(where("INPUT", 5), "nic+host");  // no interface
  EXPECT_EQ(where("FORWARD", 0), "host");
  EXPECT_EQ(where("OUTPUT", 0), "host");  // -o eth1
  EXPECT_EQ(where("lan-in", 0), "nic+host");
  // The NIC's view: host-only rules gone, ! -i wg0 always holds there.
  const filter::Ruleset nic = filter::nic_view(rs);
  ASSERT_EQ(nic.find("INPUT")->rules.size(), 3u);
  EXPECT_FALSE(nic.find("INPUT")->rules[1].in.has_value());
  EXPECT_TRUE(nic.forward.rules.empty());
  EXPECT_TRUE(nic.host_tables.empty());
  // The host's view: the NIC's own rule gone, the rest kept.
  const filter::Ruleset host = filter::host_view(rs);
  EXPECT_EQ(host.find("INPUT")->rules.size(), 5u);
  EXPECT_EQ(host.forward.rules.size(), 3u);
  EXPECT_TRUE(filter::has_host_only_part(rs));
  EXPECT_FALSE(filter::has_host_only_part(load(read("web_server.v4"))));
}

TEST(HostTables, ListVerboseSaysWhereRulesRun) {
  const filter::Ruleset rs = load(read("loopback_only.v4"));
  const std::string out = format_list(rs, cmd("-L -v -n"));
  EXPECT_NE(
      out.find("lo     *       0.0.0.0/0            0.0.0.0/0            /* runs on host */\n"),
      std::string::npos)
      << out;
  // Without -v, and for a table with no host part, iptables' layout only.
  EXPECT_EQ(format_list(rs, cmd("-L -n")).find("runs on"), std::string::npos);
  EXPECT_EQ(format_list(load(read("web_server.v4")), cmd("-L -v -n")).find("runs on"),
            std::string::npos);
}

TEST(HostTables, NatCommandsEditTheText) {
  filter::Ruleset rs;
  run(rs, "nat", "-t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  run(rs, "nat", "-t nat -N port-fwd");
  run(rs, "nat",
      "-t nat -A port-fwd -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080");
  run(rs, "nat", "-t nat -I PREROUTING -j port-fwd");
  run(rs, "nat", "-t nat -A port-fwd -m comment --comment \"two words\" -j RETURN");
  EXPECT_EQ(run(rs, "nat", "-t nat -S"),
            "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
            "-N port-fwd\n-A PREROUTING -j port-fwd\n-A POSTROUTING -o eth1 -j MASQUERADE\n"
            "-A port-fwd -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080\n"
            "-A port-fwd -m comment --comment \"two words\" -j RETURN\n");
  EXPECT_TRUE(
      host_command(rs, "nat", split_line("-t nat -C POSTROUTING -o eth1 -j MASQUERADE")).check);
  EXPECT_THROW(run(rs, "nat", "-t nat -X port-fwd"), filter::CommandError);  // referenced
  run(rs, "nat", "-t nat -E port-fwd fwd2");
  EXPECT_NE(run(rs, "nat", "-t nat -S PREROUTING").find("-A PREROUTING -j fwd2\n"),
            std::string::npos);
  run(rs, "nat", "-t nat -E fwd2 port-fwd");
  run(rs, "nat", "-t nat -D PREROUTING 1");
  run(rs, "nat", "-t nat -F port-fwd");
  run(rs, "nat", "-t nat -X port-fwd");
  run(rs, "nat", "-t nat -D POSTROUTING -o eth1 -j MASQUERADE");
  EXPECT_THROW(run(rs, "nat", "-t nat -D POSTROUTING 1"), filter::CommandError);
  EXPECT_THROW(run(rs, "nat", "-t nat -A NOPE -j ACCEPT"), filter::CommandError);
  EXPECT_THROW(run(rs, "nat", "-t nat -P POSTROUTING MAYBE"), SyntaxError);
  run(rs, "nat", "-t nat -P POSTROUTING DROP");
  EXPECT_NE(format_save(rs, false).find("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n"
                                        ":OUTPUT ACCEPT [0:0]\n:POSTROUTING DROP [0:0]\nCOMMIT\n"),
            std::string::npos)
      << format_save(rs, false);
}

TEST(HostTables, RestoreReplacesTheFilesTablesAndKeepsTheOthers) {
  filter::Ruleset rs = load(read("router_host.v4"));
  Ids ids;
  // A file with only *nat: filter, mangle and raw stay.
  apply_restore(rs, parse_restore("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"), false, false,
                ids.fn());
  ASSERT_EQ(rs.host_tables.size(), 3u);
  EXPECT_TRUE(rs.host_tables[2].find("POSTROUTING")->rules.empty());
  EXPECT_EQ(rs.find("INPUT")->rules.size(), 6u);
  // --noflush appends to a built-in chain and flushes a declared user chain.
  apply_restore(
      rs,
      parse_restore(
          "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i br0 -j CT --notrack\nCOMMIT\n"),
      true, false, ids.fn());
  EXPECT_EQ(rs.host_tables[1].find("PREROUTING")->rules.size(), 2u);
  // FORWARD takes rules and a DROP policy from the file; -c its counters.
  filter::Ruleset c =
      load("*filter\n:FORWARD DROP [7:8]\n[1:2] -A FORWARD -i wg0 -j ACCEPT\nCOMMIT\n", true);
  EXPECT_EQ(c.forward.policy_counters, (filter::Counters{7, 8}));
  EXPECT_EQ(c.forward.rules.at(0).counters, (filter::Counters{1, 2}));
}

}  // namespace
}  // namespace norman::nfw::test
