// The NIC against real iptables: the same random rule file is loaded with
// iptables-restore into a network namespace and with nfw-restore into the
// simulated NIC (nsim + normand); the same random IPv4 trace is sent into
// both; every INPUT rule's, user chain rule's and the INPUT policy's packet
// and byte counters (iptables-save -c against nfw-save -c, i.e. the NIC's
// per-slot counters summed by normand) must be equal. Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <sstream>
#include <thread>

#include "ctl_socket.hpp"
#include "linux_filter_ns.hpp"
#include "random_rules.hpp"
#include "syntax.hpp"
#include "system_env.hpp"
#include "trace.hpp"

namespace norman::filter::difftest {
namespace {

using system_test::SystemConfig;
using system_test::SystemEnv;

Ruleset parse_counters(const std::string& saved) {
  Ruleset out;
  std::uint64_t id = 1;
  nfw::apply_restore(out, nfw::parse_restore(saved), false, true, [&id] { return id++; });
  return out;
}

std::string compare(const Ruleset& linux_rs, const Ruleset& nic_rs) {
  std::ostringstream diff;
  for (const auto& c : linux_rs.chains) {
    if (c.name == "OUTPUT" || c.name == "FORWARD") continue;  // Linux's OUTPUT sees its own replies
    const Chain* g = nic_rs.find(c.name);
    if (g == nullptr || g->rules.size() != c.rules.size()) {
      diff << "chain " << c.name << " differs in shape\n";
      continue;
    }
    if (c.builtin() && !(c.policy_counters == g->policy_counters)) {
      diff << c.name << " policy: iptables " << c.policy_counters.packets << "/"
           << c.policy_counters.bytes << " nfw " << g->policy_counters.packets << "/"
           << g->policy_counters.bytes << "\n";
    }
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      if (!(c.rules[i].counters == g->rules[i].counters)) {
        diff << c.name << " rule " << (i + 1) << ": iptables " << c.rules[i].counters.packets << "/"
             << c.rules[i].counters.bytes << " nfw " << g->rules[i].counters.packets << "/"
             << g->rules[i].counters.bytes << "\n";
      }
    }
  }
  return diff.str();
}

// An AF_PACKET socket on `ifname` inside namespace `ns` (created from a
// thread that enters the namespace, so the test itself stays outside).
int packet_socket_in(const std::string& ns, const std::string& ifname, int& ifindex) {
  int sock = -1;
  std::thread t([&] {
    const int nsfd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) return;
    ::close(nsfd);
    sock = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  });
  t.join();
  return sock;
}

std::uint64_t rx_frames(const SystemEnv& env) {
  auto c = ctl::Client::connect(env.normand_socket());
  c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
  return c.call(ctl::op::kStatus).body.at("nic_counters").at("rx_frames").get<std::uint64_t>();
}

std::string ip_text(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string blocklist_text(std::mt19937& rng, const Pools& pools) {
  std::ostringstream t;
  t << "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  t << "-A INPUT -p tcp -m tcp --dport 1000:2000 -j DROP\n";
  for (const char* proto : {"tcp", "udp"}) {
    for (const auto src : pools.src) {
      for (const auto port : pools.ports) {
        if ((rng() & 1) == 0) continue;
        t << "-A INPUT -s " << ip_text(src) << "/32 -p " << proto << " -m " << proto << " --dport "
          << port << " -j " << ((rng() & 1) != 0 ? "DROP" : "ACCEPT") << "\n";
      }
    }
  }
  t << "-A INPUT -s 10.1.0.0/16 -j DROP\n-A INPUT -s 172.16.0.0/12 -p udp -j ACCEPT\nCOMMIT\n";
  return t.str();
}

nlohmann::json filter_status(const SystemEnv& env) {
  auto c = ctl::Client::connect(env.normand_socket());
  c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
  return c.call(ctl::op::kStatus).body.at("filter");
}

TEST(NsimDiff, NicCountsEveryRuleLikeIptables) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, TAP devices, iptables)";
  if (sh("command -v iptables-restore").first != 0) GTEST_SKIP() << "iptables is not installed";
  LinuxFilterNs linux_ns;
  // The trace is addressed to the Linux namespace's nic0; normand's nic0
  // (whose MAC the NIC port accepts) gets the same address.
  std::string nic_mac;
  for (const auto b : linux_ns.nic_mac()) {
    static const char* hex = "0123456789abcdef";
    if (!nic_mac.empty()) nic_mac += ':';
    nic_mac += hex[b >> 4];
    nic_mac += hex[b & 15];
  }
  SystemEnv env(SystemConfig{NSIM_BINARY, NORMAND_BINARY, "10.53.0", nic_mac});
  std::string why;
  ASSERT_TRUE(env.start(why)) << why;
  // The peer's side of nsim's port: frames written here arrive on NIC port 0 (nic0).
  const std::string peer_if = sh(env.in_peer("ls /sys/class/net")).second;
  int ifindex = 0;
  std::string tap;
  {
    std::istringstream names(peer_if);
    for (std::string n; names >> n;) {
      if (n != "lo") tap = n;
    }
  }
  const int sock = packet_socket_in(env.ns(), tap, ifindex);
  ASSERT_GE(sock, 0) << "AF_PACKET socket in " << env.ns();
  const std::string nfw_restore =
      std::string(NFW_RESTORE_BINARY) + " --socket " + env.normand_socket();
  const std::string nfw_save =
      std::string(NFW_SAVE_BINARY) + " -c --socket " + env.normand_socket();

  const Pools pools = default_pools();
  // normand runs here without --host-netfilter: NIC rules only.
  const RuleGenOptions kNicOnly{.host_rules = false};
  std::mt19937 rng(4242);
  unsigned rule_hits = 0;
  // Round 0: a blocklist of host/port rules that the NIC keeps in its exact
  // tables, between a range rule and prefix rules, so both kinds decide
  // frames in one table. Rounds 1..8: random tables (mostly range slots),
  // the first of them replacing the blocklist.
  for (int round = 0; round < 9; ++round) {
    const std::string text = round != 0 ? nfw::format_save(random_ruleset(rng, pools, kNicOnly), false)
                                        : blocklist_text(rng, pools);
    linux_ns.restore(text);
    ASSERT_EQ(
        sh("ip netns exec nfwdiff-" + std::to_string(::getpid() % 100000) + " iptables -Z").first,
        0);
    auto [rc, out] = sh_in(nfw_restore, text);
    ASSERT_EQ(rc, 0) << out << "\n" << text;
    if (round == 0) {
      EXPECT_GE(filter_status(env).at("exact_entries").get<std::uint64_t>(), 100u)
          << "the blocklist should live in the exact tables";
    }
    std::vector<Frame> trace;
    for (int i = 0; i < 200; ++i)
      trace.push_back(random_frame(rng, pools, linux_ns.nic_mac(), linux_ns.peer_mac()));
    linux_ns.send(trace);

    const std::uint64_t before = rx_frames(env);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    for (const auto& f : trace) {
      ASSERT_EQ(::sendto(sock, f.bytes.data(), f.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
                         sizeof to),
                static_cast<ssize_t>(f.bytes.size()));
      std::this_thread::sleep_for(
          std::chrono::microseconds(200));  // nsim's net_tap reads at simulation speed
    }
    for (int i = 0; i < 600 && rx_frames(env) < before + trace.size(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GE(rx_frames(env), before + trace.size()) << "nsim did not receive the whole trace";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    auto [rc2, nic_text] = sh(nfw_save);
    ASSERT_EQ(rc2, 0) << nic_text;
    const Ruleset linux_counts = parse_counters(linux_ns.save_with_counters());
    const Ruleset nic_counts = parse_counters(nic_text);
    const std::string diff = compare(linux_counts, nic_counts);
    EXPECT_TRUE(diff.empty()) << "round " << round << ":\n" << diff << "--- rules ---\n" << text;
    for (const auto& c : nic_counts.chains) {
      for (const auto& r : c.rules) rule_hits += r.counters.packets > 0 ? 1 : 0;
    }
  }
  ::close(sock);
  EXPECT_GT(rule_hits, 30u);
}

}  // namespace
}  // namespace norman::filter::difftest
