// Whole-core tests of nic_core through the host harness: ID block, CSR,
// commands, RX classification and delivery, drops, notifications and
// interrupts, TX. Every test ends with the fixture's idle / counter balance /
// interface checks.
#include <algorithm>
#include <set>

#include "nic_test_util.hpp"

namespace norman::test {
namespace {

using rm::Counter;
using rm::Status;

// ------------------------------------------------------------------ ID / CSR

TEST_F(NicTest, IdBlock) {
  EXPECT_EQ(h().csr_read(rm::kRegIdMagic), rm::kMagic);
  EXPECT_EQ(h().csr_read(rm::kRegIdBuildId), rm::kBuildId);
  EXPECT_EQ(h().csr_read(rm::kRegIdNumPorts), NicHarness::kNumPorts);
  EXPECT_EQ(h().csr_read(rm::kRegIdNumConns), rm::kNumConns);
  EXPECT_EQ(h().csr_read(rm::kRegIdNumNqs), rm::kNumNqs);
  EXPECT_EQ(h().csr_read(rm::kRegIdClockHz), rm::kClockHz);
  EXPECT_EQ(h().csr_read(rm::kRegCountersCount), rm::kNumCounters);

  // Walk the block chain from address 0.
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> expected{
      {rm::kBlkIdBase, rm::kBlkIdHeader},
      {rm::kBlkCtrlBase, rm::kBlkCtrlHeader},
      {rm::kBlkCmdBase, rm::kBlkCmdHeader},
      {rm::kBlkCountersBase, rm::kBlkCountersHeader},
      {rm::kBlkFilterBase, rm::kBlkFilterHeader},
      {rm::kBlkCaptureBase, rm::kBlkCaptureHeader},
      {rm::kBlkSchedBase, rm::kBlkSchedHeader}};
  std::vector<std::uint32_t> types;
  std::uint32_t addr = 0;
  for (unsigned i = 0; i < 16; ++i) {
    const std::uint64_t hdr = h().csr_read(addr);
    ASSERT_LT(i, expected.size());
    EXPECT_EQ(addr, expected[i].first);
    EXPECT_EQ(hdr, expected[i].second);
    types.push_back(static_cast<std::uint32_t>(rm::kBlockHeaderType.get(hdr)));
    EXPECT_EQ(rm::kBlockHeaderVersion.get(hdr), 1u);
    addr = static_cast<std::uint32_t>(rm::kBlockHeaderNext.get(hdr));
    if (addr == 0) break;
  }
  EXPECT_EQ(types, (std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(h().csr_read(rm::kRegFilterEntries), rm::kFilterEntries);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
}

TEST_F(NicTest, CtrlRegisters) {
  EXPECT_EQ(h().csr_read(rm::kRegCtrlEnable), 3u);
  h().csr_write(rm::kRegCtrlScratch, 0x0123456789ABCDEFULL);
  EXPECT_EQ(h().csr_read(rm::kRegCtrlScratch), 0x0123456789ABCDEFULL);
  const std::uint64_t c0 = h().csr_read(rm::kRegCtrlCycles);
  h().run(100);
  const std::uint64_t c1 = h().csr_read(rm::kRegCtrlCycles);
  EXPECT_GE(c1 - c0, 100u);
  EXPECT_LT(c1 - c0, 120u);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
}

TEST_F(NicTest, CsrInvalidAccessCounted) {
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
  h().csr_read(rm::kBlkIdBase + 0x80);    // unmapped
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 1u);
  h().csr_read(rm::kRegIdMagic + 4);      // misaligned
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 2u);
  h().csr_write(rm::kRegIdMagic, 1);      // read-only
  EXPECT_EQ(h().csr_read(rm::kRegIdMagic), rm::kMagic);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 3u);
  h().csr_read(static_cast<std::uint32_t>(rm::kCsrSpaceBytes + 0x1000));  // hole
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 4u);
  h().csr_read(NicHarness::conn_db(1, rm::kDbConnRxCons));  // doorbells are write-only
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 5u);
  h().csr_write(NicHarness::conn_db(1, 0x10), 1);  // unknown doorbell register
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 6u);
  h().clear_counters();
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
}

// ------------------------------------------------------------------ commands

TEST_F(NicTest, FlowCommands) {
  const FlowKey k = udp_key(7000, 5000);
  EXPECT_EQ(h().flow_lookup(k).status, Status::kNotFound);
  EXPECT_EQ(h().flow_insert(k, 17), Status::kOk);
  EXPECT_EQ(h().flow_insert(k, 18), Status::kExists);
  const CmdResult r = h().flow_lookup(k);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(rm::flow::kConnId.get(std::uint64_t{r.result} << 32) & 0xFFFF, 17u);
  EXPECT_EQ(r.result & 0xFFFF, 17u);
  EXPECT_LT(r.bucket(), 1u << rm::kFlowBucketsLog2);
  // A second key is independent.
  const FlowKey k2 = udp_key(7001, 5000);
  EXPECT_EQ(h().flow_lookup(k2).status, Status::kNotFound);
  EXPECT_EQ(h().flow_insert(k2, 19), Status::kOk);
  EXPECT_EQ(h().flow_lookup(k2).result & 0xFFFF, 19u);
  EXPECT_EQ(h().flow_delete(k), Status::kOk);
  EXPECT_EQ(h().flow_delete(k), Status::kNotFound);
  EXPECT_EQ(h().flow_lookup(k).status, Status::kNotFound);
  EXPECT_EQ(h().flow_lookup(k2).status, Status::kOk);
  // Listening entries live apart from exact ones.
  FlowKey lk;
  lk.proto = pg::ipproto::kTcp;
  lk.local_port = 80;
  EXPECT_EQ(h().flow_insert(lk, 20, true), Status::kOk);
  EXPECT_EQ(h().flow_insert(lk, 21, true), Status::kExists);
  EXPECT_EQ(h().flow_lookup(lk, true).result & 0xFFFF, 20u);
  EXPECT_EQ(h().flow_delete(lk, true), Status::kOk);
  EXPECT_EQ(h().flow_lookup(lk, true).status, Status::kNotFound);
  EXPECT_EQ(cnt(h(), Counter::kCmdRejected), 0u);
}

TEST_F(NicTest, ConfigCommandsValidateArguments) {
  EXPECT_EQ(h().command(rm::Op::kNop, {}).status, Status::kOk);
  ConnConfig c = udp_conn(3, 1000);
  c.rx_log2 = 4;
  c.tx_log2 = 4;
  c.rx_base = h().alloc(1 << 15);
  EXPECT_EQ(h().conn_set(c), Status::kOk);
  ConnConfig bad = c;
  bad.nq_id = static_cast<std::uint16_t>(rm::kNumNqs);
  EXPECT_EQ(h().conn_set(bad), Status::kInvalid);
  bad = c;
  bad.rx_log2 = static_cast<std::uint8_t>(rm::kMaxRingLog2 + 1);
  EXPECT_EQ(h().conn_set(bad), Status::kInvalid);
  bad = c;
  bad.tx_log2 = static_cast<std::uint8_t>(rm::kMaxRingLog2 + 1);
  EXPECT_EQ(h().conn_set(bad), Status::kInvalid);
  bad = c;
  bad.port = NicHarness::kNumPorts;
  EXPECT_EQ(h().conn_set(bad), Status::kInvalid);
  EXPECT_EQ(h().nq_set(static_cast<std::uint16_t>(rm::kNumNqs), h().alloc(4096), 4, 0), Status::kInvalid);
  EXPECT_EQ(h().nq_set(1, h().alloc(4096), static_cast<unsigned>(rm::kMaxRingLog2 + 1), 0), Status::kInvalid);
  EXPECT_EQ(h().nq_set(1, h().alloc(4096), 4, 5), Status::kOk);
  EXPECT_EQ(h().nq_clear(1), Status::kOk);
  EXPECT_EQ(h().conn_clear(3), Status::kOk);
  // Unknown opcode.
  EXPECT_EQ(h().command(static_cast<rm::Op>(0x3F), {}).status, Status::kInvalid);
  EXPECT_EQ(h().command(static_cast<rm::Op>(9), {}).status, Status::kInvalid);
  // A fresh connection's indices are zero.
  EXPECT_EQ(h().conn_query(3), (std::pair<std::uint16_t, std::uint16_t>{0, 0}));
}

TEST_F(NicTest, OpWhileBusyRejected) {
  const FlowKey k = udp_key(1234, 4321);
  auto args = std::map<unsigned, std::uint64_t>{};
  rm::flow::kProto.set(args[rm::flow::kProto.arg], k.proto);
  rm::flow::kConnId.set(args[rm::flow::kConnId.arg], 33);
  rm::flow::kLocalPort.set(args[rm::flow::kLocalPort.arg], k.local_port);
  rm::flow::kRemotePort.set(args[rm::flow::kRemotePort.arg], k.remote_port);
  rm::flow::kLocalIpLo.set(args[rm::flow::kLocalIpLo.arg], k.local_ip.lo);
  rm::flow::kRemoteIpLo.set(args[rm::flow::kRemoteIpLo.arg], k.remote_ip.lo);
  for (unsigned i = 0; i < rm::kRegCmdArgCount; ++i) h().write_arg(i, args.count(i) ? args[i] : 0);
  h().write_op(rm::Op::kFlowInsert);
  h().write_op(rm::Op::kFlowDelete);  // the insert is still busy
  CmdResult r = h().read_status();
  // (the first flow command after reset waits for the table's clearing sweep)
  for (unsigned i = 0; i < 100000 && (r.raw & 1); ++i) r = h().read_status();
  ASSERT_EQ(r.raw & 1, 0u);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(cnt(h(), Counter::kCmdRejected), 1u);
  // The insert happened, the delete did not.
  EXPECT_EQ(h().flow_lookup(k).status, Status::kOk);
  EXPECT_EQ(h().flow_lookup(k).result & 0xFFFF, 33u);
}

// ------------------------------------------------------------------ RX

TEST_F(NicTest, RxExactFlowByteExact) {
  ConnHandle fb = open_fallback();
  ConnHandle c = h().open_conn(udp_conn(5, 7000), 4);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 5), Status::kOk);
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 5; ++i) {
    sent.push_back(udp_in(5000, 7000, 18 + i * 97, static_cast<std::uint8_t>(i)));
    h().inject(0, sent.back());
  }
  ASSERT_TRUE(h().wait_idle());
  auto got = h().rx_drain(c.rx);
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].len, sent[i].size());
    EXPECT_EQ(got[i].flags, 0u);
    EXPECT_EQ(got[i].data, sent[i]) << "frame " << i;
  }
  EXPECT_TRUE(h().rx_drain(fb.rx).empty());
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredConn), 5u);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), 0u);
  std::uint64_t bytes = 0;
  for (const auto& f : sent) bytes += f.size();
  EXPECT_EQ(cnt(h(), Counter::kRxBytes), bytes);
  EXPECT_EQ(h().conn_query(5).second, 5u);
}

TEST_F(NicTest, RxListeningEntry) {
  ConnHandle fb = open_fallback();
  ConnHandle any = h().open_conn(udp_conn(6, 8000), 4);
  ConnHandle spec = h().open_conn(udp_conn(7, 8001), 4);
  ConnHandle exact = h().open_conn(udp_conn(8, 8000), 4);
  FlowKey l;
  l.proto = pg::ipproto::kUdp;
  l.local_port = 8000;  // any local address
  ASSERT_EQ(h().flow_insert(l, 6, true), Status::kOk);
  FlowKey l2 = l;
  l2.local_port = 8001;
  l2.local_ip = ip128(kHostIp);
  ASSERT_EQ(h().flow_insert(l2, 7, true), Status::kOk);
  // An exact entry beats the listening one.
  ASSERT_EQ(h().flow_insert(udp_key(8000, 999), 8), Status::kOk);

  const Bytes a = udp_in(1111, 8000, 40, 1);
  const Bytes b = udp_in(2222, 8000, 50, 2, pg::ipv4("192.168.1.9"));
  const Bytes c = udp_in(3333, 8001, 60, 3);
  const Bytes d = udp_in(3333, 8001, 60, 4, kPeerIp, pg::ipv4("10.0.0.99"));  // other local ip: no match
  const Bytes e = udp_in(999, 8000, 70, 5);
  const Bytes f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), pg::Tcp(1, 8000));
  for (const auto* x : {&a, &b, &c, &d, &e, &f}) h().inject(1, *x);
  ASSERT_TRUE(h().wait_idle());
  auto g_any = h().rx_drain(any.rx);
  ASSERT_EQ(g_any.size(), 2u);
  EXPECT_EQ(g_any[0].data, a);
  EXPECT_EQ(g_any[1].data, b);
  auto g_spec = h().rx_drain(spec.rx);
  ASSERT_EQ(g_spec.size(), 1u);
  EXPECT_EQ(g_spec[0].data, c);
  auto g_exact = h().rx_drain(exact.rx);
  ASSERT_EQ(g_exact.size(), 1u);
  EXPECT_EQ(g_exact[0].data, e);
  auto g_fb = h().rx_drain(fb.rx);
  ASSERT_EQ(g_fb.size(), 2u);
  EXPECT_EQ(g_fb[0].data, d);
  EXPECT_EQ(g_fb[1].data, f);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredConn), 4u);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), 2u);
}

TEST_F(NicTest, RxUnmatchedGoesToFallback) {
  ConnHandle fb = open_fallback();
  ConnHandle c = h().open_conn(udp_conn(5, 7000), 4);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 5), Status::kOk);
  const Bytes udp = udp_in(5001, 7000, 30);
  const Bytes arp = pg::arp_frame(pg::Eth(pg::mac("ff:ff:ff:ff:ff:ff"), kPeerMac),
                                  pg::Arp(1, kPeerMac, kPeerIp, pg::Mac{}, kHostIp));
  const Bytes icmp = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), pg::Icmp(8, 0, 0x1234),
                                  pg::pattern(56));
  const Bytes v6 = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv6(pg::ipv6("fe80::2"), pg::ipv6("fe80::1")),
                                pg::Udp(5000, 7000), pg::pattern(20));
  const Bytes vlan = pg::ip_frame(pg::Eth(kHostMac, kPeerMac, pg::Vlan(100)), pg::Ipv4(kPeerIp, kHostIp),
                                  pg::Udp(4000, 4001), pg::pattern(20));
  for (const auto* x : {&udp, &arp, &icmp, &v6, &vlan}) h().inject(0, *x);
  ASSERT_TRUE(h().wait_idle());
  auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].data, udp);
  EXPECT_EQ(got[1].data, arp);
  EXPECT_EQ(got[2].data, icmp);
  EXPECT_EQ(got[3].data, v6);
  EXPECT_EQ(got[4].data, vlan);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(got[i].flags, 0u) << i;
  EXPECT_EQ(got[4].flags, 1u << rm::rx_slot::kFlagsVlan);
  EXPECT_TRUE(h().rx_drain(c.rx).empty());
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), 5u);
  EXPECT_EQ(cnt(h(), Counter::kRxMalformed), 0u);
}

TEST_F(NicTest, RxMalformedToFallbackWithFlag) {
  ConnHandle fb = open_fallback();
  ConnHandle c = h().open_conn(udp_conn(5, 7000), 4);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 5), Status::kOk);
  // Matches the flow's key but the UDP length is wrong: malformed, so fallback.
  pg::Udp bad_udp(5000, 7000);
  bad_udp.length = 3;
  const Bytes m1 = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), bad_udp, pg::pattern(40));
  pg::Ipv4 bad_ip(kPeerIp, kHostIp);
  bad_ip.ihl = 3;
  const Bytes m2 = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), bad_ip, pg::Udp(5000, 7000), pg::pattern(40));
  const Bytes good = udp_in(5000, 7000, 40);
  h().inject(0, m1);
  h().inject(0, good);
  h().inject(0, m2);
  ASSERT_TRUE(h().wait_idle());
  auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].data, m1);
  EXPECT_EQ(got[1].data, m2);
  for (const auto& f : got) EXPECT_EQ(f.flags & (1u << rm::rx_slot::kFlagsMalformed), 1u << rm::rx_slot::kFlagsMalformed);
  auto gc = h().rx_drain(c.rx);
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].data, good);
  EXPECT_EQ(cnt(h(), Counter::kRxMalformed), 2u);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), 2u);
}

TEST_F(NicTest, RxDropsRuntTooBigMacError) {
  ConnHandle fb = open_fallback();
  h().inject(0, pg::pattern(10));                     // runt
  h().inject(0, udp_in(1, 2, 1600 - 42));             // 1600 bytes: too big
  h().inject(1, udp_in(1, 2, 100), true);             // MAC error
  h().inject(1, udp_in(1, 2, 1518 - 42));             // largest legal frame
  h().inject(0, pg::pattern(13, 5));                  // runt
  h().inject(1, udp_in(1, 2, 4000));                  // way too big
  h().inject(0, udp_in(1, 2, 20));
  ASSERT_TRUE(h().wait_idle());
  auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 2u);
  std::multiset<std::size_t> lens{got[0].len, got[1].len};
  EXPECT_EQ(lens, (std::multiset<std::size_t>{1518, 62}));
  EXPECT_EQ(cnt(h(), Counter::kRxDropRunt), 2u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropTooBig), 2u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropMacError), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxFrames), 7u);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), 2u);
}

TEST_F(NicTest, RxNoQueue) {
  // No fallback context; and a flow pointing at a connection without context.
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 9), Status::kOk);
  h().inject(0, udp_in(1, 2, 30));
  h().inject(0, udp_in(5000, 7000, 30));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropNoQueue), 2u);
  // Clearing a connection makes its frames drop again.
  ConnHandle fb = open_fallback();
  h().inject(0, udp_in(1, 2, 30));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 1u);
  ASSERT_EQ(h().conn_clear(0), Status::kOk);
  h().inject(1, udp_in(1, 2, 30));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropNoQueue), 3u);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), 1u);
}

TEST_F(NicTest, RxDisabled) {
  ConnHandle fb = open_fallback();
  h().csr_write(rm::kRegCtrlEnable, 2);  // TX only
  EXPECT_EQ(h().csr_read(rm::kRegCtrlEnable), 2u);
  h().inject(0, udp_in(1, 2, 30));
  h().inject(1, udp_in(1, 2, 300));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropDisabled), 2u);
  EXPECT_TRUE(h().rx_drain(fb.rx).empty());
  h().csr_write(rm::kRegCtrlEnable, 3);
  h().inject(0, udp_in(1, 2, 30));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropDisabled), 2u);
}

TEST_F(NicTest, RxRingFullAndWrap) {
  ConnHandle fb = open_fallback(2);  // 4 slots
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 6; ++i) {
    sent.push_back(udp_in(1, 2, 30 + i, static_cast<std::uint8_t>(i * 3)));
    h().inject(0, sent.back());
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull), 2u);
  auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(got[i].data, sent[i]);
  // Wrap many times, consuming in batches of 3.
  std::uint32_t seq = 5;
  for (unsigned round = 0; round < 10; ++round) {
    std::vector<Bytes> batch;
    for (unsigned i = 0; i < 3; ++i) {
      batch.push_back(udp_in(1, 2, 20 + round * 50 + i, static_cast<std::uint8_t>(round + i)));
      h().inject(round & 1, batch.back());
    }
    ASSERT_TRUE(h().wait_idle());
    auto g = h().rx_drain(fb.rx);
    ASSERT_EQ(g.size(), 3u) << "round " << round;
    for (unsigned i = 0; i < 3; ++i) {
      EXPECT_EQ(g[i].data, batch[i]) << "round " << round;
      EXPECT_EQ(g[i].seq, seq++);
    }
  }
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull), 2u);
  EXPECT_EQ(h().conn_query(0).second, 34u);
}

TEST_F(NicTest, RxBothPortsInterleaved) {
  ConnHandle fb = open_fallback(6);
  ConnHandle c1 = h().open_conn(udp_conn(1, 7001), 6);
  ConnHandle c2 = h().open_conn(udp_conn(2, 7002), 6);
  ASSERT_EQ(h().flow_insert(udp_key(7001, 5000), 1), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(7002, 5000), 2), Status::kOk);
  // Port 0 sends to conn 1 and the fallback, port 1 to conn 2 and the fallback.
  std::vector<Bytes> exp1, exp2, fb0, fb1;
  for (unsigned i = 0; i < 24; ++i) {
    const std::size_t len = (i * 37) % 200;
    Bytes a = (i % 3 == 2) ? udp_in(9, 9, len, static_cast<std::uint8_t>(i)) : udp_in(5000, 7001, len, static_cast<std::uint8_t>(i));
    Bytes b = (i % 4 == 3) ? udp_in(8, 8, len + 1, static_cast<std::uint8_t>(i + 100))
                           : udp_in(5000, 7002, len + 1, static_cast<std::uint8_t>(i + 100));
    ((i % 3 == 2) ? fb0 : exp1).push_back(a);
    ((i % 4 == 3) ? fb1 : exp2).push_back(b);
    h().inject(0, a);
    h().inject(1, b);
  }
  ASSERT_TRUE(h().wait_idle());
  auto g1 = h().rx_drain(c1.rx);
  auto g2 = h().rx_drain(c2.rx);
  ASSERT_EQ(g1.size(), exp1.size());
  ASSERT_EQ(g2.size(), exp2.size());
  for (std::size_t i = 0; i < g1.size(); ++i) EXPECT_EQ(g1[i].data, exp1[i]) << i;
  for (std::size_t i = 0; i < g2.size(); ++i) EXPECT_EQ(g2[i].data, exp2[i]) << i;
  // The fallback ring holds both ports' frames, each port's in order.
  auto gf = h().rx_drain(fb.rx);
  ASSERT_EQ(gf.size(), fb0.size() + fb1.size());
  std::size_t i0 = 0, i1 = 0;
  for (const auto& f : gf) {
    if (i0 < fb0.size() && f.data == fb0[i0]) ++i0;
    else if (i1 < fb1.size() && f.data == fb1[i1]) ++i1;
    else ADD_FAILURE() << "unexpected or out-of-order fallback frame";
  }
  EXPECT_EQ(i0, fb0.size());
  EXPECT_EQ(i1, fb1.size());
}

// ------------------------------------------------------------------ notifications, IRQs

TEST_F(NicTest, RxNotificationsOnePerConnUntilConsumed) {
  NqRing q = h().open_nq(3, 4, 77);
  ConnHandle c = h().open_conn(udp_conn(5, 7000, 0, 3), 4);
  ConnHandle d = h().open_conn(udp_conn(6, 7001, 0, 3), 4);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 5), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(7001, 5000), 6), Status::kOk);
  for (unsigned i = 0; i < 3; ++i) h().inject(0, udp_in(5000, 7000, 20));
  h().inject(1, udp_in(5000, 7001, 20));
  ASSERT_TRUE(h().wait_idle());
  auto n = h().nq_drain(q);
  ASSERT_EQ(n.size(), 2u);
  std::set<std::uint32_t> conns;
  for (const auto& x : n) {
    EXPECT_EQ(x.kind, rm::notify::kKindsRx);
    conns.insert(x.conn);
  }
  EXPECT_EQ(conns, (std::set<std::uint32_t>{5, 6}));
  EXPECT_EQ(cnt(h(), Counter::kNotifyWritten), 2u);
  // More frames before RX_CONS: no new notification.
  h().inject(0, udp_in(5000, 7000, 20));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_TRUE(h().nq_drain(q).empty());
  // Consume only part: the doorbell leaves prod != cons, so a new notification.
  ASSERT_TRUE(h().rx_pop(c.rx).has_value());
  h().rx_doorbell(c.rx);
  ASSERT_TRUE(h().wait_idle());
  n = h().nq_drain(q);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].conn, 5u);
  // Consume everything: no notification until the next frame.
  EXPECT_EQ(h().rx_drain(c.rx).size(), 3u);
  EXPECT_EQ(h().rx_drain(d.rx).size(), 1u);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_TRUE(h().nq_drain(q).empty());
  h().inject(1, udp_in(5000, 7001, 20));
  ASSERT_TRUE(h().wait_idle());
  n = h().nq_drain(q);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].conn, 6u);
  EXPECT_TRUE(h().irqs().empty());  // never armed
}

TEST_F(NicTest, InterruptsArmOneShot) {
  NqRing q = h().open_nq(2, 3, 0x123);
  ConnHandle c = h().open_conn(udp_conn(5, 7000, 0, 2), 4);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 5), Status::kOk);
  h().nq_arm(q);
  h().inject(0, udp_in(5000, 7000, 20));
  ASSERT_TRUE(h().wait_idle());
  ASSERT_EQ(h().irqs(), (std::vector<std::uint32_t>{0x123}));
  EXPECT_EQ(cnt(h(), Counter::kIrqs), 1u);
  // Not re-armed: the next notification raises nothing.
  EXPECT_EQ(h().nq_drain(q).size(), 1u);
  EXPECT_EQ(h().rx_drain(c.rx).size(), 1u);
  h().inject(0, udp_in(5000, 7000, 20));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().irqs().size(), 1u);
  // ARM with an entry pending: interrupt at once.
  h().nq_arm(q);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().irqs(), (std::vector<std::uint32_t>{0x123, 0x123}));
  EXPECT_EQ(h().nq_drain(q).size(), 1u);
  // ARM with nothing pending: no interrupt until the next notification.
  h().nq_arm(q);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().irqs().size(), 2u);
  EXPECT_EQ(h().rx_drain(c.rx).size(), 1u);
  h().inject(1, udp_in(5000, 7000, 20));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().irqs().size(), 3u);
  EXPECT_EQ(cnt(h(), Counter::kIrqs), 3u);
}

TEST_F(NicTest, NotificationQueueFull) {
  NqRing q = h().open_nq(1, 1, 0);  // 2 entries
  std::vector<ConnHandle> cs;
  for (std::uint16_t i = 1; i <= 4; ++i) {
    cs.push_back(h().open_conn(udp_conn(i, static_cast<std::uint16_t>(7000 + i), 0, 1), 3));
    ASSERT_EQ(h().flow_insert(udp_key(static_cast<std::uint16_t>(7000 + i), 5000), i), Status::kOk);
    h().inject(0, udp_in(5000, static_cast<std::uint16_t>(7000 + i), 20));
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().nq_drain(q).size(), 2u);
  EXPECT_EQ(cnt(h(), Counter::kNotifyWritten), 2u);
  EXPECT_EQ(cnt(h(), Counter::kNotifyDropNqFull), 2u);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredConn), 4u);
  for (auto& c : cs) EXPECT_EQ(h().rx_drain(c.rx).size(), 1u);
}

// ------------------------------------------------------------------ TX

TEST_F(NicTest, TxSendsOnConnectionPort) {
  NqRing q = h().open_nq(4, 4, 9);
  ConnConfig cfg0 = udp_conn(10, 6000, 0, 4);
  cfg0.notify_tx = true;
  ConnHandle c0 = h().open_conn(cfg0, 4, 3);
  ConnHandle c1 = h().open_conn(udp_conn(11, 6001, 1, 4), 4, 3);
  std::vector<Bytes> f0, f1;
  std::vector<std::uint32_t> i0, i1;
  for (unsigned i = 0; i < 5; ++i) {
    f0.push_back(udp_out(6000, 5000, 10 + i * 111, static_cast<std::uint8_t>(i)));
    i0.push_back(h().tx_post(c0.tx, f0.back()));
  }
  for (unsigned i = 0; i < 3; ++i) {
    f1.push_back(udp_out(6001, 5000, 300 + i, static_cast<std::uint8_t>(i + 50)));
    i1.push_back(h().tx_post(c1.tx, f1.back()));
  }
  h().tx_doorbell(c0.tx);
  h().tx_doorbell(c1.tx);
  ASSERT_TRUE(h().wait_idle());
  auto out0 = h().take_tx(0);
  auto out1 = h().take_tx(1);
  EXPECT_EQ(out0, f0);
  EXPECT_EQ(out1, f1);
  for (auto i : i0) EXPECT_EQ(h().tx_status(c0.tx, i), rm::tx_desc::kStatusSent);
  for (auto i : i1) EXPECT_EQ(h().tx_status(c1.tx, i), rm::tx_desc::kStatusSent);
  // The write-back changes STATUS only.
  for (auto i : i0) {
    std::uint64_t want = 0;
    rm::tx_desc::kLen.set(want, f0[i].size());
    rm::tx_desc::kStatus.set(want, rm::tx_desc::kStatusSent);
    rm::tx_desc::kSeq.set(want, (i + 1) & 0xFFFF);
    EXPECT_EQ(h().tx_desc(c0.tx, i), want) << i;
  }
  EXPECT_EQ(cnt(h(), Counter::kTxSent), 8u);
  EXPECT_EQ(cnt(h(), Counter::kTxFetched), 8u);
  EXPECT_EQ(cnt(h(), Counter::kTxDoorbells), 2u);
  std::uint64_t bytes = 0;
  for (const auto& f : f0) bytes += f.size();
  for (const auto& f : f1) bytes += f.size();
  EXPECT_EQ(cnt(h(), Counter::kTxBytes), bytes);
  EXPECT_EQ(h().conn_query(10).first, 5u);
  EXPECT_EQ(h().conn_query(11).first, 3u);
  // Only conn 10 asked for TX_DONE notifications.
  auto n = h().nq_drain(q);
  ASSERT_GE(n.size(), 1u);
  for (const auto& x : n) {
    EXPECT_EQ(x.conn, 10u);
    EXPECT_EQ(x.kind, rm::notify::kKindsTxDone);
  }
  // Wrap the 8-entry ring.
  std::vector<Bytes> more;
  for (unsigned r = 0; r < 4; ++r) {
    for (unsigned i = 0; i < 5; ++i) {
      more.push_back(udp_out(6001, 5001, 64 + r * 7 + i, static_cast<std::uint8_t>(r * 5 + i)));
      h().tx_post(c1.tx, more.back());
    }
    h().tx_doorbell(c1.tx);
    ASSERT_TRUE(h().wait_idle());
  }
  EXPECT_EQ(h().take_tx(1), more);
  EXPECT_EQ(h().conn_query(11).first, 23u);
}

TEST_F(NicTest, TxSpoofAndBadLength) {
  ConnHandle c = h().open_conn(udp_conn(12, 6000, 1), 4, 4);
  ConnConfig rawcfg = udp_conn(13, 6000, 0);
  rawcfg.raw = true;
  ConnHandle r = h().open_conn(rawcfg, 4, 4);
  const Bytes good = udp_out(6000, 5000, 50);
  const Bytes bad_ip = udp_out(6000, 5000, 50, 0, pg::ipv4("10.0.0.77"));
  const Bytes bad_port = udp_out(6001, 5000, 50);
  const Bytes bad_mac = pg::ip_frame(pg::Eth(kPeerMac, pg::mac("02:00:00:00:00:99")), pg::Ipv4(kHostIp, kPeerIp),
                                     pg::Udp(6000, 5000), pg::pattern(50));
  const Bytes tcp = pg::ip_frame(pg::Eth(kPeerMac, kHostMac), pg::Ipv4(kHostIp, kPeerIp), pg::Tcp(6000, 5000));
  const auto a = h().tx_post(c.tx, bad_ip);
  const auto b = h().tx_post(c.tx, good);
  const auto d = h().tx_post(c.tx, bad_port);
  const auto e = h().tx_post(c.tx, bad_mac);
  const auto f = h().tx_post(c.tx, tcp);
  const auto g = h().tx_post(c.tx, good, 10);    // runt length
  const auto i = h().tx_post(c.tx, good, 1600);  // too long
  h().tx_doorbell(c.tx);
  // A raw connection may send anything.
  const auto j = h().tx_post(r.tx, bad_ip);
  h().tx_doorbell(r.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().tx_status(c.tx, a), rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(h().tx_status(c.tx, b), rm::tx_desc::kStatusSent);
  EXPECT_EQ(h().tx_status(c.tx, d), rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(h().tx_status(c.tx, e), rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(h().tx_status(c.tx, f), rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(h().tx_status(c.tx, g), rm::tx_desc::kStatusDropBadLen);
  EXPECT_EQ(h().tx_status(c.tx, i), rm::tx_desc::kStatusDropBadLen);
  EXPECT_EQ(h().tx_status(r.tx, j), rm::tx_desc::kStatusSent);
  EXPECT_EQ(h().take_tx(1), (std::vector<Bytes>{good}));
  EXPECT_EQ(h().take_tx(0), (std::vector<Bytes>{bad_ip}));
  EXPECT_EQ(cnt(h(), Counter::kTxDropSpoof), 4u);
  EXPECT_EQ(cnt(h(), Counter::kTxDropBadLen), 2u);
  EXPECT_EQ(cnt(h(), Counter::kTxSent), 2u);
}

TEST_F(NicTest, TxDoorbellInvalidConnection) {
  TxRing ghost{77, h().alloc(4096), h().alloc(1 << 15), 4, 0};
  h().tx_post(ghost, udp_out(1, 2, 30));
  h().tx_doorbell(ghost);
  h().csr_write(NicHarness::conn_db(78, rm::kDbConnRxCons), 1);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kDoorbellInvalid), 2u);
  EXPECT_EQ(cnt(h(), Counter::kTxFetched), 0u);
  EXPECT_EQ(cnt(h(), Counter::kDmaRdReqs), 0u);
  EXPECT_EQ(h().tx_status(ghost, 0), rm::tx_desc::kStatusPending);
  EXPECT_TRUE(h().take_tx(0).empty());
}

TEST_F(NicTest, TxPausedByEnable) {
  ConnHandle c = h().open_conn(udp_conn(12, 6000, 0), 4, 4);
  h().csr_write(rm::kRegCtrlEnable, 1);  // RX only
  const Bytes f = udp_out(6000, 5000, 80);
  h().tx_post(c.tx, f);
  h().tx_doorbell(c.tx);
  h().run(2000);
  EXPECT_TRUE(h().take_tx(0).empty());
  h().csr_write(rm::kRegCtrlEnable, 3);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(0), (std::vector<Bytes>{f}));
  EXPECT_EQ(h().tx_status(c.tx, 0), rm::tx_desc::kStatusSent);
}

}  // namespace
}  // namespace norman::test
