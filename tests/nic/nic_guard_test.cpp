// Whole-core tests of the NIC's guards against a hostile or careless host:
// TX_PROD indices are checked, non-raw connections cannot send VLAN tags,
// martian or TTL 0 frames or broadcasts without BROADCAST, received frames
// are filtered by destination MAC unless the port is promiscuous, and
// CONN_SET/CONN_CLEAR drain the connection's TX work (CONN_TX_STATE shows it).
#include <algorithm>

#include "nic_test_util.hpp"

namespace norman::test {
namespace {

using rm::Counter;
using rm::Status;

// {prod, cons} from CONN_TX_STATE.
std::pair<std::uint16_t, std::uint16_t> tx_state(NicHarness& h, std::uint16_t conn) {
  const CmdResult r = h.command(rm::Op::kConnTxState, {{rm::conn::kConnId.arg, conn}});
  EXPECT_EQ(r.status, Status::kOk);
  return {static_cast<std::uint16_t>(r.result >> 16), static_cast<std::uint16_t>(r.result)};
}

void write_tx_prod(NicHarness& h, std::uint16_t conn, std::uint64_t prod) {
  h.csr_write(NicHarness::conn_db(conn, rm::kDbConnTxProd), prod);
}

TEST_F(NicTest, TxProdBeyondTheRingBackwardsOrAllOnesIsRefused) {
  ConnHandle c = h().open_conn(udp_conn(30, 6000), 4, 4);  // 16 descriptors
  for (unsigned i = 0; i < 5; ++i) h().tx_post(c.tx, udp_out(6000, 5000, 40 + i));
  h().tx_doorbell(c.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(0).size(), 5u);
  EXPECT_EQ(tx_state(h(), 30), (std::pair<std::uint16_t, std::uint16_t>{5, 5}));

  write_tx_prod(h(), 30, ~std::uint64_t{0});  // 2^64 - 1
  write_tx_prod(h(), 30, 5 + 17);             // more than a ring ahead
  write_tx_prod(h(), 30, 4);                  // behind
  write_tx_prod(h(), 30, 0x10000 + 3);        // behind, in the low 16 bits that count
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kTxProdInvalid), 4u);
  EXPECT_EQ(cnt(h(), Counter::kTxFetched), 5u) << "stale descriptors were fetched again";
  EXPECT_TRUE(h().take_tx(0).empty());
  EXPECT_EQ(tx_state(h(), 30), (std::pair<std::uint16_t, std::uint16_t>{5, 5}));

  // Exactly a ring ahead is accepted.
  for (unsigned i = 0; i < 16; ++i) h().tx_post(c.tx, udp_out(6000, 5000, 60 + i));
  h().tx_doorbell(c.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(0).size(), 16u);
  EXPECT_EQ(cnt(h(), Counter::kTxProdInvalid), 4u);
  EXPECT_EQ(tx_state(h(), 30), (std::pair<std::uint16_t, std::uint16_t>{21, 21}));
}

TEST_F(NicTest, TxTagsMartiansAndBroadcastNeedTheAdministrator) {
  h().csr_write(rm::kRegCtrlPortBcast, 0x0A0000FFu);  // 10.0.0.255 on port 0
  EXPECT_EQ(h().csr_read(rm::kRegCtrlPortBcast), 0x0A0000FFu);
  ConnHandle c = h().open_conn(udp_conn(31, 6000), 4, 4);
  ConnConfig bcfg = udp_conn(32, 6001);
  bcfg.broadcast = true;
  ConnHandle b = h().open_conn(bcfg, 4, 4);
  auto out = [](std::uint16_t sport, const pg::Ipv4Addr& dst, std::uint8_t ttl = 64,
                std::optional<pg::Vlan> vlan = std::nullopt) {
    pg::Ipv4 ip(kHostIp, dst);
    ip.ttl = ttl;
    return pg::ip_frame(pg::Eth(kPeerMac, kHostMac, vlan), ip, pg::Udp(sport, 5000),
                        pg::pattern(30));
  };
  pg::Vlan qinq(42);
  qinq.tpid = 0x88a8;
  const std::vector<std::pair<Bytes, std::uint32_t>> cases = {
      {out(6000, kPeerIp), rm::tx_desc::kStatusSent},
      {out(6000, kPeerIp, 64, pg::Vlan(42)), rm::tx_desc::kStatusDropVlan},
      {out(6000, kPeerIp, 64, qinq), rm::tx_desc::kStatusDropVlan},
      {out(6000, pg::ipv4("127.0.0.1")), rm::tx_desc::kStatusDropMartian},
      {out(6000, pg::ipv4("0.1.2.3")), rm::tx_desc::kStatusDropMartian},
      {out(6000, kPeerIp, 0), rm::tx_desc::kStatusDropMartian},
      {out(6000, pg::ipv4("255.255.255.255")), rm::tx_desc::kStatusDropBroadcast},
      {out(6000, pg::ipv4("10.0.0.255")), rm::tx_desc::kStatusDropBroadcast},
      {out(6000, pg::ipv4("239.1.2.3")), rm::tx_desc::kStatusSent},
  };
  std::vector<std::uint32_t> idx;
  for (const auto& [f, st] : cases) idx.push_back(h().tx_post(c.tx, f));
  h().tx_doorbell(c.tx);
  const Bytes b1 = out(6001, pg::ipv4("255.255.255.255"));
  const Bytes b2 = out(6001, pg::ipv4("10.0.0.255"));
  h().tx_post(b.tx, b1);
  h().tx_post(b.tx, b2);
  h().tx_doorbell(b.tx);
  ASSERT_TRUE(h().wait_idle());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(h().tx_status(c.tx, idx[i]), cases[i].second) << i;
  EXPECT_EQ(h().tx_status(b.tx, 0), rm::tx_desc::kStatusSent);
  EXPECT_EQ(h().tx_status(b.tx, 1), rm::tx_desc::kStatusSent);
  // The two connections' batches interleave; compare as sets.
  auto sent = h().take_tx(0);
  std::vector<Bytes> want{cases[0].first, cases[8].first, b1, b2};
  std::sort(sent.begin(), sent.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(sent, want);
  EXPECT_EQ(cnt(h(), Counter::kTxDropVlan), 2u);
  EXPECT_EQ(cnt(h(), Counter::kTxDropMartian), 3u);
  EXPECT_EQ(cnt(h(), Counter::kTxDropBroadcast), 2u);
  EXPECT_EQ(cnt(h(), Counter::kTxDropSpoof), 0u);
}

TEST_F(NicTest, RxDestinationMacFilterAndPromiscuousMode) {
  ConnHandle fb = open_fallback();
  // Reset: promiscuous, so a NIC nobody configured still receives.
  EXPECT_EQ(h().csr_read(rm::kRegCtrlPortMac), std::uint64_t{1} << rm::kPortMacPromiscBit);
  h().csr_write(rm::kRegCtrlPortMac, mac48(kHostMac));
  EXPECT_EQ(h().csr_read(rm::kRegCtrlPortMac), mac48(kHostMac));
  EXPECT_EQ(h().csr_read(rm::kRegCtrlPortMac + 7 * rm::kRegCtrlPortMacStride), 0u);  // no port 7

  auto to = [](const pg::Mac& dst, std::uint8_t first) {
    return pg::ip_frame(pg::Eth(dst, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), pg::Udp(1, 2),
                        pg::pattern(20, first));
  };
  const Bytes mine = to(kHostMac, 1);
  const Bytes bcast = to(pg::mac("ff:ff:ff:ff:ff:ff"), 2);
  const Bytes mcast = to(pg::mac("01:00:5e:00:00:fb"), 3);
  const Bytes other = to(pg::mac("02:00:00:00:00:99"), 4);
  for (const auto* f : {&mine, &bcast, &mcast, &other}) h().inject(0, *f);
  ASSERT_TRUE(h().wait_idle());
  auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].data, mine);
  EXPECT_EQ(got[1].data, bcast);
  EXPECT_EQ(got[2].data, mcast);
  EXPECT_EQ(cnt(h(), Counter::kRxDropDstMac), 1u);
  h().inject(1, other);  // port 1 is still promiscuous
  ASSERT_TRUE(h().wait_idle());
  got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, other);

  // Promiscuous again: every frame is received.
  h().csr_write(rm::kRegCtrlPortMac,
                mac48(kHostMac) | (std::uint64_t{1} << rm::kPortMacPromiscBit));
  h().inject(0, other);
  ASSERT_TRUE(h().wait_idle());
  got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, other);
  EXPECT_EQ(cnt(h(), Counter::kRxDropDstMac), 1u);
}

// CONN_CLEAR while the connection has batches of frames in flight: the command returns only once
// the engine holds nothing of the connection; nothing is sent or written back after it; the fates
// balance (TearDown) and the conn starts clean when set again.
TEST_F(NicTest, ConnClearDrainsTxInFlight) {
  // A slow host: the first batch's descriptors are still on their way when
  // the clear starts, so its frames reach the check during the drain.
  h().options().tx_ready_pct = 50;
  h().options().rd_latency = 2000;
  ConnHandle c = h().open_conn(udp_conn(33, 6000), 4, 4);
  for (unsigned i = 0; i < 16; ++i) h().tx_post(c.tx, udp_out(6000, 5000, 200 + i * 10));
  h().tx_doorbell(c.tx);
  h().run(1500);
  const auto [prod, cons] = tx_state(h(), 33);
  EXPECT_EQ(prod, 16u);
  EXPECT_LT(cons, 16u) << "the test wants TX in flight";
  ASSERT_EQ(h().conn_clear(33), Status::kOk);
  const std::uint64_t writes = h().dma_writes();
  const std::size_t sent = h().tx_frames(0).size();
  EXPECT_EQ(tx_state(h(), 33), (std::pair<std::uint16_t, std::uint16_t>{0, 0}));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().dma_writes(), writes) << "written after CONN_CLEAR completed";
  EXPECT_EQ(h().tx_frames(0).size(), sent) << "sent after CONN_CLEAR completed";
  // Both batches of 8 are in flight (a connection has several at once).
  EXPECT_EQ(cnt(h(), Counter::kTxDropClosed), 16u) << "the batches in flight are dropped, not sent";
  EXPECT_EQ(sent, 0u);
  EXPECT_EQ(cnt(h(), Counter::kTxFetched),
            cnt(h(), Counter::kTxSent) + cnt(h(), Counter::kTxDropClosed));
  std::uint64_t closed = 0;
  for (std::uint32_t i = 0; i < 16; ++i) {
    const std::uint32_t st = h().tx_status(c.tx, i);
    closed += st == rm::tx_desc::kStatusDropClosed;
    EXPECT_TRUE(st == rm::tx_desc::kStatusSent || st == rm::tx_desc::kStatusDropClosed ||
                st == rm::tx_desc::kStatusPending)
        << i;
  }
  EXPECT_EQ(closed, cnt(h(), Counter::kTxDropClosed));

  h().options().tx_ready_pct = 100;
  h().options().rd_latency = 8;
  h().take_tx(0);
  ConnHandle again = h().open_conn(udp_conn(33, 6000), 4, 4);
  const Bytes f = udp_out(6000, 5000, 77);
  h().tx_post(again.tx, f);
  h().tx_doorbell(again.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(0), (std::vector<Bytes>{f}));
  EXPECT_EQ(tx_state(h(), 33), (std::pair<std::uint16_t, std::uint16_t>{1, 1}));
}

// With TX paused the work cannot drain: CONN_CLEAR answers BUSY (bounded),
// the context is already invalid, and a retry once TX runs succeeds.
TEST_F(NicTest, ConnClearAnswersBusyWhenTxCannotDrain) {
  ConnHandle c = h().open_conn(udp_conn(34, 6000), 4, 4);
  h().csr_write(rm::kRegCtrlEnable, 1);  // RX only
  for (unsigned i = 0; i < 4; ++i) h().tx_post(c.tx, udp_out(6000, 5000, 50 + i));
  h().tx_doorbell(c.tx);
  h().run(500);
  const std::uint64_t start = h().cycles();
  EXPECT_EQ(h().conn_clear(34), Status::kBusy);
  EXPECT_LT(h().cycles() - start, 2 * rm::kConnDrainCycles);
  h().tx_doorbell(c.tx);  // refused: the context is invalid
  h().csr_write(rm::kRegCtrlEnable, 3);
  EXPECT_EQ(h().conn_clear(34), Status::kOk);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_GE(cnt(h(), Counter::kDoorbellInvalid), 1u);
  h().take_tx(0);
}

}  // namespace
}  // namespace norman::test
