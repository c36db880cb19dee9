// nfw against the real iptables (iptables-nft 1.8.9 here): a rule file is
// loaded into a private network namespace with iptables-restore, and what
// iptables-save, iptables -S and iptables -L print must be what nfw prints
// for the same file.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "command.hpp"
#include "test_util.hpp"

namespace norman::nfw::test {
namespace {

constexpr const char* kRules = R"(*filter
:INPUT DROP [5:300]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [7:8]
:zeta - [0:0]
:Beta - [0:0]
:mychain - [0:0]
[1:2] -A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --sport 1:1024 --dport 80: -j ACCEPT
-A INPUT -p tcp --dport :80 -c 3 4 -j ACCEPT
-A INPUT -p tcp ! --dport 22 -j DROP
-A INPUT ! -s 10.0.0.0/8 -d 192.168.1.1 -j DROP
-A INPUT -s 10.1.2.3/255.255.0.0 -j DROP
-A INPUT -s 10.1.2.3/24 -d 1.2.3 -j DROP
-A INPUT -s 0.0.0.0/0 -j DROP
-A INPUT -i eth+ -j ACCEPT
-A INPUT ! -i eth0 -p udp --sport 53 ! --dport 1000:2000 -j ACCEPT
-A INPUT -p tcp --tcp-flags SYN,ACK SYN -j DROP
-A INPUT -p tcp --syn -j DROP
-A INPUT -p tcp ! --syn -j DROP
-A INPUT -p tcp --tcp-flags ALL NONE -j DROP
-A INPUT -p tcp ! --tcp-flags ALL ALL -j DROP
-A INPUT -p udp -m multiport --dports 53,1000:2000,5 -j ACCEPT
-A INPUT -p tcp -m multiport ! --sports 53 -j ACCEPT
-A INPUT -p tcp -m multiport --ports 53,54 -j ACCEPT
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type port-unreachable -j ACCEPT
-A INPUT -p icmp -m icmp ! --icmp-type 3 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 5/7 -j ACCEPT
-A INPUT -p tcp -m comment --comment "ssh \"admin\" it's" --dport 2222 -j zeta
-A INPUT -f -j DROP
-A INPUT ! -f -j DROP
-A OUTPUT ! -o lo -j ACCEPT
-A OUTPUT -m owner --uid-owner 1000 -j ACCEPT
-A OUTPUT -m owner ! --uid-owner 1000-2000 --gid-owner 5 -j ACCEPT
-A OUTPUT -m owner --uid-owner 0 ! --gid-owner 5 -j ACCEPT
-A OUTPUT -m cgroup --path / -j ACCEPT
-A OUTPUT -m cgroup ! --path / -j ACCEPT
-A OUTPUT -m comment --comment hello -j ACCEPT
-A OUTPUT -m comment --comment "" -j ACCEPT
-A OUTPUT -j REJECT
-A OUTPUT -p tcp -j REJECT --reject-with tcp-reset
-A OUTPUT -j REJECT --reject-with icmp-host-prohibited
-A OUTPUT -j REJECT --reject-with admin-prohib
-A OUTPUT -j LOG
-A OUTPUT -j LOG --log-prefix "fw: " --log-level 7
-A OUTPUT -j LOG --log-prefix fw --log-level warning
-A OUTPUT -j mychain
-A OUTPUT -g zeta
-A OUTPUT -p 47 -j DROP
-A OUTPUT ! -p udp -j DROP
-A OUTPUT -p all -j DROP
-A OUTPUT -p 200 -j DROP
-A OUTPUT -p sctp -j DROP
-A OUTPUT
-A mychain -j RETURN
-A zeta -j Beta
COMMIT
)";

class IptablesCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and iptables)";
    if (shell("command -v iptables-restore && command -v iptables-save && command -v ip").status !=
        0) {
      GTEST_SKIP() << "iptables or ip is not installed";
    }
    ns_ = "nfwsyn-" + std::to_string(getpid());
    if (shell("ip netns add " + ns_ + " 2>&1").status != 0)
      GTEST_SKIP() << "cannot create network namespace " << ns_;
    created_ = true;
    file_ = "/tmp/" + ns_ + ".rules";
    std::ofstream(file_) << kRules;
    const Output load = shell(in_ns("iptables-restore -c < " + file_ + " 2>&1"));
    ASSERT_EQ(load.status, 0) << load.text;
  }
  void TearDown() override {
    if (created_) shell("ip netns del " + ns_);
    if (!file_.empty()) std::remove(file_.c_str());
  }
  [[nodiscard]] std::string in_ns(const std::string& command) const {
    return "ip netns exec " + ns_ + " " + command;
  }
  std::string run_ok(const std::string& command) {
    const Output o = shell(in_ns(command));
    EXPECT_EQ(o.status, 0) << command;
    return o.text;
  }

  std::string ns_;
  std::string file_;
  bool created_ = false;
};

filter::Ruleset load(const std::string& text) {
  filter::Ruleset rs;
  Ids ids;
  apply_restore(rs, parse_restore(text), false, true, ids.fn());
  return rs;
}

TEST_F(IptablesCompat, SaveOutputReproducesByteForByte) {
  for (bool counters : {true, false}) {
    const std::string theirs = run_ok(counters ? "iptables-save -c" : "iptables-save");
    const filter::Ruleset rs = load(theirs);
    EXPECT_EQ(without_comments(format_save(rs, counters)), without_comments(theirs));
  }
}

TEST_F(IptablesCompat, OurParseOfTheSourceSavesLikeIptables) {
  // Not only their canonical form: the hand-written file itself.
  const filter::Ruleset rs = load(kRules);
  EXPECT_EQ(without_comments(format_save(rs, true)), without_comments(run_ok("iptables-save -c")));
}

TEST_F(IptablesCompat, ListRulesMatches) {
  const filter::Ruleset rs = load(run_ok("iptables-save -c"));
  for (const char* args :
       {"-S", "-S -v", "-S INPUT", "-S zeta", "-S OUTPUT 3", "-S INPUT 1 -v", "-S FORWARD"}) {
    EXPECT_EQ(format_rules(rs, cmd(args)), run_ok(std::string("iptables ") + args)) << args;
  }
}

TEST_F(IptablesCompat, ListMatches) {
  const filter::Ruleset rs = load(run_ok("iptables-save -c"));
  for (const char* args : {"-L -v -n -x --line-numbers", "-L -n", "-L -n -v",
                           "-L INPUT -n --line-numbers", "-L OUTPUT 3 -n -v", "-L zeta -v -x -n"}) {
    // The table has a host part (-i eth+), so -v ends each row with where
    // the rule runs (docs/nfw-host.md); the rest is iptables' layout.
    std::string ours = format_list(rs, cmd(args));
    for (auto at = ours.find(" /* runs on "); at != std::string::npos;
         at = ours.find(" /* runs on ", at)) {
      ours.erase(at, ours.find(" */\n", at) + 3 - at);
    }
    EXPECT_EQ(ours, run_ok(std::string("iptables ") + args)) << args;
  }
}

TEST_F(IptablesCompat, EmptyMangledAndCutFilesAsIptablesRestore) {
  // Each file against the table of kRules: iptables-restore's exit status
  // and whether it changed the table, next to what nfw-restore decides.
  const std::string before = without_comments(run_ok("iptables-save -c"));
  const filter::Ruleset ours_before = load(kRules);
  auto check = [&](const std::string& text, int want_status) {
    const std::string path = file_ + ".case";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    const Output theirs = shell(in_ns("iptables-restore < " + path + " 2>&1"));
    const bool their_change = without_comments(run_ok("iptables-save -c")) != before;
    std::remove(path.c_str());
    EXPECT_EQ(theirs.status, want_status) << text << "\n" << theirs.text;
    EXPECT_FALSE(their_change) << text;
    if (their_change) {
      ASSERT_EQ(shell(in_ns("iptables-restore -c < " + file_)).status, 0);
    }

    filter::Ruleset ours = ours_before;
    Ids ids;
    int status = 0;
    try {
      apply_restore(ours, parse_restore(text), false, true, ids.fn());
    } catch (const SyntaxError& e) {
      status = e.status;
    } catch (const filter::CommandError&) {
      status = 1;
    }
    EXPECT_EQ(status, want_status) << text;
    EXPECT_EQ(format_save(ours, true), format_save(ours_before, true)) << text;
  };
  for (const std::string& text : kEmptyRestoreFiles) check(text, 0);
  for (const auto& [text, status] : kMangledRestoreFiles) check(text, status);
}

}  // namespace
}  // namespace norman::nfw::test
