// LOG records of the filter overlay in the whole core: the FILTER.LOG_*
// registers, the records a LOG verdict writes into the host's LOG ring
// (regmap format FILTER_LOG, checked byte for byte against the software key
// of the frame), and the drop accounting (no ring, ring full, rate limit).
// LOG must never change what happens to the frame itself.
#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <vector>

#include "flat.hpp"
#include "nic_test_util.hpp"

namespace norman::test {
namespace {

namespace nf = norman::filter;
namespace rf = norman::regmap::filter;
namespace fl = norman::regmap::filter_log;
using rm::Counter;
using rm::Status;

using Words = std::array<std::uint64_t, fl::kRecordBytes / 8>;

void set_flag(nf::Entry& e, rf::Flag f, bool v) {
  e.flags_mask |= nf::flag_bit(f);
  if (v) e.flags_value |= nf::flag_bit(f);
}

nf::Entry exact(nf::Entry e, rf::FieldId f, std::uint32_t v) {
  e[f] = {v, v};
  return e;
}

// Every frame of one direction, logged; the action is the caller's.
nf::Entry log_all(bool output, rf::Action action = rf::Action::kAccept) {
  nf::Entry e;
  set_flag(e, rf::Flag::kDir, output);
  e.action = action;
  e.log = true;
  return e;
}

nf::OwnerMeta owner_of(const ConnConfig& c) { return {c.uid, c.gid, c.cmd_id, c.cgroup}; }

// The record a LOG verdict on key k from slot writes, but for CYCLE.
Words expect_record(const nf::Key& k, std::uint16_t slot, std::uint32_t dropped,
                    std::uint16_t seq) {
  Words w{};
  auto put = [&w](const rm::Field& f, std::uint64_t v) { f.set(w[f.arg], v); };
  using F = rf::FieldId;
  put(fl::kDir, (k.flags >> static_cast<unsigned>(rf::Flag::kDir)) & 1U);
  put(fl::kPort, k[F::kIface]);
  put(fl::kProto, k[F::kProto]);
  put(fl::kFlags, k.flags);
  put(fl::kSlot, slot);
  put(fl::kBytes, k.frame_bytes);
  put(fl::kSrcIp, k[F::kSrcIp]);
  put(fl::kDstIp, k[F::kDstIp]);
  put(fl::kSport, k[F::kSport]);
  put(fl::kDport, k[F::kDport]);
  put(fl::kCmdId, k[F::kCmdId]);
  put(fl::kCgroup, k[F::kCgroup]);
  put(fl::kUid, k[F::kUid]);
  put(fl::kGid, k[F::kGid]);
  put(fl::kDropped, dropped);
  put(fl::kSeq, seq);
  return w;
}

class FilterLogTest : public NicTest {
 protected:
  void inject_paced(unsigned port, const Bytes& f) {
    h().inject(port, f);
    h().run((f.size() + NicHarness::kBeat - 1) / NicHarness::kBeat);
  }
  void install(const nf::Entry& e, std::uint16_t slot, std::uint16_t prio) {
    const auto words = nf::encode_write(e, slot, prio);
    std::map<unsigned, std::uint64_t> args;
    for (unsigned i = 0; i < words.size(); ++i) args[i] = words[i];
    ASSERT_EQ(h().command(rm::Op::kFilterWrite, args).status, Status::kOk);
  }
  void commit() { ASSERT_EQ(h().command(rm::Op::kFilterCommit, {}).status, Status::kOk); }

  // Allocates a ring of 2^log2 records and programs the LOG registers the
  // way normand does (rate, base, consumer, then CFG).
  void open_log(unsigned log2, std::uint32_t cycles_per_token = 0, std::uint16_t burst = 0) {
    log_log2_ = log2;
    log_base_ = h().alloc(std::size_t{fl::kRecordBytes} << log2, 4096);
    h().mem_fill(log_base_, std::size_t{fl::kRecordBytes} << log2, 0);
    log_cons_ = 0;
    h().csr_write(rm::kRegFilterLogRate, cycles_per_token | (std::uint64_t{burst} << 32));
    h().csr_write(rm::kRegFilterLogBase, log_base_);
    h().csr_write(rm::kRegFilterLogCons, 0);
    h().csr_write(rm::kRegFilterLogCfg, log2);
  }
  Words read_record(std::uint32_t idx) {
    Words w{};
    const std::uint64_t a = log_base_ + (idx % (1U << log_log2_)) * std::uint64_t{fl::kRecordBytes};
    for (unsigned i = 0; i < w.size(); ++i) w[i] = h().mem_read64(a + 8 * i);
    return w;
  }
  // Records ready at the consumer index, in order; advances it (no register write).
  std::vector<Words> pop_records() {
    std::vector<Words> out;
    for (;;) {
      const Words w = read_record(log_cons_);
      if (fl::kSeq.get(w[fl::kSeq.arg]) != ((log_cons_ + 1) & 0xFFFF)) break;
      out.push_back(w);
      ++log_cons_;
    }
    return out;
  }
  void write_cons() { h().csr_write(rm::kRegFilterLogCons, log_cons_); }

  static std::uint64_t cycle_of(const Words& w) { return fl::kCycle.get(w[fl::kCycle.arg]); }
  static Words without_cycle(Words w) {
    fl::kCycle.set(w[fl::kCycle.arg], 0);
    return w;
  }

  void expect_log_balance() {
    EXPECT_EQ(cnt(h(), Counter::kFilterLogHits),
              cnt(h(), Counter::kFilterLogWritten) + cnt(h(), Counter::kFilterLogDropped));
  }

  std::uint64_t log_base_ = 0;
  unsigned log_log2_ = 0;
  std::uint32_t log_cons_ = 0;
};

TEST_F(FilterLogTest, Registers) {
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogBase), 0u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogCfg), 0u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogCons), 0u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogRate), 0u);
  h().csr_write(rm::kRegFilterLogBase, 0x1'2345'6780ULL);
  h().csr_write(rm::kRegFilterLogCfg, 7);
  h().csr_write(rm::kRegFilterLogCons, 0x1'0005);
  h().csr_write(rm::kRegFilterLogRate, 0x0064'0003'D090ULL);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogBase), 0x1'2345'6780ULL);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogCfg), 7u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogCons), 0x1'0005u);
  EXPECT_EQ(h().csr_read(rm::kRegFilterLogRate), 0x0064'0003'D090ULL);
  h().csr_write(rm::kRegFilterLogCfg, 0);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 0u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 0u);
}

// INPUT: one record per LOG verdict, every field from the frame, its port,
// the owner of the connection it matched (none on the fallback path) and the
// deciding slot; SEQ counts up and CYCLE grows. The frames land as without LOG.
TEST_F(FilterLogTest, InputRecordsAreExact) {
  ConnHandle fb = open_fallback(6);
  ConnConfig cc = udp_conn(30, 5432);
  cc.uid = 1001;
  cc.gid = 1002;
  cc.cmd_id = 0x1234;
  cc.cgroup = 0x0ABC;
  ConnHandle c = h().open_conn(cc, 6);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  // Slot 77: LOG (and accept) UDP to 5432; slot 300: LOG and drop TCP; the
  // rest goes unlogged.
  nf::Entry udp = exact(log_all(false), rf::FieldId::kProto, pg::ipproto::kUdp);
  udp = exact(udp, rf::FieldId::kDport, 5432);
  install(udp, 77, 10);
  nf::Entry tcp = exact(log_all(false, rf::Action::kDrop), rf::FieldId::kProto, pg::ipproto::kTcp);
  install(tcp, 300, 20);
  commit();
  open_log(4);

  const std::uint64_t t0 = h().csr_read(rm::kRegCtrlCycles);
  struct Sent {
    Bytes f;
    unsigned port;
    std::optional<nf::OwnerMeta> owner;
    std::uint16_t slot;
  };
  std::vector<Sent> logged;
  std::vector<Bytes> conn_want, fb_want;
  std::uint64_t dropped = 0;
  for (unsigned i = 0; i < 12; ++i) {
    const unsigned port = i % 2;
    Bytes f;
    switch (i % 4) {
      case 0:  // conn 30's flow: owner
        f = udp_in(4000, 5432, 10 + i * 50, static_cast<std::uint8_t>(i));
        logged.push_back({f, port, owner_of(cc), 77});
        conn_want.push_back(f);
        break;
      case 1:  // unknown peer port: fallback, no owner
        f = udp_in(4001, 5432, 30 + i, static_cast<std::uint8_t>(i), pg::ipv4("192.168.7.9"));
        logged.push_back({f, port, std::nullopt, 77});
        fb_want.push_back(f);
        break;
      case 2:  // TCP SYN|ACK: logged and dropped
        f = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp),
                         pg::Tcp(443, static_cast<std::uint16_t>(50000 + i),
                                 pg::tcp_flag::kSyn | pg::tcp_flag::kAck),
                         pg::pattern(5 + i));
        logged.push_back({f, port, std::nullopt, 300});
        ++dropped;
        break;
      default:  // not logged
        f = udp_in(4001, 5433, 20, static_cast<std::uint8_t>(i));
        fb_want.push_back(f);
        break;
    }
    inject_paced(port, f);
  }
  ASSERT_TRUE(h().wait_idle());
  const std::uint64_t t1 = h().csr_read(rm::kRegCtrlCycles);

  const auto recs = pop_records();
  ASSERT_EQ(recs.size(), logged.size());
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto k =
        nf::key_of_frame(logged[i].f, nf::Direction::kInput, logged[i].port, logged[i].owner);
    ASSERT_TRUE(k);
    EXPECT_EQ(without_cycle(recs[i]),
              expect_record(*k, logged[i].slot, 0, static_cast<std::uint16_t>(i + 1)))
        << "record " << i;
    const std::uint64_t cy = cycle_of(recs[i]);
    EXPECT_GT(cy, t0);
    EXPECT_LT(cy, t1);
    EXPECT_GT(cy, prev) << "record " << i;
    prev = cy;
  }
  // Nothing past the records.
  EXPECT_EQ(read_record(static_cast<std::uint32_t>(recs.size())), Words{});

  std::vector<Bytes> got;
  for (auto& x : h().rx_drain(c.rx)) got.push_back(x.data);
  EXPECT_EQ(got, conn_want);
  got.clear();
  for (auto& x : h().rx_drain(fb.rx)) got.push_back(x.data);
  EXPECT_EQ(got, fb_want);
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), dropped);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), logged.size());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), logged.size());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 0u);
}

// OUTPUT: DIR = 1, the connection's port and the sender's owner; a LOG+DROP
// slot still drops, a LOG+ACCEPT slot still sends.
TEST_F(FilterLogTest, OutputRecordsAreExact) {
  ConnConfig ca = udp_conn(20, 6000, 1);
  ca.uid = 777;
  ca.gid = 778;
  ca.cmd_id = 5;
  ca.cgroup = 6;
  ConnHandle a = h().open_conn(ca, 4, 4);
  nf::Entry drop = exact(log_all(true, rf::Action::kDrop), rf::FieldId::kDport, 5001);
  install(drop, 4000, 1);
  install(log_all(true), 12, 2);
  commit();
  open_log(3);

  std::vector<Bytes> sent, want_tx;
  std::vector<std::uint32_t> idx;
  for (unsigned i = 0; i < 6; ++i) {
    const Bytes f =
        udp_out(6000, (i % 3 == 0) ? 5001 : 5000, 20 + i * 100, static_cast<std::uint8_t>(i));
    sent.push_back(f);
    if (i % 3 != 0) want_tx.push_back(f);
    idx.push_back(h().tx_post(a.tx, f));
  }
  h().tx_doorbell(a.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(1), want_tx);
  for (unsigned i = 0; i < 6; ++i) {
    EXPECT_EQ(h().tx_status(a.tx, idx[i]),
              i % 3 == 0 ? rm::tx_desc::kStatusDropFilter : rm::tx_desc::kStatusSent);
  }
  const auto recs = pop_records();
  ASSERT_EQ(recs.size(), sent.size());
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto k = nf::key_of_frame(sent[i], nf::Direction::kOutput, 1, owner_of(ca));
    ASSERT_TRUE(k);
    EXPECT_EQ(without_cycle(recs[i]),
              expect_record(*k, i % 3 == 0 ? 4000 : 12, 0, static_cast<std::uint16_t>(i + 1)))
        << "record " << i;
    EXPECT_EQ(fl::kDir.get(recs[i][0]), 1u);
    EXPECT_GT(cycle_of(recs[i]), prev);
    prev = cycle_of(recs[i]);
  }
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 6u);
  EXPECT_EQ(cnt(h(), Counter::kTxDropFilter), 2u);
  EXPECT_EQ(cnt(h(), Counter::kTxSent), 4u);
}

// Without a ring (LOG_CFG = 0, or LOG2 past MAX_RING_LOG2) no record is
// written; each LOG verdict counts FILTER_LOG_DROPPED.
TEST_F(FilterLogTest, NoRingCountsDropped) {
  ConnHandle fb = open_fallback(6);
  install(log_all(false), 5, 0);
  commit();
  for (unsigned i = 0; i < 5; ++i) inject_paced(0, udp_in(1, 2, 20, static_cast<std::uint8_t>(i)));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 5u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), 5u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 0u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 5u);

  open_log(4);
  h().csr_write(rm::kRegFilterLogCfg, rm::kMaxRingLog2 + 1);
  inject_paced(0, udp_in(1, 2, 20));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 6u);
  EXPECT_TRUE(pop_records().empty());

  // A ring from here on: the first record reports no history (LOG_CFG
  // starts a new ring).
  h().csr_write(rm::kRegFilterLogCfg, 4);
  const Bytes f = udp_in(1, 2, 33);
  inject_paced(1, f);
  ASSERT_TRUE(h().wait_idle());
  const auto recs = pop_records();
  ASSERT_EQ(recs.size(), 1u);
  const auto k = nf::key_of_frame(f, nf::Direction::kInput, 1, std::nullopt);
  EXPECT_EQ(without_cycle(recs[0]), expect_record(*k, 5, 0, 1));
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 2u);
  expect_log_balance();
}

// A full ring drops (and counts) until LOG_CONS advances; the next record
// carries the number dropped, and the ring wraps with SEQ going on.
TEST_F(FilterLogTest, RingFullThenConsumerAdvances) {
  ConnHandle fb = open_fallback(6);
  install(log_all(false), 9, 0);
  commit();
  open_log(2);  // 4 records

  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 7; ++i) {
    sent.push_back(
        udp_in(static_cast<std::uint16_t>(100 + i), 2, 20, static_cast<std::uint8_t>(i)));
    inject_paced(0, sent.back());
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 4u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 3u);
  auto recs = pop_records();
  ASSERT_EQ(recs.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) {
    const auto k = nf::key_of_frame(sent[i], nf::Direction::kInput, 0, std::nullopt);
    EXPECT_EQ(without_cycle(recs[i]), expect_record(*k, 9, 0, static_cast<std::uint16_t>(i + 1)))
        << i;
  }
  // Read but not yet released: still full.
  inject_paced(0, udp_in(200, 2, 20));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 4u);
  EXPECT_TRUE(pop_records().empty());

  write_cons();
  const Bytes next = udp_in(201, 2, 21);
  inject_paced(1, next);
  ASSERT_TRUE(h().wait_idle());
  recs = pop_records();
  ASSERT_EQ(recs.size(), 1u);
  const auto k = nf::key_of_frame(next, nf::Direction::kInput, 1, std::nullopt);
  EXPECT_EQ(without_cycle(recs[0]), expect_record(*k, 9, 4, 5));
  // It went to index 4 mod 4 = 0.
  EXPECT_EQ(fl::kSeq.get(read_record(0)[fl::kSeq.arg]), 5u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 5u);
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 9u);
  expect_log_balance();
}

// LOG_RATE: a burst of tokens, then one per period; verdicts without a token
// are counted and reported in the next record.
TEST_F(FilterLogTest, RateLimit) {
  ConnHandle fb = open_fallback(7);
  install(log_all(false), 3, 0);
  commit();
  constexpr std::uint32_t kPeriod = 2000;
  open_log(6, kPeriod, 2);

  // 10 frames well within one period: the burst of 2 is written.
  for (unsigned i = 0; i < 10; ++i) inject_paced(0, udp_in(1, 2, 20, static_cast<std::uint8_t>(i)));
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 2u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 8u);
  auto recs = pop_records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(fl::kDropped.get(recs[1][fl::kDropped.arg]), 0u);

  // Two periods later the bucket holds two tokens again (the burst), not more.
  h().run(5 * kPeriod);
  for (unsigned i = 0; i < 4; ++i) inject_paced(0, udp_in(1, 2, 20, static_cast<std::uint8_t>(i)));
  ASSERT_TRUE(h().wait_idle());
  recs = pop_records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(fl::kDropped.get(recs[0][fl::kDropped.arg]), 8u);
  EXPECT_EQ(fl::kDropped.get(recs[1][fl::kDropped.arg]), 0u);
  EXPECT_EQ(fl::kSeq.get(recs[1][fl::kSeq.arg]), 4u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 10u);

  // One token per period: frames spaced by a period all get a record.
  for (unsigned i = 0; i < 3; ++i) {
    h().run(kPeriod);
    inject_paced(1, udp_in(1, 2, 20, static_cast<std::uint8_t>(i)));
  }
  ASSERT_TRUE(h().wait_idle());
  recs = pop_records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(fl::kDropped.get(recs[0][fl::kDropped.arg]), 2u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogWritten), 7u);
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 17u);
  expect_log_balance();

  // Back to unlimited (frames spaced so the frame writes leave the DMA port
  // some room: records are its lowest priority).
  h().csr_write(rm::kRegFilterLogRate, 0);
  for (unsigned i = 0; i < 8; ++i) {
    inject_paced(0, udp_in(1, 2, 20, static_cast<std::uint8_t>(i)));
    h().run(4);
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(pop_records().size(), 8u);
  EXPECT_EQ(cnt(h(), Counter::kFilterLogDropped), 10u);
}

// The same mixed RX and TX traffic, with and without LOG on every slot:
// every frame's fate, its data and the order of delivery are the same.
TEST_F(FilterLogTest, LogNeverChangesFates) {
  struct Outcome {
    std::vector<Bytes> fb, conn, tx0, tx1;
    std::vector<std::uint32_t> tx_status;
    std::map<std::string, std::uint64_t> counters;
    std::uint64_t log_written = 0;
  };
  auto run = [](bool with_log) {
    NicHarness h;
    ConnHandle fb = h.open_conn(udp_conn(static_cast<std::uint16_t>(rm::kFallbackConn), 1), 8);
    ConnHandle c = h.open_conn(udp_conn(30, 5432, 0), 8, 6);
    ConnHandle t = h.open_conn(udp_conn(31, 6000, 1), 4, 6);
    EXPECT_EQ(h.flow_insert(udp_key(5432, 4000), 30), Status::kOk);
    auto put = [&h, with_log](nf::Entry e, std::uint16_t slot, std::uint16_t prio) {
      e.log = with_log;
      const auto words = nf::encode_write(e, slot, prio);
      std::map<unsigned, std::uint64_t> args;
      for (unsigned i = 0; i < words.size(); ++i) args[i] = words[i];
      EXPECT_EQ(h.command(rm::Op::kFilterWrite, args).status, Status::kOk);
    };
    nf::Entry in_drop = exact(nf::Entry{}, rf::FieldId::kSport, 4002);
    set_flag(in_drop, rf::Flag::kDir, false);
    in_drop.action = rf::Action::kDrop;
    put(in_drop, 1, 1);
    nf::Entry in_rej = exact(nf::Entry{}, rf::FieldId::kSport, 4003);
    set_flag(in_rej, rf::Flag::kDir, false);
    in_rej.action = rf::Action::kReject;
    put(in_rej, 2, 2);
    nf::Entry out_drop = exact(nf::Entry{}, rf::FieldId::kDport, 5003);
    set_flag(out_drop, rf::Flag::kDir, true);
    out_drop.action = rf::Action::kDrop;
    put(out_drop, 3, 3);
    put(nf::Entry{}, 4, 100);  // everything else: accept
    EXPECT_EQ(h.command(rm::Op::kFilterCommit, {}).status, Status::kOk);
    if (with_log) {
      const std::uint64_t ring = h.alloc(64 * 16);
      h.csr_write(rm::kRegFilterLogRate, 50 | (std::uint64_t{3} << 32));
      h.csr_write(rm::kRegFilterLogBase, ring);
      h.csr_write(rm::kRegFilterLogCfg, 4);  // small and never consumed: fills up
    }
    std::vector<std::uint32_t> idx;
    for (unsigned i = 0; i < 60; ++i) {
      idx.push_back(
          h.tx_post(t.tx, udp_out(6000, 5000 + i % 4, 20 + i * 7, static_cast<std::uint8_t>(i))));
    }
    h.tx_doorbell(t.tx);
    for (unsigned i = 0; i < 120; ++i) {
      h.inject(i % 2, udp_in(static_cast<std::uint16_t>(4000 + i % 4), 5432, 18 + (i * 13) % 300,
                             static_cast<std::uint8_t>(i)));
    }
    EXPECT_TRUE(h.wait_idle());
    Outcome o;
    for (auto& x : h.rx_drain(fb.rx)) o.fb.push_back(x.data);
    for (auto& x : h.rx_drain(c.rx)) o.conn.push_back(x.data);
    for (auto& x : h.take_tx(0)) o.tx0.push_back(x);
    for (auto& x : h.take_tx(1)) o.tx1.push_back(x);
    for (auto i : idx) o.tx_status.push_back(h.tx_status(t.tx, i));
    o.counters = h.counters_by_name();
    o.log_written = o.counters["filter_log_written"];
    EXPECT_EQ(o.counters["filter_log_hits"], o.log_written + o.counters["filter_log_dropped"]);
    for (const char* n :
         {"filter_log_hits", "filter_log_written", "filter_log_dropped", "dma_wr_reqs"}) {
      o.counters.erase(n);
    }
    EXPECT_EQ(h.check_balance(), "");
    EXPECT_TRUE(h.errors().empty()) << join_errors(h.errors());
    return o;
  };
  const Outcome plain = run(false);
  const Outcome logged = run(true);
  EXPECT_EQ(plain.log_written, 0u);
  EXPECT_GT(logged.log_written, 0u);
  EXPECT_EQ(logged.fb, plain.fb);
  EXPECT_EQ(logged.conn, plain.conn);
  EXPECT_EQ(logged.tx0, plain.tx0);
  EXPECT_EQ(logged.tx1, plain.tx1);
  EXPECT_EQ(logged.tx_status, plain.tx_status);
  EXPECT_EQ(logged.counters, plain.counters);
  EXPECT_FALSE(plain.conn.empty());
  EXPECT_FALSE(plain.tx1.empty());
}

// RX and TX LOG verdicts together (both lookup ports report in the same
// cycles): each record is exactly one of the logged frames, and every
// verdict is written or counted as dropped.
TEST_F(FilterLogTest, BothDirectionsAtOnce) {
  ConnHandle fb = open_fallback(8);
  ConnHandle t = h().open_conn(udp_conn(31, 6000, 1), 4, 6);
  install(log_all(false), 1, 0);
  install(log_all(true), 2, 0);
  commit();
  open_log(8);

  std::vector<nf::Key> want;
  std::vector<std::uint32_t> idx;
  for (unsigned i = 0; i < 40; ++i) {
    const Bytes f =
        udp_out(6000, static_cast<std::uint16_t>(7000 + i), 18, static_cast<std::uint8_t>(i));
    want.push_back(*nf::key_of_frame(f, nf::Direction::kOutput, 1, owner_of(t.cfg)));
    idx.push_back(h().tx_post(t.tx, f));
  }
  h().tx_doorbell(t.tx);
  for (unsigned i = 0; i < 80; ++i) {
    const Bytes f =
        udp_in(static_cast<std::uint16_t>(9000 + i), 2, 18, static_cast<std::uint8_t>(i));
    want.push_back(*nf::key_of_frame(f, nf::Direction::kInput, i % 2, std::nullopt));
    h().inject(i % 2, f);
    h().run(3);
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), 120u);
  expect_log_balance();
  const auto recs = pop_records();
  EXPECT_EQ(recs.size(), cnt(h(), Counter::kFilterLogWritten));
  RecordProperty("records_written", static_cast<int>(recs.size()));
  // The 40 TX frames leave in a burst (their batches are fetched together),
  // so their verdicts meet the RX ones' in fewer cycles than before.
  EXPECT_GE(recs.size(), 90u) << "most verdicts should find the writer free";
  std::uint64_t prev = 0, dropped = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const Words& r = recs[i];
    const auto slot = static_cast<std::uint16_t>(fl::kSlot.get(r[fl::kSlot.arg]));
    bool found = false;
    for (const auto& k : want) {
      const std::uint32_t d = static_cast<std::uint32_t>(fl::kDropped.get(r[fl::kDropped.arg]));
      if (without_cycle(r) == expect_record(k, slot, d, static_cast<std::uint16_t>(i + 1)))
        found = true;
    }
    EXPECT_TRUE(found) << "record " << i << " matches no logged frame";
    EXPECT_EQ(slot, fl::kDir.get(r[0]) ? 2u : 1u);
    EXPECT_GE(cycle_of(r), prev) << "record " << i;
    prev = cycle_of(r);
    dropped += fl::kDropped.get(r[fl::kDropped.arg]);
  }
  // Drops before the last record are reported in the records.
  EXPECT_LE(dropped, cnt(h(), Counter::kFilterLogDropped));
  EXPECT_EQ(h().rx_drain(fb.rx).size(), 80u);
  for (auto i : idx) EXPECT_EQ(h().tx_status(t.tx, i), rm::tx_desc::kStatusSent);
}

// Back-to-back one-beat frames, every one a LOG verdict: classification
// keeps one frame per cycle, nothing overflows, and every frame is
// delivered; records the writer could not take are counted, not waited for.
TEST_F(FilterLogTest, LineRateLogDoesNotStallRx) {
  ConnHandle c = h().open_conn(udp_conn(70, 7000), 11);
  ASSERT_EQ(h().flow_insert(udp_key(7000, 5000), 70), Status::kOk);
  install(log_all(false), 0, 0);
  commit();
  open_log(12);

  constexpr unsigned kFrames = 1000;
  for (unsigned i = 0; i < kFrames; ++i) {
    Bytes f = udp_in(5000, 7000, 18);  // 60 bytes: one beat
    f[58] = static_cast<std::uint8_t>(i >> 8);
    f[59] = static_cast<std::uint8_t>(i);
    h().inject(0, f);
  }
  const std::uint64_t start = h().cycles();
  h().run(kFrames + 40);
  EXPECT_EQ(cnt(h(), Counter::kFilterRxLookups), kFrames)
      << "after " << h().cycles() - start << " cycles";
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(cnt(h(), Counter::kRxDropOverflow), 0u);
  const auto got = h().rx_drain(c.rx);
  ASSERT_EQ(got.size(), kFrames);
  for (unsigned i = 0; i < kFrames; ++i) {
    EXPECT_EQ((got[i].data[58] << 8) | got[i].data[59], static_cast<int>(i))
        << "out of order at " << i;
  }
  EXPECT_EQ(cnt(h(), Counter::kFilterLogHits), kFrames);
  expect_log_balance();
  const auto recs = pop_records();
  EXPECT_EQ(recs.size(), cnt(h(), Counter::kFilterLogWritten));
  EXPECT_GT(recs.size(), 0u);
  RecordProperty("records_written", static_cast<int>(recs.size()));
}

}  // namespace
}  // namespace norman::test
