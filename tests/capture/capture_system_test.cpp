// ndump end to end: nsim + normand + a Linux peer in a network namespace,
// ndump run as root against the NIC's capture overlay. Ping and ARP between
// the peer and nic0 (host-kernel traffic, named as such), UDP of a
// kernel-bypass application with its owner, an owner filter, two captures
// with different expressions at once, and tcpdump's summary lines.
//
// Records flow only on a NIC with the capture overlay; on one without it
// (its block chain lists no CAPTURE block) every test skips, naming why,
// and ndump's refusal is checked instead.
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "ctl_socket.hpp"
#include "system_env.hpp"

namespace norman::capture_test {
namespace {

using namespace std::chrono_literals;
using system_test::Proc;
using system_test::sh;
using system_test::SystemEnv;

SystemEnv*& env_ptr() {
  static SystemEnv* e = nullptr;
  return e;
}
SystemEnv& env() { return *env_ptr(); }

// normand's answer to a capture-all cap_open; empty when it has an overlay.
std::string overlay_missing() {
  auto c = ctl::Client::connect(env().normand_socket());
  try {
    c.call(ctl::op::kCapOpen,
           {{"program", nlohmann::json::array({nlohmann::json::array({6, 0, 0, 262144})})}});
  } catch (const std::system_error& e) {
    if (e.code().value() == EOPNOTSUPP) return e.what();
  }
  return "";
}

#define REQUIRE_OVERLAY()                                                              \
  do {                                                                                 \
    if (const std::string why_ = overlay_missing(); !why_.empty())                     \
      GTEST_SKIP() << "the NIC has no capture overlay, no records can flow: " << why_; \
  } while (0)

bool wait_err(Proc& p, const std::string& text, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p.err().find(text) != std::string::npos) return true;
    if (!p.running()) return p.err().find(text) != std::string::npos;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// ndump with `args` (after the socket), started and listening.
Proc ndump(const std::string& name, std::vector<std::string> args) {
  std::vector<std::string> argv = {NDUMP_BINARY, "--socket", env().normand_socket(), "-n", "-l"};
  argv.insert(argv.end(), args.begin(), args.end());
  Proc p(env().dir() + "/" + name, argv);
  EXPECT_TRUE(wait_err(p, "listening on", 20s)) << p.err();
  return p;
}

void ping_from_peer(int count) {
  sh(env().in_peer("ping -c " + std::to_string(count) + " -i 0.2 -W 2 " + env().nic_ip()));
}

TEST(NdumpLive, WithoutTheOverlayNdumpSaysSo) {
  if (overlay_missing().empty()) GTEST_SKIP() << "the NIC has a capture overlay";
  Proc p(env().dir() + "/ndump-none",
         {NDUMP_BINARY, "--socket", env().normand_socket(), "-c", "1", "icmp"});
  EXPECT_EQ(p.wait(20s), 1) << p.err();
  EXPECT_NE(p.err().find("no capture overlay"), std::string::npos) << p.err();
}

TEST(NdumpLive, UnprivilegedUserGetsTcpdumpsPermissionError) {
  Proc p(env().dir() + "/ndump-nobody",
         SystemEnv::as_user(60001, {NDUMP_BINARY, "--socket", env().normand_socket(), "icmp"}));
  EXPECT_EQ(p.wait(20s), 1) << p.err();
  EXPECT_NE(p.err().find("nic0: You don't have permission to perform this capture on that device"),
            std::string::npos)
      << p.err();
  EXPECT_NE(p.err().find("CAP_NET_RAW"), std::string::npos) << p.err();
}

TEST(NdumpLive, PingBothWaysAsHostKernelTraffic) {
  REQUIRE_OVERLAY();
  Proc p = ndump("ndump-icmp", {"-c", "4", "icmp"});
  ping_from_peer(3);
  EXPECT_EQ(p.wait(20s), 0) << p.err();
  const std::string out = p.out();
  const std::string peer = env().peer_ip(), nic = env().nic_ip();
  EXPECT_NE(out.find("In IP " + peer + " > " + nic + ": ICMP echo request"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Out IP " + nic + " > " + peer + ": ICMP echo reply"), std::string::npos)
      << out;
  EXPECT_NE(out.find("[host kernel]"), std::string::npos) << out;
  // tcpdump's summary, from the NIC's counters.
  const std::string err = p.err();
  EXPECT_NE(err.find("4 packets captured"), std::string::npos) << err;
  EXPECT_NE(err.find("received by filter"), std::string::npos) << err;
  EXPECT_NE(err.find("dropped by kernel"), std::string::npos) << err;
}

TEST(NdumpLive, ArpAndIcmpInTwoConcurrentCaptures) {
  REQUIRE_OVERLAY();
  Proc arp = ndump("ndump-arp", {"-c", "1", "arp"});
  Proc icmp = ndump("ndump-icmp2", {"-c", "2", "-Q", "in", "icmp"});
  sh(env().in_peer("ip neigh flush all"));
  ping_from_peer(2);
  EXPECT_EQ(arp.wait(20s), 0) << arp.err();
  EXPECT_EQ(icmp.wait(20s), 0) << icmp.err();
  EXPECT_NE(arp.out().find("ARP, Request who-has " + env().nic_ip()), std::string::npos)
      << arp.out();
  EXPECT_EQ(arp.out().find("ICMP"), std::string::npos) << arp.out();
  EXPECT_EQ(icmp.out().find("ARP"), std::string::npos) << icmp.out();
  EXPECT_EQ(icmp.out().find("Out "), std::string::npos) << "-Q in: " << icmp.out();
}

TEST(NdumpLive, BypassUdpWithItsOwnerAndAnOwnerFilter) {
  REQUIRE_OVERLAY();
  constexpr unsigned kUid = 60002;
  Proc mine = ndump("ndump-owner", {"-c", "2", "--uid", std::to_string(kUid), "udp"});
  Proc all = ndump("ndump-udp", {"-c", "2", "udp", "and", "not", "port", "7001"});
  Proc app(env().dir() + "/probe",
           SystemEnv::as_user(kUid, {PROBE_BINARY, "--normand-socket", env().normand_socket(),
                                     "talk", "--port", "7000", "--to", env().peer_ip() + ":9000",
                                     "--sends", "3", "--seconds", "2"}));
  EXPECT_EQ(app.wait(30s), 0) << app.err();
  EXPECT_EQ(mine.wait(20s), 0) << mine.err();
  EXPECT_EQ(all.wait(20s), 0) << all.err();
  const std::string out = mine.out();
  EXPECT_NE(out.find("Out IP " + env().nic_ip() + ".7000 > " + env().peer_ip() + ".9000: UDP"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("[uid " + std::to_string(kUid) + " pid "), std::string::npos) << out;
  EXPECT_NE(out.find("norman-probe"), std::string::npos) << out;
  EXPECT_NE(all.out().find("[uid " + std::to_string(kUid)), std::string::npos) << all.out();
}

}  // namespace
}  // namespace norman::capture_test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0) {
    std::cout << "capture_system_test: skipped: needs root (network namespace, TAP devices)\n";
    return 77;
  }
  for (const char* tool : {"ip", "ping", "setpriv"}) {
    if (norman::system_test::sh(std::string("command -v ") + tool).first != 0) {
      std::cout << "capture_system_test: skipped: needs " << tool << "\n";
      return 77;
    }
  }
  norman::system_test::SystemConfig cfg;
  cfg.nsim_binary = NSIM_BINARY;
  cfg.normand_binary = NORMAND_BINARY;
  cfg.subnet = "10.44.0";
  auto e = std::make_unique<norman::system_test::SystemEnv>(cfg);
  std::string why;
  if (!e->start(why)) {
    std::cerr << "cannot start nsim + normand: " << why << "\n";
    return 1;
  }
  norman::capture_test::env_ptr() = e.get();
  const int rc = RUN_ALL_TESTS();
  norman::capture_test::env_ptr() = nullptr;
  return rc;
}
