// The examples end to end: norman-echo-client and norman-echo-server as two
// processes, each a normand client, over a software NIC whose wire loops a
// connection's TX back into the RX ring of the connection it is addressed to.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixture.hpp"

extern char** environ;

namespace norman::test {
namespace {

struct Child {
  pid_t pid = -1;
  std::string out;
  Child(std::vector<std::string> argv, std::string out_path) : out(std::move(out_path)) {
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid, a[0], &fa, nullptr, a.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  int wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(5ms);
    }
    return -1;
  }
  [[nodiscard]] std::string output() const {
    std::ifstream f(out);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::unlink(out.c_str());
  }
};

void echo_round(const std::string& server_mode, const std::string& client_mode) {
  testing::SoftNic nic;
  nic.set_loopback(true);
  nic.start();
  testing::FakeNormandConfig cfg;
  testing::FakeNormand normand(nic, cfg);
  normand.add_neighbor(cfg.nic_ip, cfg.nic_mac);  // the server is on this NIC too
  const std::string tag = std::to_string(::getpid());
  Child server({NORMAN_ECHO_SERVER, "--port", "7000", "--normand-socket", normand.socket_path(),
                "--count", "300", server_mode},
               "/tmp/norman-echo-server-" + tag + ".out");
  ASSERT_GT(server.pid, 0);
  ASSERT_TRUE(eventually([&] { return server.output().find("listening on") != std::string::npos; }))
      << server.output();
  Child client(
      {NORMAN_ECHO_CLIENT, "--server", cfg.nic_ip.to_string(), "--port", "7000", "--normand-socket",
       normand.socket_path(), "--count", "300", "--size", "100", "--window", "8", client_mode},
      "/tmp/norman-echo-client-" + tag + ".out");
  ASSERT_EQ(client.wait(60s), 0) << client.output();
  const auto j = nlohmann::json::parse(client.output());
  EXPECT_EQ(j["received"], 300);
  EXPECT_EQ(j["lost"], 0);
  EXPECT_GT(j["rtt_us"]["median"].get<double>(), 0.0);
  EXPECT_GE(j["rtt_us"]["p99"].get<double>(), j["rtt_us"]["median"].get<double>());
  EXPECT_GT(j["throughput_dps"].get<double>(), 0.0);
  ASSERT_EQ(server.wait(30s), 0) << server.output();
  EXPECT_NE(server.output().find("\"echoed\":300"), std::string::npos) << server.output();
  EXPECT_EQ(nic.rx_ring_full_drops(), 0U);
}

TEST(Examples, EchoServerSurvivesSpoofedSources) {
  // Datagrams from a source off the subnet and from an on-subnet source
  // nobody answers ARP for: their replies cannot go out. The server must
  // neither die nor stall: a peer it already talks to gets its echo at once,
  // while the unanswered address is still being resolved.
  testing::SoftNic nic;
  nic.set_loopback(true);
  nic.start();
  testing::FakeNormandConfig cfg;
  testing::FakeNormand normand(nic, cfg);
  normand.add_neighbor(cfg.nic_ip, cfg.nic_mac);
  const std::string tag = std::to_string(::getpid());
  Child server({NORMAN_ECHO_SERVER, "--port", "7000", "--normand-socket", normand.socket_path(),
                "--count", "5"},
               "/tmp/norman-echo-spoof-" + tag + ".out");
  ASSERT_GT(server.pid, 0);
  ASSERT_TRUE(eventually([&] { return server.output().find("listening on") != std::string::npos; }))
      << server.output();
  const std::string out = server.output();
  const auto at = out.find("(connection ");
  ASSERT_NE(at, std::string::npos) << out;
  const auto server_conn = static_cast<std::uint32_t>(std::stoul(out.substr(at + 12)));

  Runtime peer(Env::options(normand.socket_path(), 0ns));
  auto p = peer.udp_connect({cfg.nic_ip, 7000}, Env::quick());
  std::array<std::uint8_t, 64> buf{};
  auto echo = [&](const std::string& m, std::chrono::milliseconds limit) {
    EXPECT_TRUE(p->send(bytes(m), 1s));
    auto r = p->recv(buf, limit);
    return r ? std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->len))
             : std::string("<timeout>");
  };
  EXPECT_EQ(echo("warm", 5000ms), "warm");

  normand.set_neigh_delay(800ms);  // as normand waiting for an ARP answer
  ASSERT_TRUE(nic.deliver_udp(server_conn, {Ipv4::from_octets(192, 0, 2, 9), 5}, bytes("far")));
  ASSERT_TRUE(nic.deliver_udp(server_conn, {Ipv4::from_octets(10, 11, 0, 99), 5}, bytes("near")));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(echo("prompt", 3000ms), "prompt");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 400ms) << "the server stalled on ARP";
  std::this_thread::sleep_for(1200ms);  // the unanswered address has failed by now
  EXPECT_EQ(echo("last", 3000ms), "last");
  ASSERT_EQ(server.wait(30s), 0) << server.output();
  const std::string done = server.output();
  EXPECT_NE(done.find("\"tx_drop_unreachable\":1"), std::string::npos) << done;
  EXPECT_NE(done.find("\"tx_drop_unresolved\":1"), std::string::npos) << done;
}

TEST(Examples, EchoBlocking) { echo_round("--blocking", "--blocking"); }
TEST(Examples, EchoPolling) { echo_round("--poll", "--poll"); }

}  // namespace
}  // namespace norman::test
