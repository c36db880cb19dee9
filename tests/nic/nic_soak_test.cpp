// Randomized soak of the whole core: thousands of mixed frames on both
// ports (to many connections, listening entries, unmatched, ARP, malformed,
// runts, oversize, MAC errors), TX traffic with good, spoofed and bad-length
// descriptors, random DMA / MAC back-pressure and completion gaps, and a host
// that consumes its rings at random moments (so rings fill up). Every frame
// is accounted for exactly: each delivered copy matches a sent frame, per
// (connection, port) order is kept, nothing is delivered twice, and what was
// not delivered matches the drop counters one for one.
#include <cstring>
#include <map>
#include <set>

#include "nic_test_util.hpp"

namespace norman::test {
namespace {

using rm::Counter;
using rm::Status;

NicHarness::Options soak_options(std::uint64_t seed) {
  NicHarness::Options o;
  o.seed = seed;
  o.wr_ready_pct = 60;
  o.rd_req_ready_pct = 70;
  o.cpl_valid_pct = 75;
  o.tx_ready_pct = 70;
  o.irq_ready_pct = 50;
  o.rx_gap_pct = 5;
  o.rd_latency = 20;
  return o;
}

// Seeds below kOverloadSeeds pace the injection so that the ingress buffers
// never overflow, and every drop is attributed to its frame's kind exactly.
// Overload seeds inject in big bursts: some frames then fall to
// RX_DROP_OVERFLOW (decided at their first beat, before any other check), so
// per-kind drop counts become upper bounds and the overflow count closes the
// balance.
constexpr std::uint64_t kOverloadSeeds = 100;

class NicSoakTest : public NicTest, public ::testing::WithParamInterface<std::uint64_t> {
 protected:
  NicSoakTest() : NicTest(soak_options(GetParam())) {}
  static bool overload() { return GetParam() >= kOverloadSeeds; }
};

// A frame's identity: 4 bytes at a fixed payload offset.
Bytes tagged_payload(std::uint32_t id, std::size_t len) {
  Bytes p = pg::pattern(std::max<std::size_t>(len, 4), static_cast<std::uint8_t>(id * 7));
  for (unsigned i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(id >> (8 * i));
  return p;
}

enum class Kind { kConn, kListen, kUnmatched, kArp, kMalformed, kRunt, kTooBig, kMacError };

struct SentRx {
  Bytes frame;
  unsigned port;
  int ring;  // index into rings (-1: expected dropped)
  bool malformed;
};

TEST_P(NicSoakTest, MixedTrafficAccountedExactly) {
  std::mt19937_64 rng(GetParam() * 7919 + 1);
  auto rnd = [&](std::uint64_t n) { return rng() % n; };

  // Notification queues.
  std::vector<NqRing> nqs;
  for (std::uint16_t q = 0; q < 4; ++q) nqs.push_back(h().open_nq(static_cast<std::uint16_t>(q * 100 + 1), 3, q));

  // Ring 0: fallback; rings 1..N: connections (exact flows), N+1..: listeners.
  constexpr unsigned kConns = 24;
  constexpr unsigned kListeners = 4;
  std::vector<ConnHandle> rings;
  rings.push_back(h().open_conn(udp_conn(0, 1, 0, nqs[0].id), 7));
  for (unsigned i = 1; i <= kConns + kListeners; ++i) {
    const auto id = static_cast<std::uint16_t>(i * 2113 % 60000 + 1);
    ConnConfig cfg = udp_conn(id, static_cast<std::uint16_t>(20000 + i), static_cast<std::uint8_t>(i % 2),
                              nqs[i % nqs.size()].id);
    cfg.notify_tx = (i % 3) == 0;
    rings.push_back(h().open_conn(cfg, 2 + static_cast<unsigned>(rnd(4)), 3));
    if (i <= kConns) {
      ASSERT_EQ(h().flow_insert(udp_key(static_cast<std::uint16_t>(20000 + i), 5000), id), Status::kOk);
    } else {
      FlowKey l;
      l.proto = pg::ipproto::kUdp;
      l.local_port = static_cast<std::uint16_t>(20000 + i);
      ASSERT_EQ(h().flow_insert(l, id, true), Status::kOk);
    }
  }

  constexpr unsigned kFrames = 3000;
  std::vector<SentRx> sent;
  std::map<Kind, unsigned> kinds;
  std::uint32_t next_id = 1;

  // TX state per connection ring.
  struct TxState {
    std::uint32_t done = 0;
    std::map<std::uint32_t, std::uint32_t> expect;  // descriptor index -> expected status
    std::map<std::uint32_t, Bytes> frames;          // descriptor index -> frame if it should be sent
  };
  std::vector<TxState> txs(rings.size());
  std::array<std::vector<Bytes>, NicHarness::kNumPorts> tx_expected_by_port;  // unordered across conns
  std::map<std::uint32_t, std::pair<unsigned, unsigned>> tx_id_owner;         // frame id -> (ring, order)
  unsigned tx_good = 0, tx_spoof = 0, tx_badlen = 0;

  std::vector<std::vector<RxFrame>> received(rings.size());
  std::vector<Notification> notes;
  std::array<std::vector<Bytes>, NicHarness::kNumPorts> tx_out;

  auto reap_tx = [&](unsigned r) {
    TxState& t = txs[r];
    TxRing& ring = rings[r].tx;
    while (t.done < ring.prod) {
      const std::uint32_t st = h().tx_status(ring, t.done);
      if (st == rm::tx_desc::kStatusPending) break;
      EXPECT_EQ(st, t.expect.at(t.done)) << "ring " << r << " desc " << t.done;
      ++t.done;
    }
  };
  auto drain_all = [&](bool all) {
    for (unsigned r = 0; r < rings.size(); ++r) {
      if (all || rnd(3) == 0) {
        auto v = h().rx_drain(rings[r].rx);
        for (auto& f : v) received[r].push_back(std::move(f));
      }
      reap_tx(r);
    }
    for (auto& q : nqs) {
      auto v = h().nq_drain(q);
      notes.insert(notes.end(), v.begin(), v.end());
      if (rnd(4) == 0) h().nq_arm(q);
    }
    for (unsigned p = 0; p < NicHarness::kNumPorts; ++p) {
      auto v = h().take_tx(p);
      tx_out[p].insert(tx_out[p].end(), v.begin(), v.end());
    }
  };

  while (sent.size() < kFrames) {
    const unsigned burst = 1 + static_cast<unsigned>(rnd(40));
    // Paced mode: at most ~36 beats per port between idle points, so a frame's
    // first beat always finds room for a maximum frame in its port buffer
    // (64 beats, 26 reserved).
    std::array<std::size_t, NicHarness::kNumPorts> beats{};
    for (unsigned b = 0; b < burst && sent.size() < kFrames; ++b) {
      const std::uint32_t id = next_id++;
      const unsigned port = static_cast<unsigned>(rnd(2));
      const std::size_t plen = 4 + rnd(rnd(8) == 0 ? 1400 : 200);
      const Kind kind = static_cast<Kind>(rnd(8) < 4 ? rnd(2) : rnd(8));
      ++kinds[kind];
      SentRx s{{}, port, 0, false};
      bool mac_err = false;
      switch (kind) {
        case Kind::kConn: {
          const unsigned c = 1 + static_cast<unsigned>(rnd(kConns));
          s.frame = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp),
                                 pg::Udp(5000, static_cast<std::uint16_t>(20000 + c)), tagged_payload(id, plen));
          s.ring = static_cast<int>(c);
          break;
        }
        case Kind::kListen: {
          const unsigned c = kConns + 1 + static_cast<unsigned>(rnd(kListeners));
          pg::Ipv4Addr src = kPeerIp;
          src[3] = static_cast<std::uint8_t>(rnd(250) + 1);
          s.frame = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(src, kHostIp),
                                 pg::Udp(static_cast<std::uint16_t>(rnd(60000) + 1), static_cast<std::uint16_t>(20000 + c)),
                                 tagged_payload(id, plen));
          s.ring = static_cast<int>(c);
          break;
        }
        case Kind::kUnmatched:
          s.frame = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp),
                                 pg::Tcp(5000, static_cast<std::uint16_t>(20000 + rnd(kConns) + 1)), tagged_payload(id, plen));
          break;
        case Kind::kArp: {
          pg::Arp a(1, kPeerMac, kPeerIp, pg::Mac{}, kHostIp);
          a.op = static_cast<std::uint16_t>(1 + (id & 1));
          pg::Eth e(kHostMac, kPeerMac);
          e.min_len = 60 + (id % 64);  // pad so the frames differ in length
          s.frame = pg::arp_frame(e, a);
          std::memcpy(s.frame.data() + s.frame.size() - 4, &id, 4);
          break;
        }
        case Kind::kMalformed: {
          pg::Udp u(5000, static_cast<std::uint16_t>(20000 + rnd(kConns) + 1));
          u.length = static_cast<std::uint16_t>(rnd(7));
          s.frame = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), u, tagged_payload(id, plen));
          s.malformed = true;
          break;
        }
        case Kind::kRunt:
          s.frame = tagged_payload(id, 4 + rnd(10));
          s.ring = -1;
          break;
        case Kind::kTooBig:
          s.frame = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), pg::Udp(5000, 20001),
                                 tagged_payload(id, 1477 + rnd(600)));
          s.ring = -1;
          break;
        case Kind::kMacError:
          s.frame = pg::ip_frame(pg::Eth(kHostMac, kPeerMac), pg::Ipv4(kPeerIp, kHostIp), pg::Udp(5000, 20001),
                                 tagged_payload(id, plen));
          mac_err = true;
          s.ring = -1;
          break;
      }
      const std::size_t nb = (std::min<std::size_t>(s.frame.size(), 1600) + 63) / 64;
      if (!overload() && beats[port] + nb > 36) {
        --next_id;
        --kinds[kind];
        break;
      }
      beats[port] += nb;
      h().inject(port, s.frame, mac_err);
      sent.push_back(std::move(s));
    }

    // Some TX work.
    for (unsigned k = 0, n = static_cast<unsigned>(rnd(4)); k < n; ++k) {
      const unsigned r = 1 + static_cast<unsigned>(rnd(rings.size() - 1));
      TxRing& ring = rings[r].tx;
      TxState& t = txs[r];
      reap_tx(r);
      const unsigned m = 1 + static_cast<unsigned>(rnd(4));
      for (unsigned j = 0; j < m && ring.prod - t.done < (1u << ring.log2); ++j) {
        const std::uint32_t id = next_id++;
        const auto sport = rings[r].cfg.src_port;
        const unsigned what = static_cast<unsigned>(rnd(10));
        Bytes f = pg::ip_frame(pg::Eth(kPeerMac, kHostMac), pg::Ipv4(kHostIp, kPeerIp), pg::Udp(sport, 5000),
                               tagged_payload(id, 4 + rnd(300)));
        std::optional<std::uint16_t> len;
        std::uint32_t expect = rm::tx_desc::kStatusSent;
        if (what == 0) {
          f = pg::ip_frame(pg::Eth(kPeerMac, kHostMac), pg::Ipv4(kHostIp, kPeerIp),
                           pg::Udp(static_cast<std::uint16_t>(sport + 1), 5000), tagged_payload(id, 40));
          expect = rm::tx_desc::kStatusDropSpoof;
          ++tx_spoof;
        } else if (what == 1) {
          len = static_cast<std::uint16_t>(rnd(2) ? rnd(14) : 1519 + rnd(500));
          expect = rm::tx_desc::kStatusDropBadLen;
          ++tx_badlen;
        } else {
          ++tx_good;
        }
        const std::uint32_t idx = h().tx_post(ring, f, len);
        t.expect[idx] = expect;
        if (expect == rm::tx_desc::kStatusSent) {
          tx_id_owner[id] = {r, idx};
          tx_expected_by_port[rings[r].cfg.port].push_back(f);
        }
      }
      h().tx_doorbell(ring);
    }

    h().run(rnd(400));
    if (!overload()) {
      ASSERT_TRUE(h().wait_idle());
    }
    drain_all(false);
  }
  ASSERT_TRUE(h().wait_idle(2'000'000));
  drain_all(true);
  ASSERT_TRUE(h().wait_idle());
  drain_all(true);

  // ---- RX accounting.
  std::map<Bytes, std::size_t> by_frame;  // frame -> index in sent (frames are unique)
  for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_TRUE(by_frame.emplace(sent[i].frame, i).second) << i;
  std::uint64_t delivered_conn = 0, delivered_fb = 0, expected_ring = 0, malformed = 0;
  std::vector<bool> seen(sent.size(), false);
  for (const auto& s : sent) {
    if (s.ring >= 0) ++expected_ring;
    if (s.malformed) ++malformed;
  }
  for (unsigned r = 0; r < rings.size(); ++r) {
    std::array<std::size_t, NicHarness::kNumPorts> last{};
    std::array<bool, NicHarness::kNumPorts> any{};
    for (const auto& f : received[r]) {
      auto it = by_frame.find(f.data);
      ASSERT_NE(it, by_frame.end()) << "ring " << r << ": delivered frame matches nothing sent (len " << f.len << ")";
      const std::size_t i = it->second;
      const SentRx& s = sent[i];
      EXPECT_FALSE(seen[i]) << "frame " << i << " delivered twice";
      seen[i] = true;
      EXPECT_EQ(s.ring, static_cast<int>(r)) << "frame " << i << " in the wrong ring";
      EXPECT_EQ(f.len, s.frame.size());
      EXPECT_EQ((f.flags >> rm::rx_slot::kFlagsMalformed) & 1u, s.malformed ? 1u : 0u) << "frame " << i;
      if (any[s.port]) {
        EXPECT_GT(i, last[s.port]) << "ring " << r << " port " << s.port << ": out of order";
      }
      any[s.port] = true;
      last[s.port] = i;
    }
    (r == 0 ? delivered_fb : delivered_conn) += received[r].size();
  }
  const auto c = h().counters();
  auto at = [&](Counter k) { return c[static_cast<unsigned>(k)]; };
  SCOPED_TRACE(NicHarness::format_counters(c));
  EXPECT_EQ(at(Counter::kRxFrames), sent.size());
  EXPECT_EQ(at(Counter::kRxDeliveredConn), delivered_conn);
  EXPECT_EQ(at(Counter::kRxDeliveredFallback), delivered_fb);
  EXPECT_EQ(at(Counter::kRxDropNoQueue), 0u);
  EXPECT_EQ(at(Counter::kRxDropDisabled), 0u);
  EXPECT_EQ(at(Counter::kRxDropFilter), 0u);
  const std::uint64_t lost = expected_ring - delivered_conn - delivered_fb;
  const std::uint64_t bad = kinds[Kind::kRunt] + kinds[Kind::kTooBig] + kinds[Kind::kMacError];
  // Runts are malformed to the parser as well (RX_MALFORMED is a flag, not a fate).
  if (!overload()) {
    EXPECT_EQ(at(Counter::kRxDropOverflow), 0u);
    EXPECT_EQ(at(Counter::kRxDropRingFull), lost);
    EXPECT_EQ(at(Counter::kRxDropRunt), kinds[Kind::kRunt]);
    EXPECT_EQ(at(Counter::kRxDropTooBig), kinds[Kind::kTooBig]);
    EXPECT_EQ(at(Counter::kRxDropMacError), kinds[Kind::kMacError]);
    EXPECT_GE(at(Counter::kRxMalformed), malformed + kinds[Kind::kRunt]);
    EXPECT_LE(at(Counter::kRxMalformed), malformed + kinds[Kind::kRunt] + kinds[Kind::kTooBig] + kinds[Kind::kMacError]);
  } else {
    EXPECT_GT(at(Counter::kRxDropOverflow), 0u);
    EXPECT_LE(at(Counter::kRxDropRingFull), lost);
    EXPECT_LE(at(Counter::kRxDropRunt), kinds[Kind::kRunt]);
    EXPECT_LE(at(Counter::kRxDropTooBig), kinds[Kind::kTooBig]);
    EXPECT_LE(at(Counter::kRxDropMacError), kinds[Kind::kMacError]);
    EXPECT_EQ(at(Counter::kRxDropOverflow) + at(Counter::kRxDropRingFull) + at(Counter::kRxDropRunt) +
                  at(Counter::kRxDropTooBig) + at(Counter::kRxDropMacError),
              lost + bad);
  }
  EXPECT_GT(delivered_conn, kFrames / 4);

  // ---- TX accounting.
  for (unsigned r = 1; r < rings.size(); ++r) EXPECT_EQ(txs[r].done, rings[r].tx.prod) << "ring " << r;
  EXPECT_EQ(at(Counter::kTxSent), tx_good);
  EXPECT_EQ(at(Counter::kTxDropSpoof), tx_spoof);
  EXPECT_EQ(at(Counter::kTxDropBadLen), tx_badlen);
  for (unsigned p = 0; p < NicHarness::kNumPorts; ++p) {
    EXPECT_EQ(std::multiset<Bytes>(tx_out[p].begin(), tx_out[p].end()),
              std::multiset<Bytes>(tx_expected_by_port[p].begin(), tx_expected_by_port[p].end()))
        << "port " << p;
    // Per connection, frames leave in descriptor order.
    std::map<unsigned, std::uint32_t> last_idx;
    for (const auto& f : tx_out[p]) {
      std::uint32_t id = 0;
      std::memcpy(&id, f.data() + 42, 4);
      auto it = tx_id_owner.find(id);
      if (it == tx_id_owner.end()) continue;  // reported by the multiset check
      auto [r, idx] = it->second;
      auto li = last_idx.find(r);
      if (li != last_idx.end()) {
        EXPECT_GT(idx, li->second) << "conn ring " << r << " out of order";
      }
      last_idx[r] = idx;
    }
  }
  // Notifications name real connections with a known kind.
  std::set<std::uint32_t> ids;
  for (const auto& r : rings) ids.insert(r.cfg.conn_id);
  for (const auto& n : notes) {
    EXPECT_TRUE(ids.count(n.conn)) << n.conn;
    EXPECT_TRUE(n.kind == rm::notify::kKindsRx || n.kind == rm::notify::kKindsTxDone);
  }
  EXPECT_EQ(at(Counter::kNotifyWritten), notes.size());
  EXPECT_EQ(at(Counter::kIrqs), h().irqs().size());
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  for (const auto& s : sent) rx_bytes += s.frame.size();
  for (const auto& v : tx_expected_by_port) {
    for (const auto& f : v) tx_bytes += f.size();
  }
  EXPECT_EQ(at(Counter::kRxBytes), rx_bytes);
  EXPECT_EQ(at(Counter::kTxBytes), tx_bytes);
  EXPECT_EQ(at(Counter::kDmaWrReqs), h().dma_writes());
  EXPECT_EQ(at(Counter::kDmaRdReqs), h().dma_reads());
}

INSTANTIATE_TEST_SUITE_P(Seeds, NicSoakTest, ::testing::Values(1u, 2u, 3u, kOverloadSeeds, kOverloadSeeds + 1));

}  // namespace
}  // namespace norman::test
