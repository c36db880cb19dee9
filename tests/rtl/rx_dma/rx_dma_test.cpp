// Host-facing RX side tests: rx_dma_engine + notify_engine + dma_wr_arbiter
// (tests/rtl/rx_dma/rx_dma_tb.sv) against a C++ host whose memory applies
// DMA writes per the DMA conventions and checks them (addr/len constant over
// a request, beat count, last flag; lanes outside [addr, addr+len) ignored).
#include <gtest/gtest.h>
#include <verilated.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vrx_dma_tb.h"
#include "norman/regmap.hpp"

namespace {

namespace rm = norman::regmap;
using Bytes = std::vector<std::uint8_t>;
using rm::Counter;

constexpr std::size_t kMemBytes = 16u << 20;
constexpr std::uint32_t kSlot = rm::rx_slot::kSlotBytes;
constexpr std::uint32_t kTrailer = rm::rx_slot::kTrailerOffset;
constexpr std::uint64_t kNqBase = 0xF00000;  // notification rings live up here
constexpr std::uint32_t kEntry = rm::notify::kEntryBytes;

// Drop reasons as rx_desc_t.drop encodes them (norman_pkg::rx_drop_e).
enum Drop : std::uint8_t { kNone = 0, kMacError, kRunt, kTooBig, kNoQueue, kDisabled, kFilter };

struct Desc {
  std::uint16_t conn = 1;
  std::uint64_t base = 0;
  std::uint8_t log2 = 4;
  std::uint16_t nq = 0;
  std::uint16_t len = 60;
  std::uint8_t flags = 0;
  std::uint8_t drop = kNone;
  bool fallback = false;
};

struct Beat {
  std::array<std::uint8_t, 64> bytes{};
  std::uint64_t keep = 0;
  bool last = false;
};

struct Write {
  std::uint64_t addr;
  std::uint64_t len;
  std::uint64_t cycle;
};

struct NqEntry {
  std::uint32_t conn;
  std::uint16_t kind;
  std::uint16_t seq;
};

std::uint64_t count(const std::array<std::uint64_t, rm::kNumCounters>& c, Counter k) {
  return c[static_cast<unsigned>(k)];
}

class Host {
 public:
  Host() : ctx_(std::make_unique<VerilatedContext>()), mem_(kMemBytes, 0xEE) {
    top_ = std::make_unique<Vrx_dma_tb>(ctx_.get());
    top_->rst_ni = 0;
    top_->wr_ready_i = 1;
    top_->irq_ready_i = 1;
    for (int i = 0; i < 4; i++) clock();
    top_->rst_ni = 1;
    clock();
  }
  ~Host() { top_->final(); }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  Vrx_dma_tb& top() { return *top_; }
  std::uint64_t cycle() const { return cycle_; }

  // ------------------------------------------------------------ stimulus
  void send(const Desc& d, const Bytes& frame) {
    descs_.push_back(d);
    for (std::size_t off = 0; off < frame.size(); off += 64) {
      Beat b;
      const std::size_t n = std::min<std::size_t>(64, frame.size() - off);
      for (std::size_t i = 0; i < n; i++) b.bytes[i] = frame[off + i];
      b.keep = n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1);
      b.last = off + n == frame.size();
      beats_.push_back(b);
    }
    frames_in_++;
  }

  void cfg_conn(std::uint16_t conn, std::uint16_t nq) {
    top_->cfg_valid_i = 1;
    top_->cfg_conn_i = conn;
    top_->cfg_nq_i = nq;
    step();
  }
  void rx_cons(std::uint16_t conn, std::uint16_t cons) {
    top_->db_valid_i = 1;
    top_->db_conn_i = conn;
    top_->db_cons_i = cons;
    step();
  }
  void cfg_nq(std::uint16_t nq, bool enable, std::uint64_t base, unsigned log2, std::uint16_t vec) {
    top_->nq_cfg_valid_i = 1;
    top_->nq_cfg_nq_i = nq;
    top_->nq_cfg_enable_i = enable;
    top_->nq_cfg_base_i = base;
    top_->nq_cfg_log2_i = static_cast<std::uint8_t>(log2);
    top_->nq_cfg_vector_i = vec;
    step();
  }
  void nq_cons(std::uint16_t nq, std::uint16_t cons) {
    top_->nq_db_cons_valid_i = 1;
    top_->nq_db_nq_i = nq;
    top_->nq_db_cons_i = cons;
    step();
  }
  void nq_arm(std::uint16_t nq) {
    top_->nq_db_arm_valid_i = 1;
    top_->nq_db_arm_nq_i = nq;
    step();
  }
  std::uint16_t query_prod(std::uint16_t conn) {
    top_->query_conn_i = conn;
    step();
    step();
    return top_->query_prod_o;
  }

  // ------------------------------------------------------------ clocking
  // One cycle: drive the streams, settle, sample every handshake, clock.
  void step() {
    top_->desc_valid_i = !descs_.empty();
    if (!descs_.empty() && !hold_desc_) {
      const Desc& d = descs_.front();
      top_->desc_conn_i = d.conn;
      top_->desc_base_i = d.base;
      top_->desc_log2_i = d.log2;
      top_->desc_nq_i = d.nq;
      top_->desc_len_i = d.len;
      top_->desc_flags_i = d.flags;
      top_->desc_drop_i = d.drop;
      top_->desc_fallback_i = d.fallback;
    }
    if (hold_desc_) top_->desc_valid_i = 0;
    const bool data_gap = data_gap_ && data_gap_(rng_);
    top_->data_valid_i = !beats_.empty() && !data_gap;
    if (!beats_.empty()) {
      const Beat& b = beats_.front();
      for (unsigned w = 0; w < 16; w++) {
        std::uint32_t v = 0;
        for (unsigned k = 0; k < 4; k++) v |= std::uint32_t{b.bytes[4 * w + k]} << (8 * k);
        top_->data_i[w] = v;
      }
      top_->keep_i = b.keep;
      top_->last_i = b.last;
    }
    top_->wr_ready_i = wr_ready_ ? wr_ready_(rng_) : 1;
    top_->irq_ready_i = irq_ready_ ? irq_ready_(rng_) : 1;
    top_->clk_i = 0;
    top_->eval();

    const bool desc_fire = top_->desc_valid_i && top_->desc_ready_o;
    const bool data_fire = top_->data_valid_i && top_->data_ready_o;
    if (top_->wr_valid_o && top_->wr_ready_i) dma_beat();
    if (top_->irq_valid_o && top_->irq_ready_i) irqs_.push_back(top_->irq_vector_o);
    if (top_->nreq_fire_o) nreqs_.push_back(top_->nreq_conn_o);
    for (unsigned i = 0; i < rm::kNumCounters; i++) {
      if ((top_->cnt_o >> i) & 1u) cnt_[i]++;
    }

    top_->clk_i = 1;
    top_->eval();
    cycle_++;
    if (desc_fire) descs_.pop_front();
    if (data_fire) beats_.pop_front();
    top_->cfg_valid_i = 0;
    top_->db_valid_i = 0;
    top_->nq_cfg_valid_i = 0;
    top_->nq_db_cons_valid_i = 0;
    top_->nq_db_arm_valid_i = 0;
  }

  // Run until every stream is drained and the engines report idle.
  bool drain(std::uint64_t max_cycles = 200000) {
    for (std::uint64_t i = 0; i < max_cycles; i++) {
      if (descs_.empty() && beats_.empty() && !in_req_ && top_->idle_o) return true;
      step();
    }
    return false;
  }

  // ------------------------------------------------------------ host memory view
  std::uint8_t mem(std::uint64_t a) const { return mem_.at(a); }
  std::uint32_t rd32(std::uint64_t a) const {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++) v |= std::uint32_t{mem_.at(a + i)} << (8 * i);
    return v;
  }
  std::uint64_t rd64(std::uint64_t a) const {
    return std::uint64_t{rd32(a)} | (std::uint64_t{rd32(a + 4)} << 32);
  }
  NqEntry nq_entry(std::uint64_t base, unsigned idx) const {
    const std::uint64_t w = rd64(base + std::uint64_t{idx} * kEntry);
    return NqEntry{static_cast<std::uint32_t>(rm::notify::kConnId.get(w)),
                   static_cast<std::uint16_t>(rm::notify::kKind.get(w)),
                   static_cast<std::uint16_t>(rm::notify::kSeq.get(w))};
  }
  void fill(std::uint64_t a, std::size_t n, std::uint8_t v) {
    std::fill(mem_.begin() + static_cast<std::ptrdiff_t>(a),
              mem_.begin() + static_cast<std::ptrdiff_t>(a + n), v);
  }

  std::uint64_t frames_in() const { return frames_in_; }
  const std::array<std::uint64_t, rm::kNumCounters>& counters() const { return cnt_; }
  std::uint64_t counter(Counter k) const { return count(cnt_, k); }
  std::uint64_t rx_fates() const {
    std::uint64_t s = 0;
    for (Counter k : rm::kRxFates) s += count(cnt_, k);
    return s;
  }
  const std::vector<Write>& writes() const { return writes_; }
  const std::vector<std::uint16_t>& irqs() const { return irqs_; }
  const std::vector<std::uint16_t>& nreqs() const { return nreqs_; }
  unsigned dma_errors() const { return dma_errors_; }
  const std::string& first_dma_error() const { return first_err_; }

  std::mt19937& rng() { return rng_; }
  std::function<bool(std::mt19937&)> wr_ready_;
  std::function<bool(std::mt19937&)> irq_ready_;
  std::function<bool(std::mt19937&)> data_gap_;
  bool hold_desc_ = false;

 private:
  void clock() {
    top_->clk_i = 0;
    top_->eval();
    top_->clk_i = 1;
    top_->eval();
  }

  void dma_error(const std::string& s) {
    if (dma_errors_++ == 0) first_err_ = s;
  }

  // Apply one write beat per the DMA conventions and check its framing.
  void dma_beat() {
    const std::uint64_t addr = top_->wr_addr_o;
    const std::uint64_t len = top_->wr_len_o;
    if (!in_req_) {
      in_req_ = true;
      req_addr_ = addr;
      req_len_ = len;
      beat_ = 0;
      if (len == 0) dma_error("zero-length write");
      if (addr + len > kMemBytes) dma_error("write outside host memory");
    } else if (addr != req_addr_ || len != req_len_) {
      dma_error("addr/len changed within a request at cycle " + std::to_string(cycle_));
    }
    const std::uint64_t nbeats = ((req_addr_ % 64) + req_len_ + 63) / 64;
    const std::uint64_t block = (req_addr_ / 64 + beat_) * 64;
    for (unsigned lane = 0; lane < 64; lane++) {
      const std::uint64_t a = block + lane;
      if (a >= req_addr_ && a < req_addr_ + req_len_ && a < kMemBytes) {
        mem_[a] = static_cast<std::uint8_t>(top_->wr_data_o[lane / 4] >> (8 * (lane % 4)));
      }
    }
    const bool last = top_->wr_last_o;
    if (last != (beat_ + 1 == nbeats)) {
      dma_error("last flag on beat " + std::to_string(beat_) + " of " + std::to_string(nbeats) +
                " (addr " + std::to_string(req_addr_) + " len " + std::to_string(req_len_) + ")");
    }
    beat_++;
    if (last || beat_ >= nbeats) {
      in_req_ = false;
      writes_.push_back(Write{req_addr_, req_len_, cycle_});
    }
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vrx_dma_tb> top_;
  std::vector<std::uint8_t> mem_;
  std::deque<Desc> descs_;
  std::deque<Beat> beats_;
  std::uint64_t cycle_ = 0;
  std::uint64_t frames_in_ = 0;
  std::array<std::uint64_t, rm::kNumCounters> cnt_{};
  bool in_req_ = false;
  std::uint64_t req_addr_ = 0, req_len_ = 0, beat_ = 0;
  std::vector<Write> writes_;
  std::vector<std::uint16_t> irqs_;
  std::vector<std::uint16_t> nreqs_;
  unsigned dma_errors_ = 0;
  std::string first_err_;
  std::mt19937 rng_{12345};
};

Bytes make_frame(std::size_t len, std::uint32_t seed) {
  Bytes f(len);
  std::uint32_t x = seed * 2654435761u + 1u;
  for (auto& b : f) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::uint8_t>(x >> 16);
  }
  return f;
}

struct Ring {
  std::uint16_t conn;
  std::uint64_t base;
  std::uint8_t log2;
  std::uint16_t nq;
  Desc desc(std::uint16_t len, std::uint8_t flags = 0) const {
    Desc d;
    d.conn = conn;
    d.base = base;
    d.log2 = log2;
    d.nq = nq;
    d.len = len;
    d.flags = flags;
    return d;
  }
  std::uint64_t slot(std::uint32_t idx) const {
    return base + std::uint64_t{idx & ((1u << log2) - 1)} * kSlot;
  }
};

// The slot holds `frame` right-aligned before the trailer {SEQ, FLAGS, LEN}.
void expect_slot(const Host& h, const Ring& r, std::uint32_t idx, const Bytes& frame,
                 std::uint16_t seq, std::uint8_t flags = 0) {
  const std::uint64_t s = r.slot(idx);
  const std::uint32_t t = h.rd32(s + kTrailer);
  EXPECT_EQ(rm::rx_slot::kLen.get(t), frame.size()) << "slot " << idx;
  EXPECT_EQ(rm::rx_slot::kFlags.get(t), flags) << "slot " << idx;
  EXPECT_EQ(rm::rx_slot::kSeq.get(t), seq) << "slot " << idx;
  const std::uint64_t start = s + kTrailer - frame.size();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < frame.size(); i++) {
    if (h.mem(start + i) != frame[i]) bad++;
  }
  EXPECT_EQ(bad, 0u) << "slot " << idx << " len " << frame.size() << ": bytes differ";
}

void expect_clean(const Host& h) {
  EXPECT_EQ(h.dma_errors(), 0u) << h.first_dma_error();
  EXPECT_EQ(h.rx_fates(), h.frames_in()) << "every frame has exactly one fate";
}

// ------------------------------------------------------------------ tests

TEST(RxDma, EveryLengthLandsByteExact) {
  Host h;
  const Ring r{1, 0x100000, 5, 2};
  h.cfg_nq(2, true, kNqBase, 12, 0);
  h.cfg_conn(r.conn, r.nq);
  std::uint32_t prod = 0;
  const unsigned size = 1u << r.log2;
  std::vector<Bytes> batch;
  std::size_t write_idx = 0;
  for (unsigned len = rm::kMinFrameBytes; len <= rm::kMaxFrameBytes;) {
    batch.clear();
    for (unsigned i = 0; i < size && len <= rm::kMaxFrameBytes; i++, len++) {
      batch.push_back(make_frame(len, len));
      h.send(r.desc(static_cast<std::uint16_t>(len), static_cast<std::uint8_t>(len & 0xF)),
             batch.back());
    }
    ASSERT_TRUE(h.drain());
    for (std::size_t i = 0; i < batch.size(); i++) {
      const std::uint32_t idx = prod + static_cast<std::uint32_t>(i);
      expect_slot(h, r, idx, batch[i], static_cast<std::uint16_t>(idx + 1),
                  static_cast<std::uint8_t>(batch[i].size() & 0xF));
    }
    // Exactly one write of len + 4 bytes per frame, ending at the slot end.
    for (; write_idx < h.writes().size(); write_idx++) {
      const Write& w = h.writes()[write_idx];
      if (w.addr >= kNqBase) continue;
      const std::uint64_t slot_end = (w.addr / kSlot + 1) * kSlot;
      EXPECT_EQ(w.addr + w.len, slot_end);
      EXPECT_GE(w.len, rm::kMinFrameBytes + 4u);
    }
    prod += static_cast<std::uint32_t>(batch.size());
    h.rx_cons(r.conn, static_cast<std::uint16_t>(prod));
  }
  ASSERT_TRUE(h.drain());
  const std::uint64_t n = rm::kMaxFrameBytes - rm::kMinFrameBytes + 1;
  // Every flag value goes through unchanged; those with REJECT set are
  // counted as rejected rather than delivered (RejectFlagCountsAsRejected).
  std::uint64_t rejected = 0;
  for (unsigned len = rm::kMinFrameBytes; len <= rm::kMaxFrameBytes; len++)
    rejected += (len >> rm::rx_slot::kFlagsReject) & 1u;
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), n - rejected);
  EXPECT_EQ(h.counter(Counter::kRxFilterRejected), rejected);
  EXPECT_EQ(h.query_prod(r.conn), static_cast<std::uint16_t>(n));
  std::size_t frame_writes = 0;
  for (const Write& w : h.writes()) frame_writes += w.addr < kNqBase;
  EXPECT_EQ(frame_writes, n);
  expect_clean(h);
}

TEST(RxDma, SixtyByteFrameIsOneBeat) {
  Host h;
  const Ring r{3, 0x200000, 4, 0};
  h.cfg_nq(0, true, kNqBase, 10, 0);
  h.cfg_conn(r.conn, r.nq);
  h.send(r.desc(60), make_frame(60, 1));
  ASSERT_TRUE(h.drain());
  ASSERT_GE(h.writes().size(), 1u);
  const Write& w = h.writes()[0];
  EXPECT_EQ(w.addr, r.base + kTrailer - 60);
  EXPECT_EQ(w.addr % 64, 0u);
  EXPECT_EQ(w.len, 64u);  // one beat: the checker verified last on beat 0
  expect_clean(h);
}

TEST(RxDma, RingWrapsOverManyLapsWithSeq) {
  Host h;
  const Ring r{7, 0x300000, 2, 0};
  h.cfg_nq(0, true, kNqBase, 10, 0);
  h.cfg_conn(r.conn, r.nq);
  for (std::uint32_t i = 0; i < 40; i++) {
    const Bytes f = make_frame(60 + (i % 3) * 37, i);
    h.send(r.desc(static_cast<std::uint16_t>(f.size())), f);
    ASSERT_TRUE(h.drain());
    expect_slot(h, r, i, f, static_cast<std::uint16_t>(i + 1));
    h.rx_cons(r.conn, static_cast<std::uint16_t>(i + 1));
  }
  EXPECT_EQ(h.query_prod(r.conn), 40);
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), 40u);
  EXPECT_EQ(h.counter(Counter::kRxDropRingFull), 0u);
  expect_clean(h);
}

TEST(RxDma, FullRingDropsAndDoorbellFreesSpace) {
  Host h;
  const Ring r{9, 0x400000, 2, 0};
  h.cfg_nq(0, true, kNqBase, 10, 0);
  h.cfg_conn(r.conn, r.nq);
  std::vector<Bytes> f;
  for (std::uint32_t i = 0; i < 7; i++) {
    f.push_back(make_frame(100 + i, i));
    h.send(r.desc(static_cast<std::uint16_t>(f[i].size())), f[i]);
  }
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), 4u);
  EXPECT_EQ(h.counter(Counter::kRxDropRingFull), 3u);
  for (std::uint32_t i = 0; i < 4; i++) expect_slot(h, r, i, f[i], static_cast<std::uint16_t>(i + 1));
  EXPECT_EQ(h.query_prod(r.conn), 4);
  // Free two slots: the next two frames land in slots 0 and 1, the third drops.
  h.rx_cons(r.conn, 2);
  std::vector<Bytes> g;
  for (std::uint32_t i = 0; i < 3; i++) {
    g.push_back(make_frame(200 + i, 100 + i));
    h.send(r.desc(static_cast<std::uint16_t>(g[i].size())), g[i]);
  }
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), 6u);
  EXPECT_EQ(h.counter(Counter::kRxDropRingFull), 4u);
  expect_slot(h, r, 4, g[0], 5);
  expect_slot(h, r, 5, g[1], 6);
  expect_slot(h, r, 2, f[2], 3);  // not overwritten
  expect_slot(h, r, 3, f[3], 4);
  expect_clean(h);
}

TEST(RxDma, DropDescriptorsConsumeDataAndCountReasons) {
  Host h;
  const Ring r{11, 0x500000, 5, 0};
  h.cfg_nq(0, true, kNqBase, 10, 0);
  h.cfg_conn(r.conn, r.nq);
  const Drop reasons[] = {kMacError, kRunt, kTooBig, kNoQueue, kDisabled, kFilter};
  std::vector<Bytes> good;
  std::uint32_t seed = 0;
  for (Drop d : reasons) {
    for (unsigned k = 0; k < 2; k++) {
      Desc dd = r.desc(static_cast<std::uint16_t>(70 + 130 * k + seed));
      dd.drop = d;
      h.send(dd, make_frame(dd.len, 1000 + seed++));
      good.push_back(make_frame(64 + seed * 11, seed));
      h.send(r.desc(static_cast<std::uint16_t>(good.back().size())), good.back());
    }
  }
  // A fallback delivery is counted separately.
  Desc fb = r.desc(90);
  fb.fallback = true;
  const Bytes fbf = make_frame(90, 77);
  h.send(fb, fbf);
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kRxDropMacError), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDropRunt), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDropTooBig), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDropNoQueue), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDropDisabled), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDropFilter), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), good.size());
  EXPECT_EQ(h.counter(Counter::kRxDeliveredFallback), 1u);
  for (std::uint32_t i = 0; i < good.size(); i++) {
    expect_slot(h, r, i, good[i], static_cast<std::uint16_t>(i + 1));
  }
  expect_slot(h, r, static_cast<std::uint32_t>(good.size()), fbf,
              static_cast<std::uint16_t>(good.size() + 1));
  expect_clean(h);
}

// A frame marked REJECT (rx_classify sends it to the fallback ring for the
// control plane) is written like any other but has a fate of its own; when
// the ring is full it is a ring-full drop like any other.
TEST(RxDma, RejectFlagCountsAsRejected) {
  Host h;
  const Ring r{static_cast<std::uint16_t>(rm::kFallbackConn), 0x700000, 2, 0};
  h.cfg_nq(0, true, kNqBase, 10, 0);
  h.cfg_conn(r.conn, r.nq);
  constexpr std::uint8_t kReject = 1u << rm::rx_slot::kFlagsReject;
  constexpr std::uint8_t kVlan = 1u << rm::rx_slot::kFlagsVlan;
  std::vector<Bytes> f;
  for (std::uint32_t i = 0; i < 6; i++) {
    f.push_back(make_frame(80 + i, 300 + i));
    Desc d = r.desc(static_cast<std::uint16_t>(f[i].size()),
                    static_cast<std::uint8_t>(i == 1 ? kReject | kVlan : kReject));
    d.fallback = (i % 2) == 0;
    h.send(d, f[i]);
  }
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kRxFilterRejected), 4u);
  EXPECT_EQ(h.counter(Counter::kRxDropRingFull), 2u);
  EXPECT_EQ(h.counter(Counter::kRxDeliveredFallback), 0u);
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), 0u);
  for (std::uint32_t i = 0; i < 4; i++) {
    expect_slot(h, r, i, f[i], static_cast<std::uint16_t>(i + 1),
                static_cast<std::uint8_t>(i == 1 ? kReject | kVlan : kReject));
  }
  expect_clean(h);
}

TEST(RxDma, NotificationsCoalesceAndRenotifyOnDoorbell) {
  Host h;
  const std::uint64_t nqb = kNqBase;
  h.cfg_nq(3, true, nqb, 6, 0);
  const Ring r{5, 0x600000, 4, 3};
  h.cfg_conn(r.conn, r.nq);
  for (std::uint32_t i = 0; i < 5; i++) h.send(r.desc(60), make_frame(60, i));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 1u) << "one outstanding per connection";
  NqEntry e = h.nq_entry(nqb, 0);
  EXPECT_EQ(e.conn, r.conn);
  EXPECT_EQ(e.kind, rm::notify::kKindsRx);
  EXPECT_EQ(e.seq, 1);
  // Consumed 2 of 5: notified again.
  h.rx_cons(r.conn, 2);
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 2u);
  e = h.nq_entry(nqb, 1);
  EXPECT_EQ(e.conn, r.conn);
  EXPECT_EQ(e.seq, 2);
  // Consumed everything: no notification, and the next frame notifies.
  h.rx_cons(r.conn, 5);
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 2u);
  h.send(r.desc(60), make_frame(60, 9));
  h.send(r.desc(60), make_frame(60, 10));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 3u);
  e = h.nq_entry(nqb, 2);
  EXPECT_EQ(e.conn, r.conn);
  EXPECT_EQ(e.seq, 3);
  expect_clean(h);
}

TEST(RxDma, NotificationOrderAcrossConnectionsAndAfterData) {
  Host h;
  const std::uint64_t nqb = kNqBase;
  h.cfg_nq(1, true, nqb, 8, 0);
  std::vector<Ring> rings;
  for (std::uint16_t c = 0; c < 40; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(100 + c * 37), 0x100000 + std::uint64_t{c} * 0x8000,
                         4, 1});
    h.cfg_conn(rings.back().conn, 1);
  }
  std::vector<std::uint16_t> order(40);
  for (std::uint16_t i = 0; i < 40; i++) order[i] = i;
  std::shuffle(order.begin(), order.end(), h.rng());
  for (std::uint16_t i : order) {
    const std::uint16_t len = static_cast<std::uint16_t>(14 + (i * 41) % 300);
    h.send(rings[i].desc(len), make_frame(len, i));
    h.send(rings[i].desc(60), make_frame(60, i + 500u));  // coalesced
  }
  ASSERT_TRUE(h.drain());
  ASSERT_EQ(h.counter(Counter::kNotifyWritten), 40u);
  for (unsigned k = 0; k < 40; k++) {
    const NqEntry e = h.nq_entry(nqb, k);
    EXPECT_EQ(e.conn, rings[order[k]].conn) << k;
    EXPECT_EQ(e.seq, k + 1);
  }
  // Every notification write comes after the write of the frame it announces.
  std::vector<std::size_t> frame_pos(40), note_pos(40);
  for (std::size_t w = 0; w < h.writes().size(); w++) {
    const Write& wr = h.writes()[w];
    if (wr.addr >= nqb) {
      note_pos[(wr.addr - nqb) / kEntry] = w;
    } else {
      for (std::size_t i = 0; i < 40; i++) {
        if (wr.addr >= rings[i].base && wr.addr < rings[i].base + kSlot && frame_pos[i] == 0) {
          frame_pos[i] = w + 1;
        }
      }
    }
  }
  for (unsigned k = 0; k < 40; k++) {
    EXPECT_GT(note_pos[k] + 1, frame_pos[order[k]]) << "notification " << k << " overtook its frame";
  }
  expect_clean(h);
}

TEST(RxDma, InterruptArming) {
  Host h;
  const std::uint64_t nqb = kNqBase;
  h.cfg_nq(4, true, nqb, 6, 0x42);
  std::vector<Ring> rings;
  for (std::uint16_t c = 0; c < 6; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(20 + c), 0x100000 + std::uint64_t{c} * 0x8000, 4, 4});
    h.cfg_conn(rings.back().conn, 4);
  }
  // Unarmed: entries, no interrupt.
  h.send(rings[0].desc(60), make_frame(60, 0));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 1u);
  EXPECT_TRUE(h.irqs().empty());
  // Catch up, arm: the next entry interrupts once, then the queue is disarmed.
  h.nq_cons(4, 1);
  h.nq_arm(4);
  ASSERT_TRUE(h.drain());
  EXPECT_TRUE(h.irqs().empty());
  h.send(rings[1].desc(60), make_frame(60, 1));
  h.send(rings[2].desc(60), make_frame(60, 2));
  ASSERT_TRUE(h.drain());
  ASSERT_EQ(h.irqs().size(), 1u);
  EXPECT_EQ(h.irqs()[0], 0x42);
  EXPECT_EQ(h.counter(Counter::kIrqs), 1u);
  h.send(rings[3].desc(60), make_frame(60, 3));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.irqs().size(), 1u);
  // ARM with entries pending (prod 4, cons 1): interrupt at once.
  h.nq_arm(4);
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.irqs().size(), 2u);
  EXPECT_EQ(h.counter(Counter::kIrqs), 2u);
  // ...and one-shot: a further entry does not interrupt.
  h.send(rings[4].desc(60), make_frame(60, 4));
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.irqs().size(), 2u);
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 5u);
  expect_clean(h);
}

TEST(RxDma, FullNotificationQueueDrops) {
  Host h;
  const std::uint64_t nqb = kNqBase;
  h.cfg_nq(6, true, nqb, 1, 0);  // two entries
  h.fill(nqb, 64, 0);
  std::vector<Ring> rings;
  for (std::uint16_t c = 0; c < 5; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(300 + c), 0x100000 + std::uint64_t{c} * 0x8000, 4, 6});
    h.cfg_conn(rings.back().conn, 6);
    h.send(rings.back().desc(60), make_frame(60, c));
  }
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), 5u);
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 2u);
  EXPECT_EQ(h.counter(Counter::kNotifyDropNqFull), 3u);
  EXPECT_EQ(h.nq_entry(nqb, 0).conn, 300u);
  EXPECT_EQ(h.nq_entry(nqb, 1).conn, 301u);
  EXPECT_EQ(h.rd64(nqb + 16), 0u) << "nothing written past the ring";
  // Consuming one entry makes room for exactly one more.
  h.nq_cons(6, 1);
  h.rx_cons(rings[4].conn, 0);  // conn 304 has 1 unconsumed frame: re-notify
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 3u);
  EXPECT_EQ(h.nq_entry(nqb, 0).conn, 304u);
  EXPECT_EQ(h.nq_entry(nqb, 0).seq, 3);
  // A disabled queue drops (and counts) too.
  h.cfg_nq(6, false, nqb, 1, 0);
  h.rx_cons(rings[3].conn, 0);
  ASSERT_TRUE(h.drain());
  EXPECT_EQ(h.counter(Counter::kNotifyDropNqFull), 4u);
  expect_clean(h);
}

// 1000 back-to-back 60-byte frames: one per cycle.
void throughput(bool same_conn) {
  Host h;
  h.cfg_nq(0, true, kNqBase, 12, 0);
  std::vector<Ring> rings;
  const unsigned nconn = same_conn ? 1 : 16;
  for (std::uint16_t c = 0; c < nconn; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(1 + c * 1000), 0x100000 + std::uint64_t{c} * 0x40000,
                         static_cast<std::uint8_t>(same_conn ? 10 : 7), 0});
    h.cfg_conn(rings.back().conn, 0);
  }
  std::uniform_int_distribution<unsigned> pick(0, nconn - 1);
  std::vector<std::vector<Bytes>> sent(nconn);
  for (unsigned i = 0; i < 1000; i++) {
    const unsigned c = pick(h.rng());
    sent[c].push_back(make_frame(60, i));
    h.send(rings[c].desc(60), sent[c].back());
  }
  const std::uint64_t t0 = h.cycle();
  ASSERT_TRUE(h.drain());
  const std::uint64_t cycles = h.cycle() - t0;
  EXPECT_LE(cycles, 1000u + 20u) << "cycles for 1000 frames";
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), 1000u);
  for (unsigned c = 0; c < nconn; c++) {
    for (std::uint32_t i = 0; i < sent[c].size(); i++) {
      expect_slot(h, rings[c], i, sent[c][i], static_cast<std::uint16_t>(i + 1));
    }
    EXPECT_EQ(h.query_prod(rings[c].conn), sent[c].size());
  }
  expect_clean(h);
  std::printf("[ perf     ] 1000 x 60-byte frames (%s): %llu cycles\n",
              same_conn ? "same connection" : "16 connections",
              static_cast<unsigned long long>(cycles));
}

TEST(RxDma, ThroughputSameConnection) { throughput(true); }
TEST(RxDma, ThroughputRandomConnections) { throughput(false); }

// Random lengths, drops, stalls everywhere: nothing lost, counters balance.
TEST(RxDma, BackPressureLosesNothing) {
  Host h;
  h.cfg_nq(0, true, kNqBase, 10, 0);
  h.cfg_nq(1, true, kNqBase + 0x4000, 10, 0);
  h.nq_arm(1);
  constexpr unsigned kConns = 8;
  std::vector<Ring> rings;
  for (std::uint16_t c = 0; c < kConns; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(40000 + c), 0x100000 + std::uint64_t{c} * 0x20000, 6,
                         static_cast<std::uint16_t>(c & 1)});
    h.cfg_conn(rings.back().conn, rings.back().nq);
  }
  h.wr_ready_ = [](std::mt19937& g) { return (g() % 100) < 40; };
  h.irq_ready_ = [](std::mt19937& g) { return (g() % 100) < 30; };
  h.data_gap_ = [](std::mt19937& g) { return (g() % 100) < 20; };
  std::uniform_int_distribution<unsigned> pick(0, kConns - 1), len(14, 1518), drop(0, 9);
  std::vector<std::vector<Bytes>> sent(kConns);
  std::uint64_t drops = 0;
  for (unsigned i = 0; i < 300; i++) {
    const unsigned c = pick(h.rng());
    const Bytes f = make_frame(len(h.rng()), i);
    Desc d = rings[c].desc(static_cast<std::uint16_t>(f.size()));
    if (drop(h.rng()) == 0) {
      d.drop = kFilter;
      drops++;
    } else {
      sent[c].push_back(f);
    }
    h.send(d, f);
  }
  ASSERT_TRUE(h.drain(2000000));
  h.wr_ready_ = nullptr;
  h.irq_ready_ = nullptr;
  ASSERT_TRUE(h.drain());
  std::uint64_t delivered = 0;
  for (unsigned c = 0; c < kConns; c++) {
    ASSERT_LE(sent[c].size(), 64u);
    for (std::uint32_t i = 0; i < sent[c].size(); i++) {
      expect_slot(h, rings[c], i, sent[c][i], static_cast<std::uint16_t>(i + 1));
    }
    delivered += sent[c].size();
  }
  EXPECT_EQ(h.counter(Counter::kRxDeliveredConn), delivered);
  EXPECT_EQ(h.counter(Counter::kRxDropFilter), drops);
  // One notification per connection that received anything (coalesced).
  std::uint64_t active = 0;
  for (unsigned c = 0; c < kConns; c++) active += !sent[c].empty();
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), active);
  EXPECT_EQ(h.nreqs().size(), active);
  EXPECT_EQ(h.irqs().size(), 1u) << "queue 1 was armed once";
  expect_clean(h);
}

// Doorbells and configuration arriving in the same cycles as traffic and as
// each other (cfg + doorbell together) are all applied in order.
TEST(RxDma, DoorbellsDuringTraffic) {
  Host h;
  h.cfg_nq(0, true, kNqBase, 12, 0);
  const Ring r{50, 0x100000, 3, 0};
  h.cfg_conn(r.conn, 0);
  std::vector<Bytes> sent;
  std::uint32_t cons = 0;
  for (unsigned i = 0; i < 200; i++) {
    sent.push_back(make_frame(60, i));
    h.send(r.desc(60), sent.back());
  }
  // Ring is 8 deep: keep consuming in the background while frames flow;
  // frames that find it full are dropped and counted.
  for (unsigned t = 0; t < 2000 && (h.counter(Counter::kRxDeliveredConn) +
                                    h.counter(Counter::kRxDropRingFull)) < 200; t++) {
    const std::uint16_t prod = static_cast<std::uint16_t>(h.counter(Counter::kRxDeliveredConn));
    if (t % 3 == 0 && prod != cons) {
      cons = prod;
      h.top().db_valid_i = 1;
      h.top().db_conn_i = r.conn;
      h.top().db_cons_i = static_cast<std::uint16_t>(cons);
    }
    if (t == 5) {  // an unrelated connection configured together with a doorbell
      h.top().cfg_valid_i = 1;
      h.top().cfg_conn_i = 51;
      h.top().cfg_nq_i = 0;
    }
    h.step();
  }
  ASSERT_TRUE(h.drain());
  const std::uint64_t delivered = h.counter(Counter::kRxDeliveredConn);
  EXPECT_GT(delivered, 8u);
  EXPECT_EQ(delivered + h.counter(Counter::kRxDropRingFull), 200u);
  EXPECT_EQ(h.query_prod(r.conn), static_cast<std::uint16_t>(delivered));
  EXPECT_EQ(h.query_prod(51), 0);
  // The last 8 delivered frames are in the ring with consecutive SEQs.
  const std::uint32_t last = static_cast<std::uint32_t>(delivered);
  for (std::uint32_t s = last - 8; s < last; s++) {
    const std::uint32_t t = h.rd32(r.slot(s) + kTrailer);
    EXPECT_EQ(rm::rx_slot::kSeq.get(t), (s + 1) & 0xFFFF);
    EXPECT_EQ(rm::rx_slot::kLen.get(t), 60u);
  }
  expect_clean(h);
}

// Every frame to a fresh connection: each one notifies. Frame writes and
// notification writes share the DMA port, so 200 frames take 400 beats; the
// notification path keeps up at one per cycle.
TEST(RxDma, NotificationThroughput) {
  Host h;
  h.cfg_nq(2, true, kNqBase, 10, 0);
  std::vector<Ring> rings;
  for (std::uint16_t c = 0; c < 200; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(1000 + c), 0x100000 + std::uint64_t{c} * 0x8000, 4, 2});
    h.cfg_conn(rings.back().conn, 2);
  }
  for (std::uint16_t c = 0; c < 200; c++) h.send(rings[c].desc(60), make_frame(60, c));
  const std::uint64_t t0 = h.cycle();
  ASSERT_TRUE(h.drain());
  const std::uint64_t cycles = h.cycle() - t0;
  EXPECT_LE(cycles, 400u + 30u);
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 200u);
  for (unsigned k = 0; k < 200; k++) EXPECT_EQ(h.nq_entry(kNqBase, k).conn, 1000u + k);
  expect_clean(h);
  std::printf("[ perf     ] 200 frames + 200 notifications: %llu cycles\n",
              static_cast<unsigned long long>(cycles));
}

// Many notifying multi-beat writes with the DMA port and the interrupt
// line stalling: the RX write holding the arbiter must never wait on
// notify_engine (which needs the same port), or this deadlocks.
TEST(RxDma, ManyConnectionsUnderBackPressure) {
  Host h;
  h.cfg_nq(2, true, kNqBase, 10, 0x7);
  h.nq_arm(2);
  std::vector<Ring> rings;
  std::vector<Bytes> sent;
  for (std::uint16_t c = 0; c < 300; c++) {
    rings.push_back(Ring{static_cast<std::uint16_t>(2000 + c), 0x100000 + std::uint64_t{c} * 0x8000, 4, 2});
    h.cfg_conn(rings.back().conn, 2);
  }
  h.wr_ready_ = [](std::mt19937& g) { return (g() % 100) < 50; };
  h.irq_ready_ = [](std::mt19937& g) { return (g() % 100) < 5; };
  std::uniform_int_distribution<unsigned> len(14, 1518);
  for (std::uint16_t c = 0; c < 300; c++) {
    sent.push_back(make_frame(len(h.rng()), c));
    h.send(rings[c].desc(static_cast<std::uint16_t>(sent.back().size())), sent.back());
  }
  ASSERT_TRUE(h.drain(400000));
  for (std::uint16_t c = 0; c < 300; c++) expect_slot(h, rings[c], 0, sent[c], 1);
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 300u);
  EXPECT_EQ(h.counter(Counter::kIrqs), 1u);
  EXPECT_EQ(h.irqs().size(), 1u);
  expect_clean(h);
}

// A queue never configured since reset has nowhere to write: dropped, counted.
TEST(RxDma, UnconfiguredQueueDrops) {
  Host h;
  const Ring r{60, 0x100000, 4, 9};
  h.cfg_conn(r.conn, r.nq);
  const Bytes f = make_frame(100, 1);
  h.send(r.desc(100), f);
  ASSERT_TRUE(h.drain());
  expect_slot(h, r, 0, f, 1);
  EXPECT_EQ(h.counter(Counter::kNotifyWritten), 0u);
  EXPECT_EQ(h.counter(Counter::kNotifyDropNqFull), 1u);
  EXPECT_EQ(h.writes().size(), 1u) << "only the frame was written";
  expect_clean(h);
}

}  // namespace
