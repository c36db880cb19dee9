// One rules.v4 for the whole host, end to end (docs/nfw-host.md): normand
// runs inside a network namespace this test creates (never the machine's
// own), started with --host-netfilter; a Linux peer in another namespace
// talks to the NIC (nsim). One nfw-restore loads a file whose `-i lo` rule
// is enforced by the host kernel of normand's namespace and whose `-i
// nic0` rule is enforced on the NIC; nfw-save -c shows each side's counts,
// equal to what iptables counts (the host's copy, the bypass left out) and
// to the packets the peer sent. A file whose host part iptables-restore
// refuses changes nothing on either side. Needs root (exit 77 otherwise).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "syntax.hpp"
#include "system_env.hpp"

namespace norman::system_test {
namespace {

SystemEnv* g_env = nullptr;
std::string g_host_ns;

std::string nsim_binary() {
  // The NIC model is the same for every branch; a build that has not
  // built it may point at one that has.
  if (const char* p = std::getenv("NORMAN_NSIM_BINARY")) return p;
  return NSIM_BINARY;
}

class HostFilter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_host_ns = "nfwhostsys-" + std::to_string(::getpid() % 100000);
    sh("ip netns del " + g_host_ns);
    if (auto [rc, out] = sh("ip netns add " + g_host_ns); rc != 0) {
      start_error_ = "ip netns add: " + out;
      return;
    }
    sh("ip netns exec " + g_host_ns + " ip link set lo up");
    SystemConfig cfg{nsim_binary(), NORMAND_BINARY, "10.57.0"};
    cfg.normand_prefix = {"ip", "netns", "exec", g_host_ns};
    cfg.normand_args = {"--host-netfilter"};
    g_env = new SystemEnv(cfg);
    std::string why;
    if (!g_env->start(why)) start_error_ = why;
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
    sh("ip netns del " + g_host_ns);
  }
  void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }
  static SystemEnv& env() { return *g_env; }

  static std::pair<int, std::string> restore(const std::string& text) {
    const std::string path = env().dir() + "/rules.v4";
    std::ofstream(path) << text;
    return sh(std::string(NFW_RESTORE_BINARY) + " --socket " + env().normand_socket() + " " + path);
  }
  static std::string save(bool counters) {
    auto [rc, text] = sh(std::string(NFW_SAVE_BINARY) + (counters ? " -c" : "") + " --socket " +
                         env().normand_socket());
    EXPECT_EQ(rc, 0) << text;
    return text;
  }
  static std::string host_save() {
    return sh("ip netns exec " + g_host_ns + " iptables-save -c").second;
  }
  static inline std::string start_error_;
};

std::string file_text(const std::string& icmp_rule) {
  return "*filter\n"
         ":INPUT ACCEPT [0:0]\n"
         ":FORWARD DROP [0:0]\n"
         ":OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -i lo -p icmp -j DROP\n" +
         icmp_rule +
         "-A FORWARD -i lo -j ACCEPT\n"
         "COMMIT\n"
         "*nat\n"
         ":PREROUTING ACCEPT [0:0]\n"
         ":INPUT ACCEPT [0:0]\n"
         ":OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         "-A POSTROUTING -s 192.168.77.0/24 -o eth9 -j MASQUERADE\n"
         "COMMIT\n";
}

// The "[p:b] -A CHAIN ..." line of `spec` in a save, or "".
std::string line_of(const std::string& save, const std::string& spec) {
  const auto at = save.find("] " + spec + "\n");
  if (at == std::string::npos) return "";
  const auto start = save.rfind('\n', at) + 1;
  return save.substr(start, save.find('\n', at) - start);
}

TEST_F(HostFilter, LoopbackRuleOnTheHostNicRuleOnTheNicCountersAsIptables) {
  auto [rc, out] = restore(file_text("-A INPUT -i nic0 -p icmp -j DROP\n"));
  ASSERT_EQ(rc, 0) << out;
  // The host's copy: bypass for nic0's TAP first, no NIC-only rule, nat.
  const std::string host0 = host_save();
  EXPECT_NE(
      host0.find("-A INPUT -i " + env().nic_if() + " -m comment --comment nfw-bypass -j ACCEPT"),
      std::string::npos)
      << host0;
  EXPECT_EQ(host0.find("-i nic0"), std::string::npos) << host0;
  EXPECT_NE(host0.find("-j MASQUERADE"), std::string::npos) << host0;
  EXPECT_NE(host0.find(":FORWARD DROP"), std::string::npos) << host0;

  // -i lo: the host kernel of normand's namespace drops the ping.
  EXPECT_NE(sh("ip netns exec " + g_host_ns + " ping -c 2 -i 0.2 -W 1 127.0.0.1").first, 0);
  // -i nic0: the NIC drops the peer's pings (the host kernel never sees them).
  EXPECT_NE(sh(env().in_peer("ping -c 3 -i 0.2 -W 1 " + env().nic_ip())).first, 0);

  const std::string ours = save(true);
  const std::string host = host_save();
  // The host's count of the lo rule is iptables' own.
  const std::string lo_host = line_of(host, "-A INPUT -i lo -p icmp -j DROP");
  ASSERT_FALSE(lo_host.empty()) << host;
  EXPECT_EQ(line_of(ours, "-A INPUT -i lo -p icmp -j DROP"), lo_host) << ours;
  EXPECT_EQ(lo_host.substr(0, 3), "[2:") << lo_host;
  // The NIC counted the peer's 3 echo requests (84-byte IPv4 packets).
  EXPECT_EQ(line_of(ours, "-A INPUT -i nic0 -p icmp -j DROP"),
            "[3:252] -A INPUT -i nic0 -p icmp -j DROP")
      << ours;
  // The bypass never shows.
  EXPECT_EQ(ours.find("nfw-bypass"), std::string::npos) << ours;
  EXPECT_NE(ours.find("-A POSTROUTING -s 192.168.77.0/24 -o eth9 -j MASQUERADE"), std::string::npos)
      << ours;
}

// nfw -t nat edits the host's nat table as iptables -t nat does; only
// root (CAP_NET_ADMIN) may, as for the rest of the table.
TEST_F(HostFilter, NatCommandsAndRights) {
  ASSERT_EQ(restore(file_text("-A INPUT -i nic0 -p icmp -j DROP\n")).first, 0);
  const std::string nfw = std::string(NFW_BINARY) + " --socket " + env().normand_socket();
  auto [rc, out] = sh(nfw + " -t nat -A POSTROUTING -o eth8 -j MASQUERADE");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(sh("ip netns exec " + g_host_ns + " iptables -t nat -S")
                .second.find("-A POSTROUTING -o eth8 -j MASQUERADE"),
            std::string::npos);
  EXPECT_NE(sh(nfw + " -t nat -S POSTROUTING").second.find("-A POSTROUTING -o eth8 -j MASQUERADE"),
            std::string::npos);
  EXPECT_EQ(sh(std::string(NFW_SAVE_BINARY) + " -t nat --socket " + env().normand_socket())
                .second.find("*filter"),
            std::string::npos);
  // An unprivileged user can neither edit nor restore the host part.
  const std::string as_nobody = "setpriv --reuid=60001 --regid=60001 --clear-groups -- ";
  auto [urc, uout] = sh(as_nobody + nfw + " -t nat -F");
  EXPECT_EQ(urc, 4) << uout;
  // Root of a user namespace of its own is not root of the host.
  if (sh("command -v unshare").first == 0) {
    auto [nrc, nout] = sh(as_nobody + "unshare -Ur " + nfw + " -t nat -F");
    EXPECT_NE(nrc, 0) << nout;
    auto [rrc, rout] = sh(as_nobody + "unshare -Ur " + std::string(NFW_RESTORE_BINARY) +
                          " --socket " + env().normand_socket() + " -T nat /dev/null");
    EXPECT_NE(sh("ip netns exec " + g_host_ns + " iptables -t nat -S").second.find("MASQUERADE"),
              std::string::npos)
        << rout << rrc;
  }
  ASSERT_EQ(sh(nfw + " -t nat -F").first, 0);
  EXPECT_EQ(sh("ip netns exec " + g_host_ns + " iptables -t nat -S").second.find("MASQUERADE"),
            std::string::npos);
}

TEST_F(HostFilter, HostPartRefusedChangesNeitherSide) {
  ASSERT_EQ(restore(file_text("-A INPUT -i nic0 -p icmp -j DROP\n")).first, 0);
  const std::string before = save(false);
  const std::string host_before = sh("ip netns exec " + g_host_ns + " iptables-save").second;
  std::string bad = file_text("-A INPUT -i nic0 -p udp -j DROP\n");
  bad.replace(bad.find("-j MASQUERADE"), 13, "-j NOSUCHTARGET");
  auto [rc, out] = restore(bad);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("iptables-restore refuses"), std::string::npos) << out;
  auto uncommented = [](const std::string& text) {
    std::string kept;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("#")) kept += line + "\n";
    }
    return kept;
  };
  EXPECT_EQ(uncommented(save(false)), uncommented(before));
  EXPECT_EQ(sh("ip netns exec " + g_host_ns + " iptables-save").second.find("NOSUCHTARGET"),
            std::string::npos);
  (void)host_before;
  // The NIC still drops the peer's ping (the udp rule never got there).
  EXPECT_NE(sh(env().in_peer("ping -c 1 -W 1 " + env().nic_ip())).first, 0);
}

}  // namespace
}  // namespace norman::system_test

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr << "host_filter_system_test: skipped: needs root (network namespaces, TAP devices)"
              << std::endl;
    return 77;
  }
  for (const char* tool : {"ip", "iptables-restore", "ping"}) {
    if (norman::system_test::sh(std::string("command -v ") + tool).first != 0) {
      std::cerr << "host_filter_system_test: skipped: needs " << tool << std::endl;
      return 77;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
