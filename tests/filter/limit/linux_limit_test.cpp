// The model against Linux: the same rules loaded into a network namespace
// with iptables-legacy (which runs the kernel's xt_limit and xt_hashlimit;
// iptables-nft 1.8.9 turns -m limit into nft's own limit expression, a
// different algorithm), the same paced trace of UDP packets sent through a
// veth pair from a second namespace, and the per-rule packet counters of
// both compared exactly.
//
// Exact despite scheduling jitter: the trace is planned with the model so
// that no packet falls within kSlack jiffies of a token becoming available
// (each burst is placed where shifting it by up to kSlack jiffies either
// way changes no decision). The model is then fed the times recorded when
// the packets were sent, on the kernel's own jiffy grid (read from
// /proc/timer_list), so a send that is late by less than kSlack jiffies
// (12 ms at HZ 250) changes nothing; the test checks that every send took
// less than that. No tolerance on the counters.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <ctime>
#include <optional>

#include "evaluate.hpp"
#include "rate_limit.hpp"
#include "test_util.hpp"

namespace norman::filter {
namespace {

using nfw::test::shell;

constexpr int kSlack = 3;  // jiffies either way

constexpr const char* kRules =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -p udp -m udp --dport 9001 -m limit --limit 5/sec --limit-burst 3 -j ACCEPT\n"
    "-A INPUT -p udp -m udp --dport 9001 -j DROP\n"
    // Before --dport: every UDP packet reaching it takes a token of its source port's bucket.
    "-A INPUT -p udp -m hashlimit --hashlimit-upto 2/sec --hashlimit-burst 2 --hashlimit-mode "
    "srcport --hashlimit-name nfwt1 -m udp --dport 9002 -j ACCEPT\n"
    "-A INPUT -p udp -m udp --dport 9002 -j DROP\n"
    "-A INPUT -p udp -m udp --dport 9003 -m hashlimit --hashlimit-above 4/sec --hashlimit-burst 2 "
    "--hashlimit-mode srcip,dstport --hashlimit-name nfwt2 -j DROP\n"
    "-A INPUT -p udp -m limit --limit 20/min --limit-burst 2\n"
    // Names rule 3's table: its buckets and rule 3's rate (2/sec burst 2), not this one's.
    "-A INPUT -p udp -m udp --dport 9004 -m hashlimit --hashlimit-upto 50/sec --hashlimit-burst 9 "
    "--hashlimit-mode srcport --hashlimit-name nfwt1 -j DROP\n"
    "-A INPUT -p udp -j ACCEPT\n"
    "COMMIT\n";

constexpr std::array<std::uint16_t, 3> kSports{40001, 40002, 40003};
constexpr std::uint32_t kSrc = 0x0A4D0001;  // 10.77.0.1 (namespace A)
constexpr std::uint32_t kDst = 0x0A4D0002;  // 10.77.0.2 (namespace B)

struct Packet {
  std::size_t socket;  // index into kSports
  std::uint16_t dport;
};
struct Burst {
  std::uint64_t at_ns;  // planned, from the start of the trace
  std::vector<Packet> packets;
};

struct NoOwners : OwnerIds {
  std::uint16_t cmd_id(std::string_view) override { return 0; }
  std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
};

Ruleset load_rules(const std::string& text) {
  Ruleset rs;
  nfw::test::Ids ids;
  nfw::apply_restore(rs, nfw::parse_restore(text), false, true, ids.fn());
  return rs;
}

Key key_of(const Packet& p) {
  Key k;
  k[rf::FieldId::kSrcIp] = kSrc;
  k[rf::FieldId::kDstIp] = kDst;
  k[rf::FieldId::kProto] = 17;
  k[rf::FieldId::kSport] = kSports[p.socket];
  k[rf::FieldId::kDport] = p.dport;
  k.flags = flag_bit(rf::Flag::kL4Valid);
  k.frame_bytes = 20 + 8 + 8;
  return k;
}

// The verdict path of each packet of `burst` sent at `t_ns` (model time).
std::vector<std::vector<CounterRef>> decide(const Ruleset& rs, LimiterState& state,
                                            const KernelClock& clock, const Burst& burst,
                                            std::uint64_t t_ns) {
  NoOwners owners;
  std::vector<std::vector<CounterRef>> out;
  for (const Packet& p : burst.packets) {
    LimitContext ctx{t_ns, clock, &state};
    out.push_back(evaluate(rs, key_of(p), owners, &ctx).path);
  }
  return out;
}

// Plans the trace: each burst goes at the first time at or after its wanted
// gap where moving it by up to kSlack jiffies changes no decision.
std::vector<Burst> plan(const Ruleset& rs, unsigned hz) {
  const KernelClock clock{hz, 0};
  const std::uint64_t jiffy = 1'000'000'000ull / hz;
  LimiterState state(hz);
  state.configure(rs);
  std::vector<Burst> out;
  std::uint64_t t = 10 * jiffy + jiffy / 2;
  std::uint32_t seed = 12345;
  auto rnd = [&](std::uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % n;
  };
  for (int b = 0; b < 40; ++b) {
    Burst burst;
    const std::uint32_t n = 1 + rnd(7);
    for (std::uint32_t i = 0; i < n; ++i) {
      burst.packets.push_back(
          Packet{rnd(kSports.size()), static_cast<std::uint16_t>(9001 + rnd(4))});
    }
    // Gaps from a few jiffies (within a token's time) to a second.
    const std::uint64_t want = jiffy * (2 + rnd(b % 5 == 0 ? 250 : 40));
    std::uint64_t at = t + want;
    for (int tries = 0;; ++tries) {
      EXPECT_LT(tries, 1000) << "no robust time for burst " << b;
      if (tries >= 1000) return out;
      LimiterState ref = state;
      const auto decisions = decide(rs, ref, clock, burst, at);
      bool robust = true;
      for (int d = -kSlack; d <= kSlack && robust; ++d) {
        LimiterState s = state;
        const auto shifted = at + static_cast<std::uint64_t>(static_cast<std::int64_t>(d) *
                                                             static_cast<std::int64_t>(jiffy));
        robust = decide(rs, s, clock, burst, shifted) == decisions;
      }
      if (robust) {
        state = ref;
        break;
      }
      at += jiffy;
    }
    burst.at_ns = at;
    t = at;
    out.push_back(std::move(burst));
  }
  return out;
}

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

class LinuxLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables-legacy)";
    if (shell("command -v iptables-legacy-restore && command -v ip").status != 0)
      GTEST_SKIP() << "iptables-legacy or ip is not installed";
    const std::string id = std::to_string(getpid());
    a_ = "nfwlimA-" + id;
    b_ = "nfwlimB-" + id;
    for (const std::string& c :
         {"ip netns add " + a_, "ip netns add " + b_,
          "ip -n " + a_ + " link add va type veth peer name vb netns " + b_,
          "ip -n " + a_ + " addr add 10.77.0.1/24 dev va",
          "ip -n " + b_ + " addr add 10.77.0.2/24 dev vb", "ip -n " + a_ + " link set va up",
          "ip -n " + b_ + " link set vb up", "ip -n " + a_ + " link set lo up",
          "ip -n " + b_ + " link set lo up"}) {
      const auto o = shell(c + " 2>&1");
      ASSERT_EQ(o.status, 0) << c << ": " << o.text;
      created_ = true;
    }
    // No ARP on the way: the first packets would wait for it.
    const std::string mac = shell("ip -n " + b_ + " -br link show vb | awk '{print $3}'").text;
    ASSERT_EQ(shell("ip -n " + a_ + " neigh replace 10.77.0.2 lladdr " + mac.substr(0, 17) +
                    " dev va nud permanent")
                  .status,
              0);
  }
  void TearDown() override {
    for (int s : socks_) close(s);
    if (created_) {
      shell("ip netns del " + a_ + " 2>/dev/null");
      shell("ip netns del " + b_ + " 2>/dev/null");
    }
  }
  // UDP sockets in namespace A, bound to kSports.
  void open_sockets() {
    const int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int ns = open(("/run/netns/" + a_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(self, 0);
    ASSERT_GE(ns, 0);
    ASSERT_EQ(setns(ns, CLONE_NEWNET), 0);
    for (std::uint16_t port : kSports) {
      const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      sa.sin_addr.s_addr = htonl(kSrc);
      EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
      socks_.push_back(s);
    }
    EXPECT_EQ(setns(self, CLONE_NEWNET), 0);
    close(ns);
    close(self);
  }
  std::string a_, b_;
  bool created_ = false;
  std::vector<int> socks_;
};

TEST_F(LinuxLimit, PerRuleCountersEqualTheModelsOnAPacedTrace) {
  const auto clock = running_kernel_clock();
  if (!clock) GTEST_SKIP() << "cannot read the kernel's jiffies (/proc/timer_list)";
  const Ruleset rules = load_rules(kRules);
  const std::vector<Burst> trace = plan(rules, clock->hz);
  ASSERT_EQ(trace.size(), 40u);

  const auto load = nfw::test::shell("printf '%s' '" + std::string(kRules) + "' | ip netns exec " +
                                     b_ + " iptables-legacy-restore 2>&1");
  ASSERT_EQ(load.status, 0) << load.text;
  open_sockets();
  ASSERT_EQ(socks_.size(), kSports.size());

  // Send on schedule and record each packet's time.
  const std::uint64_t jiffy = 1'000'000'000ull / clock->hz;
  const std::uint64_t start = mono_ns() + 50'000'000;
  std::vector<std::vector<std::uint64_t>> sent(trace.size());
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const std::uint64_t at = start + trace[i].at_ns;
    const timespec ts{static_cast<time_t>(at / 1'000'000'000ull),
                      static_cast<long>(at % 1'000'000'000ull)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    for (const Packet& p : trace[i].packets) {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(p.dport);
      to.sin_addr.s_addr = htonl(kDst);
      const char payload[8] = "nfwlimt";
      const std::uint64_t before = mono_ns();
      ASSERT_EQ(sendto(socks_[p.socket], payload, sizeof payload, 0,
                       reinterpret_cast<sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(sizeof payload));
      sent[i].push_back(before);
      // The plan's slack covers a late send, not one later than the slack.
      EXPECT_LT(before - at, kSlack * jiffy) << "burst " << i << " sent late";
    }
  }

  // The model, fed the recorded times on the kernel's jiffy grid.
  Ruleset model = rules;
  LimiterState state(clock->hz);
  state.configure(model);
  NoOwners owners;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    for (std::size_t j = 0; j < trace[i].packets.size(); ++j) {
      const Key k = key_of(trace[i].packets[j]);
      LimitContext ctx{sent[i][j], *clock, &state};
      count(model, evaluate(model, k, owners, &ctx), k);
    }
  }
  const auto saved = shell("ip netns exec " + b_ + " iptables-legacy-save -c");
  ASSERT_EQ(saved.status, 0);
  const Ruleset linux_rules = load_rules(saved.text);
  const Chain* theirs = linux_rules.find("INPUT");
  const Chain* ours = model.find("INPUT");
  ASSERT_NE(theirs, nullptr);
  ASSERT_EQ(theirs->rules.size(), ours->rules.size());
  std::uint64_t total = 0;
  for (std::size_t r = 0; r < ours->rules.size(); ++r) {
    EXPECT_EQ(ours->rules[r].counters.packets, theirs->rules[r].counters.packets)
        << "rule " << r + 1 << ": " << saved.text;
    total += theirs->rules[r].counters.packets;
  }
  // Every packet reached B's INPUT chain and was decided by a rule.
  std::size_t packets = 0;
  for (const Burst& b : trace) packets += b.packets.size();
  EXPECT_EQ(ours->rules[0].counters.packets + ours->rules[1].counters.packets +
                ours->rules[3].counters.packets + ours->rules[4].counters.packets +
                ours->rules[6].counters.packets + ours->rules[7].counters.packets +
                ours->rules[2].counters.packets,
            packets);
  EXPECT_GT(total, 0u);
  // The trace exercises every limiter both ways: each rule counted some
  // packets and (the limited ones) let others fall through to the next.
  for (std::size_t r = 0; r < 7; ++r) EXPECT_GT(ours->rules[r].counters.packets, 0u) << r + 1;
}

TEST(KernelHz, ReadFromTheRunningKernel) {
  const auto hz = running_kernel_hz();
  if (!hz) GTEST_SKIP() << "neither /proc/config.gz nor /proc/timer_list is readable";
  EXPECT_TRUE(*hz == 100 || *hz == 250 || *hz == 300 || *hz == 1000) << *hz;
}

}  // namespace
}  // namespace norman::filter
