// -m limit and -m hashlimit in nfw's syntax: parsed with iptables 1.8.9's
// checks and messages, printed as iptables-save, -S and -L print them
// (compared with the real iptables in a private network namespace, which
// needs root), and carried through the JSON form unchanged.
#include <unistd.h>

#include <fstream>

#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

constexpr const char* kLimitRules = R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m limit --limit 3/sec -j ACCEPT
-A INPUT -m limit -j ACCEPT
-A INPUT -p tcp -m limit --limit 10/m --limit-burst 7 -m tcp --dport 22 -j ACCEPT
-A INPUT -m limit --limit 7/hour -j ACCEPT
-A INPUT -m limit --limit 9999/s --limit-burst 10000 -j ACCEPT
-A INPUT -m limit --limit 3001/second -j ACCEPT
-A INPUT -m limit --limit 61/MIN -j ACCEPT
-A INPUT -m limit --limit 1/hour --limit-burst 10000 -j ACCEPT
-A INPUT -m limit --limit 5 -j DROP
-A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-name foo -j ACCEPT
-A INPUT -m hashlimit --hashlimit-above 5/min --hashlimit-burst 10 --hashlimit-mode dstport,srcip --hashlimit-name bar --hashlimit-srcmask 24 -j DROP
-A INPUT -m hashlimit --hashlimit-upto 1000/s --hashlimit-name b2 --hashlimit-htable-size 100 --hashlimit-htable-max 200 --hashlimit-htable-expire 5000 --hashlimit-htable-gcinterval 500 --hashlimit-mode dstip,srcport,srcip,dstport --hashlimit-dstmask 16 -j DROP
-A INPUT -m hashlimit ! --hashlimit-upto 3001/s --hashlimit-name inv -j DROP
-A INPUT -m hashlimit ! --hashlimit-above 7/hour --hashlimit-name inv2 --hashlimit-burst 5k -j ACCEPT
-A INPUT -m hashlimit --hashlimit 010/s --hashlimit-name old --hashlimit-mode "srcip|dstip" --hashlimit-srcmask 255.255.0.0 -j ACCEPT
-A INPUT -m hashlimit --hashlimit-upto 5/min --hashlimit-name ex --hashlimit-htable-expire 1000 -j ACCEPT
-A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-name ex2 --hashlimit-htable-expire 1000 -j ACCEPT
-A OUTPUT -m comment --comment x -m limit --limit 1/day --limit-burst 1 -m hashlimit --hashlimit-upto 1000000/s --hashlimit-name big --hashlimit-burst 1000000 -j LOG
COMMIT
)";

filter::Ruleset load(const std::string& text) {
  filter::Ruleset rs;
  Ids ids;
  apply_restore(rs, parse_restore(text), false, true, ids.fn());
  return rs;
}

class LimitCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and iptables)";
    if (shell("command -v iptables-restore && command -v iptables-save && command -v ip").status !=
        0) {
      GTEST_SKIP() << "iptables or ip is not installed";
    }
    ns_ = "nfwlim-" + std::to_string(getpid());
    if (shell("ip netns add " + ns_ + " 2>&1").status != 0)
      GTEST_SKIP() << "cannot create network namespace " << ns_;
    created_ = true;
    file_ = "/tmp/" + ns_ + ".rules";
    std::ofstream(file_) << kLimitRules;
    const Output load = shell("ip netns exec " + ns_ + " iptables-restore < " + file_ + " 2>&1");
    ASSERT_EQ(load.status, 0) << load.text;
  }
  void TearDown() override {
    if (created_) shell("ip netns del " + ns_);
    if (!file_.empty()) std::remove(file_.c_str());
  }
  std::string run_ok(const std::string& command) {
    const Output o = shell("ip netns exec " + ns_ + " " + command);
    EXPECT_EQ(o.status, 0) << command;
    return o.text;
  }
  std::string ns_;
  std::string file_;
  bool created_ = false;
};

TEST_F(LimitCompat, SaveAsIptablesSaveByteForByte) {
  const std::string theirs = run_ok("iptables-save");
  // Their canonical form and the hand-written file both save as iptables does.
  EXPECT_EQ(without_comments(format_save(load(theirs), false)), without_comments(theirs));
  EXPECT_EQ(without_comments(format_save(load(kLimitRules), false)), without_comments(theirs));
}

TEST_F(LimitCompat, ListingsAsIptables) {
  const filter::Ruleset rs = load(run_ok("iptables-save"));
  for (const char* args : {"-S", "-S INPUT 3"}) {
    EXPECT_EQ(format_rules(rs, cmd(args)), run_ok(std::string("iptables ") + args)) << args;
  }
  for (const char* args : {"-L -n", "-L -n -v -x --line-numbers", "-L OUTPUT -n"}) {
    EXPECT_EQ(format_list(rs, cmd(args)), run_ok(std::string("iptables ") + args)) << args;
  }
}

TEST(LimitSyntax, ModelValues) {
  const filter::Rule r = rule("-A INPUT -m limit --limit 3/sec -j ACCEPT");
  ASSERT_TRUE(r.limit);
  EXPECT_EQ(r.limit->avg, 3333u);
  EXPECT_EQ(r.limit->burst, 5u);
  EXPECT_EQ(rule("-A INPUT -m limit -j ACCEPT").limit->avg, 12'000'000u);  // 3/hour
  const filter::Rule h = rule(
      "-A INPUT -m hashlimit ! --hashlimit-upto 5/min --hashlimit-name a --hashlimit-mode "
      "srcip,dstport");
  ASSERT_TRUE(h.hashlimit);
  EXPECT_EQ(h.hashlimit->avg, 12'000'000u);
  EXPECT_TRUE(h.hashlimit->above);
  EXPECT_EQ(h.hashlimit->expire, 60'000u);  // the rate's unit
  EXPECT_EQ(h.hashlimit->mode, filter::Hashlimit::kSrcIp | filter::Hashlimit::kDstPort);
}

TEST(LimitSyntax, IptablesMessages) {
  auto msg = [](const std::string& opts) { return error_message("-A INPUT " + opts); };
  EXPECT_EQ(msg("-m limit --limit 0/s"), "nfw: bad rate \"0/s\"'");
  EXPECT_EQ(msg("-m limit --limit 5/fortnight"), "nfw: bad rate \"5/fortnight\"'");
  EXPECT_EQ(msg("-m limit --limit 0x10/s"), "nfw: bad rate \"0x10/s\"'");
  EXPECT_EQ(msg("-m limit --limit 10001/s"), "nfw: Rate too fast \"10001/s\"");
  EXPECT_EQ(msg("-m limit --limit -5/s"), "nfw: Rate too fast \"-5/s\"");
  EXPECT_EQ(msg("-m limit --limit-burst 10001"),
            "nfw: limit: bad value for option \"--limit-burst\", or out of range (0-10000).");
  EXPECT_EQ(msg("-m limit --limit 1/s --limit 2/s"),
            "nfw: limit: option \"--limit\" can only be used once.");
  EXPECT_EQ(msg("-m limit ! --limit 1/s"), "nfw: limit: option \"--limit\" cannot be inverted.");
  // Accepted by iptables' parser, refused by the kernel (ERANGE): nfw says why.
  EXPECT_NE(msg("-m limit --limit-burst 0").find("Overflow, try lower: 12000000/0"),
            std::string::npos);
  EXPECT_NE(msg("-m limit --limit 1/day").find("Overflow, try lower: 864000000/5"),
            std::string::npos);
  EXPECT_EQ(msg("--limit 3/s"), msg("--limit 3/s"));  // no -m limit: not an option of nfw's
  EXPECT_NE(msg("--limit 3/s"), "<no error>");

  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s"),
            "nfw: hashlimit: option \"--hashlimit-name\" must be specified");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-name x"), "nfw: You have to specify --hashlimit");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-above 3/s --hashlimit-name x"),
            "nfw: hashlimit: option \"--hashlimit-upto\" cannot be used together with "
            "\"--hashlimit-above\".");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto abc --hashlimit-name x"),
            "nfw: hashlimit: Bad value for \"--hashlimit-upto\" option: \"abc\"");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 1000001/s --hashlimit-name x"),
            "nfw: Rate too fast \"1000001/s\"");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-mode foo"),
            "nfw: hashlimit: Bad value for \"--hashlimit-mode\" option: \"foo\"");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-burst 0"),
            "nfw: bad value for option \"--hashlimit-burst\", or out of range (1-1000000).");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-burst 2m"),
            "nfw: bad value for option \"--hashlimit-burst\", or out of range (1-1000000).");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-srcmask abc"),
            "nfw: hashlimit: bad value for option \"--hashlimit-srcmask\", neither a valid "
            "network mask nor valid CIDR (0-32).");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-name y"),
            "nfw: hashlimit: option \"--hashlimit-name\" can only be used once.");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s ! --hashlimit-name x"),
            "nfw: hashlimit: option \"--hashlimit-name\" cannot be inverted.");
  EXPECT_EQ(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-htable-size "
                "4294967296"),
            "nfw: hashlimit: bad value for option \"--hashlimit-htable-size\", or out of range "
            "(0-4294967295).");
  // Kernel refusals (EINVAL / ERANGE in iptables), named.
  EXPECT_NE(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-srcmask 33"),
            "<no error>");
  EXPECT_NE(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x "
                "--hashlimit-htable-expire 0"),
            "<no error>");
  EXPECT_NE(msg("-m hashlimit --hashlimit-upto 1/day --hashlimit-name x").find("overflow"),
            std::string::npos);
  // What nfw cannot keep: a name with a blank (iptables saves it unquoted
  // and cannot restore it), byte rates and rate-match mode (not modelled).
  EXPECT_NE(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name \"a b\""), "<no error>");
  EXPECT_NE(msg("-m hashlimit --hashlimit-upto 1kb/s --hashlimit-name x").find("byte rates"),
            std::string::npos);
  EXPECT_NE(msg("-m hashlimit --hashlimit-upto 5/s --hashlimit-name x --hashlimit-rate-match"),
            "<no error>");
}

TEST(LimitSyntax, JsonRoundTrip) {
  const filter::Ruleset rs = load(kLimitRules);
  nlohmann::json j = rs;
  const auto back = j.get<filter::Ruleset>();
  ASSERT_EQ(back.chains.size(), rs.chains.size());
  for (std::size_t c = 0; c < rs.chains.size(); ++c) {
    ASSERT_EQ(back.chains[c].rules.size(), rs.chains[c].rules.size());
    for (std::size_t i = 0; i < rs.chains[c].rules.size(); ++i)
      EXPECT_TRUE(back.chains[c].rules[i].same_spec(rs.chains[c].rules[i])) << i;
  }
  nlohmann::json bad = j;
  bad["chains"][0]["rules"][0]["limit"]["burst"] = 0;
  EXPECT_THROW((void)bad.get<filter::Ruleset>(), std::invalid_argument);
  bad = j;
  bad["chains"][0]["rules"][0].erase("limit");
  EXPECT_THROW((void)bad.get<filter::Ruleset>(), std::invalid_argument);
}

}  // namespace
}  // namespace norman::nfw::test
