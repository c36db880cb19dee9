// Fault tests: SIGKILL of an application, of normand and of nsim while a
// Linux peer sends traffic, against the real nsim + normand. What each fault
// must preserve is written down in docs/reliability.md; these tests check it
// and print the measured recovery times (the bounds asserted are generous:
// the machine running them may be slow and shared). Needs root (exit 77
// otherwise).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ctl_socket.hpp"
#include "system_env.hpp"

namespace norman::system_test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned kUser = 60001;
constexpr std::uint16_t kDropped = 7301;  // the rules drop the peer's datagrams to this port
constexpr std::uint16_t kAllowed = 7302;  // and let these through (to the host kernel)

SystemEnv* g_env = nullptr;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A kernel UDP socket on nic0's address: what reaches it came through the
// NIC's fallback path, i.e. the NIC let it in.
class KernelSink {
 public:
  KernelSink(const std::string& ip, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int one = 1;
    // nic0 (and its address) disappears while normand is down.
    ::setsockopt(fd_, SOL_IP, IP_FREEBIND, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~KernelSink() { ::close(fd_); }
  KernelSink(const KernelSink&) = delete;
  KernelSink& operator=(const KernelSink&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  // Datagrams received so far (reads what is queued).
  std::uint64_t count() {
    char buf[256];
    while (::recv(fd_, buf, sizeof buf, 0) >= 0) ++n_;
    return n_;
  }
  // Waits until more than `than` datagrams arrived; false on timeout.
  bool wait_more(std::uint64_t than, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (count() > than) return true;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, 20);
    }
    return count() > than;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::uint64_t n_ = 0;
};

class Fault : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_env = new SystemEnv(SystemConfig{NSIM_BINARY, NORMAND_BINARY, "10.57.0"});
    std::string why;
    if (!g_env->start(why)) start_error_ = why;
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }
  static SystemEnv& env() { return *g_env; }

  static std::pair<int, std::string> nfw(const std::string& args) {
    return sh(std::string(NFW_BINARY) + " --socket " + env().normand_socket() + " " + args);
  }
  static std::pair<int, std::string> nfw_save() {
    return sh(std::string(NFW_SAVE_BINARY) + " -c --socket " + env().normand_socket());
  }
  // A new normand with the options SystemEnv gave the first one.
  static Proc start_normand(const std::string& log) {
    return Proc(env().dir() + "/" + log,
                {NORMAND_BINARY, "--socket", env().normand_socket(), "--nsim-socket",
                 env().nsim_socket(), "--tap", env().nic_if(), "--address", env().nic_ip() + "/24",
                 "--mac", "02:00:00:00:00:02"});
  }
  static Proc start_normand_with(const std::string& log, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {NORMAND_BINARY,  "--socket",          env().normand_socket(),
                                     "--nsim-socket", env().nsim_socket(), "--tap",
                                     env().nic_if(),  "--address",         env().nic_ip() + "/24",
                                     "--mac",         "02:00:00:00:00:02"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Proc(env().dir() + "/" + log, argv);
  }
  // Waits until normand answers on its socket (it listens only once the
  // policy is installed and RX enabled).
  static bool wait_serving(Proc& p, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      try {
        auto c = ctl::Client::connect(env().normand_socket());
        c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}}, 2000);
        return true;
      } catch (const std::exception&) {
      }
      if (!p.running()) return false;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  // The peer sends one datagram every 50 ms to `port` until stopped.
  static Proc peer_stream(std::uint16_t port) {
    return Proc(env().dir() + "/stream-" + std::to_string(port),
                {"ip", "netns", "exec", env().ns(), "sh", "-c",
                 "while :; do printf x; sleep 0.05; done | socat -u -b 1 - UDP4:" + env().nic_ip() +
                     ":" + std::to_string(port)});
  }
  static nlohmann::json status() {
    auto c = ctl::Client::connect(env().normand_socket());
    c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    return c.call(ctl::op::kStatus).body;
  }

  static inline std::string start_error_;
};

// Rules installed with nfw; normand SIGKILLed while the peer sends; a new
// normand: the rules are enforced again before any traffic is accepted (the
// dropped port's datagrams never reach the host in the window), nfw shows
// them, their counters restart from zero, nic0 is back.
TEST_F(Fault, NormandKilledRestartsWithItsRulesBeforeAnyTraffic) {
  ASSERT_EQ(nfw("-A INPUT -p udp --dport " + std::to_string(kDropped) + " -j DROP").first, 0);
  KernelSink dropped(env().nic_ip(), kDropped), allowed(env().nic_ip(), kAllowed);
  ASSERT_TRUE(dropped.ok() && allowed.ok());
  Proc s1 = peer_stream(kDropped), s2 = peer_stream(kAllowed);
  ASSERT_TRUE(allowed.wait_more(5, 20s)) << "the peer's traffic does not reach the host";
  EXPECT_EQ(dropped.count(), 0U);

  const auto t_kill = Clock::now();
  env().normand().stop(SIGKILL, 5s);
  const std::uint64_t before = allowed.count();
  Proc normand = start_normand("normand-2");
  ASSERT_TRUE(wait_serving(normand, 30s)) << normand.err();
  const double serving_ms = ms_since(t_kill);
  ASSERT_TRUE(allowed.wait_more(before, 30s)) << "no traffic after the restart: " << normand.err();
  const double traffic_ms = ms_since(t_kill);
  std::cout << "normand SIGKILLed: new normand serving after " << serving_ms
            << " ms, the peer's traffic flows again after " << traffic_ms << " ms" << std::endl;
  RecordProperty("normand_restart_serving_ms", std::to_string(serving_ms));
  RecordProperty("normand_restart_traffic_ms", std::to_string(traffic_ms));
  EXPECT_LT(traffic_ms, 30000.0);

  // Let the dropped stream run against the new normand too.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(dropped.count(), 0U) << "datagrams the rules drop reached the host";
  s1.stop(SIGKILL, 2s);
  s2.stop(SIGKILL, 2s);
  EXPECT_NE(normand.err().find("installed the persisted policy"), std::string::npos)
      << normand.err();

  auto [rc, listing] = nfw("-S INPUT");
  EXPECT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find("--dport " + std::to_string(kDropped) + " -j DROP"), std::string::npos)
      << listing;
  auto [src, saved] = nfw_save();
  EXPECT_EQ(src, 0) << saved;
  // Counters restart with the NIC: what the rule dropped since the restart.
  const auto at = saved.find("--dport " + std::to_string(kDropped));
  ASSERT_NE(at, std::string::npos) << saved;
  const auto line_start = saved.rfind('\n', at) + 1;
  const std::string counters = saved.substr(line_start, saved.find(' ', line_start) - line_start);
  EXPECT_NE(counters, "[0:0]") << saved;
  EXPECT_EQ(sh("ip link show " + env().nic_if()).first, 0) << "nic0 was not re-created";
  env().normand() = std::move(normand);
  ASSERT_EQ(nfw("-F INPUT").first, 0);
}

// An application blocked in receive learns that normand died (ENETDOWN)
// within a bound, and a new application gets the same port from the
// restarted normand (nothing of the dead session is left on the NIC).
TEST_F(Fault, BlockedReceiverGetsEnetdownWhenNormandDiesAndCanReconnect) {
  Proc rx(env().dir() + "/block",
          SystemEnv::as_user(kUser, {PROBE_BINARY, "--normand-socket", env().normand_socket(),
                                     "block", "--port", "7310"}));
  ASSERT_TRUE(rx.wait_output("ready", 20s)) << rx.err();
  std::this_thread::sleep_for(300ms);  // asleep in recv(), past the spin
  const auto t_kill = Clock::now();
  env().normand().stop(SIGKILL, 5s);
  const int st = rx.wait(10s);
  const double woke_ms = ms_since(t_kill);
  std::cout << "normand SIGKILLed: the blocked receiver failed after " << woke_ms << " ms"
            << std::endl;
  RecordProperty("blocked_receiver_enetdown_ms", std::to_string(woke_ms));
  EXPECT_EQ(st, 2) << "still blocked (or exited otherwise): " << rx.out() << rx.err();
  EXPECT_NE(rx.err().find("Network is down"), std::string::npos) << rx.err();
  EXPECT_LT(woke_ms, 5000.0);

  Proc normand = start_normand("normand-3");
  ASSERT_TRUE(wait_serving(normand, 30s)) << normand.err();
  env().normand() = std::move(normand);
  Proc again(env().dir() + "/block-2",
             SystemEnv::as_user(kUser, {PROBE_BINARY, "--normand-socket", env().normand_socket(),
                                        "block", "--port", "7310"}));
  ASSERT_TRUE(again.wait_output("ready", 20s)) << again.err();
  auto [rc, out] = sh(env().in_peer(
      "sh -c 'printf back | timeout 10 socat -u - UDP4:" + env().nic_ip() + ":7310'"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(again.wait(15s), 0) << again.out() << again.err();
  EXPECT_NE(again.out().find("back"), std::string::npos) << again.out();
}

// SIGKILL of an application under traffic: normand reclaims its
// connection at once (the port is free again), other applications and the
// host's traffic are not disturbed.
TEST_F(Fault, ApplicationKilledUnderTrafficIsReclaimed) {
  KernelSink allowed(env().nic_ip(), kAllowed);
  ASSERT_TRUE(allowed.ok());
  Proc stream = peer_stream(7320), host = peer_stream(kAllowed);
  Proc victim(env().dir() + "/victim",
              SystemEnv::as_user(kUser, {PROBE_BINARY, "--normand-socket", env().normand_socket(),
                                         "hold", "--port", "7320"}));
  ASSERT_TRUE(victim.wait_output("conn_id", 20s)) << victim.err();
  ASSERT_TRUE(allowed.wait_more(3, 20s));
  const auto t_kill = Clock::now();
  victim.stop(SIGKILL, 5s);
  // The port is free once normand has reclaimed the connection.
  bool freed = false;
  while (ms_since(t_kill) < 10000.0 && !freed) {
    freed = true;
    for (const auto& c : status().at("connections")) {
      if (c.value("local_port", 0U) == 7320U) freed = false;
    }
    if (!freed) std::this_thread::sleep_for(10ms);
  }
  const double reclaim_ms = ms_since(t_kill);
  std::cout << "application SIGKILLed: its connection reclaimed after " << reclaim_ms << " ms"
            << std::endl;
  RecordProperty("app_kill_reclaim_ms", std::to_string(reclaim_ms));
  EXPECT_TRUE(freed) << status().dump(2);
  const std::uint64_t n = allowed.count();
  EXPECT_TRUE(allowed.wait_more(n, 5s)) << "the host's traffic stopped";
  Proc next(env().dir() + "/next",
            SystemEnv::as_user(kUser, {PROBE_BINARY, "--normand-socket", env().normand_socket(),
                                       "hold", "--port", "7320"}));
  EXPECT_TRUE(next.wait_output("conn_id", 20s)) << next.err();
  next.stop(SIGKILL, 5s);
  stream.stop(SIGKILL, 2s);
  host.stop(SIGKILL, 2s);
}

// The administrator's saved file (nfw-save > /etc/norman/rules.v4) is
// installed at start when no policy was persisted; a bad one stops normand
// with the file and the reason, never an open NIC.
TEST_F(Fault, RulesFileAtBootAndABadOneStopsNormand) {
  env().normand().stop(SIGTERM, 10s);
  const std::string rules = env().dir() + "/rules.v4";
  const std::string state = env().dir() + "/boot-state";
  {
    std::ofstream(rules) << "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                            ":OUTPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 7340 -j DROP\n";
  }  // cut before COMMIT: refused
  Proc bad = start_normand_with("normand-bad", {"--state-dir", state, "--rules-file", rules});
  EXPECT_EQ(bad.wait(30s), 1) << bad.err();
  EXPECT_NE(bad.err().find("refusing to start with the NIC open"), std::string::npos) << bad.err();
  EXPECT_NE(bad.err().find(rules), std::string::npos) << bad.err();
  EXPECT_FALSE(std::filesystem::exists(state + "/policy.json"));

  { std::ofstream(rules, std::ios::app) << "COMMIT\n"; }
  Proc good = start_normand_with("normand-good", {"--state-dir", state, "--rules-file", rules});
  ASSERT_TRUE(wait_serving(good, 30s)) << good.err();
  auto [rc, listing] = nfw("-S INPUT");
  EXPECT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find("--dport 7340 -j DROP"), std::string::npos) << listing;
  EXPECT_NE(good.err().find("installed the rules file"), std::string::npos) << good.err();
  EXPECT_TRUE(std::filesystem::exists(state + "/policy.json"));
  good.stop(SIGTERM, 10s);

  // Back to the suite's normand (its own state directory).
  env().normand() = start_normand("normand-4");
  ASSERT_TRUE(wait_serving(env().normand(), 30s)) << env().normand().err();
}

// SIGKILL of nsim under traffic: normand notices at once, tells its
// clients (their blocked receives fail with ENETDOWN) and exits with status
// 3 for its supervisor. Once nsim and normand are started again the rules
// are back (the policy was persisted), not an open firewall.
TEST_F(Fault, NsimKilledUnderTrafficNormandExitsAndThePolicySurvives) {
  ASSERT_EQ(nfw("-A INPUT -p udp --dport " + std::to_string(kDropped) + " -j DROP").first, 0);
  Proc stream = peer_stream(kAllowed);
  Proc rx(env().dir() + "/block-nsim",
          SystemEnv::as_user(kUser, {PROBE_BINARY, "--normand-socket", env().normand_socket(),
                                     "block", "--port", "7330"}));
  ASSERT_TRUE(rx.wait_output("ready", 20s)) << rx.err();
  std::this_thread::sleep_for(300ms);
  const auto t_kill = Clock::now();
  env().nsim().stop(SIGKILL, 5s);
  const int rx_st = rx.wait(10s);
  const double rx_ms = ms_since(t_kill);
  const int nd_st = env().normand().wait(10s);
  const double nd_ms = ms_since(t_kill);
  std::cout << "nsim SIGKILLed: the blocked receiver failed after " << rx_ms
            << " ms, normand exited after " << nd_ms << " ms" << std::endl;
  RecordProperty("nsim_kill_receiver_ms", std::to_string(rx_ms));
  RecordProperty("nsim_kill_normand_exit_ms", std::to_string(nd_ms));
  EXPECT_EQ(rx_st, 2) << rx.out() << rx.err();
  EXPECT_NE(rx.err().find("Network is down"), std::string::npos) << rx.err();
  EXPECT_EQ(nd_st, 3) << env().normand().err();
  stream.stop(SIGKILL, 2s);

  // A SIGKILLed nsim leaves its socket file (the next nsim removes a stale
  // one; SystemEnv waits for the file to appear).
  std::filesystem::remove(env().nsim_socket());
  const auto t_start = Clock::now();
  std::string why;
  ASSERT_TRUE(env().start(why)) << why;
  ASSERT_TRUE(wait_serving(env().normand(), 30s)) << env().normand().err();
  const double up_ms = ms_since(t_start);
  std::cout << "nsim and normand started again: serving after " << up_ms << " ms" << std::endl;
  RecordProperty("nsim_restart_serving_ms", std::to_string(up_ms));
  auto [rc, listing] = nfw("-S INPUT");
  EXPECT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find("--dport " + std::to_string(kDropped) + " -j DROP"), std::string::npos)
      << "the rules did not survive: " << listing;
  ASSERT_EQ(nfw("-F INPUT").first, 0);
}

}  // namespace
}  // namespace norman::system_test

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr << "fault_test: skipped: needs root (network namespace, TAP devices, other users)"
              << std::endl;
    return 77;
  }
  for (const char* tool : {"ip", "socat", "setpriv"}) {
    if (norman::system_test::sh(std::string("command -v ") + tool).first != 0) {
      std::cerr << "fault_test: skipped: needs " << tool << std::endl;
      return 77;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
