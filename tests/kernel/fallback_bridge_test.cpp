// The fallback path end to end: a Linux peer in a network namespace reaches
// the root namespace's kernel through nsim's port 0 (net_tap), the NIC's
// fallback ring (conn 0), the FallbackBridge and the TAP "nfb-nic0" — and
// the kernel's answers come back through conn 0's TX ring. Root only; every
// wait is bounded and the namespace is removed even when a check fails.
#include "fallback_bridge.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "net_test_util.hpp"
#include "nsim_backend.hpp"
#include "nsim_process.hpp"

namespace norman::normand {
namespace {

using namespace std::chrono_literals;
using test::sh;
namespace rm = norman::regmap;

// nsim with port 0 as a DPDK net_tap whose interface lives in namespace
// ns_ as the peer 10.31.0.1/24. Destruction stops nsim, then removes the
// namespace and the scratch directory.
class PeerEnv {
 public:
  PeerEnv() {
    const std::string tag = std::to_string(::getpid() % 100000);
    ns_ = "nfb-test-peer-" + tag;
    peer_if_ = "nfbp" + tag;
    char tmpl[] = "/tmp/normand-fb-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  }
  ~PeerEnv() {
    nsim_.reset();
    sh("ip netns del " + ns_);
    if (!dir_.empty()) sh("rm -rf " + dir_);
  }
  PeerEnv(const PeerEnv&) = delete;
  PeerEnv& operator=(const PeerEnv&) = delete;

  // Empty on success, else what went wrong.
  std::string start() {
    if (dir_.empty()) return "mkdtemp failed";
    sh("ip netns del " + ns_);
    if (auto [rc, out] = sh("ip netns add " + ns_); rc != 0) return "ip netns add: " + out;
    ::mkdir((dir_ + "/run").c_str(), 0700);
    nsim_ = std::make_unique<nsim::test_support::Nsim>(
        dir_, std::vector<std::string>{"--port", "net_tap0,iface=" + peer_if_});
    std::string why;
    if (!nsim_->wait_ready(why)) return why;
    bool have_if = false;
    for (int i = 0; i < 300 && !have_if; ++i) {
      have_if = sh("ip link show " + peer_if_).first == 0;
      if (!have_if) std::this_thread::sleep_for(20ms);
    }
    if (!have_if)
      return "nsim's net_tap interface " + peer_if_ + " did not appear: " + nsim_->stderr_text();
    for (const std::string& c :
         {"ip link set " + peer_if_ + " netns " + ns_,
          in_ns("sysctl -qw net.ipv6.conf." + peer_if_ + ".disable_ipv6=1"),
          in_ns("ip addr add 10.31.0.1/24 dev " + peer_if_),
          in_ns("ip link set " + peer_if_ + " up"), in_ns("ip link set lo up")}) {
      if (auto [rc, out] = sh(c); rc != 0) return c + ": " + out;
    }
    return {};
  }

  [[nodiscard]] std::string in_ns(const std::string& cmd) const {
    return "ip netns exec " + ns_ + " " + cmd;
  }
  [[nodiscard]] std::string socket() const { return nsim_->socket(); }

 private:
  std::string ns_, peer_if_, dir_;
  std::unique_ptr<nsim::test_support::Nsim> nsim_;
};

// A UDP socket bound in the root namespace; recv with a timeout.
class UdpSocket {
 public:
  explicit UdpSocket(const char* ip, std::uint16_t port)
      : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    bound_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  [[nodiscard]] bool bound() const { return bound_; }
  // One datagram within `limit`, with its sender.
  std::optional<std::pair<std::string, sockaddr_in>> recv(std::chrono::milliseconds limit) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return std::nullopt;
    char buf[2048];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    const ssize_t n =
        ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) return std::nullopt;
    return std::pair{std::string(buf, static_cast<std::size_t>(n)), from};
  }
  bool send_to(const std::string& data, const sockaddr_in& to) {
    return ::sendto(fd_.get(), data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                    sizeof to) == static_cast<ssize_t>(data.size());
  }

 private:
  nsim::UniqueFd fd_;
  bool bound_ = false;
};

TEST(FallbackBridge, PeerPingsAndTalksUdpToTheHostKernelThroughTheNic) {
  NORMAN_REQUIRE_ROOT();
  for (const char* tool : {"ip", "ping", "socat"}) {
    if (!test::have_tool(tool)) GTEST_SKIP() << "needs " << tool;
  }
  PeerEnv env;
  const std::string why = env.start();
  ASSERT_TRUE(why.empty()) << why;

  TapConfig cfg;
  cfg.name = "nfb-nic0";
  cfg.mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  cfg.ip = {10, 31, 0, 2};
  cfg.prefix_len = 24;
  auto tap = TapDevice::create(cfg);
  // Only the traffic the test makes: no IPv6 chatter from the host side.
  sh("sysctl -qw net.ipv6.conf.nfb-nic0.disable_ipv6=1");

  device::NsimDevice dev(env.socket());
  boost::asio::io_context io;
  auto bridge = std::make_unique<FallbackBridge>(io, dev, tap, 0);
  bridge->start();
  auto work = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  // Stops the loop before anything it uses goes away, also on a failed ASSERT.
  struct Stopper {
    boost::asio::io_context& io;
    std::thread& t;
    ~Stopper() {
      io.stop();
      if (t.joinable()) t.join();
    }
  } stopper{io, loop};

  // ARP and ICMP: answered by the root namespace's kernel via the bridge.
  const auto [prc, pout] = sh(env.in_ns("ping -c 3 -W 2 10.31.0.2"));
  EXPECT_EQ(prc, 0) << pout;
  EXPECT_NE(pout.find("3 received"), std::string::npos) << pout;

  // UDP: peer -> kernel socket on 10.31.0.2, and a reply back to the peer.
  UdpSocket sock("10.31.0.2", 7311);
  ASSERT_TRUE(sock.bound());
  FILE* peer = ::popen(env.in_ns("sh -c 'printf hello-host | timeout 10 socat -t 5 - "
                                 "UDP4:10.31.0.2:7311,sourceport=7312' 2>&1")
                           .c_str(),
                       "r");
  ASSERT_NE(peer, nullptr);
  const auto got = sock.recv(8000ms);
  bool replied = false;
  if (got) replied = sock.send_to("hello-peer", got->second);
  std::string peer_out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, peer) != nullptr) peer_out += buf;
  ::pclose(peer);
  ASSERT_TRUE(got.has_value()) << "no datagram from the peer; socat said: " << peer_out;
  EXPECT_EQ(got->first, "hello-host");
  char from[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &got->second.sin_addr, from, sizeof from);
  EXPECT_STREQ(from, "10.31.0.1");
  EXPECT_EQ(ntohs(got->second.sin_port), 7312);
  EXPECT_TRUE(replied);
  EXPECT_NE(peer_out.find("hello-peer"), std::string::npos) << "peer got: " << peer_out;

  // Idle means asleep: no busy-polling of the rings while nothing arrives.
  clockid_t cpu_clock{};
  ASSERT_EQ(::pthread_getcpuclockid(loop.native_handle(), &cpu_clock), 0);
  const auto cpu_ms = [&] {
    timespec ts{};
    ::clock_gettime(cpu_clock, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  };
  const auto cpu0 = cpu_ms();
  std::this_thread::sleep_for(1000ms);
  EXPECT_LT(cpu_ms() - cpu0, 100) << "the bridge's loop used CPU while idle";

  // Both directions carried frames, none was lost on the way.
  const auto s = bridge->stats();
  std::cout << "bridge status: " << bridge->status().dump() << std::endl;
  // Peer -> kernel: at least ARP request, 3 echo requests, the datagram.
  EXPECT_GE(s.to_kernel_frames, 5U);
  EXPECT_GE(s.from_kernel_frames, 5U);  // ARP reply, 3 echo replies, the reply datagram
  EXPECT_GE(s.to_kernel_bytes, s.to_kernel_frames * 42);
  EXPECT_GE(s.from_kernel_bytes, s.from_kernel_frames * 42);
  EXPECT_EQ(s.to_kernel_malformed, 0U);
  EXPECT_EQ(s.drop_tap_write, 0U);
  EXPECT_EQ(s.drop_tx_ring_full, 0U);
  EXPECT_EQ(s.drop_too_big, 0U);
  EXPECT_EQ(s.tx_failed, 0U);
  const auto j = bridge->status();
  EXPECT_EQ(j.at("to_kernel_frames"), s.to_kernel_frames);
  EXPECT_EQ(j.at("from_kernel_frames"), s.from_kernel_frames);
  EXPECT_EQ(j.at("tx_failed"), 0);

  // The NIC agrees: with the loop stopped, its counters are ours to read.
  io.stop();
  loop.join();
  const auto c = [&](rm::Counter k) { return dev.nic().counter(k); };
  std::uint64_t fates = 0;
  for (auto k : rm::kRxFates) fates += c(k);
  EXPECT_EQ(c(rm::Counter::kRxFrames), fates) << "RX fates do not balance";
  EXPECT_GE(c(rm::Counter::kRxDeliveredFallback), s.to_kernel_frames);
  EXPECT_EQ(c(rm::Counter::kRxDropRingFull), 0U);
  EXPECT_EQ(c(rm::Counter::kNotifyDropNqFull), 0U);
  // Every frame the bridge posted has been sent (allow the last batch time).
  for (int i = 0; i < 200 && c(rm::Counter::kTxSent) < s.from_kernel_frames; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(c(rm::Counter::kTxSent), bridge->stats().from_kernel_frames);
  EXPECT_EQ(
      c(rm::Counter::kTxDropBadLen) + c(rm::Counter::kTxDropSpoof) + c(rm::Counter::kTxDropFilter),
      0U);
  EXPECT_GT(c(rm::Counter::kIrqs), 0U);

  // The destructor gives conn 0 and NQ 0 back and frees the DMA memory.
  bridge.reset();
  EXPECT_EQ(dev.dma_bytes(), 0U);
}

}  // namespace
}  // namespace norman::normand
