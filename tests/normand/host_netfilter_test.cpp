// The host part of one rules.v4 (docs/nfw-host.md), loaded by normand's
// filter service into the netfilter of a network namespace this test
// creates and removes (never the machine's own): which rules land there,
// the bypass that keeps NIC packets from being counted twice, counters
// equal to iptables' for the same file and traffic, and a host part that
// iptables-restore refuses changing neither side. Needs root and
// iptables; skips itself otherwise.
#include "host_netfilter.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>

#include "filter_model_hw.hpp"
#include "filter_service.hpp"
#include "syntax.hpp"

namespace norman::normand {
namespace {

std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    out.append(buf.data(), n);
  const int st = ::pclose(p);
  if (status != nullptr) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string without_comments(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(start, nl - start);
    if (!line.starts_with("#")) out += line + "\n";
    start = nl + 1;
  }
  return out;
}

constexpr const char* kFile = R"(*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i lo -p udp -m udp --dport 9 -j CT --notrack
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:lo-in - [0:0]
-A INPUT -i lo -j lo-in
-A INPUT -i nic0 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A FORWARD -i wg0 -o br0 -j ACCEPT
-A OUTPUT -o eth1 -j DROP
-A lo-in -p icmp -m icmp --icmp-type 8
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 192.168.8.0/24 -o eth1 -j MASQUERADE
COMMIT
)";

class HostNetfilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces and iptables)";
    int st = 0;
    sh("command -v iptables-restore && command -v ip", &st);
    if (st != 0) GTEST_SKIP() << "iptables or ip is not installed";
    const std::string id = std::to_string(getpid());
    ns_ = "nfwhost-" + id;
    ref_ = "nfwref-" + id;
    for (const auto& n : {ns_, ref_}) {
      ASSERT_EQ(sh("ip netns add " + n, &st), "");
      sh("ip netns exec " + n + " ip link set lo up");
    }
    host_ = std::make_unique<HostNetfilter>(ns_, std::vector<std::string>{"nic0"});
    svc_.set_host(host_.get());
  }
  void TearDown() override {
    for (const auto& n : {ns_, ref_}) {
      if (!n.empty()) sh("ip netns del " + n);
    }
  }
  filter::Ruleset parse(const std::string& text) {
    filter::Ruleset rs;
    nfw::apply_restore(rs, nfw::parse_restore(text), false, true, [] { return std::uint64_t{0}; });
    return rs;
  }

  std::string ns_, ref_;
  ModelHw hw{4096};
  OwnerRegistry owners;
  FilterService svc_{hw, owners, 2};
  std::unique_ptr<HostNetfilter> host_;
};

TEST_F(HostNetfilterTest, HostPartLoadsWithBypassAndSavesAsIptables) {
  svc_.replace(parse(kFile), std::nullopt, false);
  const std::string host = sh("ip netns exec " + ns_ + " iptables-save");
  // The bypass comes first; the NIC-only rule (-i nic0) is not in the host copy.
  EXPECT_NE(host.find(":INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]"), std::string::npos) << host;
  EXPECT_NE(
      host.find(
          "-A INPUT -i nic0 -m comment --comment nfw-bypass -j ACCEPT\n-A INPUT -i lo -j lo-in"),
      std::string::npos)
      << host;
  EXPECT_EQ(host.find("--dport 22"), std::string::npos) << host;
  EXPECT_NE(host.find("-j MASQUERADE"), std::string::npos) << host;
  // nfw-save prints what iptables-save prints for the same file.
  int st = 0;
  sh("printf '%s' '" + std::string(kFile) + "' | ip netns exec " + ref_ + " iptables-restore", &st);
  ASSERT_EQ(st, 0);
  EXPECT_EQ(without_comments(nfw::format_save(svc_.snapshot(), false)),
            without_comments(sh("ip netns exec " + ref_ + " iptables-save")));
}

TEST_F(HostNetfilterTest, LoopbackCountersEqualIptables) {
  svc_.replace(parse(kFile), std::nullopt, false);
  int st = 0;
  sh("printf '%s' '" + std::string(kFile) + "' | ip netns exec " + ref_ + " iptables-restore", &st);
  ASSERT_EQ(st, 0);
  for (const auto& n : {ns_, ref_}) sh("ip netns exec " + n + " ping -c 3 -i 0.2 -W 1 127.0.0.1");
  // One more change: the host copy is reloaded with its counts carried over.
  ASSERT_TRUE(svc_.command(
      nfw::parse_command(std::vector<std::string>{"-A", "OUTPUT", "-o", "eth2", "-j", "DROP"})));
  ASSERT_TRUE(svc_.command(nfw::parse_command(std::vector<std::string>{"-D", "OUTPUT", "2"})));
  const filter::Ruleset got = svc_.snapshot();
  EXPECT_GT(got.find("lo-in")->rules[0].counters.packets, 0u);
  EXPECT_EQ(without_comments(nfw::format_save(got, true)),
            without_comments(sh("ip netns exec " + ref_ + " iptables-save -c")));
}

TEST_F(HostNetfilterTest, HostPartRefusedChangesNeitherSide) {
  svc_.replace(parse(kFile), std::nullopt, false);
  const std::string host_before = sh("ip netns exec " + ns_ + " iptables-save");
  const filter::Ruleset before = svc_.rules();
  const auto status_before = svc_.status();
  std::string bad = kFile;
  bad.replace(bad.find("-j MASQUERADE"), 13, "-j NOSUCHTARGET");
  bad.replace(bad.find("--dport 22"), 10, "--dport 23");
  try {
    svc_.replace(parse(bad), std::nullopt, false);
    FAIL() << "accepted";
  } catch (const filter::CommandError& e) {
    EXPECT_NE(std::string(e.what()).find("iptables-restore refuses"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(svc_.rules().find("INPUT")->rules[1].dport, before.find("INPUT")->rules[1].dport);
  EXPECT_EQ(svc_.status().entries, status_before.entries);
  EXPECT_EQ(svc_.generation(), status_before.generation);
  EXPECT_EQ(without_comments(sh("ip netns exec " + ns_ + " iptables-save")),
            without_comments(host_before));
}

TEST(HostNetfilterOff, HostOnlyTableIsRefusedWithoutTheBackend) {
  ModelHw hw{4096};
  OwnerRegistry owners;
  FilterService svc{hw, owners, 2};
  filter::Ruleset rs;
  nfw::apply_restore(
      rs, nfw::parse_restore("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"),
      false, false, [] { return std::uint64_t{0}; });
  EXPECT_THROW(svc.replace(rs, std::nullopt, false), filter::CommandError);
  EXPECT_TRUE(svc.rules().find("INPUT")->rules.empty());
}

}  // namespace
}  // namespace norman::normand
