// The filter overlay in the whole core: FILTER registers and commands, the
// INPUT chain on receive and the OUTPUT chain on transmit, with rules
// installed through the command interface exactly as the driver encodes them
// (norman::filter::encode_write; exact entries through EXACT_DATA/EXACT_WRITE
// with norman::filter::exact_form and exact_bucket), and verdicts checked
// against the software model (key_of_frame + lowest-priority matching slot).
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "exact.hpp"
#include "flat.hpp"
#include "nic_test_util.hpp"

namespace norman::test {
namespace {

namespace nf = norman::filter;
namespace rf = norman::regmap::filter;
using rm::Counter;
using rm::Status;

constexpr unsigned kInput = 0;
constexpr unsigned kOutput = 1;

// A slot as the NIC holds it, for the software verdict.
struct Slot {
  nf::Entry e;
  std::uint16_t prio = 0;
  bool valid = false;
};

std::uint32_t ipv4_len(const Bytes& f) { return (std::uint32_t{f[16]} << 8) | f[17]; }

void set_flag(nf::Entry& e, rf::Flag f, bool v) {
  e.flags_mask |= nf::flag_bit(f);
  if (v) e.flags_value |= nf::flag_bit(f);
}

nf::Entry exact(nf::Entry e, rf::FieldId f, std::uint32_t v) {
  e[f] = {v, v};
  return e;
}

class FilterTest : public NicTest {
 protected:
  // At most one beat per cycle in total, as the ingress drains: the tests
  // here are about verdicts, not about ingress overflow.
  void inject_paced(unsigned port, const Bytes& f) {
    h().inject(port, f);
    h().run((f.size() + NicHarness::kBeat - 1) / NicHarness::kBeat);
  }
  CmdResult write_slot(const nf::Entry& e, std::uint16_t slot, std::uint16_t prio,
                       bool valid = true) {
    const auto words = nf::encode_write(e, slot, prio, valid);
    std::map<unsigned, std::uint64_t> args;
    for (unsigned i = 0; i < words.size(); ++i) args[i] = words[i];
    return h().command(rm::Op::kFilterWrite, args);
  }
  void install(const nf::Entry& e, std::uint16_t slot, std::uint16_t prio) {
    ASSERT_EQ(write_slot(e, slot, prio).status, Status::kOk);
  }
  CmdResult commit() { return h().command(rm::Op::kFilterCommit, {}); }
  // {packets, bytes} of a slot's counter on a lookup port.
  std::pair<std::uint64_t, std::uint64_t> slot_count(std::uint16_t slot, unsigned port) {
    h().csr_write(rm::kRegFilterCntSel, slot | (std::uint64_t{port} << 16));
    return {h().csr_read(rm::kRegFilterCntPkts), h().csr_read(rm::kRegFilterCntBytes)};
  }
};

// The deciding slot of a key: lowest priority, ties to the lowest slot.
std::optional<std::size_t> decide(const std::vector<Slot>& slots, const nf::Key& k) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].valid || !nf::matches(slots[i].e, k)) continue;
    if (!best || slots[i].prio < slots[*best].prio) best = i;
  }
  return best;
}

// The INPUT verdict of a frame: ACCEPT when unjudged or nothing matched.
rf::Action verdict(const std::vector<Slot>& slots, const std::optional<nf::Key>& k) {
  if (!k) return rf::Action::kAccept;
  const auto s = decide(slots, *k);
  return s ? slots[*s].e.action : rf::Action::kAccept;
}

TEST_F(FilterTest, Registers) {
  EXPECT_EQ(h().csr_read(rm::kBlkFilterBase), rm::kBlkFilterHeader);
  EXPECT_EQ(h().csr_read(rm::kRegFilterEntries), rm::kFilterEntries);
  // 4 + ceil(log2(4096) / 2), plus the stage ranking range and exact
  // winners (docs/filter-overlay.md).
  EXPECT_EQ(h().csr_read(rm::kRegFilterLatency), 11u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterEpoch), 0u);
  for (std::uint32_t i = 1; i <= 3; ++i) {
    const CmdResult r = commit();
    EXPECT_EQ(r.status, Status::kOk);
    EXPECT_EQ(r.result, i);
    EXPECT_EQ(h().csr_read(rm::kRegFilterEpoch), i);
  }
  h().csr_write(rm::kRegFilterCntSel, 0xFFFF'FFFF'0001'0ABCULL);
  EXPECT_EQ(h().csr_read(rm::kRegFilterCntSel), 0x1'0ABCu);
  // Fresh counters read zero, and so does a slot past the table.
  EXPECT_EQ(slot_count(5, kInput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  EXPECT_EQ(slot_count(0xFFFF, kOutput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
}

TEST_F(FilterTest, WriteRefusesBadArguments) {
  nf::Entry e;
  EXPECT_EQ(write_slot(e, static_cast<std::uint16_t>(rm::kFilterEntries), 0).status,
            Status::kInvalid);
  EXPECT_EQ(write_slot(e, 0xFFFF, 0).status, Status::kInvalid);
  nf::Entry bad_range;
  bad_range[rf::FieldId::kDport] = {10, 5};
  EXPECT_EQ(write_slot(bad_range, 3, 0).status, Status::kInvalid);
  auto words = nf::encode_write(e, 3, 0);
  rf::kAction.set(words[0], 7);  // no such action
  std::map<unsigned, std::uint64_t> args;
  for (unsigned i = 0; i < words.size(); ++i) args[i] = words[i];
  EXPECT_EQ(h().command(rm::Op::kFilterWrite, args).status, Status::kInvalid);
  EXPECT_EQ(
      h().command(rm::Op::kFilterCntClear, {{0, rm::kFilterEntries + rm::kFilterExactEntries}})
          .status,
      Status::kInvalid);
  EXPECT_EQ(h().command(rm::Op::kFilterCntClear, {{0, 0xFFFF}}).status, Status::kInvalid);
  // Good ones still go through.
  EXPECT_EQ(write_slot(e, 3, 0).status, Status::kOk);
  EXPECT_EQ(write_slot(e, static_cast<std::uint16_t>(rm::kFilterEntries - 1), 0, false).status,
            Status::kOk);
  EXPECT_EQ(h().command(rm::Op::kFilterCntClear, {{0, 3}}).status, Status::kOk);
  EXPECT_EQ(h().command(rm::Op::kFilterCntClear, {{0, rm::kFilterEntries}}).status, Status::kOk);
  EXPECT_EQ(
      h().command(rm::Op::kFilterCntClear, {{0, rm::kFilterEntries + rm::kFilterExactEntries - 1}})
          .status,
      Status::kOk);
  EXPECT_EQ(commit().status, Status::kOk);
}

TEST_F(FilterTest, InputDropsUdpPort) {
  ConnHandle fb = open_fallback(6);
  ConnHandle c = h().open_conn(udp_conn(30, 5432), 6);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  nf::Entry drop;
  drop = exact(drop, rf::FieldId::kProto, pg::ipproto::kUdp);
  drop = exact(drop, rf::FieldId::kDport, 5432);
  set_flag(drop, rf::Flag::kDir, false);
  drop.action = rf::Action::kDrop;
  install(drop, 7, 100);
  ASSERT_EQ(commit().status, Status::kOk);

  std::vector<Bytes> fb_want;
  std::uint64_t dropped = 0, dropped_bytes = 0, judged = 0;
  for (unsigned i = 0; i < 24; ++i) {
    const bool to_5432 = (i % 3) != 0;
    const bool matched = (i % 2) == 0;  // a frame of conn 30's flow, or an unknown peer port
    const std::uint16_t sport = matched ? 4000 : 4001;
    Bytes f = udp_in(sport, to_5432 ? 5432 : 5433, 10 + i * 37, static_cast<std::uint8_t>(i));
    inject_paced(i % 2, f);
    ++judged;
    if (to_5432) {
      ++dropped;
      dropped_bytes += ipv4_len(f);
    } else {
      fb_want.push_back(f);
    }
  }
  ASSERT_TRUE(h().wait_idle());
  std::vector<Bytes> got;
  for (auto& x : h().rx_drain(fb.rx)) got.push_back(x.data);
  EXPECT_EQ(got, fb_want);
  EXPECT_TRUE(h().rx_drain(c.rx).empty());
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), dropped);
  EXPECT_EQ(cnt(h(), Counter::kFilterRxLookups), judged);
  EXPECT_EQ(cnt(h(), Counter::kFilterTxLookups), 0u);
  EXPECT_EQ(slot_count(7, kInput), std::make_pair(dropped, dropped_bytes));
  EXPECT_EQ(slot_count(7, kOutput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  // Counter clear, on both ports.
  EXPECT_EQ(h().command(rm::Op::kFilterCntClear, {{0, 7}}).status, Status::kOk);
  EXPECT_EQ(slot_count(7, kInput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
}

TEST_F(FilterTest, InputOwnerMatch) {
  ConnHandle fb = open_fallback(6);
  ConnConfig bob = udp_conn(40, 7000);
  bob.uid = 1001;
  ConnConfig eve = udp_conn(41, 7001);
  eve.uid = 1002;
  ConnHandle cb = h().open_conn(bob, 6);
  ConnHandle ce = h().open_conn(eve, 6);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 40), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(7001, 5000), 41), Status::kOk);

  // Drop everything delivered to uid 1002; log (and accept) what has no owner.
  nf::Entry drop_eve;
  drop_eve = exact(drop_eve, rf::FieldId::kUid, 1002);
  set_flag(drop_eve, rf::Flag::kOwnerValid, true);
  drop_eve.action = rf::Action::kDrop;
  install(drop_eve, 0, 10);
  nf::Entry log_kernel;
  set_flag(log_kernel, rf::Flag::kOwnerValid, false);
  log_kernel.log = true;
  install(log_kernel, 1, 20);
  // A uid-0 rule must not catch fallback frames through their zero owner fields.
  nf::Entry drop_root = exact(nf::Entry{}, rf::FieldId::kUid, 0);
  set_flag(drop_root, rf::Flag::kOwnerValid, true);
  drop_root.action = rf::Action::kDrop;
  install(drop_root, 2, 5);
  ASSERT_EQ(commit().status, Status::kOk);

  for (unsigned i = 0; i < 5; ++i) {
    inject_paced(0, udp_in(5000, 7000, 20 + i));
    inject_paced(1, udp_in(5000, 7001, 20 + i));
    inject_paced(0, udp_in(5000, 7002, 20 + i));  // no connection: fallback
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().rx_drain(cb.rx).size(), 5u);
  EXPECT_TRUE(h().rx_drain(ce.rx).empty());
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 5u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), 5u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), 5u);
  EXPECT_EQ(slot_count(0, kInput).first, 5u);
  EXPECT_EQ(slot_count(1, kInput).first, 5u);
  EXPECT_EQ(slot_count(2, kInput).first, 0u);
}

constexpr std::uint32_t kRejectFlag = 1u << rm::rx_slot::kFlagsReject;
constexpr std::uint16_t kFallback = static_cast<std::uint16_t>(rm::kFallbackConn);

// REJECT on INPUT for UDP dport 5432, the rule the REJECT tests share.
nf::Entry reject_5432() {
  nf::Entry e = exact(nf::Entry{}, rf::FieldId::kProto, pg::ipproto::kUdp);
  e = exact(e, rf::FieldId::kDport, 5432);
  set_flag(e, rf::Flag::kDir, false);
  e.action = rf::Action::kReject;
  return e;
}

// A REJECT verdict hands the frame to the control plane: it lands in the
// fallback ring, marked REJECT, whether it matched a connection or not, and
// wakes the fallback's notification queue, never the connection's. DROP
// still drops, and unjudged frames (ARP) keep their old fate.
TEST_F(FilterTest, InputRejectGoesToFallback) {
  NqRing fb_nq = h().open_nq(1, 6, 1);
  NqRing app_nq = h().open_nq(2, 6, 2);
  ConnHandle fb = h().open_conn(udp_conn(kFallback, 1, 0, 1), 6);
  ConnHandle c = h().open_conn(udp_conn(30, 5432, 0, 2), 6);
  ConnHandle d = h().open_conn(udp_conn(31, 5433, 0, 2), 6);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(5433, 4000), 31), Status::kOk);
  install(reject_5432(), 7, 100);
  nf::Entry drop = exact(nf::Entry{}, rf::FieldId::kDport, 5434);
  drop.action = rf::Action::kDrop;
  install(drop, 8, 100);
  ASSERT_EQ(commit().status, Status::kOk);

  const Bytes arp = pg::arp_frame(pg::Eth(pg::mac("ff:ff:ff:ff:ff:ff"), kPeerMac),
                                  pg::Arp(1, kPeerMac, kPeerIp, pg::Mac{}, kHostIp));
  struct Landed {
    Bytes data;
    std::uint32_t flags;
    bool operator==(const Landed&) const = default;
  };
  std::vector<Landed> fb_want;
  std::vector<Bytes> d_want;
  std::uint64_t rejected = 0, rejected_bytes = 0, judged = 0, fb_plain = 0, dropped = 0;
  for (unsigned i = 0; i < 24; ++i) {
    const auto first = static_cast<std::uint8_t>(i);
    const std::size_t payload = 10 + i * 29;
    Bytes f;
    switch (i % 6) {
      case 0:  // conn 30's flow: rejected
      case 1:  // no connection (unknown peer port): rejected on the fallback path
        f = udp_in(i % 6 == 0 ? 4000 : 4001, 5432, payload, first);
        fb_want.push_back({f, kRejectFlag});
        ++rejected;
        rejected_bytes += ipv4_len(f);
        break;
      case 2:  // conn 31's flow: accepted
        f = udp_in(4000, 5433, payload, first);
        d_want.push_back(f);
        break;
      case 3:  // no connection, accepted
        f = udp_in(4001, 5433, payload, first);
        fb_want.push_back({f, 0});
        ++fb_plain;
        break;
      case 4:
        f = udp_in(4000, 5434, payload, first);
        ++dropped;
        break;
      default:  // not judged
        f = arp;
        fb_want.push_back({f, 0});
        ++fb_plain;
        --judged;
        break;
    }
    ++judged;
    inject_paced(i % 2, f);
  }
  // A rejected frame keeps its other flags.
  const Bytes tagged =
      pg::ip_frame(pg::Eth(kHostMac, kPeerMac, pg::Vlan(100)), pg::Ipv4(kPeerIp, kHostIp),
                   pg::Udp(4001, 5432), pg::pattern(40, 9));
  ASSERT_TRUE(nf::key_of_frame(tagged, nf::Direction::kInput, 0, std::nullopt));
  inject_paced(0, tagged);
  fb_want.push_back({tagged, kRejectFlag | (1u << rm::rx_slot::kFlagsVlan)});
  ++rejected;
  rejected_bytes += ipv4_len(Bytes(tagged.begin() + 4, tagged.end()));
  ++judged;
  ASSERT_TRUE(h().wait_idle());

  std::vector<Landed> fb_got;
  for (auto& x : h().rx_drain(fb.rx)) fb_got.push_back({x.data, x.flags});
  ASSERT_EQ(fb_got.size(), fb_want.size());
  for (std::size_t i = 0; i < fb_got.size(); ++i) EXPECT_TRUE(fb_got[i] == fb_want[i]) << i;
  EXPECT_TRUE(h().rx_drain(c.rx).empty());
  EXPECT_EQ(h().conn_query(30).second, 0u) << "conn 30's producer index moved";
  std::vector<Bytes> d_got;
  for (auto& x : h().rx_drain(d.rx)) {
    EXPECT_EQ(x.flags, 0u);
    d_got.push_back(x.data);
  }
  EXPECT_EQ(d_got, d_want);

  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), rejected);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredFallback), fb_plain);
  EXPECT_EQ(cnt(h(), Counter::kRxDeliveredConn), d_want.size());
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), dropped);
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull), 0u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropNoQueue), 0u);
  EXPECT_EQ(cnt(h(), Counter::kFilterRxLookups), judged);
  EXPECT_EQ(h().check_balance(), "");
  EXPECT_EQ(slot_count(7, kInput), std::make_pair(rejected, rejected_bytes));
  EXPECT_EQ(slot_count(8, kInput).first, dropped);

  // The fallback's queue announced its ring; conn 30 was never announced.
  const auto fb_notes = h().nq_drain(fb_nq);
  ASSERT_FALSE(fb_notes.empty());
  for (const auto& n : fb_notes) {
    EXPECT_EQ(n.conn, rm::kFallbackConn);
    EXPECT_EQ(n.kind, rm::notify::kKindsRx);
  }
  for (const auto& n : h().nq_drain(app_nq)) EXPECT_EQ(n.conn, 31u);
}

// A rejected frame needs room in the fallback ring like any other: a full
// ring drops it as RX_DROP_RING_FULL, and the connection's ring is untouched.
TEST_F(FilterTest, InputRejectFallbackRingFull) {
  ConnHandle fb = open_fallback(2);  // 4 slots
  ConnHandle c = h().open_conn(udp_conn(30, 5432), 6);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  install(reject_5432(), 0, 0);
  ASSERT_EQ(commit().status, Status::kOk);

  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 6; ++i) {
    sent.push_back(udp_in(4000, 5432, 20 + i, static_cast<std::uint8_t>(i)));
    inject_paced(0, sent.back());
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), 4u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull), 2u);
  auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i].data, sent[i]) << i;
    EXPECT_EQ(got[i].flags, kRejectFlag) << i;
  }
  // Room again: the next one lands, after the four.
  const Bytes next = udp_in(4000, 5432, 99, 0x55);
  inject_paced(1, next);
  ASSERT_TRUE(h().wait_idle());
  got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, next);
  EXPECT_EQ(got[0].seq, 5u);
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), 5u);
  EXPECT_TRUE(h().rx_drain(c.rx).empty());
  EXPECT_EQ(slot_count(0, kInput).first, 7u);
}

// The fallback's ring is taken as it is when the verdict arrives, following
// CONN_SET and CONN_CLEAR of conn 0: with no fallback a rejected frame has
// no queue (RX_DROP_NO_QUEUE), and a re-set fallback gets the next one in
// its new ring.
TEST_F(FilterTest, InputRejectFollowsFallbackContext) {
  ConnHandle c = h().open_conn(udp_conn(30, 5432), 6);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  install(reject_5432(), 0, 0);
  ASSERT_EQ(commit().status, Status::kOk);
  auto send = [&](std::uint8_t tag) {
    const Bytes f = udp_in(4000, 5432, 30, tag);
    inject_paced(0, f);
    EXPECT_TRUE(h().wait_idle());
    return f;
  };

  send(1);
  EXPECT_EQ(cnt(h(), Counter::kRxDropNoQueue), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), 0u);

  ConnHandle fb1 = open_fallback(3);
  const Bytes f2 = send(2);
  ConnHandle fb2 = open_fallback(4);  // a new ring for conn 0
  const Bytes f3 = send(3);
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), 2u);
  auto g1 = h().rx_drain(fb1.rx);
  ASSERT_EQ(g1.size(), 1u);
  EXPECT_EQ(g1[0].data, f2);
  EXPECT_EQ(g1[0].flags, kRejectFlag);
  auto g2 = h().rx_drain(fb2.rx);
  ASSERT_EQ(g2.size(), 1u);
  EXPECT_EQ(g2[0].data, f3);
  EXPECT_EQ(g2[0].flags, kRejectFlag);
  EXPECT_EQ(g2[0].seq, 1u) << "CONN_SET resets the fallback's indices";

  // A refused CONN_SET (misaligned ring) writes no context: still fb2's ring.
  ConnConfig bad = fb2.cfg;
  bad.rx_base += 8;
  ASSERT_EQ(h().conn_set(bad), Status::kInvalid);
  const Bytes f4 = send(4);
  g2 = h().rx_drain(fb2.rx);
  ASSERT_EQ(g2.size(), 1u);
  EXPECT_EQ(g2[0].data, f4);
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), 3u);

  ASSERT_EQ(h().conn_clear(kFallback), Status::kOk);
  send(5);
  EXPECT_EQ(cnt(h(), Counter::kRxDropNoQueue), 2u);
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), 3u);
  EXPECT_TRUE(h().rx_drain(c.rx).empty());
  EXPECT_EQ(slot_count(0, kInput).first, 5u);
}

TEST_F(FilterTest, OutputDropsConnectionFrames) {
  ConnHandle a = h().open_conn(udp_conn(20, 6000, 1), 4, 4);
  ConnConfig other = udp_conn(21, 6001, 0);
  other.uid = 500;
  ConnHandle b = h().open_conn(other, 4, 4);
  // OUTPUT, uid 42 (conn 20's owner), leaving by nic1.
  nf::Entry e = exact(nf::Entry{}, rf::FieldId::kUid, 42);
  e = exact(e, rf::FieldId::kIface, 1);
  set_flag(e, rf::Flag::kDir, true);
  set_flag(e, rf::Flag::kOwnerValid, true);
  e.action = rf::Action::kReject;
  e.log = true;
  install(e, 100, 1);
  ASSERT_EQ(commit().status, Status::kOk);

  std::vector<std::uint32_t> ia;
  std::vector<Bytes> fb;
  std::uint64_t bytes = 0;
  for (unsigned i = 0; i < 4; ++i) {
    const Bytes f = udp_out(6000, 5000, 30 + i * 200, static_cast<std::uint8_t>(i));
    bytes += ipv4_len(f);
    ia.push_back(h().tx_post(a.tx, f));
    fb.push_back(udp_out(6001, 5000, 40 + i, static_cast<std::uint8_t>(i)));
    h().tx_post(b.tx, fb.back());
  }
  h().tx_doorbell(a.tx);
  h().tx_doorbell(b.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_TRUE(h().take_tx(1).empty());
  EXPECT_EQ(h().take_tx(0), fb);
  for (auto i : ia) EXPECT_EQ(h().tx_status(a.tx, i), rm::tx_desc::kStatusDropFilter);
  EXPECT_EQ(cnt(h(), Counter::kTxDropFilter), 4u);
  EXPECT_EQ(cnt(h(), Counter::kTxSent), 4u);
  EXPECT_EQ(cnt(h(), Counter::kFilterTxLookups), 8u);
  EXPECT_EQ(cnt(h(), Counter::kFilterRxLookups), 0u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), 4u);
  EXPECT_EQ(slot_count(100, kOutput), std::make_pair(std::uint64_t{4}, bytes));
  EXPECT_EQ(slot_count(100, kInput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
}

TEST_F(FilterTest, OutputFallbackHasNoOwner) {
  // normand's nic0 traffic leaves by conn 0, raw: no owner, whatever conn 0's context says.
  ConnConfig cfg = udp_conn(static_cast<std::uint16_t>(rm::kFallbackConn), 1);
  cfg.raw = true;
  ConnHandle fb = h().open_conn(cfg, 4, 4);
  nf::Entry owned;
  set_flag(owned, rf::Flag::kOwnerValid, true);
  owned.action = rf::Action::kDrop;
  install(owned, 0, 0);
  ASSERT_EQ(commit().status, Status::kOk);
  const Bytes f = udp_out(1234, 53, 20);
  const auto i = h().tx_post(fb.tx, f);
  h().tx_doorbell(fb.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().tx_status(fb.tx, i), rm::tx_desc::kStatusSent);
  EXPECT_EQ(cnt(h(), Counter::kFilterTxLookups), 1u);
}

TEST_F(FilterTest, NonIpv4AndMalformedAreNotJudged) {
  ConnHandle fb = open_fallback(6);
  nf::Entry all;  // matches every judged frame
  all.action = rf::Action::kDrop;
  install(all, 0, 0);
  ASSERT_EQ(commit().status, Status::kOk);

  std::vector<Bytes> pass;
  pass.push_back(pg::arp_frame(pg::Eth(pg::mac("ff:ff:ff:ff:ff:ff"), kPeerMac),
                               pg::Arp(1, kPeerMac, kPeerIp, pg::Mac{}, kHostIp)));
  pass.push_back(pg::ip_frame(pg::Eth(kHostMac, kPeerMac),
                              pg::Ipv6(pg::ipv6("fe80::2"), pg::ipv6("fe80::1")), pg::Udp(1, 2)));
  pg::Ipv4 bad_version(kPeerIp, kHostIp);
  bad_version.version = 6;
  pass.push_back(pg::ip_frame(pg::Eth(kHostMac, kPeerMac), bad_version, pg::Udp(1, 2)));
  pg::Ipv4 too_long(kPeerIp, kHostIp);
  too_long.total_len = 1000;
  pass.push_back(pg::ip_frame(pg::Eth(kHostMac, kPeerMac), too_long, pg::Udp(1, 2)));
  pg::Ipv4 bad_ihl(kPeerIp, kHostIp);
  bad_ihl.ihl = 4;
  pass.push_back(pg::ip_frame(pg::Eth(kHostMac, kPeerMac), bad_ihl, pg::Udp(1, 2)));
  // A good IPv4 header with a broken UDP header is judged, on its IPv4 fields.
  pg::Udp bad_udp(1, 2);
  bad_udp.length = 3;
  const Bytes judged =
      pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), bad_udp);
  for (const auto& f : pass) {
    ASSERT_FALSE(nf::key_of_frame(f, nf::Direction::kInput, 0, std::nullopt))
        << "test frame is judged";
    h().inject(0, f);
  }
  ASSERT_TRUE(nf::key_of_frame(judged, nf::Direction::kInput, 0, std::nullopt));
  h().inject(0, judged);
  ASSERT_TRUE(h().wait_idle());
  const auto got = h().rx_drain(fb.rx);
  ASSERT_EQ(got.size(), pass.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].data, pass[i]) << i;
  EXPECT_EQ(cnt(h(), Counter::kFilterRxLookups), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), 1u);
  EXPECT_EQ(cnt(h(), Counter::kRxMalformed), pass.size() - 2 + 1);

  // Transmit: ARP from a raw connection leaves unjudged.
  ConnConfig raw = udp_conn(9, 1, 0);
  raw.raw = true;
  ConnHandle r = h().open_conn(raw, 4, 4);
  const auto i = h().tx_post(r.tx, pass[0]);
  h().tx_doorbell(r.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().tx_status(r.tx, i), rm::tx_desc::kStatusSent);
  EXPECT_EQ(cnt(h(), Counter::kFilterTxLookups), 0u);
}

// Random slots and random frames: every frame's fate is the software verdict.
TEST_F(FilterTest, RandomRulesMatchSoftwareModel) {
  std::mt19937_64 rng(20240611);
  auto pick = [&](auto... v) {
    const std::array<std::uint32_t, sizeof...(v)> a{static_cast<std::uint32_t>(v)...};
    return a[rng() % a.size()];
  };
  auto chance = [&](unsigned pct) { return rng() % 100 < pct; };

  ConnHandle fb = open_fallback(10);
  ConnConfig ca = udp_conn(50, 7000, 0);
  ca.uid = 1000;
  ca.gid = 100;
  ca.cmd_id = 3;
  ConnConfig cb = udp_conn(51, 7001, 1);
  cb.uid = 2000;
  cb.gid = 200;
  cb.cgroup = 12;
  ConnHandle a = h().open_conn(ca, 10);
  ConnHandle b = h().open_conn(cb, 10);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 50), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(7001, 5000), 51), Status::kOk);

  const std::array<pg::Ipv4Addr, 3> peers{kPeerIp, pg::ipv4("10.0.0.3"), pg::ipv4("192.168.1.9")};
  auto ip_u32 = [](const pg::Ipv4Addr& x) {
    return (std::uint32_t{x[0]} << 24) | (std::uint32_t{x[1]} << 16) | (std::uint32_t{x[2]} << 8) |
           x[3];
  };

  std::vector<Slot> slots(rm::kFilterEntries);
  std::vector<std::uint16_t> used;
  for (unsigned n = 0; n < 48; ++n) {
    Slot s;
    s.valid = !chance(10);
    s.prio = static_cast<std::uint16_t>(rng() % 40);
    nf::Entry& e = s.e;
    if (chance(30)) e = exact(e, rf::FieldId::kIface, pick(0, 1));
    if (chance(40)) e = exact(e, rf::FieldId::kProto, pick(1, 6, 17, 47));
    if (chance(25)) {
      const std::uint32_t v = ip_u32(peers[rng() % peers.size()]);
      e[rf::FieldId::kSrcIp] =
          chance(50) ? nf::FieldRange{v, v} : nf::FieldRange{v & 0xFFFFFF00u, v | 0xFFu};
    }
    if (chance(40)) {
      const std::uint32_t lo = pick(0, 80, 5000, 7000, 7001, 0x0800, 0x0300);
      e[rf::FieldId::kDport] = {lo, lo + pick(0, 0, 1, 100)};
    }
    if (chance(30)) {
      const std::uint32_t lo = pick(0, 5000, 0x0800, 1024);
      e[rf::FieldId::kSport] = {lo, lo + pick(0, 10, 60000)};
    }
    if (chance(25)) e[rf::FieldId::kUid] = {pick(0, 1000, 1500), pick(1500, 2000, 5000)};
    if (chance(10)) e = exact(e, rf::FieldId::kGid, pick(100, 200));
    if (chance(10)) e = exact(e, rf::FieldId::kCgroup, pick(0, 12));
    if (chance(20)) e.neg = static_cast<std::uint16_t>(1u << (rng() % rf::kNumFields));
    for (rf::Flag f : {rf::Flag::kDir, rf::Flag::kFrag, rf::Flag::kL4Valid, rf::Flag::kOwnerValid,
                       rf::Flag::kTcpSyn, rf::Flag::kTcpAck}) {
      if (chance(15)) set_flag(e, f, chance(50));
    }
    e.action = static_cast<rf::Action>(pick(0, 1, 1, 2));
    e.log = chance(20);
    std::uint16_t slot;
    do {
      slot = static_cast<std::uint16_t>(rng() % rm::kFilterEntries);
    } while (std::find(used.begin(), used.end(), slot) != used.end());
    used.push_back(slot);
    ASSERT_EQ(write_slot(e, slot, s.prio, s.valid).status, Status::kOk);
    slots[slot] = s;
  }
  ASSERT_EQ(commit().status, Status::kOk);

  struct Sent {
    Bytes frame;
    int conn;  // 50, 51 or 0
    rf::Action action;
  };
  std::vector<Sent> sent;
  std::uint64_t judged = 0, logged = 0;
  for (unsigned i = 0; i < 400; ++i) {
    const unsigned port = static_cast<unsigned>(rng() % 2);
    const auto& src = chance(60) ? kPeerIp : peers[rng() % peers.size()];
    const std::size_t payload = rng() % 200;
    const auto first = static_cast<std::uint8_t>(i);
    pg::Ipv4 ip(src, kHostIp);
    int conn = 0;
    Bytes f;
    switch (rng() % 8) {
      case 0:
      case 1: {  // a connection's flow (if the source is the flow's peer)
        const std::uint16_t dport = chance(50) ? 7000 : 7001;
        f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), ip, pg::Udp(5000, dport),
                         pg::pattern(payload, first));
        if (src == kPeerIp) conn = dport == 7000 ? 50 : 51;
        break;
      }
      case 2:
        f = pg::ip_frame(
            pg::Eth(kHostMac, kPeerMac), ip,
            pg::Tcp(static_cast<std::uint16_t>(pick(80, 5000, 1024)),
                    static_cast<std::uint16_t>(pick(80, 5000, 7000)),
                    static_cast<std::uint8_t>(pick(pg::tcp_flag::kSyn, pg::tcp_flag::kAck,
                                                   pg::tcp_flag::kSyn | pg::tcp_flag::kAck))),
            pg::pattern(payload, first));
        break;
      case 3:
        f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), ip,
                         pg::Icmp(static_cast<std::uint8_t>(pick(8, 0, 3)),
                                  static_cast<std::uint8_t>(pick(0, 3))),
                         pg::pattern(payload, first));
        break;
      case 4:
        f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), ip, pg::RawL4(47),
                         pg::pattern(payload, first));
        break;
      case 5: {  // fragments: later ones have no L4 header
        ip.mf = chance(50);
        ip.frag_offset = static_cast<std::uint16_t>(chance(50) ? 0 : 1 + rng() % 100);
        f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), ip, pg::Udp(5000, 80),
                         pg::pattern(payload, first));
        break;
      }
      case 6: {  // malformed: judged or not, as key_of_frame says
        pg::Udp u(5000, 80);
        if (chance(50))
          u.length = static_cast<std::uint16_t>(rng() % 16);
        else
          ip.total_len = static_cast<std::uint16_t>(rng() % 80);
        f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), ip, u, pg::pattern(payload, first));
        break;
      }
      default:
        f = pg::arp_frame(pg::Eth(pg::mac("ff:ff:ff:ff:ff:ff"), kPeerMac),
                          pg::Arp(1, kPeerMac, src, pg::Mac{}, kHostIp));
        break;
    }
    std::optional<nf::OwnerMeta> owner;
    if (conn != 0) {
      const ConnConfig& c = conn == 50 ? ca : cb;
      owner = nf::OwnerMeta{c.uid, c.gid, c.cmd_id, c.cgroup};
    }
    const auto key = nf::key_of_frame(f, nf::Direction::kInput, port, owner);
    const rf::Action action = verdict(slots, key);
    if (key) {
      ++judged;
      const auto s = decide(slots, *key);
      if (s && slots[*s].e.log) ++logged;
    }
    sent.push_back({f, conn, action});
    inject_paced(port, f);
  }
  ASSERT_TRUE(h().wait_idle(400000));

  // Per ring, the accepted frames in order; rejected ones go to the
  // fallback ring, in the same order, marked REJECT.
  using Landed = std::pair<Bytes, bool>;  // frame, REJECT flag
  std::map<int, std::vector<Landed>> want;
  std::uint64_t dropped = 0, rejected = 0;
  for (const auto& s : sent) {
    if (s.action == rf::Action::kDrop) {
      ++dropped;
    } else if (s.action == rf::Action::kReject) {
      ++rejected;
      want[0].emplace_back(s.frame, true);
    } else {
      want[s.conn].emplace_back(s.frame, false);
    }
  }
  auto got_of = [&](RxRing& r) {
    std::vector<Landed> g;
    for (auto& x : h().rx_drain(r))
      g.emplace_back(x.data, (x.flags & (1u << rm::rx_slot::kFlagsReject)) != 0);
    return g;
  };
  std::map<int, std::vector<Landed>> got{
      {0, got_of(fb.rx)}, {50, got_of(a.rx)}, {51, got_of(b.rx)}};
  for (int c : {0, 50, 51}) EXPECT_EQ(got[c], want[c]) << "conn " << c;
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), dropped);
  EXPECT_EQ(cnt(h(), Counter::kRxFilterRejected), rejected);
  EXPECT_EQ(cnt(h(), Counter::kFilterRxLookups), judged);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), logged);
  EXPECT_EQ(cnt(h(), Counter::kRxDropRingFull), 0u);
  EXPECT_GT(dropped, 20u);
  EXPECT_GT(rejected, 10u);
  EXPECT_LT(dropped + rejected, sent.size() - 20);
}

// A commit while frames stream in: the frames before some point get the old
// verdict (drop), all after it the new one (accept); none is lost or mixed.
TEST_F(FilterTest, CommitUnderTraffic) {
  ConnHandle c = h().open_conn(udp_conn(60, 7000), 9);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 60), Status::kOk);
  nf::Entry drop = exact(nf::Entry{}, rf::FieldId::kDport, 7000);
  drop.action = rf::Action::kDrop;
  install(drop, 0, 0);
  ASSERT_EQ(commit().status, Status::kOk);
  // The new set: slot 0 empty.
  ASSERT_EQ(write_slot(nf::Entry{}, 0, 0, false).status, Status::kOk);

  constexpr unsigned kFrames = 300;
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < kFrames; ++i) {
    Bytes f = udp_in(5000, 7000, 18);
    f[58] = static_cast<std::uint8_t>(i >> 8);
    f[59] = static_cast<std::uint8_t>(i);
    sent.push_back(f);
    h().inject(0, f);
  }
  h().run(60);
  ASSERT_EQ(commit().status, Status::kOk);
  ASSERT_TRUE(h().wait_idle());
  const auto g = h().rx_drain(c.rx);
  const std::uint64_t dropped = cnt(h(), Counter::kRxDropFilter);
  ASSERT_EQ(g.size() + dropped, kFrames);
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(g.size(), 0u);
  // Delivered frames are exactly the tail, in arrival order.
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i].data, sent[dropped + i]) << i;
  EXPECT_EQ(slot_count(0, kInput).first, dropped);
}

// A full rule table does not slow the INPUT chain: one 64-byte frame per
// cycle enters classification, as without rules.
TEST_F(FilterTest, FullTableKeepsLineRate) {
  ConnHandle c = h().open_conn(udp_conn(70, 7000), 11);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 70), Status::kOk);
  // Every slot valid and matching only other traffic, except the last,
  // which accepts (and counts) everything.
  for (std::uint32_t s = 0; s + 1 < rm::kFilterEntries; ++s) {
    nf::Entry e = exact(nf::Entry{}, rf::FieldId::kDport, 10000 + s);
    e.action = (s % 2) ? rf::Action::kDrop : rf::Action::kReject;
    install(e, static_cast<std::uint16_t>(s), static_cast<std::uint16_t>(s));
  }
  install(nf::Entry{}, static_cast<std::uint16_t>(rm::kFilterEntries - 1), 0xFFFF);
  ASSERT_EQ(commit().status, Status::kOk);

  constexpr unsigned kFrames = 1000;
  for (unsigned i = 0; i < kFrames; ++i) {
    Bytes f = udp_in(5000, 7000, 18);  // 60 bytes: one beat
    f[58] = static_cast<std::uint8_t>(i >> 8);
    f[59] = static_cast<std::uint8_t>(i);
    h().inject(0, f);
  }
  const std::uint64_t start = h().cycles();
  // Let the frames in, with a margin for the pipeline in front of the stage
  // (about 10 cycles): any rate below one per cycle would miss by more.
  h().run(kFrames + 40);
  const std::uint64_t lookups = cnt(h(), Counter::kFilterRxLookups);
  const std::uint64_t elapsed = h().cycles() - start;
  RecordProperty("lookups_after_frames_plus_40", static_cast<int>(lookups));
  EXPECT_EQ(lookups, kFrames) << "after " << elapsed << " cycles";
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropOverflow), 0u);
  EXPECT_EQ(h().rx_drain(c.rx).size(), kFrames);
  EXPECT_EQ(slot_count(static_cast<std::uint16_t>(rm::kFilterEntries - 1), kInput).first, kFrames);
}

// ---------------------------------------------------------------------------
// Exact tables, through EXACT_DATA / EXACT_WRITE / EXACT_MASK.

class FilterExactTest : public FilterTest {
 protected:
  // The mask and value the driver derives from an exact-form entry.
  static nf::ExactForm form_of(const nf::Entry& e) {
    const auto f = nf::exact_form(e);
    EXPECT_TRUE(f.has_value());
    return f.value_or(nf::ExactForm{});
  }
  void set_mask(unsigned table, const nf::Entry& e) {
    h().filter_exact_mask(nf::exact_data_words(form_of(e).mask), table);
  }
  // e into way w of its bucket in table t (whose mask must be e's); returns
  // the location.
  std::uint32_t place(const nf::Entry& e, unsigned t, unsigned w, std::uint16_t prio,
                      bool valid = true) {
    const nf::ExactForm f = form_of(e);
    const std::uint32_t loc = nf::exact_location(t, nf::exact_bucket(t, f.value), w);
    h().filter_exact_write(nf::exact_data_words(f.value),
                           nf::exact_write_word(loc, prio, e, valid));
    return loc;
  }
  static std::uint16_t slot_of(std::uint32_t loc) {
    return static_cast<std::uint16_t>(nf::exact_slot(loc));
  }
};

// UDP to port 5432 on INPUT.
nf::Entry input_udp_5432(rf::Action action) {
  nf::Entry e = exact(nf::Entry{}, rf::FieldId::kProto, pg::ipproto::kUdp);
  e = exact(e, rf::FieldId::kDport, 5432);
  set_flag(e, rf::Flag::kDir, false);
  e.action = action;
  return e;
}

TEST_F(FilterExactTest, Registers) {
  EXPECT_EQ(h().csr_read(rm::kRegFilterExact), rm::kFilterExactTables |
                                                   (rm::kFilterExactBucketsLog2 << 8) |
                                                   (rm::kFilterExactWays << 16));
  for (unsigned i = 0; i < rm::kRegFilterExactDataCount; ++i) {
    EXPECT_EQ(h().csr_read(rm::kRegFilterExactData + i * rm::kRegFilterExactDataStride), 0u);
    h().csr_write(rm::kRegFilterExactData + i * rm::kRegFilterExactDataStride,
                  0x0123'4567'89AB'CDEFULL ^ (std::uint64_t{i} << 60));
  }
  for (unsigned i = 0; i < rm::kRegFilterExactDataCount; ++i) {
    EXPECT_EQ(h().csr_read(rm::kRegFilterExactData + i * rm::kRegFilterExactDataStride),
              0x0123'4567'89AB'CDEFULL ^ (std::uint64_t{i} << 60));
  }
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
  // EXACT_WRITE and EXACT_MASK are write-only; EXACT is read-only.
  EXPECT_EQ(h().csr_read(rm::kRegFilterExactWrite), ~std::uint64_t{0});
  EXPECT_EQ(h().csr_read(rm::kRegFilterExactMask), ~std::uint64_t{0});
  h().csr_write(rm::kRegFilterExact, 0);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 3u);
  // Exact slots have counters, zero so far, on both ports.
  const auto last = static_cast<std::uint16_t>(rm::kFilterEntries + rm::kFilterExactEntries - 1);
  for (std::uint16_t s : {static_cast<std::uint16_t>(rm::kFilterEntries), last}) {
    EXPECT_EQ(slot_count(s, kInput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
    EXPECT_EQ(slot_count(s, kOutput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  }
  EXPECT_EQ(cnt(h(), Counter::kFilterExactRefused), 0u);
}

// An exact DROP entry on INPUT and one on OUTPUT (owner and port, REJECT):
// received frames it names are dropped, sent ones completed DROP_FILTER, and
// the exact slots count them on their port.
TEST_F(FilterExactTest, DropsReceivedAndTransmittedFrames) {
  ConnHandle fb = open_fallback(6);
  const nf::Entry rx = input_udp_5432(rf::Action::kDrop);
  nf::Entry tx = exact(nf::Entry{}, rf::FieldId::kUid, 42);
  tx = exact(tx, rf::FieldId::kIface, 1);
  set_flag(tx, rf::Flag::kDir, true);
  set_flag(tx, rf::Flag::kOwnerValid, true);
  tx.action = rf::Action::kReject;
  set_mask(0, rx);
  set_mask(2, tx);
  const std::uint32_t lrx = place(rx, 0, 1, 100);
  const std::uint32_t ltx = place(tx, 2, 3, 100);
  ASSERT_EQ(commit().status, Status::kOk);

  std::vector<Bytes> fb_want;
  std::uint64_t dropped = 0, dropped_bytes = 0;
  for (unsigned i = 0; i < 12; ++i) {
    const bool hit = i % 3 != 2;
    const Bytes f = udp_in(4000, hit ? 5432 : 5433, 10 + i * 41, static_cast<std::uint8_t>(i));
    inject_paced(i % 2, f);
    if (hit) {
      ++dropped;
      dropped_bytes += ipv4_len(f);
    } else {
      fb_want.push_back(f);
    }
  }
  ConnHandle a = h().open_conn(udp_conn(20, 6000, 1), 4, 4);  // uid 42, port 1
  ConnConfig other = udp_conn(21, 6001, 1);
  other.uid = 500;
  ConnHandle b = h().open_conn(other, 4, 4);
  std::vector<std::uint32_t> ia;
  std::vector<Bytes> sent;
  std::uint64_t tx_bytes = 0;
  for (unsigned i = 0; i < 3; ++i) {
    const Bytes f = udp_out(6000, 5000, 30 + i * 100, static_cast<std::uint8_t>(i));
    tx_bytes += ipv4_len(f);
    ia.push_back(h().tx_post(a.tx, f));
    sent.push_back(udp_out(6001, 5000, 40 + i, static_cast<std::uint8_t>(i)));
    h().tx_post(b.tx, sent.back());
  }
  h().tx_doorbell(a.tx);
  h().tx_doorbell(b.tx);
  ASSERT_TRUE(h().wait_idle());

  std::vector<Bytes> got;
  for (auto& x : h().rx_drain(fb.rx)) got.push_back(x.data);
  EXPECT_EQ(got, fb_want);
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), dropped);
  EXPECT_EQ(slot_count(slot_of(lrx), kInput), std::make_pair(dropped, dropped_bytes));
  EXPECT_EQ(slot_count(slot_of(lrx), kOutput).first, 0u);
  for (auto i : ia) EXPECT_EQ(h().tx_status(a.tx, i), rm::tx_desc::kStatusDropFilter);
  EXPECT_EQ(h().take_tx(1), sent);
  EXPECT_EQ(cnt(h(), Counter::kTxDropFilter), 3u);
  EXPECT_EQ(slot_count(slot_of(ltx), kOutput), std::make_pair(std::uint64_t{3}, tx_bytes));
  EXPECT_EQ(slot_count(slot_of(ltx), kInput).first, 0u);
  // FILTER_CNT_CLEAR of an exact slot, on both ports.
  EXPECT_EQ(h().command(rm::Op::kFilterCntClear, {{0, slot_of(lrx)}}).status, Status::kOk);
  EXPECT_EQ(slot_count(slot_of(lrx), kInput), std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  EXPECT_EQ(slot_count(slot_of(ltx), kOutput).first, 3u);
  EXPECT_EQ(cnt(h(), Counter::kFilterExactRefused), 0u);
}

// Lowest priority decides between a range slot and an exact entry, and only
// the winner counts.
TEST_F(FilterExactTest, RangeSlotWithLowerPriorityBeatsExactEntry) {
  ConnHandle fb = open_fallback(6);
  nf::Entry accept = exact(nf::Entry{}, rf::FieldId::kDport, 5432);
  accept.action = rf::Action::kAccept;
  const nf::Entry drop = input_udp_5432(rf::Action::kDrop);
  // Both banks: range slot 7 at prio 5, the exact entry at prio 10.
  std::uint32_t loc = 0;
  for (int bank = 0; bank < 2; ++bank) {
    install(accept, 7, 5);
    set_mask(1, drop);
    loc = place(drop, 1, 0, 10);
    ASSERT_EQ(commit().status, Status::kOk);
  }
  auto send = [&](unsigned n) {
    std::uint64_t bytes = 0;
    for (unsigned i = 0; i < n; ++i) {
      const Bytes f = udp_in(4000, 5432, 20 + i, static_cast<std::uint8_t>(i));
      bytes += ipv4_len(f);
      inject_paced(0, f);
    }
    EXPECT_TRUE(h().wait_idle());
    return bytes;
  };
  const std::uint64_t b1 = send(5);
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 5u);
  EXPECT_EQ(slot_count(7, kInput), std::make_pair(std::uint64_t{5}, b1));
  EXPECT_EQ(slot_count(slot_of(loc), kInput).first, 0u) << "the exact entry matched but lost";

  // Equal priorities: still the range slot.
  install(accept, 7, 10);
  ASSERT_EQ(commit().status, Status::kOk);
  install(accept, 7, 10);
  send(2);
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 2u);
  EXPECT_EQ(slot_count(7, kInput).first, 7u);

  // Higher: the exact entry decides.
  install(accept, 7, 11);
  ASSERT_EQ(commit().status, Status::kOk);
  const std::uint64_t b3 = send(4);
  EXPECT_TRUE(h().rx_drain(fb.rx).empty());
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), 4u);
  EXPECT_EQ(slot_count(slot_of(loc), kInput), std::make_pair(std::uint64_t{4}, b3));
  EXPECT_EQ(slot_count(7, kInput).first, 7u);
}

TEST_F(FilterExactTest, RefusedWritesCountAndChangeNothing) {
  ConnHandle fb = open_fallback(6);
  const nf::Entry drop = input_udp_5432(rf::Action::kDrop);
  set_mask(0, drop);
  const std::uint32_t loc = place(drop, 0, 0, 1);
  const nf::ExactForm f = form_of(drop);
  const auto data = nf::exact_data_words(f.value);
  // Location past the tables (twice), an unknown action, tables past the count.
  h().filter_exact_write(
      data,
      nf::exact_write_word(static_cast<std::uint32_t>(rm::kFilterExactEntries), 0, nf::Entry{}));
  h().filter_exact_write(data, nf::exact_write_word(0xFFFF, 0, nf::Entry{}));
  std::uint64_t bad_action = nf::exact_write_word(loc, 0, nf::Entry{}, false);
  rf::kAction.set(bad_action, 3);
  h().filter_exact_write(data, bad_action);
  h().filter_exact_mask(nf::exact_data_words(nf::ExactVector{}),
                        static_cast<unsigned>(rm::kFilterExactTables));
  h().filter_exact_mask(nf::exact_data_words(nf::ExactVector{}), 0xFF);
  EXPECT_EQ(cnt(h(), Counter::kFilterExactRefused), 5u);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
  ASSERT_EQ(commit().status, Status::kOk);
  inject_paced(0, udp_in(4000, 5432, 30));
  inject_paced(0, udp_in(4000, 5433, 30));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), 1u);
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 1u);
  EXPECT_EQ(slot_count(slot_of(loc), kInput).first, 1u);
}

// A LOG verdict from an exact entry: the record names the exact slot.
TEST_F(FilterExactTest, LogRecordNamesTheExactSlot) {
  ConnHandle fb = open_fallback(6);
  nf::Entry e = input_udp_5432(rf::Action::kAccept);
  e.log = true;
  set_mask(3, e);
  const std::uint32_t loc = place(e, 3, 2, 50);
  ASSERT_EQ(commit().status, Status::kOk);
  constexpr unsigned kLog2 = 4;
  const std::uint64_t base = h().alloc(std::size_t{rm::filter_log::kRecordBytes} << kLog2, 4096);
  h().mem_fill(base, std::size_t{rm::filter_log::kRecordBytes} << kLog2, 0);
  h().csr_write(rm::kRegFilterLogRate, 0);
  h().csr_write(rm::kRegFilterLogBase, base);
  h().csr_write(rm::kRegFilterLogCons, 0);
  h().csr_write(rm::kRegFilterLogCfg, kLog2);

  inject_paced(1, udp_in(4000, 5432, 20));
  inject_paced(1, udp_in(4000, 5433, 20));
  inject_paced(0, udp_in(4001, 5432, 21));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 3u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), 2u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 2u);
  namespace fl = rm::filter_log;
  for (unsigned r = 0; r < 2; ++r) {
    std::array<std::uint64_t, fl::kRecordBytes / 8> w{};
    for (unsigned i = 0; i < w.size(); ++i)
      w[i] = h().mem_read64(base + r * fl::kRecordBytes + 8 * i);
    EXPECT_EQ(fl::kSeq.get(w[fl::kSeq.arg]), r + 1);
    EXPECT_EQ(fl::kSlot.get(w[fl::kSlot.arg]), slot_of(loc));
    EXPECT_EQ(fl::kPort.get(w[fl::kPort.arg]), r == 0 ? 1u : 0u);
    EXPECT_EQ(fl::kDport.get(w[fl::kDport.arg]), 5432u);
  }
}

// Exact entries and masks go to the shadow and become active with
// FILTER_COMMIT; a posted write issued right behind the commit's OP waits
// and lands in the next shadow, not in the bank being made active.
TEST_F(FilterExactTest, CommitSwitchesAndLaterWritesGoToTheNextShadow) {
  ConnHandle fb = open_fallback(8);
  const nf::Entry drop = input_udp_5432(rf::Action::kDrop);
  auto send = [&](std::uint8_t tag) {
    inject_paced(0, udp_in(4000, 5432, 20, tag));
    EXPECT_TRUE(h().wait_idle());
    return h().rx_drain(fb.rx).size();
  };
  set_mask(0, drop);
  const std::uint32_t loc = place(drop, 0, 3, 1);
  EXPECT_EQ(send(1), 1u) << "a shadow entry is not active";
  ASSERT_EQ(commit().status, Status::kOk);
  EXPECT_EQ(send(2), 0u);
  // The other bank too: both drop.
  set_mask(0, drop);
  EXPECT_EQ(place(drop, 0, 3, 1), loc);

  // Commit, and without waiting for it, invalidate the entry: that write
  // belongs to the bank the commit retires.
  h().write_op(rm::Op::kFilterCommit);
  const std::uint64_t t0 = h().cycles();
  h().filter_exact_write(nf::exact_data_words(form_of(drop).value),
                         nf::exact_write_word(loc, 1, drop, false));
  const std::uint64_t held = h().cycles() - t0;
  for (int i = 0; i < 100 && h().read_status().raw & 1; ++i) {
  }
  EXPECT_EQ(h().read_status().status, Status::kOk);
  EXPECT_GE(held, 11u) << "the write was not held while the commit drained";
  EXPECT_EQ(send(3), 0u) << "the write reached the bank made active";
  ASSERT_EQ(commit().status, Status::kOk);
  EXPECT_EQ(send(4), 1u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterEpoch), 3u);
  EXPECT_EQ(slot_count(slot_of(loc), kInput).first, 2u);
}

// A blocklist of source addresses in the exact tables (one mask, shared by
// all tables, placed where a way is free, as the driver does): listed
// sources are dropped, others delivered, at any number of entries.
TEST_F(FilterExactTest, SourceBlocklist) {
  ConnHandle fb = open_fallback(10);
  auto entry_for = [](std::uint32_t ip) {
    nf::Entry e = exact(nf::Entry{}, rf::FieldId::kSrcIp, ip);
    set_flag(e, rf::Flag::kDir, false);
    e.action = rf::Action::kDrop;
    return e;
  };
  for (unsigned t = 0; t < rm::kFilterExactTables; ++t) set_mask(t, entry_for(0));
  std::mt19937_64 rng(99);
  std::vector<std::uint32_t> listed;
  std::map<std::uint32_t, unsigned> used;  // location bucket key -> ways taken
  constexpr unsigned kListed = 1500;
  while (listed.size() < kListed) {
    const std::uint32_t ip = 0x0A000000u | static_cast<std::uint32_t>(rng() & 0xFFFFFF);
    if (std::find(listed.begin(), listed.end(), ip) != listed.end()) continue;
    const nf::Entry e = entry_for(ip);
    bool placed = false;
    for (unsigned t = 0; t < rm::kFilterExactTables && !placed; ++t) {
      const std::uint32_t b = nf::exact_bucket(t, form_of(e).value);
      unsigned& n = used[(t << 16) | b];
      if (n < rm::kFilterExactWays) {
        place(e, t, n++, 10);
        placed = true;
      }
    }
    ASSERT_TRUE(placed) << "every candidate bucket full at " << listed.size();
    listed.push_back(ip);
  }
  ASSERT_EQ(commit().status, Status::kOk);
  std::uint64_t want_dropped = 0;
  std::vector<Bytes> want;
  for (unsigned i = 0; i < 60; ++i) {
    const bool bad = i % 2 == 0;
    const std::uint32_t ip =
        bad ? listed[rng() % listed.size()] : 0x0B000000u | static_cast<std::uint32_t>(i);
    const pg::Ipv4Addr src{static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
                           static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)};
    const Bytes f = udp_in(4000, 7000, 18, static_cast<std::uint8_t>(i), src);
    inject_paced(i % 2, f);
    if (bad) {
      ++want_dropped;
    } else {
      want.push_back(f);
    }
  }
  ASSERT_TRUE(h().wait_idle());
  std::vector<Bytes> got;
  for (auto& x : h().rx_drain(fb.rx)) got.push_back(x.data);
  EXPECT_EQ(got, want);
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), want_dropped);
  EXPECT_EQ(cnt(h(), Counter::kFilterExactRefused), 0u);
}

}  // namespace
}  // namespace norman::test
