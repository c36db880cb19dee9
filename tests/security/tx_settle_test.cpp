// A client cannot freeze normand by closing many connections whose TX ring
// keeps changing. The attacker (uid 60001) opens 1,000 connections, hands
// their ring mappings to a helper process that rewrites every TX descriptor
// as PENDING in a loop (a ring that never looks settled), and exits, so
// that normand reclaims all 1,000 at once while the helper scribbles on.
// Meanwhile another client asks normand for its status (and now and then a
// new client says hello) in a loop: no answer may take 200 ms longer than
// the slowest with normand idle (normand used to wait for each ring to stop
// changing, up to 50 ms a connection, in one turn: about 50 s here), and
// every connection, queue, port and DMA byte must come back. Runs against the real nsim + normand
// (root only: TAP devices, a network namespace, setuid).
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ctl_socket.hpp"
#include "norman/regmap.hpp"
#include "normand_proto.hpp"
#include "system_env.hpp"

namespace norman::security_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using system_test::SystemConfig;
using system_test::SystemEnv;
namespace rm = norman::regmap;

constexpr unsigned kNobody = 60001;
constexpr unsigned kConns = 1000;
constexpr auto kLatencyBound = 200ms;

struct Ring {
  std::uint64_t* desc = nullptr;
  std::size_t n = 0;
};

// The attacker: never returns. Reports "ready <helper pid>" or an error.
[[noreturn]] void attacker(const std::string& sock, int report) {
  auto say = [&](const std::string& s) {
    (void)!::write(report, s.data(), s.size());
    ::_exit(0);
  };
  try {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
        ::setresuid(kNobody, kNobody, kNobody) != 0) {
      say(std::string("error: cannot drop privileges: ") + std::strerror(errno));
    }
    auto c = ctl::Client::connect(sock);
    auto h = c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    auto q = c.call(ctl::op::kNqOpen, {{"log2", 6}});
    const int nq = q.body.value("nq_id", 0);
    std::vector<Ring> rings;
    for (unsigned i = 0; i < kConns; ++i) {
      auto m =
          c.call(ctl::op::kUdpOpen,
                 {{"nq_id", nq}, {"rx_log2", ctl::kMinRingLog2}, {"tx_log2", ctl::kMinRingLog2}});
      const auto& lay = m.body.at("layout");
      const auto bytes = lay.at("bytes").get<std::size_t>();
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m.fds.at(0).get(), 0);
      if (p == MAP_FAILED) say(std::string("error: mmap: ") + std::strerror(errno));
      rings.push_back({reinterpret_cast<std::uint64_t*>(static_cast<std::uint8_t*>(p) +
                                                        lay.at("tx_desc_off").get<std::size_t>()),
                       std::size_t{1} << ctl::kMinRingLog2});
    }
    const pid_t helper = ::fork();
    if (helper == 0) {
      // The helper keeps the mappings but no control connection or doorbells.
      ::close(c.fd());
      ::close(report);  // the test reads the report until EOF
      for (auto& f : h.fds) f.reset();
      for (std::uint64_t round = 1;; ++round) {
        for (auto& r : rings) {
          for (std::size_t k = 0; k < r.n; ++k) {
            std::uint64_t d = 0;
            rm::tx_desc::kLen.set(d, 60 + round % 64);
            rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusPending);
            rm::tx_desc::kSeq.set(d, round & 0xFFFF);
            __atomic_store_n(r.desc + k, d, __ATOMIC_RELEASE);
          }
        }
        // Every ring changes every fraction of a millisecond, without
        // taking a whole core from normand on a small machine.
        ::usleep(200);
      }
    }
    say("ready " + std::to_string(helper));
  } catch (const std::exception& e) {
    say(std::string("error: ") + e.what());
  }
  ::_exit(0);
}

TEST(TxSettle, ClosingScribbledRingsNeverBlocksOtherClients) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (TAP devices, network namespaces, setuid)";
  if (system_test::sh("command -v ip").first != 0) GTEST_SKIP() << "needs iproute2 (ip)";
  // One user with 1,000 listening connections: above the default per-uid
  // limits (docs/limits.md), which this test is not about.
  SystemConfig cfg{NSIM_BINARY, NORMAND_BINARY, "10.61.0", "02:00:00:00:61:02"};
  cfg.normand_args = {"--quota", "listen=2000", "--quota", "connections=2000",
                      "--quota", "dma_bytes=0"};
  SystemEnv env(cfg);
  std::string why;
  ASSERT_TRUE(env.start(why)) << why;

  auto root = ctl::Client::connect(env.normand_socket());
  root.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
  const auto dma_before = root.call(ctl::op::kStatus).body.at("dma_bytes").get<std::uint64_t>();
  // What one round of requests costs on this machine with normand idle
  // (a loaded CI host adds its own delays, the same before and during).
  auto round_trip = [&](unsigned i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto st = root.call(ctl::op::kStatus).body.at("totals");
    if (i % 10 == 0) {
      auto fresh = ctl::Client::connect(env.normand_socket());
      fresh.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    }
    return std::pair{std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - t0),
                     st};
  };
  auto baseline = 0ms;
  for (unsigned i = 0; i < 100; ++i) {
    baseline = std::max(baseline, round_trip(i).first);
    std::this_thread::sleep_for(2ms);
  }

  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    attacker(env.normand_socket(), p[1]);
  }
  ::close(p[1]);
  std::string report;
  char buf[256];
  pollfd pf{p[0], POLLIN, 0};
  while (::poll(&pf, 1, 120000) == 1) {
    const auto n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    report.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  int st = 0;
  ::waitpid(child, &st, 0);  // the owner is gone: normand reclaims everything now
  const auto reclaim_start = std::chrono::steady_clock::now();
  ASSERT_EQ(report.rfind("ready ", 0), 0u) << report;
  const pid_t helper = std::stoi(report.substr(6));
  struct KillHelper {
    pid_t pid;
    ~KillHelper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } kill_helper{helper};

  // Other clients keep being served while the 1,000 connections close.
  auto worst = 0ms;
  unsigned requests = 0;
  json totals;
  const auto deadline = reclaim_start + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto [dt, t] = round_trip(requests);
    totals = t;
    worst = std::max(worst, dt);
    ++requests;
    if (totals.at("connections") == 0 && totals.at("nqs") == 0) break;
    std::this_thread::sleep_for(2ms);
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - reclaim_start);
  std::printf(
      "reclaim of %u scribbled connections: %lld ms, %u requests, worst latency %lld ms "
      "(idle: %lld ms)\n",
      kConns, static_cast<long long>(took.count()), requests, static_cast<long long>(worst.count()),
      static_cast<long long>(baseline.count()));
  EXPECT_LT(worst, baseline + kLatencyBound) << "normand's event loop was blocked";
  EXPECT_EQ(totals.at("connections"), 0) << totals.dump();
  EXPECT_EQ(totals.at("nqs"), 0) << totals.dump();
  EXPECT_EQ(totals.at("ports"), 0) << totals.dump();
  EXPECT_EQ(root.call(ctl::op::kStatus).body.at("dma_bytes").get<std::uint64_t>(), dma_before)
      << "every DMA byte comes back";
}

}  // namespace
}  // namespace norman::security_test

// Its own nsim + normand (a tighter quota-free setup than security_main's).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
