#include <stdexcept>

#include "command.hpp"
#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

using nlohmann::json;

filter::Ruleset rich() {
  filter::Ruleset rs;
  Ids ids;
  run(rs, ids,
      {"-N web", "-N other", "-P INPUT DROP",
       "-A INPUT ! -s 10.0.0.0/8 -d 192.168.1.1 -i nic+ -p tcp -m tcp --sport 1:1024 ! --dport 22 "
       "--tcp-flags SYN,ACK SYN -m comment --comment \"a \\\"b\\\"\" -j web",
       "-A INPUT -p icmp --icmp-type port-unreachable -j ACCEPT",
       "-A INPUT -p icmp -m icmp ! --icmp-type any",
       "-A INPUT -f -j REJECT --reject-with icmp-host-prohibited",
       "-A INPUT ! -f -p 47 -j LOG --log-prefix x --log-level 7",
       "-A OUTPUT ! -o lo -p udp -m multiport ! --ports 53,1000:2000 -m owner ! --uid-owner "
       "1000-2000 --gid-owner 5 "
       "! --cmd-owner postgres -m cgroup ! --path /user.slice -g other",
       "-A OUTPUT -c 7 700 -j DROP", "-A web -j RETURN"});
  rs.chains[0].policy_counters = {5, 300};
  return rs;
}

TEST(RulesetJson, RoundTripIsExact) {
  const filter::Ruleset rs = rich();
  const json j = rs;
  const filter::Ruleset back = j.get<filter::Ruleset>();
  ASSERT_EQ(back.chains.size(), rs.chains.size());
  for (std::size_t i = 0; i < rs.chains.size(); ++i) {
    EXPECT_EQ(back.chains[i].name, rs.chains[i].name);
    EXPECT_EQ(back.chains[i].policy, rs.chains[i].policy);
    EXPECT_EQ(back.chains[i].policy_counters, rs.chains[i].policy_counters);
    ASSERT_EQ(back.chains[i].rules.size(), rs.chains[i].rules.size());
    for (std::size_t k = 0; k < rs.chains[i].rules.size(); ++k) {
      const auto& a = rs.chains[i].rules[k];
      const auto& b = back.chains[i].rules[k];
      EXPECT_TRUE(a.same_spec(b)) << json(a).dump();
      EXPECT_EQ(a.id, b.id);
      EXPECT_EQ(a.counters, b.counters);
    }
  }
  EXPECT_EQ(json(back), j);
  EXPECT_EQ(without_comments(format_save(back, true)), without_comments(format_save(rs, true)));
}

TEST(RulesetJson, RuleFieldsAreSpelledOut) {
  const json j = rule("-A INPUT -s 10.1.0.0/16 -p tcp --dport 22 -j ACCEPT");
  EXPECT_EQ(j["src"], (json{{"addr", "10.1.0.0"}, {"len", 16}, {"negated", false}}));
  EXPECT_EQ(j["proto"]["number"], 6);
  EXPECT_EQ(j["modules"], json::array({"tcp"}));
  EXPECT_EQ(j["dport"], (json{{"lo", 22}, {"hi", 22}, {"negated", false}}));
  EXPECT_EQ(j["target"]["kind"], "ACCEPT");
}

void expect_bad(const json& j, const std::string& fragment) {
  try {
    (void)j.get<filter::Ruleset>();
    ADD_FAILURE() << "accepted " << j.dump();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(RulesetJson, BadInputIsRefusedWithAMessage) {
  json good = rich();
  expect_bad(json::array(), "expected an object");
  json j = good;
  j["chains"][0]["rules"][0]["srcc"] = 1;
  expect_bad(j, "unknown key \"srcc\"");
  j = good;
  j["chains"][0]["rules"][0]["src"]["addr"] = "10.0.0";
  expect_bad(j, "not a dotted-quad");
  j = good;
  j["chains"][0]["rules"][0]["src"]["addr"] = "10.0.0.1";
  expect_bad(j, "outside its prefix");
  j = good;
  j["chains"][0]["rules"][0]["dport"]["lo"] = 70000;
  expect_bad(j, "above 65535");
  j = good;
  j["chains"][0]["rules"][0]["target"]["kind"] = "MASQUERADE";
  expect_bad(j, "is not one of");
  j = good;
  j["chains"][0]["policy"] = nullptr;
  expect_bad(j, "needs a policy");
  j = good;
  j["chains"].erase(1);
  expect_bad(j, "OUTPUT is missing");
  j = good;
  j["chains"][2]["name"] = "web2";
  expect_bad(j, "missing chain web");
  j = good;
  j["chains"][0]["rules"][0]["modules"] = json::array({"comment"});
  expect_bad(j, "need module tcp or udp");
  j = good;
  j["chains"][0]["rules"][0]["proto"]["number"] = "tcp";
  expect_bad(j, "non-negative integer");
}

TEST(CommandJson, RoundTrip) {
  for (const char* line : {"-A INPUT -p tcp --dport 22 -j ACCEPT", "-I INPUT 3 -j DROP",
                           "-D INPUT 2", "-R OUTPUT 1 -j DROP", "-L INPUT -v -n -x --line-numbers",
                           "-L -Z", "-S OUTPUT 2", "-F", "-Z INPUT 1", "-N x", "-X", "-E a b",
                           "-P OUTPUT DROP", "-L --json", "-A INPUT -s 1.1.1.1,2.2.2.2 -j DROP"}) {
    const Command c = cmd(line);
    const json j = c;
    const Command back = j.get<Command>();
    EXPECT_EQ(json(back), j) << line;
    EXPECT_EQ(back.op, c.op) << line;
    EXPECT_EQ(back.rulenum, c.rulenum) << line;
    EXPECT_EQ(back.rule.has_value(), c.rule.has_value()) << line;
    if (c.rule) {
      EXPECT_TRUE(back.rule->same_spec(*c.rule)) << line;
    }
    EXPECT_EQ(back.expanded.size(), c.expanded.size()) << line;
  }
  const auto bad = [](const json& j) {
    EXPECT_THROW((void)j.get<Command>(), std::invalid_argument) << j.dump();
  };
  bad(json{{"op", "explode"}});
  bad(json{{"op", "append"}, {"chain", "INPUT"}});
  bad(json{{"op", "replace"}, {"chain", "INPUT"}, {"rule", json(rule("-A X -j DROP"))}});
  bad(json{{"op", "list"}, {"verbose", "yes"}});
  bad(json{{"op", "list"}, {"colour", true}});
  bad(json{{"op", "append"}, {"chain", "INPUT"}, {"expanded", "x"}});
  bad(json{{"op", "append"},
           {"chain", "INPUT"},
           {"expanded", json::array({json(rule("-A X -j DROP"))})}});
}

}  // namespace
}  // namespace norman::nfw::test
