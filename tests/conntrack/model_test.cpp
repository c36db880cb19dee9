// The conntrack model's state machine, one behaviour of nf_conntrack per test.
#include <gtest/gtest.h>

#include <random>
#include <type_traits>

#include "conntrack.hpp"
#include "packets.hpp"
#include "tcp_transitions.hpp"

namespace norman::conntrack {
namespace {

using namespace test;

constexpr std::uint64_t kS = 1'000'000'000ULL;
const std::uint32_t kClient = ip4("10.99.0.2");
const std::uint32_t kServer = ip4("10.99.0.1");

// Runs a packet through conntrack and a filter that accepts everything.
Result pass(Table& t, const Bytes& p, std::uint64_t now, Hook hook = Hook::kPreRouting) {
  Result r = t.process(p, hook, now);
  t.confirm(r, now);
  return r;
}

const Entry& only(const Table& t, std::uint64_t now) {
  static std::vector<Entry> keep;
  keep = t.list(now);
  EXPECT_EQ(keep.size(), 1u);
  return keep.at(0);
}

struct Handshake {
  std::uint32_t cseq = 1000, sseq = 5000;
  Bytes syn() const { return tcp(kClient, kServer, 40000, 22, kSyn, cseq, 0); }
  Bytes synack() const { return tcp(kServer, kClient, 22, 40000, kSyn | kAck, sseq, cseq + 1); }
  Bytes ack() const { return tcp(kClient, kServer, 40000, 22, kAck, cseq + 1, sseq + 1); }
};

TEST(ConntrackTcp, HandshakeReachesEstablishedAndAssured) {
  Table t;
  Handshake h;
  Result r = pass(t, h.syn(), 0);
  EXPECT_EQ(r.state, PacketState::kNew);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kSynSent);
  EXPECT_EQ(only(t, 0).expires_ns, 120 * kS);

  r = pass(t, h.synack(), kS);
  EXPECT_EQ(r.state, PacketState::kEstablished);
  EXPECT_EQ(r.dir, Dir::kReply);
  EXPECT_EQ(only(t, kS).tcp_state, TcpState::kSynRecv);
  EXPECT_EQ(only(t, kS).expires_ns, kS + 60 * kS);

  r = pass(t, h.ack(), 2 * kS);
  EXPECT_EQ(r.state, PacketState::kEstablished);
  EXPECT_EQ(r.dir, Dir::kOriginal);
  const Entry& e = only(t, 2 * kS);
  EXPECT_EQ(e.tcp_state, TcpState::kEstablished);
  EXPECT_TRUE(e.status & filter::ctstatus::kAssured);
  EXPECT_EQ(e.expires_ns, 2 * kS + 432000 * kS);
  EXPECT_EQ(e.packets[0], 2u);
  EXPECT_EQ(e.packets[1], 1u);
  EXPECT_EQ(e.bytes[0], 80u);
  EXPECT_EQ(e.bytes[1], 40u);
}

TEST(ConntrackTcp, NewEntryOnlyWhenTheFilterAccepts) {
  Table t;
  Handshake h;
  const Result r = t.process(h.syn(), Hook::kPreRouting, 0);
  EXPECT_EQ(r.state, PacketState::kNew);
  EXPECT_TRUE(r.pending.has_value());
  EXPECT_EQ(t.size(), 0u);  // dropped: never confirmed
  // The SYN/ACK then finds no entry and cannot open one.
  EXPECT_EQ(t.process(h.synack(), Hook::kPreRouting, 1).state, PacketState::kInvalid);
}

TEST(ConntrackTcp, FinFromBothSidesThenLastAckIsTimeWait) {
  Table t;
  Handshake h;
  pass(t, h.syn(), 0);
  pass(t, h.synack(), 0);
  pass(t, h.ack(), 0);
  pass(t, tcp(kClient, kServer, 40000, 22, kFin | kAck, 1001, 5001), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kFinWait);
  EXPECT_EQ(only(t, 0).expires_ns, 120 * kS);
  pass(t, tcp(kServer, kClient, 22, 40000, kAck, 5001, 1002), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kCloseWait);
  EXPECT_EQ(only(t, 0).expires_ns, 60 * kS);
  pass(t, tcp(kServer, kClient, 22, 40000, kFin | kAck, 5001, 1002), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kLastAck);
  EXPECT_EQ(only(t, 0).expires_ns, 30 * kS);
  pass(t, tcp(kClient, kServer, 40000, 22, kAck, 1002, 5002), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kTimeWait);
  EXPECT_EQ(only(t, 0).expires_ns, 120 * kS);
  // A new SYN on the same tuple reopens it (someone sent the first FIN).
  const Result r = pass(t, h.syn(), kS);
  EXPECT_EQ(r.state, PacketState::kNew);
  EXPECT_EQ(only(t, kS).tcp_state, TcpState::kSynSent);
}

TEST(ConntrackTcp, RstClosesWithTenSeconds) {
  Table t;
  Handshake h;
  pass(t, h.syn(), 0);
  pass(t, h.synack(), 0);
  pass(t, h.ack(), 0);
  const Result r = pass(t, tcp(kServer, kClient, 22, 40000, kRst | kAck, 5001, 1001), 0);
  EXPECT_EQ(r.state, PacketState::kEstablished);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kClose);
  EXPECT_EQ(only(t, 0).expires_ns, 10 * kS);
  EXPECT_EQ(t.list(10 * kS).size(), 0u);
}

TEST(ConntrackTcp, RstAnsweringASynDeletesTheEntry) {
  Table t;
  Handshake h;
  pass(t, h.syn(), 0);
  const Result r = pass(t, tcp(kServer, kClient, 22, 40000, kRst | kAck, 0, 1001), 0);
  EXPECT_EQ(r.state, PacketState::kEstablished);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ConntrackTcp, OutOfStatePacketsAreInvalid) {
  Table t;
  Handshake h;
  // No entry: FIN, RST, SYN/ACK cannot open one.
  EXPECT_EQ(pass(t, tcp(kClient, kServer, 1, 2, kFin | kAck, 1, 1), 0).state,
            PacketState::kInvalid);
  EXPECT_EQ(pass(t, tcp(kClient, kServer, 1, 2, kRst, 1, 1), 0).state, PacketState::kInvalid);
  EXPECT_EQ(pass(t, h.synack(), 0).state, PacketState::kInvalid);
  // Flag combinations tcp_error refuses.
  EXPECT_EQ(pass(t, tcp(kClient, kServer, 1, 2, kSyn | kFin, 1, 1), 0).reason, Reason::kTcpFlags);
  EXPECT_EQ(pass(t, tcp(kClient, kServer, 1, 2, 0, 1, 1), 0).reason, Reason::kTcpFlags);
  EXPECT_EQ(t.size(), 0u);
  // In SYN_SENT the client cannot send a SYN/ACK, nor an ACK.
  pass(t, h.syn(), 0);
  EXPECT_EQ(pass(t, tcp(kClient, kServer, 40000, 22, kSyn | kAck, 1000, 1), 0).state,
            PacketState::kInvalid);
  EXPECT_EQ(pass(t, h.ack(), 0).state, PacketState::kInvalid);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kSynSent);
  EXPECT_EQ(only(t, 0).packets[0], 1u);  // INVALID packets are not counted
}

TEST(ConntrackTcp, LoosePickupOfAMidStreamAck) {
  Table t;
  const Result r = pass(t, tcp(kClient, kServer, 40000, 22, kAck | kPsh, 7, 9, 10), 0);
  EXPECT_EQ(r.state, PacketState::kNew);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kEstablished);
  EXPECT_EQ(only(t, 0).expires_ns, 300 * kS);  // unacknowledged until a reply
  pass(t, tcp(kServer, kClient, 22, 40000, kAck, 9, 17), 0);
  EXPECT_FALSE(only(t, 0).status & filter::ctstatus::kAssured);
  pass(t, tcp(kClient, kServer, 40000, 22, kAck, 17, 9), 0);
  EXPECT_TRUE(only(t, 0).status & filter::ctstatus::kAssured);
  Table strict(Config{.capacity = 16, .timeouts = {}, .tcp_loose = false});
  EXPECT_EQ(pass(strict, tcp(kClient, kServer, 40000, 22, kAck, 7, 9), 0).state,
            PacketState::kInvalid);
}

TEST(ConntrackTcp, RetransmittedSynDoesNotRefreshNorCount) {
  Table t;
  Handshake h;
  pass(t, h.syn(), 0);
  const Result r = pass(t, h.syn(), 5 * kS);
  EXPECT_EQ(r.state, PacketState::kNew);
  EXPECT_EQ(only(t, 5 * kS).expires_ns, 120 * kS);
  EXPECT_EQ(only(t, 5 * kS).packets[0], 1u);
}

TEST(ConntrackTcp, SimultaneousOpen) {
  Table t;
  pass(t, tcp(kClient, kServer, 1000, 2000, kSyn, 1, 0), 0);
  pass(t, tcp(kServer, kClient, 2000, 1000, kSyn, 100, 0), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kSynSent2);
  pass(t, tcp(kClient, kServer, 1000, 2000, kSyn | kAck, 1, 101), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kSynRecv);
  pass(t, tcp(kServer, kClient, 2000, 1000, kAck, 101, 2), 0);
  EXPECT_EQ(only(t, 0).tcp_state, TcpState::kEstablished);
}

TEST(ConntrackTcp, TransitionTableSpotChecks) {
  EXPECT_EQ(tcp_next(Dir::kOriginal, kIdxSyn, TcpState::kNone), 1);
  EXPECT_EQ(tcp_next(Dir::kReply, kIdxSynAck, TcpState::kSynSent), 2);
  EXPECT_EQ(tcp_next(Dir::kReply, kIdxSynAck, TcpState::kEstablished), kIgnoreNext);
  EXPECT_EQ(tcp_next(Dir::kOriginal, kIdxSyn, TcpState::kEstablished), kIgnoreNext);
  EXPECT_EQ(tcp_next(Dir::kReply, kIdxAck, TcpState::kNone), kInvalidNext);
  EXPECT_EQ(tcp_next(Dir::kOriginal, kIdxRst, TcpState::kNone), kInvalidNext);
  EXPECT_EQ(tcp_index(kSyn | kAck | kRst), kIdxRst);
  EXPECT_EQ(tcp_index(kFin | kAck), kIdxFin);
}

TEST(ConntrackTcp, BadChecksumOnlyCountsOnReceivedPackets) {
  Table t;
  Bytes p = Handshake{}.syn();
  p[36] ^= 0xFF;  // checksum
  EXPECT_EQ(t.process(p, Hook::kPreRouting, 0).reason, Reason::kChecksum);
  EXPECT_EQ(t.process(p, Hook::kLocalOut, 0).state, PacketState::kNew);
}

TEST(ConntrackUdp, UnrepliedThenStreamAfterTwoSeconds) {
  Table t;
  EXPECT_EQ(pass(t, udp(kClient, kServer, 5353, 53), 0).state, PacketState::kNew);
  EXPECT_EQ(only(t, 0).expires_ns, 30 * kS);
  EXPECT_EQ(pass(t, udp(kClient, kServer, 5353, 53), kS).state, PacketState::kNew);
  EXPECT_EQ(pass(t, udp(kServer, kClient, 53, 5353), kS).state, PacketState::kEstablished);
  EXPECT_TRUE(only(t, kS).status & filter::ctstatus::kSeenReply);
  EXPECT_FALSE(only(t, kS).status & filter::ctstatus::kAssured);
  pass(t, udp(kClient, kServer, 5353, 53), kS + kS / 2);
  EXPECT_FALSE(only(t, 2 * kS).status & filter::ctstatus::kAssured);
  EXPECT_EQ(only(t, 2 * kS).expires_ns, kS + kS / 2 + 30 * kS);
  pass(t, udp(kServer, kClient, 53, 5353), 3 * kS);
  EXPECT_TRUE(only(t, 3 * kS).status & filter::ctstatus::kAssured);
  EXPECT_EQ(only(t, 3 * kS).expires_ns, 123 * kS);
  EXPECT_EQ(t.list(123 * kS).size(), 0u);
}

TEST(ConntrackIcmp, EchoByIdAndErrorsAreRelated) {
  Table t;
  EXPECT_EQ(pass(t, icmp_echo(kClient, kServer, 8, 77, 1), 0).state, PacketState::kNew);
  EXPECT_EQ(pass(t, icmp_echo(kServer, kClient, 0, 77, 1), 0).state, PacketState::kEstablished);
  EXPECT_EQ(pass(t, icmp_echo(kServer, kClient, 0, 78, 1), 0).state, PacketState::kInvalid);
  EXPECT_EQ(only(t, 0).expires_ns, 30 * kS);

  const Bytes query = udp(kServer, kClient, 40001, 53);
  pass(t, query, 0, Hook::kLocalOut);
  pass(t, udp(kClient, kServer, 53, 40001), 0);
  // The client answers a later datagram with port unreachable.
  const Result r = pass(t, icmp_error(kClient, kServer, 3, 3, query), 0);
  EXPECT_EQ(r.state, PacketState::kRelated);
  EXPECT_EQ(r.dir, Dir::kReply);
  EXPECT_EQ(r.view.state, filter::ctstate::kRelated);
  // About a flow nobody tracks: INVALID.
  EXPECT_EQ(pass(t, icmp_error(kClient, kServer, 3, 3, udp(kServer, kClient, 1, 2)), 0).state,
            PacketState::kInvalid);
  // Not the flow's end: INVALID.
  EXPECT_EQ(pass(t, icmp_error(kClient, ip4("10.99.0.9"), 3, 3, query), 0).state,
            PacketState::kInvalid);
}

TEST(ConntrackTable, FullTableDropsNewAndCounts) {
  Table t(Config{.capacity = 2, .timeouts = {}, .tcp_loose = true});
  pass(t, udp(kClient, kServer, 1, 53), 0);
  pass(t, udp(kClient, kServer, 2, 53), 0);
  const Result r = t.process(udp(kClient, kServer, 3, 53), Hook::kPreRouting, 0);
  EXPECT_TRUE(r.drop);
  EXPECT_EQ(r.reason, Reason::kTableFull);
  EXPECT_EQ(t.stats().drop, 1u);
  // Known flows still pass; once entries expire there is room again.
  EXPECT_EQ(pass(t, udp(kServer, kClient, 53, 1), 0).state, PacketState::kEstablished);
  EXPECT_FALSE(t.process(udp(kClient, kServer, 3, 53), Hook::kPreRouting, 31 * kS).drop);
}

TEST(ConntrackTable, DeleteFlushAndExpire) {
  Table t;
  pass(t, udp(kClient, kServer, 1, 53), 0);
  pass(t, udp(kClient, kServer, 2, 53), 0);
  EXPECT_TRUE(t.erase(reply_of(Tuple{kClient, kServer, 1, 53, 17})));
  EXPECT_FALSE(t.erase(Tuple{kClient, kServer, 1, 53, 17}));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.expire(29 * kS), 0u);
  EXPECT_EQ(t.expire(30 * kS), 1u);
  pass(t, udp(kClient, kServer, 1, 53), 0);
  t.flush();
  EXPECT_EQ(t.size(), 0u);
}

TEST(ConntrackFormat, ConntrackListLine) {
  Table t;
  Handshake h;
  pass(t, h.syn(), 0);
  EXPECT_EQ(format_entry(only(t, 0), kS / 2),
            "tcp      6 119 SYN_SENT src=10.99.0.2 dst=10.99.0.1 sport=40000 dport=22 packets=1 "
            "bytes=40 [UNREPLIED] src=10.99.0.1 dst=10.99.0.2 sport=22 dport=40000 packets=0 "
            "bytes=0 mark=0 use=1");
  pass(t, h.synack(), 0);
  pass(t, h.ack(), 0);
  EXPECT_EQ(format_entry(only(t, 0), 0),
            "tcp      6 432000 ESTABLISHED src=10.99.0.2 dst=10.99.0.1 sport=40000 dport=22 "
            "packets=2 bytes=80 src=10.99.0.1 dst=10.99.0.2 sport=22 dport=40000 packets=1 "
            "bytes=40 [ASSURED] mark=0 use=1");
  Table i;
  pass(i, icmp_echo(kClient, kServer, 8, 7, 1), 0);
  EXPECT_EQ(format_entry(only(i, 0), 0),
            "icmp     1 30 src=10.99.0.2 dst=10.99.0.1 type=8 code=0 id=7 packets=1 bytes=84 "
            "[UNREPLIED] src=10.99.0.1 dst=10.99.0.2 type=0 code=0 id=7 packets=0 bytes=0 "
            "mark=0 use=1");
}

}  // namespace
}  // namespace norman::conntrack

namespace norman::conntrack {
namespace {

static_assert(std::is_trivially_copyable_v<Entry>, "an entry is a fixed-size record (the NIC's)");

// Bad input never crashes the model nor grows the table past its capacity:
// random bytes, and real packets cut short or with random bytes changed.
TEST(ConntrackTable, ArbitraryBytesAreInvalidOrTracked) {
  std::mt19937 rng(12);
  Table t(Config{.capacity = 64, .timeouts = {}, .tcp_loose = true});
  const std::vector<Bytes> seeds = {
      test::tcp(test::ip4("10.0.0.1"), test::ip4("10.0.0.2"), 1, 2, test::kSyn, 1, 0, 4),
      test::udp(test::ip4("10.0.0.1"), test::ip4("10.0.0.2"), 1, 2, 4),
      test::icmp_echo(test::ip4("10.0.0.1"), test::ip4("10.0.0.2"), 8, 1, 1, 4),
      test::icmp_error(test::ip4("10.0.0.2"), test::ip4("10.0.0.1"), 3, 3,
                       test::udp(test::ip4("10.0.0.1"), test::ip4("10.0.0.2"), 1, 2, 4))};
  for (int i = 0; i < 20000; ++i) {
    Bytes p;
    if (i % 4 == 0) {
      p.resize(rng() % 80);
      for (auto& b : p) b = static_cast<std::uint8_t>(rng());
    } else {
      p = seeds[rng() % seeds.size()];
      p.resize(rng() % (p.size() + 1));
      for (int k = 0; k < 3 && !p.empty(); ++k)
        p[rng() % p.size()] = static_cast<std::uint8_t>(rng());
    }
    const Result r = t.process(p, (i & 1) ? Hook::kPreRouting : Hook::kLocalOut,
                               static_cast<std::uint64_t>(i) * 1'000'000);
    if (r.state == PacketState::kInvalid) {
      EXPECT_FALSE(r.pending.has_value());
      EXPECT_FALSE(r.view.tracked);
    }
    t.confirm(r, static_cast<std::uint64_t>(i) * 1'000'000);
    ASSERT_LE(t.size(), 64u);
  }
}

}  // namespace
}  // namespace norman::conntrack
