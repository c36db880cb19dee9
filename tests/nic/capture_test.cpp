// The capture overlay in the whole core (docs/capture.md): sessions
// programmed through the CAPTURE registers with programs from libpcap's
// pcap_compile, receive and transmit frames through the real nic_core, and
// the records in the host rings checked field by field and byte by byte
// against the NIC model of kernel/capture (nic_model) and what the frame
// itself went through (connection, filter verdict, direction, port). Capture
// must never change what happens to the traffic.
#include <pcap/pcap.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpf_filter.hpp"
#include "cbpf_nic.hpp"
#include "flat.hpp"
#include "nic_test_util.hpp"

namespace norman::test {
namespace {

namespace nf = norman::filter;
namespace rf = norman::regmap::filter;
namespace cr = norman::regmap::capture_rec;
namespace cc = norman::regmap::capture_cfg;
namespace cap = norman::capture;
using rm::Counter;
using rm::Status;

// As tcpdump compiles it (ndump's BpfFilter: pcap_compile, optimised, netmask
// unknown); empty for an expression pcap_compile refuses (random ones can
// reject every packet).
std::vector<sock_filter> compile(const std::string& expr) {
  try {
    return norman::ndump::BpfFilter(expr, DLT_EN10MB, 262144).instructions();
  } catch (const norman::ndump::FilterError&) {
    return {};
  }
}

struct Record {
  std::uint64_t w0 = 0;
  std::uint32_t conn = 0;
  std::uint64_t cycle = 0;
  std::uint32_t dropped = 0;
  std::uint16_t seq = 0;
  Bytes data;
  [[nodiscard]] std::uint64_t f(const rm::Field& fld) const { return fld.get(w0); }
};

// What a frame went through, for the record the NIC should write.
struct Seen {
  Bytes frame;
  unsigned dir = 0;  // 0 in, 1 out
  unsigned port = 0;
  std::uint32_t conn = 0;
  bool owner_valid = false;
  unsigned verdict = cr::kKindsAccept;
};

class CaptureTest : public NicTest {
 protected:
  struct Session {
    std::vector<std::uint64_t> words;
    std::uint64_t base = 0;
    unsigned log2 = 0;
    std::uint16_t snap = 0;
    std::uint32_t cons = 0;
    std::uint64_t cfg = 0;
  };

  static std::uint32_t reg(std::uint32_t first, unsigned s) { return first + 8 * s; }

  void load(unsigned s, const std::string& expr) {
    const auto prog = compile(expr);
    ASSERT_FALSE(prog.empty()) << expr;
    const auto plan = cap::plan_program(prog);
    ASSERT_TRUE(plan.valid) << plan.error;
    ASSERT_TRUE(plan.in_subset) << expr;
    sess_[s].words = plan.words;
    h().csr_write(rm::kRegCaptureProgAddr, s);
    for (const auto w : plan.words) h().csr_write(rm::kRegCaptureProgInsn, w);
  }

  // Ring, snap length and CFG, as normand's capture service programs them
  // (BASE, SNAP, CONS, then CFG, which enables).
  void open(unsigned s, unsigned log2, std::uint16_t snap, unsigned dir_mask = 3, unsigned port_mask = 0xff,
            bool owner_req = false) {
    Session& x = sess_[s];
    x.log2 = log2;
    x.snap = snap;
    x.cons = 0;
    x.base = h().alloc(std::size_t{cr::kSlotBytes} << log2, 4096);
    h().mem_fill(x.base, std::size_t{cr::kSlotBytes} << log2, 0);
    h().csr_write(reg(rm::kRegCaptureBase, s), x.base);
    h().csr_write(reg(rm::kRegCaptureSnap, s), snap);
    h().csr_write(reg(rm::kRegCaptureCons, s), 0);
    std::uint64_t cfg = 0;
    cc::kLog2.set(cfg, log2);
    cc::kEnable.set(cfg, 1);
    cc::kDirMask.set(cfg, dir_mask);
    cc::kPortMask.set(cfg, port_mask);
    cc::kOwnerReq.set(cfg, owner_req ? 1 : 0);
    x.cfg = cfg;
    h().csr_write(reg(rm::kRegCaptureCfg, s), cfg);
  }

  // Records ready at the session's consumer index, in order; advances it.
  std::vector<Record> pop(unsigned s, bool write_cons = true) {
    Session& x = sess_[s];
    std::vector<Record> out;
    for (;;) {
      const std::uint64_t a = x.base + (x.cons % (1U << x.log2)) * std::uint64_t{cr::kSlotBytes};
      Record r;
      r.w0 = h().mem_read64(a);
      r.seq = static_cast<std::uint16_t>(cr::kSeq.get(h().mem_read64(a + 8 * cr::kSeq.arg)));
      if (r.seq != ((x.cons + 1) & 0xFFFF)) break;
      r.conn = static_cast<std::uint32_t>(cr::kConnId.get(h().mem_read64(a + 8 * cr::kConnId.arg)));
      r.cycle = cr::kCycle.get(h().mem_read64(a + 8 * cr::kCycle.arg));
      r.dropped = static_cast<std::uint32_t>(cr::kDropped.get(h().mem_read64(a + 8 * cr::kDropped.arg)));
      r.data = h().mem_read(a + cr::kHeaderBytes, r.f(cr::kCaplen));
      out.push_back(r);
      ++x.cons;
    }
    if (write_cons) h().csr_write(reg(rm::kRegCaptureCons, s), x.cons & 0xFFFF);
    return out;
  }

  // The records session s must hold for these frames, checked in order.
  void expect_records(unsigned s, const std::vector<Seen>& seen, const std::vector<Record>& got) {
    const Session& x = sess_[s];
    std::size_t i = 0;
    for (const Seen& f : seen) {
      if (((cc::kDirMask.get(x.cfg) >> f.dir) & 1U) == 0) continue;
      const auto v = cap::nic_model(x.words, f.frame);
      if (v == cap::NicVerdict::reject) continue;
      ASSERT_LT(i, got.size()) << "session " << s << ": missing record " << i;
      const Record& r = got[i];
      const bool unsure = v == cap::NicVerdict::unsure;
      std::size_t lim = (x.snap == 0 || x.snap > cr::kMaxCaplen || unsure) ? cr::kMaxCaplen : x.snap;
      const std::size_t caplen = std::min(f.frame.size(), lim);
      EXPECT_EQ(r.f(cr::kCaplen), caplen) << "record " << i;
      EXPECT_EQ(r.f(cr::kOrigLen), f.frame.size()) << "record " << i;
      EXPECT_EQ(r.f(cr::kDir), f.dir) << "record " << i;
      EXPECT_EQ(r.f(cr::kPort), f.port) << "record " << i;
      EXPECT_EQ(r.f(cr::kVerdict), f.verdict) << "record " << i;
      EXPECT_EQ(r.f(cr::kUnsure), unsure ? 1u : 0u) << "record " << i;
      EXPECT_EQ(r.f(cr::kOwnerValid), f.owner_valid ? 1u : 0u) << "record " << i;
      EXPECT_EQ(r.f(cr::kSession), s) << "record " << i;
      EXPECT_EQ(r.conn, f.conn) << "record " << i;
      EXPECT_EQ(r.data, Bytes(f.frame.begin(), f.frame.begin() + static_cast<std::ptrdiff_t>(caplen)))
          << "record " << i;
      ++i;
    }
    EXPECT_EQ(i, got.size()) << "session " << s << ": extra records";
  }

  std::uint64_t matched(unsigned s) { return h().csr_read(reg(rm::kRegCaptureMatched, s)); }
  std::uint64_t captured(unsigned s) { return h().csr_read(reg(rm::kRegCaptureCaptured, s)); }
  std::uint64_t dropped(unsigned s) { return h().csr_read(reg(rm::kRegCaptureDropped, s)); }

  void install_drop_udp_dport(std::uint16_t dport, std::uint16_t slot) {
    nf::Entry e;
    e.flags_mask |= nf::flag_bit(rf::Flag::kDir);  // INPUT
    e[rf::FieldId::kProto] = {pg::ipproto::kUdp, pg::ipproto::kUdp};
    e[rf::FieldId::kDport] = {dport, dport};
    e.action = rf::Action::kDrop;
    const auto words = nf::encode_write(e, slot, 1);
    std::map<unsigned, std::uint64_t> args;
    for (unsigned i = 0; i < words.size(); ++i) args[i] = words[i];
    ASSERT_EQ(h().command(rm::Op::kFilterWrite, args).status, Status::kOk);
    ASSERT_EQ(h().command(rm::Op::kFilterCommit, {}).status, Status::kOk);
  }

  void inject_paced(unsigned port, const Bytes& f) {
    h().inject(port, f);
    h().run((f.size() + NicHarness::kBeat - 1) / NicHarness::kBeat + 2);
  }

  Session sess_[cr::kSessions];
};

Bytes arp_request(std::uint8_t last) {
  return pg::arp_frame(pg::Eth(pg::mac("ff:ff:ff:ff:ff:ff"), kPeerMac),
                       pg::Arp(1, kPeerMac, kPeerIp, pg::mac("00:00:00:00:00:00"),
                               pg::ipv4("10.0.0." + std::to_string(last))));
}

TEST_F(CaptureTest, Registers) {
  EXPECT_EQ(h().csr_read(rm::kBlkCaptureBase), rm::kBlkCaptureHeader);
  EXPECT_EQ(h().csr_read(rm::kRegCaptureSessions), cr::kSessions);
  EXPECT_EQ(h().csr_read(rm::kRegCaptureStatus), 0u);
  for (unsigned s = 0; s < cr::kSessions; ++s) {
    h().csr_write(reg(rm::kRegCaptureBase, s), 0x1'0000'0800ULL + s);
    h().csr_write(reg(rm::kRegCaptureSnap, s), 100 + s);
    h().csr_write(reg(rm::kRegCaptureCons, s), 7 + s);
  }
  for (unsigned s = 0; s < cr::kSessions; ++s) {
    EXPECT_EQ(h().csr_read(reg(rm::kRegCaptureBase, s)), 0x1'0000'0800ULL + s);
    EXPECT_EQ(h().csr_read(reg(rm::kRegCaptureSnap, s)), 100u + s);
    EXPECT_EQ(h().csr_read(reg(rm::kRegCaptureCons, s)), 7u + s);
    EXPECT_EQ(h().csr_read(reg(rm::kRegCaptureCfg, s)), 0u);
    EXPECT_EQ(matched(s), 0u);
  }
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 0u);
  // Write-only registers do not read; read-only ones do not write.
  (void)h().csr_read(rm::kRegCaptureProgInsn);
  h().csr_write(rm::kRegCaptureMatched, 1);
  EXPECT_EQ(cnt(h(), Counter::kCsrInvalid), 2u);
}

// Receive and transmit: records of two sessions with different programs,
// exact against the model and the frame's path: the connection and owner
// flag of its flow (the fallback's for unknown flows), the filter overlay's
// verdict (a DROPped frame is captured on receive, as AF_PACKET sees it),
// direction and port; frames the NIC drops before the filter (MAC error)
// are not captured. The traffic lands exactly as without capture.
TEST_F(CaptureTest, RxTxRecordsMatchModel) {
  ConnHandle fb = open_fallback(6);
  ConnConfig c30 = udp_conn(30, 5432, 1);
  ConnHandle c = h().open_conn(c30, 6, 4);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  install_drop_udp_dport(9999, 5);

  load(0, "udp");
  load(1, "arp or udp port 53");
  open(0, 5, 0);
  open(1, 5, 64, 1 /* receive only */);

  std::vector<Seen> seen;
  std::vector<Bytes> conn_want, fb_want;
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned port = i % 2;
    Bytes f;
    switch (i % 4) {
      case 0:  // conn 30's flow
        f = udp_in(4000, 5432, 10 + i * 90, static_cast<std::uint8_t>(i));
        seen.push_back({f, 0, port, 30, true, cr::kKindsAccept});
        conn_want.push_back(f);
        break;
      case 1:  // DNS from an unknown peer: fallback, both sessions
        f = udp_in(53, 33000, 40 + i, static_cast<std::uint8_t>(i), pg::ipv4("192.168.7.9"));
        seen.push_back({f, 0, port, rm::kFallbackConn, false, cr::kKindsAccept});
        fb_want.push_back(f);
        break;
      case 2:  // dropped by the filter overlay: captured with verdict DROP
        f = udp_in(4001, 9999, 70 + i, static_cast<std::uint8_t>(i));
        seen.push_back({f, 0, port, rm::kFallbackConn, false, cr::kKindsDrop});
        break;
      default:  // ARP: session 1 only
        f = arp_request(static_cast<std::uint8_t>(i));
        seen.push_back({f, 0, port, rm::kFallbackConn, false, cr::kKindsAccept});
        fb_want.push_back(f);
        break;
    }
    inject_paced(port, f);
  }
  // A MAC error is dropped before the filter: counted, not captured.
  inject_paced(0, udp_in(4000, 5432, 100, 1));
  h().inject(0, udp_in(4000, 5432, 100, 2), true);
  seen.push_back({udp_in(4000, 5432, 100, 1), 0, 0, 30, true, cr::kKindsAccept});
  conn_want.push_back(udp_in(4000, 5432, 100, 1));
  ASSERT_TRUE(h().wait_idle());

  // Transmit from conn 30 (port 1).
  for (unsigned i = 0; i < 3; ++i) {
    const Bytes f = udp_out(5432, 4000, 30 + i * 200, static_cast<std::uint8_t>(i));
    h().tx_post(c.tx, f);
    seen.push_back({f, 1, 1, 30, true, cr::kKindsAccept});
  }
  h().tx_doorbell(c.tx);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(h().take_tx(1).size(), 3u);

  std::vector<Bytes> got;
  for (auto& r : h().rx_drain(c.rx)) got.push_back(r.data);
  EXPECT_EQ(got, conn_want);
  got.clear();
  for (auto& r : h().rx_drain(fb.rx)) got.push_back(r.data);
  EXPECT_EQ(got, fb_want);
  EXPECT_EQ(cnt(h(), Counter::kRxDropFilter), 2u);
  EXPECT_EQ(cnt(h(), Counter::kRxDropMacError), 1u);

  const auto r0 = pop(0);
  const auto r1 = pop(1);
  expect_records(0, seen, r0);
  expect_records(1, seen, r1);
  for (unsigned s = 0; s < 2; ++s) {
    const std::size_t n = s == 0 ? r0.size() : r1.size();
    EXPECT_EQ(matched(s), n);
    EXPECT_EQ(captured(s), n);
    EXPECT_EQ(dropped(s), 0u);
  }
  EXPECT_EQ(r0.size(), 10u);  // 7 UDP in, 3 UDP out
  EXPECT_EQ(r1.size(), 4u);  // 2 DNS, 2 ARP
  for (std::size_t i = 1; i < r0.size(); ++i) EXPECT_GT(r0[i].cycle, r0[i - 1].cycle);
}

// A full ring drops records only, exactly: MATCHED = CAPTURED + DROPPED,
// the next record's DROPPED field carries the count, and every frame still
// reaches its connection.
TEST_F(CaptureTest, RingFullDropsRecordsNotFrames) {
  ConnHandle c = h().open_conn(udp_conn(30, 5432), 6, 4);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  load(0, "udp port 5432");
  open(0, 2, 128);  // 4 slots

  std::vector<Bytes> want;
  for (unsigned i = 0; i < 10; ++i) {
    const Bytes f = udp_in(4000, 5432, 20 + i * 30, static_cast<std::uint8_t>(i));
    want.push_back(f);
    inject_paced(0, f);
  }
  ASSERT_TRUE(h().wait_idle());
  EXPECT_EQ(matched(0), 10u);
  EXPECT_EQ(captured(0), 4u);
  EXPECT_EQ(dropped(0), 6u);
  auto recs = pop(0);  // frees the ring
  ASSERT_EQ(recs.size(), 4u);
  for (const auto& r : recs) EXPECT_EQ(r.dropped, 0u);

  for (unsigned i = 10; i < 12; ++i) {
    const Bytes f = udp_in(4000, 5432, 20 + i * 30, static_cast<std::uint8_t>(i));
    want.push_back(f);
    inject_paced(0, f);
  }
  ASSERT_TRUE(h().wait_idle());
  recs = pop(0);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].dropped, 6u);
  EXPECT_EQ(recs[1].dropped, 0u);
  EXPECT_EQ(recs[0].data, Bytes(want[10].begin(), want[10].begin() + 128));
  EXPECT_EQ(matched(0), captured(0) + dropped(0));
  EXPECT_EQ(matched(0), 12u);

  std::vector<Bytes> got;
  for (auto& r : h().rx_drain(c.rx)) got.push_back(r.data);
  EXPECT_EQ(got, want);
}

// OWNER_REQ: only frames whose connection has the session's capture bit
// (OWNER_SET), never the fallback's; OWNER_SWEEP clears the bit everywhere.
TEST_F(CaptureTest, OwnerBits) {
  ConnHandle fb = open_fallback(6);
  ConnHandle a = h().open_conn(udp_conn(30, 5432), 6, 4);
  ConnHandle b = h().open_conn(udp_conn(31, 5433), 6, 4);
  ASSERT_EQ(h().flow_insert(udp_key(5432, 4000), 30), Status::kOk);
  ASSERT_EQ(h().flow_insert(udp_key(5433, 4000), 31), Status::kOk);
  load(2, "udp");
  open(2, 4, 0, 3, 0xff, true);
  h().csr_write(rm::kRegCaptureOwnerSet, 31u | (1u << (16 + 2)));
  h().csr_write(rm::kRegCaptureOwnerSet, 30u | (1u << (16 + 1)));  // another session's bit

  std::vector<Seen> seen;
  auto send = [&](unsigned i) {
    const Bytes fa = udp_in(4000, 5432, 10 + i, static_cast<std::uint8_t>(i));
    const Bytes fbb = udp_in(4000, 5433, 20 + i, static_cast<std::uint8_t>(i));
    const Bytes ff = udp_in(4000, 6000, 30 + i, static_cast<std::uint8_t>(i));
    inject_paced(0, fa);
    inject_paced(0, fbb);
    inject_paced(0, ff);
    return fbb;
  };
  for (unsigned i = 0; i < 3; ++i) seen.push_back({send(i), 0, 0, 31, true, cr::kKindsAccept});
  ASSERT_TRUE(h().wait_idle());
  expect_records(2, seen, pop(2));
  EXPECT_EQ(matched(2), 3u);

  h().csr_write(rm::kRegCaptureOwnerSweep, 1u << 2);
  EXPECT_EQ(h().csr_read(rm::kRegCaptureStatus), 1u);
  ASSERT_TRUE(h().wait_idle(100000));
  EXPECT_EQ(h().csr_read(rm::kRegCaptureStatus), 0u);
  send(5);
  ASSERT_TRUE(h().wait_idle());
  EXPECT_TRUE(pop(2).empty());
  EXPECT_EQ(matched(2), 3u);
  h().rx_drain(a.rx);
  h().rx_drain(b.rx);
  h().rx_drain(fb.rx);
}

// Capture on, receive and transmit at full rate together: the frames and
// their fates are those of a run without capture, and each session's
// accounting is exact however many records the merge or the ring lost.
TEST_F(CaptureTest, TrafficUnharmedUnderLoad) {
  auto run = [](bool capture) {
    NicHarness h;
    h.open_conn(udp_conn(static_cast<std::uint16_t>(rm::kFallbackConn), 1), 10);
    ConnHandle c = h.open_conn(udp_conn(30, 5432, 0), 10, 8);
    EXPECT_EQ(h.flow_insert(udp_key(5432, 4000), 30), Status::kOk);
    std::uint64_t base = h.alloc(std::size_t{cr::kSlotBytes} << 3, 4096);
    if (capture) {
      const auto plan = cap::plan_program(compile("udp"));
      h.csr_write(rm::kRegCaptureProgAddr, 0);
      for (const auto w : plan.words) h.csr_write(rm::kRegCaptureProgInsn, w);
      h.csr_write(rm::kRegCaptureBase, base);
      std::uint64_t cfg = 0;
      cc::kLog2.set(cfg, 3);
      cc::kEnable.set(cfg, 1);
      cc::kDirMask.set(cfg, 3);
      cc::kPortMask.set(cfg, 0xff);
      h.csr_write(rm::kRegCaptureCfg, cfg);
    }
    for (unsigned i = 0; i < 120; ++i) {
      h.tx_post(c.tx, udp_out(5432, 4000, 20 + (i * 37) % 600, static_cast<std::uint8_t>(i)));
      if (i % 40 == 39) h.tx_doorbell(c.tx);
      h.inject(i % 2, udp_in(4000, 5432, 10 + (i * 53) % 900, static_cast<std::uint8_t>(i)));
    }
    EXPECT_TRUE(h.wait_idle(2000000));
    const auto rx = h.rx_drain(c.rx);
    auto tx = h.take_tx(0);
    std::vector<Bytes> out;
    for (const auto& r : rx) out.push_back(r.data);
    out.insert(out.end(), tx.begin(), tx.end());
    if (capture) {
      const auto m = h.csr_read(rm::kRegCaptureMatched);
      EXPECT_EQ(m, h.csr_read(rm::kRegCaptureCaptured) + h.csr_read(rm::kRegCaptureDropped));
      EXPECT_GT(m, 0u);
    }
    return std::make_pair(out, h.counters());
  };
  const auto with = run(true);
  const auto without = run(false);
  EXPECT_EQ(with.first, without.first);
  auto a = with.second;
  auto b = without.second;
  // DMA write requests differ by the capture records.
  a[static_cast<unsigned>(Counter::kDmaWrReqs)] = 0;
  b[static_cast<unsigned>(Counter::kDmaWrReqs)] = 0;
  EXPECT_EQ(NicHarness::format_counters(a), NicHarness::format_counters(b));
}

}  // namespace
}  // namespace norman::test
