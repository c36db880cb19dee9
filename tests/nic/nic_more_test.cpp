// More whole-core tests: IPv6 / TCP / VLAN / fragment classification, TX of
// IPv6 and extreme lengths, tiny rings, line-rate bursts, doorbells to
// queues without context, counter register edges.
#include <set>

#include "nic_test_util.hpp"

namespace norman::test {
namespace {

using rm::Counter;
using rm::Status;

const pg::Ipv6Addr kHost6 = pg::ipv6("2001:db8::1");
const pg::Ipv6Addr kPeer6 = pg::ipv6("2001:db8::2");

TEST_F(NicTest, RxIpv6TcpVlanFragments) {
  ConnHandle fb = open_fallback();
  ConnHandle u6 = h().open_conn(udp_conn(20, 1), 4);
  ConnHandle t6 = h().open_conn(udp_conn(21, 1), 4);
  ConnHandle t4 = h().open_conn(udp_conn(22, 1), 4);
  ConnHandle v4 = h().open_conn(udp_conn(23, 1), 4);
  FlowKey k6;
  k6.proto = pg::ipproto::kUdp;
  k6.is_ipv6 = true;
  k6.local_ip = ip128(kHost6);
  k6.remote_ip = ip128(kPeer6);
  k6.local_port = 4000;
  k6.remote_port = 4001;
  ASSERT_EQ(h().flow_insert(k6, 20), Status::kOk);
  FlowKey l6;
  l6.proto = pg::ipproto::kTcp;
  l6.is_ipv6 = true;
  l6.local_port = 443;
  ASSERT_EQ(h().flow_insert(l6, 21, true), Status::kOk);
  FlowKey kt = udp_key(80, 33000);
  kt.proto = pg::ipproto::kTcp;
  ASSERT_EQ(h().flow_insert(kt, 22), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(9000, 9001), 23), Status::kOk);

  const pg::Eth eth(kHostMac, kPeerMac);
  const Bytes a = pg::ip_frame(eth, pg::Ipv6(kPeer6, kHost6), pg::Udp(4001, 4000), pg::pattern(100));
  const Bytes b = pg::ip_frame(eth, pg::Ipv6(pg::ipv6("2001:db8::77"), kHost6), pg::Tcp(5555, 443, pg::tcp_flag::kSyn));
  const Bytes c = pg::ip_frame(eth, pg::Ipv4(kPeerIp, kHostIp), pg::Tcp(33000, 80, pg::tcp_flag::kAck), pg::pattern(700));
  const Bytes d = pg::ip_frame(pg::Eth(kHostMac, kPeerMac, pg::Vlan(42)), pg::Ipv4(kPeerIp, kHostIp), pg::Udp(9001, 9000),
                               pg::pattern(33));
  pg::Ipv4 frag1(kPeerIp, kHostIp);
  frag1.mf = true;
  const Bytes e = pg::ip_frame(eth, frag1, pg::Udp(9001, 9000), pg::pattern(64));
  pg::Ipv4 frag2(kPeerIp, kHostIp);
  frag2.frag_offset = 9;
  const Bytes f = pg::ip_frame(eth, frag2, pg::RawL4(pg::ipproto::kUdp), pg::pattern(40));
  // IPv6 to the v4 flow's ports, and v4 to the v6 listener's port: no match.
  const Bytes g = pg::ip_frame(eth, pg::Ipv6(kPeer6, kHost6), pg::Udp(9001, 9000), pg::pattern(10));
  const Bytes i = pg::ip_frame(eth, pg::Ipv4(kPeerIp, kHostIp), pg::Tcp(5555, 443), pg::pattern(10));
  for (const auto* x : {&a, &b, &c, &d, &e, &f, &g, &i}) h().inject(0, *x);
  ASSERT_TRUE(h().wait_idle());
  auto ga = h().rx_drain(u6.rx);
  ASSERT_EQ(ga.size(), 1u);
  EXPECT_EQ(ga[0].data, a);
  auto gb = h().rx_drain(t6.rx);
  ASSERT_EQ(gb.size(), 1u);
  EXPECT_EQ(gb[0].data, b);
  auto gc = h().rx_drain(t4.rx);
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].data, c);
  auto gd = h().rx_drain(v4.rx);
  ASSERT_EQ(gd.size(), 2u);
  EXPECT_EQ(gd[0].data, d);
  EXPECT_EQ(gd[0].flags, 1u << rm::rx_slot::kFlagsVlan);
  EXPECT_EQ(gd[1].data, e);  // first fragment carries the ports
  EXPECT_EQ(gd[1].flags, 1u << rm::rx_slot::kFlagsFrag);
  auto gf = h().rx_drain(fb.rx);
  ASSERT_EQ(gf.size(), 3u);
  EXPECT_EQ(gf[0].data, f);
  EXPECT_EQ(gf[0].flags, 1u << rm::rx_slot::kFlagsFrag);
  EXPECT_EQ(gf[1].data, g);
  EXPECT_EQ(gf[2].data, i);
}

TEST_F(NicTest, TxIpv6AndExtremeLengths) {
  ConnConfig c6 = udp_conn(30, 4000, 1);
  c6.is_ipv6 = true;
  c6.src_ip = ip128(kHost6);
  ConnHandle h6 = h().open_conn(c6, 4, 4);
  const pg::Eth eth(kPeerMac, kHostMac);
  const Bytes good = pg::ip_frame(eth, pg::Ipv6(kHost6, kPeer6), pg::Udp(4000, 1), pg::pattern(1518 - 62));
  const Bytes spoof = pg::ip_frame(eth, pg::Ipv6(kPeer6, kHost6), pg::Udp(4000, 1), pg::pattern(20));
  const Bytes v4 = udp_out(4000, 1, 20);
  ASSERT_EQ(good.size(), 1518u);
  const auto a = h().tx_post(h6.tx, good);
  const auto b = h().tx_post(h6.tx, spoof);
  const auto c = h().tx_post(h6.tx, v4);
  const auto d = h().tx_post(h6.tx, good, 1519);
  h().tx_doorbell(h6.tx);
  ConnConfig raw = udp_conn(31, 1, 0);
  raw.raw = true;
  ConnHandle hr = h().open_conn(raw, 4, 4);
  const Bytes tiny = pg::pattern(14, 0x40);  // smallest legal frame
  const Bytes odd = pg::pattern(65, 0x80);
  const auto e = h().tx_post(hr.tx, tiny);
  const auto f = h().tx_post(hr.tx, odd);
  const auto g = h().tx_post(hr.tx, tiny, 13);
  h().tx_doorbell(hr.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().tx_status(h6.tx, a), rm::tx_desc::kStatusSent);
  EXPECT_EQ(h().tx_status(h6.tx, b), rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(h().tx_status(h6.tx, c), rm::tx_desc::kStatusDropSpoof);
  EXPECT_EQ(h().tx_status(h6.tx, d), rm::tx_desc::kStatusDropBadLen);
  EXPECT_EQ(h().tx_status(hr.tx, e), rm::tx_desc::kStatusSent);
  EXPECT_EQ(h().tx_status(hr.tx, f), rm::tx_desc::kStatusSent);
  EXPECT_EQ(h().tx_status(hr.tx, g), rm::tx_desc::kStatusDropBadLen);
  EXPECT_EQ(h().take_tx(1), (std::vector<Bytes>{good}));
  EXPECT_EQ(h().take_tx(0), (std::vector<Bytes>{tiny, odd}));
}

TEST_F(NicTest, RxSingleSlotRing) {
  ConnHandle fb = open_fallback(0);
  for (unsigned r = 0; r < 5; ++r) {
    const Bytes f1 = udp_in(1, 2, 10 + r, static_cast<std::uint8_t>(r));
    h().inject(0, f1);
    h().inject(0, udp_in(1, 2, 11));
    ASSERT_TRUE(h().wait_idle());
    auto g = h().rx_drain(fb.rx);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].data, f1);
  }
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull), 5u);
}

TEST_F(NicTest, RxLineRateSingleBeatFramesOneConnection) {
  ConnHandle c = h().open_conn(udp_conn(40, 7000), 9);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 40), Status::kOk);
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 300; ++i) {
    Bytes f = udp_in(5000, 7000, 18);  // 60 bytes: one beat
    f[59] = static_cast<std::uint8_t>(i);
    f[58] = static_cast<std::uint8_t>(i >> 8);
    sent.push_back(f);
    h().inject(0, f);
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropOverflow), 0u);
  auto g = h().rx_drain(c.rx);
  ASSERT_EQ(g.size(), sent.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(g[i].data, sent[i]) << i;
    EXPECT_EQ(g[i].seq, i + 1);
  }
}

TEST_F(NicTest, NqDoorbellsToQueueWithoutContext) {
  // DOORBELL_INVALID: "doorbell to a connection or queue with no valid context".
  h().csr_write(NicHarness::nq_db(5, rm::kDbNqCons), 1);
  h().csr_write(NicHarness::nq_db(6, rm::kDbNqArm), 1);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kDoorbellInvalid), 2u);
  NqRing q = h().open_nq(5, 2, 1);
  h().nq_doorbell(q);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kDoorbellInvalid), 2u);
  ASSERT_EQ(h().nq_clear(5), Status::kOk);
  h().nq_arm(q);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kDoorbellInvalid), 3u);
}

TEST_F(NicTest, CounterRegisterEdges) {
  // Indices past COUNT read as zero and are valid registers.
  EXPECT_EQ(h().csr_read(rm::kRegCountersValue + rm::kNumCounters * rm::kRegCountersValueStride), 0u);
  EXPECT_EQ(h().csr_read(rm::kRegCountersValue + (rm::kRegCountersValueCount - 1) * rm::kRegCountersValueStride), 0u);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
  const auto byname = h().counters_by_name();
  EXPECT_EQ(byname.size(), rm::kNumCounters);
  EXPECT_EQ(byname.at("csr_invalid"), 0u);
}

TEST_F(NicTest, ConnSetResetsRingIndices) {
  ConnHandle c = h().open_conn(udp_conn(0, 1), 3);
  for (unsigned i = 0; i < 3; ++i) h().inject(0, udp_in(1, 2, 20));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().conn_query(0).second, 3u);
  // Re-set the connection on a fresh ring: indices restart at 0.
  ConnConfig cfg = c.cfg;
  cfg.rx_base = h().alloc(8 * 2048);
  ASSERT_EQ(h().conn_set(cfg), Status::kOk);
  EXPECT_EQ(h().conn_query(0).second, 0u);
  RxRing ring{0, cfg.rx_base, 3, 0};
  const Bytes f = udp_in(1, 2, 99);
  h().inject(1, f);
  ASSERT_TRUE(h().wait_idle());
  auto g = h().rx_drain(ring);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data, f);
  EXPECT_EQ(g[0].seq, 1u);
}

}  // namespace
}  // namespace norman::test

namespace norman::test {
namespace {

using rm::Counter;
using rm::Status;

TEST_F(NicTest, RxTuserOnlySampledWithTlast) {
  ConnHandle fb = open_fallback();
  const Bytes a = udp_in(1, 2, 300);  // 5 beats
  const Bytes b = udp_in(1, 2, 200);
  h().inject(0, a, false, true);  // tuser high on beats 0..3, low with tlast: good frame
  h().inject(1, b, true, false);  // tuser with tlast: bad frame
  ASSERT_TRUE(h().wait_idle());
  auto g = h().rx_drain(fb.rx);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data, a);
  EXPECT_EQ(cnt(h(), Counter::kRxDropMacError), 1u);
}

TEST_F(NicTest, RxLengthBoundaries) {
  ConnHandle fb = open_fallback();
  Bytes min14 = pg::pattern(14, 1);
  min14[12] = 0x88;  // an unknown EtherType
  min14[13] = 0xB5;
  h().inject(0, min14);
  h().inject(0, pg::pattern(13, 2));
  h().inject(0, udp_in(1, 2, 1518 - 42, 3));
  h().inject(0, udp_in(1, 2, 1519 - 42, 4));
  h().inject(1, udp_in(1, 2, 1519 - 42, 5), true);  // MAC error wins over too big
  ASSERT_TRUE(h().wait_idle());
  auto g = h().rx_drain(fb.rx);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].data, min14);
  EXPECT_EQ(g[1].len, 1518u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropRunt), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropTooBig), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropMacError), 1u);
}

TEST_F(NicTest, UnalignedRingBases) {
  // The RX ring must be beat (64-byte) aligned and a notification queue
  // entry (8-byte) aligned: CONN_SET / NQ_SET refuse anything else. TX rings
  // may sit anywhere.
  ConnConfig cfg = udp_conn(0, 6000, 1);
  cfg.rx_base = h().alloc(16 * 2048 + 64) + 40;
  cfg.rx_log2 = 4;
  EXPECT_EQ(h().conn_set(cfg), Status::kInvalid);
  EXPECT_EQ(h().nq_set(9, h().alloc(4096) + 4, 6, 3), Status::kInvalid);
  cfg.rx_base += 24;  // 64-byte aligned, not 2048
  cfg.rx_log2 = 4;
  cfg.tx_desc_base = h().alloc(16 * 8 + 64) + 60;
  cfg.tx_data_base = h().alloc(16 * 2048 + 64) + 3;
  cfg.tx_log2 = 4;
  cfg.nq_id = 9;
  ASSERT_EQ(h().conn_set(cfg), Status::kOk);
  const std::uint64_t nq_base = h().alloc(64 * 8 + 64) + 24;
  ASSERT_EQ(h().nq_set(9, nq_base, 6, 3), Status::kOk);
  NqRing q{9, nq_base, 6, 0};
  RxRing rx{0, cfg.rx_base, 4, 0};
  TxRing tx{0, cfg.tx_desc_base, cfg.tx_data_base, 4, 0};
  std::vector<Bytes> in, out;
  for (unsigned i = 0; i < 20; ++i) {
    in.push_back(udp_in(1, 2, 5 + i * 61, static_cast<std::uint8_t>(i)));
    h().inject(i & 1, in.back());
    if (i < 12) {
      out.push_back(udp_out(6000, 1, 5 + i * 67, static_cast<std::uint8_t>(i)));
      h().tx_post(tx, out.back());
    }
  }
  h().tx_doorbell(tx);
  ASSERT_TRUE(h().wait_idle());
  std::vector<RxFrame> g;
  while (g.size() < in.size()) {
    auto v = h().rx_drain(rx);
    if (v.empty()) break;
    g.insert(g.end(), v.begin(), v.end());
    ASSERT_TRUE(h().wait_idle());
  }
  // 16 slots for 20 frames (both ports at line rate may also overflow ingress).
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull) + cnt(h(), Counter::kRxDropOverflow), 4u);
  ASSERT_EQ(g.size(), 16u);
  std::set<Bytes> sent(in.begin(), in.end());
  for (const auto& f : g) EXPECT_TRUE(sent.count(f.data)) << "len " << f.len;
  EXPECT_EQ(h().take_tx(1), out);
  for (std::uint32_t i = 0; i < 12; ++i) EXPECT_EQ(h().tx_status(tx, i), rm::tx_desc::kStatusSent) << i;
  auto n = h().nq_drain(q);
  ASSERT_GE(n.size(), 1u);
  EXPECT_EQ(n[0].conn, 0u);
  EXPECT_EQ(n[0].kind, rm::notify::kKindsRx);
}

TEST_F(NicTest, HighestConnectionAndQueueIds) {
  const auto top_conn = static_cast<std::uint16_t>(rm::kNumConns - 1);
  const auto top_nq = static_cast<std::uint16_t>(rm::kNumNqs - 1);
  NqRing q = h().open_nq(top_nq, 4, 0xFFFF);
  ConnConfig cfg = udp_conn(top_conn, 6000, 1, top_nq);
  cfg.notify_tx = true;
  ConnHandle c = h().open_conn(cfg, 4, 4);
  ASSERT_EQ(h().flow_insert(udp_key(6000, 5000), top_conn), Status::kOk);
  EXPECT_EQ(h().flow_lookup(udp_key(6000, 5000)).result & 0xFFFF, top_conn);
  h().nq_arm(q);
  const Bytes f = udp_in(5000, 6000, 77);
  h().inject(1, f);
  ASSERT_TRUE(h().wait_idle());
  auto g = h().rx_drain(c.rx);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data, f);
  auto n = h().nq_drain(q);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].conn, top_conn);
  EXPECT_EQ(h().irqs(), (std::vector<std::uint32_t>{0xFFFF}));
  const Bytes o = udp_out(6000, 5000, 20);
  h().tx_post(c.tx, o);
  h().tx_doorbell(c.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(1), (std::vector<Bytes>{o}));
  n = h().nq_drain(q);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].conn, top_conn);
  EXPECT_EQ(n[0].kind, rm::notify::kKindsTxDone);
  EXPECT_EQ(h().conn_query(top_conn), (std::pair<std::uint16_t, std::uint16_t>{1, 1}));
  EXPECT_EQ(cnt(h(), Counter::kDoorbellInvalid), 0u);
}

TEST_F(NicTest, DmaRequestCountersMatchHost) {
  ConnHandle c = h().open_conn(udp_conn(0, 6000, 0), 5, 4);
  for (unsigned i = 0; i < 10; ++i) h().inject(i & 1, udp_in(1, 2, 100 * i));
  for (unsigned i = 0; i < 6; ++i) h().tx_post(c.tx, udp_out(6000, 1, 30 * i));
  h().tx_doorbell(c.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kDmaWrReqs), h().dma_writes());
  EXPECT_EQ(cnt(h(), Counter::kDmaRdReqs), h().dma_reads());
  EXPECT_GE(h().dma_writes(), 10u);
}

}  // namespace
}  // namespace norman::test
