// Whole-system tests: nsim (the NIC's RTL) with its port in a network
// namespace that plays a remote Linux host, normand with nic0, and
// applications on libnorman running as ordinary users. Needs root (exit 77
// otherwise). One environment serves all tests of a run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ctl_socket.hpp"
#include "system_env.hpp"

namespace norman::system_test {
namespace {

constexpr unsigned kUserA = 60001;
constexpr unsigned kUserB = 60002;

SystemEnv* g_env = nullptr;

class System : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SystemConfig cfg{NSIM_BINARY, NORMAND_BINARY, "10.51.0"};
    g_env = new SystemEnv(cfg);
    std::string why;
    if (!g_env->start(why)) {
      start_error_ = why;
    }
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }

  static SystemEnv& env() { return *g_env; }
  static Proc app(const std::string& name, unsigned uid, std::vector<std::string> argv) {
    return Proc(env().dir() + "/" + name, SystemEnv::as_user(uid, std::move(argv)));
  }
  static nlohmann::json status() {
    auto c = ctl::Client::connect(env().normand_socket());
    c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    return c.call(ctl::op::kStatus).body;
  }
  // CPU time (user + system) of a process in clock ticks.
  static long cpu_ticks(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stol(field);
      if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
  }

  static inline std::string start_error_;
};

TEST_F(System, PingFromThePeerIsAnsweredByTheHostKernelThroughTheFallbackPath) {
  auto [rc, out] = sh(env().in_peer("ping -c 3 -W 2 " + env().nic_ip()));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;
  // The peer learned nic0's MAC from the host kernel's ARP reply (no static entry).
  auto [rc2, neigh] = sh(env().in_peer("ip neigh show " + env().nic_ip()));
  EXPECT_NE(neigh.find("02:00:00:00:00:02"), std::string::npos) << neigh;
  const auto st = status();
  EXPECT_GE(st.at("fallback").value("to_kernel_frames", 0), 4U) << st.dump(2);
  EXPECT_GE(st.at("fallback").value("from_kernel_frames", 0), 4U) << st.dump(2);
}

TEST_F(System, LinuxPeerTalksToAnUnprivilegedEchoServerOnTheNic) {
  auto server = app("echo", kUserA,
                    {NORMAN_ECHO_SERVER, "--port", "7000", "--normand-socket", env().normand_socket()});
  ASSERT_TRUE(server.wait_output("listening", std::chrono::seconds(20))) << server.out() << server.err();

  // normand knows who owns the connection from the kernel, not from the app.
  const auto st = status();
  bool found = false;
  for (const auto& c : st.at("connections")) {
    if (c.value("local_port", 0) == 7000) {
      found = true;
      EXPECT_EQ(c.at("owner").value("uid", 0U), kUserA) << c.dump();
      EXPECT_EQ(c.at("owner").value("pid", 0), server.pid()) << c.dump();
    }
  }
  EXPECT_TRUE(found) << st.dump(2);

  for (int i = 0; i < 3; ++i) {
    const std::string msg = "hello number " + std::to_string(i);
    auto [rc, out] = sh(env().in_peer("sh -c 'printf \"" + msg + "\" | timeout 10 socat -t 1 - UDP4:" +
                                      env().nic_ip() + ":7000,sourceport=" + std::to_string(5555 + i) + "'"));
    EXPECT_EQ(out, msg) << "socat exit " << rc << "; server: " << server.out() << server.err();
  }
  // The reply's destination MAC came from the host kernel's neighbor table
  // (normand asked it); the application never sent ARP.
  auto [rc, neigh] = sh("ip neigh show dev " + env().nic_if() + " " + env().peer_ip());
  EXPECT_NE(neigh.find("lladdr"), std::string::npos) << neigh;
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.err();
}

TEST_F(System, SpoofedSourcesNeitherKillNorStallTheEchoServer) {
  // Spoofed datagrams (the peer sends from addresses it does not have,
  // IP_TRANSPARENT): one from a source off the subnet, one from an
  // on-subnet address nobody answers ARP for. The server must not die, and
  // must not stall on ARP while the real peer waits for its echo.
  auto server = app("echo-spoof", kUserA,
                    {NORMAN_ECHO_SERVER, "--port", "7010", "--normand-socket", env().normand_socket()});
  ASSERT_TRUE(server.wait_output("listening", std::chrono::seconds(20))) << server.out() << server.err();
  const std::string ghost = env().nic_ip().substr(0, env().nic_ip().rfind('.')) + ".99";
  auto echo = [&](const std::string& msg, int port) {
    return sh(env().in_peer("sh -c 'printf \"" + msg + "\" | timeout 10 socat -t 1 - UDP4:" +
                            env().nic_ip() + ":7010,sourceport=" + std::to_string(port) + "'"))
        .second;
  };
  EXPECT_EQ(echo("before", 5600), "before");
  for (const std::string& from : {std::string("192.0.2.9"), ghost}) {
    auto [rc, out] = sh(env().in_peer("sh -c 'printf spoof | socat -u - UDP4-SENDTO:" +
                                      env().nic_ip() + ":7010,bind=" + from + ",ip-transparent'"));
    ASSERT_EQ(rc, 0) << out;
  }
  // normand waits 3 s for an ARP answer for the ghost; the peer's echo
  // comes back within socat's 1 s meanwhile.
  EXPECT_EQ(echo("during", 5601), "during") << server.err();
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(echo("after", 5602), "after") << server.err();
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.err();
  EXPECT_NE(server.out().find("\"tx_drop_unreachable\":1"), std::string::npos) << server.out();
  EXPECT_NE(server.out().find("\"tx_drop_unresolved\":1"), std::string::npos) << server.out();
  EXPECT_NE(server.err().find("cannot reply to 192.0.2.9"), std::string::npos) << server.err();
}

TEST_F(System, TwoUsersCannotReachEachOthersRingsOrDoorbells) {
  auto victim = app("victim", kUserA,
                    {PROBE_BINARY, "--normand-socket", env().normand_socket(), "hold", "--port", "7100"});
  ASSERT_TRUE(victim.wait_output("conn_id", std::chrono::seconds(20))) << victim.err();
  const auto v = nlohmann::json::parse(victim.out());
  auto attacker = app("attacker", kUserB,
                      {PROBE_BINARY, "--normand-socket", env().normand_socket(), "attack", "--conn",
                       std::to_string(v.at("conn_id").get<unsigned>()), "--port", "7100", "--pid",
                       std::to_string(victim.pid())});
  ASSERT_EQ(attacker.wait(std::chrono::seconds(30)), 0) << attacker.out() << attacker.err();
  const auto r = nlohmann::json::parse(attacker.out());
  for (const char* what :
       {"doorbell_write", "doorbell_read", "close_foreign", "bind_same_port", "proc_mem", "proc_map_files", "proc_fd"}) {
    EXPECT_TRUE(r.at(what).at("refused").get<bool>()) << what << ": " << r.at(what).at("how");
  }
  EXPECT_NE(r.at("bind_same_port").at("how").get<std::string>().find("EADDRINUSE"), std::string::npos);
  // The victim's connection is still there and still its own.
  const auto st = status();
  bool alive = false;
  for (const auto& c : st.at("connections")) {
    if (c.value("conn_id", 0U) == v.at("conn_id").get<unsigned>()) alive = c.at("owner").value("uid", 0U) == kUserA;
  }
  EXPECT_TRUE(alive) << st.dump(2);
  victim.stop(SIGKILL);
}

TEST_F(System, BlockedReceiverUsesNoCpuAndWakesOnAPacket) {
  auto rx = app("block", kUserA,
                {PROBE_BINARY, "--normand-socket", env().normand_socket(), "block", "--port", "7200"});
  ASSERT_TRUE(rx.wait_output("ready", std::chrono::seconds(20))) << rx.err();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // past the brief spin
  const long t0 = cpu_ticks(rx.pid());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const long t1 = cpu_ticks(rx.pid());
  const long hz = ::sysconf(_SC_CLK_TCK);
  const double cpu_percent = 100.0 * static_cast<double>(t1 - t0) / static_cast<double>(3 * hz);
  RecordProperty("blocked_cpu_percent", std::to_string(cpu_percent));
  std::cout << "blocked receiver: " << (t1 - t0) << " ticks of CPU in 3 s (" << cpu_percent << " %)" << std::endl;
  EXPECT_LE(cpu_percent, 2.0);
  EXPECT_TRUE(rx.running());
  auto [rc, out] = sh(env().in_peer("sh -c 'printf wake-up | timeout 10 socat -u - UDP4:" + env().nic_ip() +
                                    ":7200'"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(rx.wait(std::chrono::seconds(15)), 0) << rx.out() << rx.err();
  EXPECT_NE(rx.out().find("woke after"), std::string::npos) << rx.out();
  EXPECT_NE(rx.out().find("wake-up"), std::string::npos) << rx.out();
}

}  // namespace
}  // namespace norman::system_test

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr << "system_test: skipped: needs root (network namespace, TAP devices, other users)" << std::endl;
    return 77;
  }
  for (const char* tool : {"ip", "socat", "ping", "setpriv"}) {
    if (norman::system_test::sh(std::string("command -v ") + tool).first != 0) {
      std::cerr << "system_test: skipped: needs " << tool << std::endl;
      return 77;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
