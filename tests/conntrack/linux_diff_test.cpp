// The conntrack model and the reference evaluator against Linux: a judging
// namespace (A, 10.99.0.1) with a stateful ruleset and a peer namespace (B)
// joined by a veth pair. Packets from B are sent as Ethernet frames into the
// pair (A's PREROUTING conntrack, then INPUT); packets from A are sent on a
// raw socket inside A (LOCAL_OUT conntrack, then OUTPUT). A's own stack
// never answers: its packets (RSTs, echo replies, port unreachables) carry
// no user socket and A's raw table drops them before conntrack sees them.
// The model gets the same packets in the same order; then Linux's per-rule
// counters (iptables-save -c) and its conntrack -L entries (state, flags,
// counters; timeouts within a second) must equal the model's.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "conntrack.hpp"
#include "evaluate.hpp"
#include "linux_filter_ns.hpp"
#include "packets.hpp"
#include "syntax.hpp"

namespace norman::conntrack {
namespace {

using namespace test;
using filter::difftest::sh;
using filter::difftest::sh_in;
using namespace std::chrono_literals;

const std::uint32_t kA = ip4("10.99.0.1");
const std::uint32_t kB = ip4("10.99.0.2");
constexpr std::uint8_t kMacA[6] = {0x02, 0, 0, 0x63, 0, 1};
constexpr std::uint8_t kMacB[6] = {0x02, 0, 0, 0x63, 0, 2};

// The judging side's ruleset: established and related traffic in, NEW only
// to listed ports, INVALID dropped, DROP policy; OUTPUT counts by state and
// direction and drops NEW to port 25.
constexpr const char* kRules =
    "*filter\n"
    ":INPUT DROP [0:0]\n"
    ":FORWARD ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
    "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\n"
    "-A INPUT -p udp -m udp --dport 53 -m state --state NEW -j ACCEPT\n"
    "-A INPUT -p icmp -m icmp --icmp-type 8 -m conntrack --ctstate NEW -j ACCEPT\n"
    "-A OUTPUT -m conntrack --ctstate INVALID -j DROP\n"
    "-A OUTPUT -m conntrack --ctdir REPLY\n"
    "-A OUTPUT -m conntrack --ctstatus ASSURED\n"
    "-A OUTPUT -m conntrack --ctproto 6 --ctorigdst 10.99.0.2 --ctorigdstport 25 -j DROP\n"
    "-A OUTPUT -m state --state NEW -m conntrack --ctorigsrc 10.99.0.0/24 ! --ctstatus CONFIRMED\n"
    "COMMIT\n";

// A socket created inside network namespace `ns`.
int socket_in(const std::string& ns, int domain, int type, int proto) {
  const int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int there = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  int s = -1;
  if (self >= 0 && there >= 0 && ::setns(there, CLONE_NEWNET) == 0) {
    s = ::socket(domain, type | SOCK_CLOEXEC, proto);
    if (::setns(self, CLONE_NEWNET) != 0) std::abort();  // never stay in the wrong namespace
  }
  if (self >= 0) ::close(self);
  if (there >= 0) ::close(there);
  return s;
}

class TwoNamespaces {
 public:
  TwoNamespaces() {
    const std::string id = std::to_string(::getpid());
    a_ = "ctdiffa" + id;
    b_ = "ctdiffb" + id;
    const std::string va = "cta" + id;
    const std::string vb = "ctb" + id;
    run("ip netns add " + a_);
    run("ip netns add " + b_);
    run("ip link add " + va + " address 02:00:00:63:00:01 type veth peer name " + vb +
        " address 02:00:00:63:00:02");
    run("ip link set " + va + " netns " + a_);
    run("ip link set " + vb + " netns " + b_);
    run("ip -n " + a_ + " addr add 10.99.0.1/24 dev " + va);
    run("ip -n " + a_ + " link set " + va + " up");
    run("ip -n " + a_ + " link set lo up");
    run("ip -n " + b_ + " link set " + vb + " up");
    run("ip -n " + a_ + " neigh replace 10.99.0.2 lladdr 02:00:00:63:00:02 dev " + va +
        " nud permanent");
    run("ip netns exec " + a_ + " sysctl -qw net.netfilter.nf_conntrack_acct=1");
    // A's stack keeps quiet: only packets of a user socket (ours, uid 0) leave.
    auto [rc, out] = sh_in("ip netns exec " + a_ + " iptables-restore",
                           "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                           "-A OUTPUT -m owner --uid-owner 0 -j ACCEPT\n-A OUTPUT -j DROP\n"
                           "COMMIT\n");
    if (rc != 0) throw std::runtime_error("raw table: " + out);
    auto [rc2, out2] = sh_in("ip netns exec " + a_ + " iptables-restore --noflush", kRules);
    if (rc2 != 0) throw std::runtime_error("rules: " + out2);

    raw_ = socket_in(a_, AF_INET, SOCK_RAW, IPPROTO_RAW);
    frames_ = socket_in(b_, AF_PACKET, SOCK_RAW, 0);
    if (raw_ < 0 || frames_ < 0) throw std::runtime_error("sockets in the namespaces");
    const std::string idx = sh("ip -n " + b_ + " -o link show " + vb + " | cut -d: -f1").second;
    ifindex_ = std::stoi(idx);
  }
  ~TwoNamespaces() {
    if (raw_ >= 0) ::close(raw_);
    if (frames_ >= 0) ::close(frames_);
    sh("ip netns del " + a_);
    sh("ip netns del " + b_);
  }
  TwoNamespaces(const TwoNamespaces&) = delete;
  TwoNamespaces& operator=(const TwoNamespaces&) = delete;

  // From B into A's PREROUTING.
  void send_in(const Bytes& ip) {
    Bytes frame(14 + ip.size());
    std::memcpy(frame.data(), kMacA, 6);
    std::memcpy(frame.data() + 6, kMacB, 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    std::memcpy(frame.data() + 14, ip.data(), ip.size());
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, kMacA, 6);
    if (::sendto(frames_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof to) != static_cast<ssize_t>(frame.size()))
      throw std::runtime_error("send into A failed");
    std::this_thread::sleep_for(5ms);  // veth delivers in softirq: let it finish
  }

  // From A's own raw socket (LOCAL_OUT). EPERM is netfilter's drop.
  void send_out(const Bytes& ip) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr.s_addr, ip.data() + 16, 4);
    const ssize_t n =
        ::sendto(raw_, ip.data(), ip.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (n < 0 && errno != EPERM)
      throw std::runtime_error(std::string("send from A: ") + std::strerror(errno));
    std::this_thread::sleep_for(1ms);
  }

  std::string in_a(const std::string& cmd) const { return "ip netns exec " + a_ + " " + cmd; }

 private:
  static void run(const std::string& cmd) {
    auto [rc, out] = sh(cmd);
    if (rc != 0) throw std::runtime_error(cmd + ": " + out);
  }
  std::string a_, b_;
  int raw_ = -1;
  int frames_ = -1;
  int ifindex_ = 0;
};

// The model side: conntrack, then the reference evaluator, then confirm.
class Model {
 public:
  Model() {
    std::uint64_t id = 0;
    nfw::apply_restore(rules_, nfw::parse_restore(kRules), false, false, [&] { return ++id; });
  }
  void packet(const Bytes& ip, bool in, std::uint64_t now) {
    Result r = table_.process(ip, in ? Hook::kPreRouting : Hook::kLocalOut, now);
    if (r.drop) return;
    Bytes frame(14, 0);
    frame[12] = 0x08;
    frame.insert(frame.end(), ip.begin(), ip.end());
    const auto key = filter::key_of_frame(
        frame, in ? filter::Direction::kInput : filter::Direction::kOutput, 0, std::nullopt);
    ASSERT_TRUE(key.has_value());
    const filter::Verdict v = filter::evaluate(rules_, *key, ids_, &r.view);
    filter::count(rules_, v, *key);
    if (v.action == filter::rf::Action::kAccept) table_.confirm(r, now);
  }
  filter::Ruleset& rules() { return rules_; }
  Table& table() { return table_; }

 private:
  class NoIds : public filter::OwnerIds {
   public:
    std::uint16_t cmd_id(std::string_view) override { return 0; }
    std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
  };
  filter::Ruleset rules_;
  NoIds ids_;
  Table table_;
};

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// conntrack -L lines by flow, the timeout set apart (it ticks).
struct Listed {
  std::uint64_t timeout = 0;
  std::string rest;
};

std::map<std::string, Listed> by_flow(const std::vector<std::string>& lines) {
  std::map<std::string, Listed> out;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    std::string proto, num, timeout;
    in >> proto >> num >> timeout;
    std::string rest;
    std::getline(in, rest);
    // The flow: the original tuple's fields.
    std::string flow = proto;
    std::istringstream words(rest);
    for (std::string w; words >> w;) {
      if (w.rfind("packets=", 0) == 0) break;
      if (w.find('=') != std::string::npos) flow += " " + w;
    }
    if (timeout.empty() || timeout.find_first_not_of("0123456789") != std::string::npos) {
      ADD_FAILURE() << "not a conntrack entry: " << line;
      continue;
    }
    out[flow] = Listed{std::stoull(timeout), proto + " " + num + rest};
  }
  return out;
}

std::vector<std::string> linux_entries(const TwoNamespaces& ns) {
  // Its summary line goes to stderr, which must not interleave with the entries.
  auto [rc, out] = sh(ns.in_a("sh -c 'conntrack -L 2>/dev/null'"));
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("conntrack v", 0) == 0 || l.empty()) continue;
    lines.push_back(l);
  }
  return lines;
}

// Runs `trace` on Linux and on the model, then compares them.
class ConntrackLinuxDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables, conntrack)";
    if (sh("command -v conntrack && command -v iptables-restore && command -v ip").first != 0)
      GTEST_SKIP() << "conntrack, iptables or ip is not installed";
    try {
      ns_ = std::make_unique<TwoNamespaces>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot set up the namespaces: " << e.what();
    }
  }
  void in(const Bytes& p) {
    const std::uint64_t t = now_ns();
    ns_->send_in(p);
    model_.packet(p, true, t);
  }
  void out(const Bytes& p) {
    const std::uint64_t t = now_ns();
    ns_->send_out(p);
    model_.packet(p, false, t);
  }
  // timeouts = false: everything but the timeouts (see the random test).
  void compare(bool timeouts = true) {
    auto* ns = ns_.get();
    auto& model = model_;
    // Per-rule counters.
    auto [rc, saved] = sh(ns->in_a("iptables-save -c -t filter"));
    ASSERT_EQ(rc, 0) << saved;
    filter::Ruleset theirs;
    std::uint64_t id = 0;
    nfw::apply_restore(theirs, nfw::parse_restore(saved), false, true, [&] { return ++id; });
    EXPECT_EQ(nfw::format_save(model.rules(), true), nfw::format_save(theirs, true));

    // Entries: everything but the ticking timeout exactly, that within a second.
    const std::uint64_t t = now_ns();
    std::vector<std::string> ours;
    for (const Entry& e : model.table().list(t)) ours.push_back(format_entry(e, t));
    const auto linux_lines = linux_entries(*ns);
    const auto mine = by_flow(ours);
    const auto real = by_flow(linux_lines);
    std::string all_linux;
    for (const auto& l : linux_lines) all_linux += l + "\n";
    if (std::getenv("CONNTRACK_DIFF_VERBOSE") != nullptr) std::cerr << saved << all_linux;
    EXPECT_EQ(mine.size(), real.size()) << all_linux;
    for (const auto& [flow, m] : mine) {
      const auto it = real.find(flow);
      if (it == real.end()) {
        ADD_FAILURE() << "Linux has no entry for " << flow << "\nLinux:\n" << all_linux;
        continue;
      }
      EXPECT_EQ(m.rest, it->second.rest);
      if (timeouts) {
        EXPECT_LE(std::max(m.timeout, it->second.timeout) - std::min(m.timeout, it->second.timeout),
                  1u)
            << flow;
      }
    }
  }

  std::unique_ptr<TwoNamespaces> ns_;
  Model model_;
};

TEST_F(ConntrackLinuxDiff, StatefulRulesetAgreesWithLinux) {
  // 1. B connects to A:22, data both ways, B closes first.
  in(tcp(kB, kA, 40000, 22, kSyn, 100, 0));
  out(tcp(kA, kB, 22, 40000, kSyn | kAck, 9000, 101));
  in(tcp(kB, kA, 40000, 22, kAck, 101, 9001));
  in(tcp(kB, kA, 40000, 22, kAck | kPsh, 101, 9001, 10));
  out(tcp(kA, kB, 22, 40000, kAck, 9001, 111));
  out(tcp(kA, kB, 22, 40000, kAck | kPsh, 9001, 111, 5));
  in(tcp(kB, kA, 40000, 22, kAck, 111, 9006));
  in(tcp(kB, kA, 40000, 22, kFin | kAck, 111, 9006));
  out(tcp(kA, kB, 22, 40000, kAck, 9006, 112));
  out(tcp(kA, kB, 22, 40000, kFin | kAck, 9006, 112));
  in(tcp(kB, kA, 40000, 22, kAck, 112, 9007));
  // 2. B to a port not listed: NEW dropped, no entry; A's SYN/ACK is INVALID.
  in(tcp(kB, kA, 40001, 23, kSyn, 500, 0));
  out(tcp(kA, kB, 23, 40001, kSyn | kAck, 7000, 501));
  // 3. A connects to B:80, B resets it.
  out(tcp(kA, kB, 41000, 80, kSyn, 3000, 0));
  in(tcp(kB, kA, 80, 41000, kSyn | kAck, 6000, 3001));
  out(tcp(kA, kB, 41000, 80, kAck, 3001, 6001));
  in(tcp(kB, kA, 80, 41000, kRst | kAck, 6001, 3001));
  // 4. Out of state: a mid-stream ACK to A:22 (picked up, NEW), one to A:23
  //    (NEW, dropped), a FIN and a SYN+FIN with no connection (INVALID).
  in(tcp(kB, kA, 40002, 22, kAck, 800, 900));
  in(tcp(kB, kA, 40003, 23, kAck, 800, 900));
  in(tcp(kB, kA, 40004, 22, kFin | kAck, 800, 900));
  in(tcp(kB, kA, 40005, 22, kSyn | kFin, 800, 0));
  //    A's SYN/ACK on the closed 41000 connection, and a SYN to B:25 (dropped).
  out(tcp(kA, kB, 41000, 80, kSyn | kAck, 3001, 6001));
  out(tcp(kA, kB, 41001, 25, kSyn, 1, 0));
  // 5. UDP: B asks A:53, A answers; A asks B:123, B answers; B to A:9999 dropped.
  in(udp(kB, kA, 5353, 53, 30));
  out(udp(kA, kB, 53, 5353, 60));
  out(udp(kA, kB, 40123, 123, 48));
  in(udp(kB, kA, 123, 40123, 48));
  in(udp(kB, kA, 5354, 9999, 8));
  // 6. Pings both ways, and an echo reply nobody asked for (INVALID).
  in(icmp_echo(kB, kA, 8, 0x1234, 1));
  out(icmp_echo(kA, kB, 0, 0x1234, 1));
  out(icmp_echo(kA, kB, 8, 0x4321, 1));
  in(icmp_echo(kB, kA, 0, 0x4321, 1));
  in(icmp_echo(kB, kA, 0, 0x5555, 1));
  // 7. B says port unreachable about A's established UDP flow (RELATED), and
  //    about a flow nobody tracks (INVALID).
  const Bytes later = udp(kA, kB, 40123, 123, 48);
  out(later);
  in(icmp_error(kB, kA, 3, 3, later));
  in(icmp_error(kB, kA, 3, 3, udp(kA, kB, 40999, 123, 8)));
  // 8. The DNS flow still alive after two seconds: a stream, ASSURED.
  std::this_thread::sleep_for(2100ms);
  in(udp(kB, kA, 5353, 53, 30));
  out(udp(kA, kB, 53, 5353, 60));
  compare();

  // conntrack -D (by the original tuple) and -F, on both sides.
  auto [rc, msg] = sh(ns_->in_a("conntrack -D -p udp --orig-src 10.99.0.2 --orig-port-dst 53"));
  ASSERT_EQ(rc, 0) << msg;
  EXPECT_TRUE(model_.table().erase(Tuple{kB, kA, 5353, 53, 17}));
  compare();
  sh(ns_->in_a("conntrack -F"));
  model_.table().flush();
  compare();
  EXPECT_TRUE(linux_entries(*ns_).empty());
}

// TCP's special cases: retransmitted SYNs and SYN/ACKs, a SYN inside an
// established connection (ignored), a reopen after TIME_WAIT, simultaneous
// open, a RST answering a SYN (the entry goes), bad checksums on received
// packets, and an ICMP error about a TCP connection.
TEST_F(ConntrackLinuxDiff, TcpCornerCasesAgreeWithLinux) {
  // Retransmissions: neither counts nor extends the entry.
  in(tcp(kB, kA, 42000, 22, kSyn, 100, 0));
  in(tcp(kB, kA, 42000, 22, kSyn, 100, 0));
  out(tcp(kA, kB, 22, 42000, kSyn | kAck, 500, 101));
  out(tcp(kA, kB, 22, 42000, kSyn | kAck, 500, 101));
  in(tcp(kB, kA, 42000, 22, kAck, 101, 501));
  // A SYN inside the connection is let through, state kept.
  in(tcp(kB, kA, 42000, 22, kSyn, 7777, 0));
  in(tcp(kB, kA, 42000, 22, kAck | kPsh, 101, 501, 20));
  out(tcp(kA, kB, 22, 42000, kAck, 501, 121));
  // A closes first, then B reopens the same tuple from TIME_WAIT.
  out(tcp(kA, kB, 22, 42000, kFin | kAck, 501, 121));
  in(tcp(kB, kA, 42000, 22, kAck, 121, 502));
  in(tcp(kB, kA, 42000, 22, kFin | kAck, 121, 502));
  out(tcp(kA, kB, 22, 42000, kAck, 502, 122));
  in(tcp(kB, kA, 42000, 22, kSyn, 90000, 0));
  out(tcp(kA, kB, 22, 42000, kSyn | kAck, 12345, 90001));
  // Simultaneous open between A:43000 and B:44000 (A's SYN opens it).
  out(tcp(kA, kB, 43000, 44000, kSyn, 10, 0));
  in(tcp(kB, kA, 44000, 43000, kSyn, 20, 0));
  out(tcp(kA, kB, 43000, 44000, kSyn | kAck, 10, 21));
  in(tcp(kB, kA, 44000, 43000, kSyn | kAck, 20, 11));
  in(tcp(kB, kA, 44000, 43000, kAck, 21, 11));
  // B's SYN to A:22 answered by a RST from A: no connection, no entry.
  in(tcp(kB, kA, 42001, 22, kSyn, 1, 0));
  out(tcp(kA, kB, 22, 42001, kRst | kAck, 0, 2));
  // Bad checksums on received packets are INVALID (a SYN, a datagram).
  Bytes bad = tcp(kB, kA, 42002, 22, kSyn, 1, 0);
  bad[36] ^= 0x5A;
  in(bad);
  Bytes bad_udp = udp(kB, kA, 5000, 53, 8);
  bad_udp[26] ^= 0x5A;
  in(bad_udp);
  // Host unreachable about A's SYN to B:81: RELATED to that SYN_SENT entry.
  const Bytes syn81 = tcp(kA, kB, 45000, 81, kSyn, 1, 0);
  out(syn81);
  in(icmp_error(kB, kA, 3, 1, syn81));
  compare();
}

// Random TCP conversations: both ends send SYN, SYN/ACK, ACK, data, FIN and
// RST in random order, with coherent sequence numbers (each packet starts
// at the sender's next sequence number and acknowledges all the peer has
// sent), so the state machine and its special cases are explored in orders
// no handwritten trace has, while staying inside the windows Linux checks.
// Compared with Linux after every round of 30 packets: states, flags, and
// per-entry and per-rule counters. Not the timeouts: with data flowing in
// random orders Linux shortens them for unacknowledged data and
// retransmissions, which needs the window tracking the model leaves out.
TEST_F(ConntrackLinuxDiff, RandomTcpConversationsAgreeWithLinux) {
  struct End {
    std::uint32_t addr;
    std::uint16_t port;
    std::uint32_t isn;
    std::uint32_t next;  // next sequence number to send
    bool syn_sent = false;
    bool fin_sent = false;
    std::uint32_t last_seq = 0, last_ack = 0;  // to avoid exact retransmissions
  };
  // The model does not track windows (docs/conntrack.md): Linux is told
  // not to judge by them either, so that random orders compare.
  ASSERT_EQ(sh(ns_->in_a("sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1")).first, 0);
  std::mt19937 rng(2026);
  std::string trace;
  const bool step_by_step = std::getenv("CONNTRACK_DIFF_STEP") != nullptr;
  for (int round = 0; round < 8 && !HasFailure(); ++round) {
    trace.clear();
    for (int conn = 0; conn < 3; ++conn) {
      const bool inbound = (rng() & 1) != 0;
      const auto cport = static_cast<std::uint16_t>(20000 + round * 10 + conn);
      End client{inbound ? kB : kA, cport, static_cast<std::uint32_t>(rng()), 0};
      End server{inbound ? kA : kB, static_cast<std::uint16_t>(inbound ? 22 : 80),
                 static_cast<std::uint32_t>(rng()), 0};
      client.next = client.isn;
      server.next = server.isn;
      for (int step = 0; step < 10; ++step) {
        const bool from_client = (rng() % 5) < 3;
        End& me = from_client ? client : server;
        End& peer = from_client ? server : client;
        // No RST: Linux judges a RST by the highest ACK it saw in window,
        // which the model does not track (the handwritten traces cover RSTs).
        static constexpr std::uint8_t kKinds[] = {kSyn,        kSyn | kAck, kAck,
                                                  kAck | kPsh, kAck | kPsh, kFin | kAck};
        const std::uint8_t flags = kKinds[rng() % std::size(kKinds)];
        std::uint32_t seq = (flags & kSyn) ? me.isn : me.next;
        const std::uint32_t ack = peer.syn_sent ? peer.next : 0;
        std::size_t len = (flags & kPsh) ? 1 + rng() % 40 : 0;
        if ((flags & (kSyn | kRst | kFin)) == 0 && len == 0 && seq == me.last_seq &&
            ack == me.last_ack) {
          len = 1;  // an exact retransmission would count towards max_retrans
        }
        if (flags & kSyn) {
          if (!me.syn_sent) me.next = me.isn + 1;
          me.syn_sent = true;
        } else {
          me.next += static_cast<std::uint32_t>(len);
          if (flags & kFin) {
            if (!me.fin_sent) me.next += 1;
            if (me.fin_sent) seq = me.next - 1;
            me.fin_sent = true;
          }
        }
        me.last_seq = seq;
        me.last_ack = ack;
        const Bytes p = tcp(me.addr, peer.addr, me.port, peer.port, flags, seq, ack, len);
        trace += (from_client ? "c " : "s ") + std::to_string(me.port) +
                 " flags=" + std::to_string(flags) + " seq=" + std::to_string(seq - me.isn) +
                 " ack=" + std::to_string(ack - peer.isn) + " len=" + std::to_string(len) + "\n";
        if (me.addr == kA) {
          out(p);
        } else {
          in(p);
        }
        if (step_by_step) {
          compare(false);
          if (HasFailure()) {
            ADD_FAILURE() << "after:\n" << trace;
            return;
          }
        }
      }
    }
    compare(false);
    if (HasFailure()) ADD_FAILURE() << "round " << round << ":\n" << trace;
  }
}

}  // namespace
}  // namespace norman::conntrack
