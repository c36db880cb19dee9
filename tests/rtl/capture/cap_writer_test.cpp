// cap_writer (the capture record writer) against a C++ reference: random
// frames, session configurations, snap lengths, DMA back-pressure and
// consumer progress, with rings and the frame buffer filling up. The host
// side reads each ring as ndump will: a slot is ready when its SEQ is the
// consumer index + 1; every record must equal, byte for byte, the reference
// record of the session's next matched frame after skipping exactly the
// record's DROPPED frames, and the counters must add up exactly. The frame
// stream has no ready: the writer cannot stall it, so every frame is offered
// at the test's pace whatever the writer does.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "Vcap_writer.h"
#include "norman/regmap.hpp"
#include "verilated.h"

namespace {

namespace rm = norman::regmap;
namespace rec = norman::regmap::capture_rec;
namespace cfgf = norman::regmap::capture_cfg;

constexpr unsigned kSess = 4;

std::uint32_t R(std::mt19937& g) { return static_cast<std::uint32_t>(g()); }
constexpr unsigned kMaxCap = rec::kMaxCaplen;
constexpr std::uint64_t kRingBase = 0x1000000;  // session s at kRingBase * (s + 1)

struct SessCfg {
  bool enable = true;
  unsigned log2 = 3;
  unsigned dir_mask = 3;
  unsigned port_mask = 0xff;
  bool owner_req = false;
  unsigned snap = 0;
  [[nodiscard]] std::uint64_t word() const {
    std::uint64_t w = 0;
    cfgf::kLog2.set(w, log2);
    cfgf::kEnable.set(w, enable ? 1 : 0);
    cfgf::kDirMask.set(w, dir_mask);
    cfgf::kPortMask.set(w, port_mask);
    cfgf::kOwnerReq.set(w, owner_req ? 1 : 0);
    return w;
  }
};

struct Frame {
  std::vector<std::uint8_t> bytes;
  unsigned cap = 0, unsure = 0, owner = 0;
  unsigned dir = 0, port = 0, conn = 0, owner_valid = 0, verdict = 0;
  std::uint64_t cycle = 0;
};

// The reference record of frame f for session s.
struct Expected {
  std::array<std::uint64_t, 8> hdr{};
  std::vector<std::uint8_t> data;
};

Expected reference(const Frame& f, unsigned s, const SessCfg& c) {
  const unsigned len = static_cast<unsigned>(f.bytes.size());
  const bool unsure = (f.unsure >> s) & 1;
  const unsigned lim = (c.snap == 0 || c.snap > kMaxCap || unsure) ? kMaxCap : c.snap;
  const unsigned caplen = std::min(len, lim);
  Expected e;
  rec::kCaplen.set(e.hdr[rec::kCaplen.arg], caplen);
  rec::kOrigLen.set(e.hdr[rec::kOrigLen.arg], len);
  rec::kDir.set(e.hdr[rec::kDir.arg], f.dir);
  rec::kPort.set(e.hdr[rec::kPort.arg], f.port);
  rec::kVerdict.set(e.hdr[rec::kVerdict.arg], f.verdict);
  rec::kUnsure.set(e.hdr[rec::kUnsure.arg], unsure ? 1 : 0);
  rec::kOwnerValid.set(e.hdr[rec::kOwnerValid.arg], f.owner_valid);
  rec::kSession.set(e.hdr[rec::kSession.arg], s);
  rec::kConnId.set(e.hdr[rec::kConnId.arg], f.conn);
  rec::kCycle.set(e.hdr[rec::kCycle.arg], f.cycle);
  e.data.assign(f.bytes.begin(), f.bytes.begin() + caplen);
  return e;
}

bool matches(const Frame& f, unsigned s, const SessCfg& c) {
  return ((f.cap >> s) & 1) && c.enable && ((c.dir_mask >> f.dir) & 1) && f.port < 8 &&
         ((c.port_mask >> f.port) & 1) && (!c.owner_req || ((f.owner >> s) & 1));
}

class Harness {
 public:
  explicit Harness(std::uint32_t seed) : rng_(seed) {
    top_->rst_ni = 1;
    top_->clk_i = 0;
    top_->eval();
    top_->rst_ni = 0;  // an edge: the reset is asynchronous
    top_->eval();
    top_->rst_ni = 1;
    top_->eval();
    for (unsigned s = 0; s < kSess; ++s) ring_[s].assign(std::size_t{32} * rec::kSlotBytes, 0);
  }

  void configure(const std::array<SessCfg, kSess>& cfg) {
    cfg_ = cfg;
    for (unsigned s = 0; s < kSess; ++s) {
      top_->base_i[s * 2] = static_cast<std::uint32_t>(kRingBase * (s + 1));
      top_->base_i[s * 2 + 1] = static_cast<std::uint32_t>((kRingBase * (s + 1)) >> 32);
      const std::uint64_t w = cfg[s].word();
      top_->cfg_i[s * 2] = static_cast<std::uint32_t>(w);
      top_->cfg_i[s * 2 + 1] = static_cast<std::uint32_t>(w >> 32);
    }
    std::uint64_t snap = 0;
    for (unsigned s = 0; s < kSess; ++s) snap |= std::uint64_t{cfg[s].snap & 0xffff} << (16 * s);
    top_->snap_i = snap;
  }

  // Offer frames; the writer's DMA side is ready with probability ready_pct,
  // each consumer takes a record with probability cons_pct[s] per cycle.
  void offer(const std::vector<Frame>& frames, unsigned ready_pct, unsigned gap_pct,
             std::array<unsigned, kSess> cons_pct) {
    std::size_t fi = 0, beat = 0;
    while (fi < frames.size()) {
      bool valid = false;
      if (beat != 0 || R(rng_) % 100 >= gap_pct) {
        valid = true;
        Frame f = frames[fi];
        if (beat == 0) {
          f.cycle = cycle_;
          for (unsigned s = 0; s < kSess; ++s)
            if (matches(f, s, cfg_[s])) exp_[s].push_back(reference(f, s, cfg_[s]));
        }
        drive_beat(f, beat);
        const std::size_t beats = (f.bytes.size() + 63) / 64;
        if (++beat == beats) {
          beat = 0;
          ++fi;
        }
      }
      top_->in_valid_i = valid ? 1 : 0;
      step(ready_pct, cons_pct);
    }
    top_->in_valid_i = 0;
  }

  // No more frames: let the writer and the consumers finish.
  void drain() {
    for (unsigned i = 0; i < 20000; ++i) step(100, {100, 100, 100, 100});
  }

  void check_totals() {
    for (unsigned s = 0; s < kSess; ++s) {
      SCOPED_TRACE(s);
      const std::uint64_t matched = counter(top_->matched_o, s);
      const std::uint64_t captured = counter(top_->captured_o, s);
      const std::uint64_t dropped = counter(top_->dropped_o, s);
      EXPECT_EQ(matched, exp_[s].size());
      EXPECT_EQ(captured, read_[s]);
      EXPECT_EQ(captured + dropped, matched);
      // Every frame is either read or skipped by a DROPPED field, or dropped
      // after the last record.
      EXPECT_EQ(pos_[s] + dropped - skipped_[s], exp_[s].size());
      EXPECT_LE(skipped_[s], dropped);
    }
    EXPECT_EQ(bad_, 0u);
  }

  [[nodiscard]] std::uint64_t dropped(unsigned s) { return counter(top_->dropped_o, s); }
  [[nodiscard]] std::uint64_t read(unsigned s) const { return read_[s]; }

 private:
  static std::uint64_t counter(const VlWide<8>& w, unsigned s) {
    return w[s * 2] | (std::uint64_t{w[s * 2 + 1]} << 32);
  }

  void drive_beat(const Frame& f, std::size_t beat) {
    for (unsigned i = 0; i < 16; ++i) {
      std::uint32_t v = 0;
      for (unsigned b = 0; b < 4; ++b) {
        const std::size_t k = beat * 64 + i * 4 + b;
        v |= std::uint32_t{k < f.bytes.size() ? f.bytes[k] : static_cast<std::uint8_t>(R(rng_))} << (8 * b);
      }
      top_->in_data_i[i] = v;
    }
    top_->in_last_i = (beat + 1) * 64 >= f.bytes.size() ? 1 : 0;
    top_->in_cap_i = static_cast<CData>(f.cap);
    top_->in_unsure_i = static_cast<CData>(f.unsure);
    top_->in_owner_i = static_cast<CData>(f.owner);
    top_->in_len_i = static_cast<std::uint16_t>(f.bytes.size());
    top_->in_dir_i = static_cast<CData>(f.dir);
    top_->in_port_i = static_cast<CData>(f.port);
    top_->in_conn_i = static_cast<SData>(f.conn);
    top_->in_owner_valid_i = static_cast<CData>(f.owner_valid);
    top_->in_verdict_i = static_cast<CData>(f.verdict);
  }

  void step(unsigned ready_pct, std::array<unsigned, kSess> cons_pct) {
    top_->cycle_i = cycle_;
    top_->wr_ready_i = R(rng_) % 100 < ready_pct ? 1 : 0;
    top_->clk_i = 0;
    top_->eval();
    if (top_->wr_valid_o && top_->wr_ready_i) dma_write();
    top_->clk_i = 1;
    top_->eval();
    ++cycle_;
    for (unsigned s = 0; s < kSess; ++s)
      if (R(rng_) % 100 < cons_pct[s]) consume(s);
    std::uint64_t cons = 0;
    for (unsigned s = 0; s < kSess; ++s) cons |= std::uint64_t{cons_[s]} << (16 * s);
    top_->cons_i = cons;
  }

  void dma_write() {
    const std::uint64_t addr = top_->wr_addr_o;
    const unsigned len = top_->wr_len_o;
    const unsigned s = static_cast<unsigned>(addr / kRingBase) - 1;
    const std::uint64_t off = addr - kRingBase * (s + 1);
    if (s >= kSess || len == 0 || len > 64 || off + len > ring_[s].size() ||
        (off % rec::kSlotBytes) + len > rec::kSlotBytes) {
      ADD_FAILURE() << "write outside the rings: addr " << addr << " len " << len;
      ++bad_;
      return;
    }
    for (unsigned i = 0; i < len; ++i)
      ring_[s][off + i] = static_cast<std::uint8_t>(top_->wr_data_o[i / 4] >> (8 * (i % 4)));
  }

  // One record of session s if its slot is ready, checked against the reference.
  void consume(unsigned s) {
    const std::size_t size = std::size_t{1} << cfg_[s].log2;
    const std::size_t slot = (cons_[s] & (size - 1)) * rec::kSlotBytes;
    std::array<std::uint64_t, 8> hdr{};
    for (unsigned w = 0; w < 8; ++w)
      for (unsigned b = 0; b < 8; ++b) hdr[w] |= std::uint64_t{ring_[s][slot + w * 8 + b]} << (8 * b);
    if (rec::kSeq.get(hdr[rec::kSeq.arg]) != ((cons_[s] + 1u) & 0xffffu)) return;
    const std::uint64_t dropped = rec::kDropped.get(hdr[rec::kDropped.arg]);
    skipped_[s] += dropped;
    pos_[s] += dropped;
    if (pos_[s] >= exp_[s].size()) {
      ADD_FAILURE() << "session " << s << ": a record beyond the matched frames";
      ++bad_;
      return;
    }
    const Expected& e = exp_[s][pos_[s]];
    std::array<std::uint64_t, 8> want = e.hdr;
    rec::kDropped.set(want[rec::kDropped.arg], dropped);
    rec::kSeq.set(want[rec::kSeq.arg], (cons_[s] + 1u) & 0xffffu);
    for (unsigned w = 0; w < 8; ++w) {
      if (hdr[w] != want[w]) {
        ADD_FAILURE() << "session " << s << " record " << read_[s] << " word " << w << ": got " << std::hex
                      << hdr[w] << " want " << want[w];
        ++bad_;
      }
    }
    for (std::size_t i = 0; i < e.data.size(); ++i) {
      if (ring_[s][slot + rec::kHeaderBytes + i] != e.data[i]) {
        ADD_FAILURE() << "session " << s << " record " << read_[s] << " byte " << i;
        ++bad_;
        break;
      }
    }
    // Scribble over the slot so a stale record is never read twice.
    std::fill(ring_[s].begin() + static_cast<std::ptrdiff_t>(slot),
              ring_[s].begin() + static_cast<std::ptrdiff_t>(slot + rec::kSlotBytes), 0xA5);
    ++pos_[s];
    ++read_[s];
    ++cons_[s];
  }

  std::unique_ptr<Vcap_writer> top_ = std::make_unique<Vcap_writer>();
  std::mt19937 rng_;
  std::array<SessCfg, kSess> cfg_{};
  std::array<std::vector<std::uint8_t>, kSess> ring_;
  std::array<std::vector<Expected>, kSess> exp_;
  std::array<std::size_t, kSess> pos_{}, read_{};
  std::array<std::uint64_t, kSess> skipped_{};
  std::array<std::uint16_t, kSess> cons_{};
  std::uint64_t cycle_ = 1;
  unsigned bad_ = 0;
};

std::vector<Frame> random_frames(std::mt19937& rng, unsigned n) {
  std::vector<Frame> out;
  for (unsigned i = 0; i < n; ++i) {
    Frame f;
    const unsigned kind = R(rng) % 4;
    const unsigned len = kind == 0 ? 14 + R(rng) % 51 : kind == 1 ? 60 + R(rng) % 80 : 14 + R(rng) % 1505;
    f.bytes.resize(len);
    for (auto& b : f.bytes) b = static_cast<std::uint8_t>(R(rng));
    f.cap = R(rng) % 16;
    f.unsure = R(rng) % 4 == 0 ? R(rng) % 16 : 0;
    f.owner = R(rng) % 16;
    f.dir = R(rng) % 2;
    f.port = R(rng) % 8 == 0 ? 8 + R(rng) % 8 : R(rng) % 3;
    f.conn = R(rng) % 65536;
    f.owner_valid = R(rng) % 2;
    f.verdict = R(rng) % 3;
    out.push_back(std::move(f));
  }
  return out;
}

std::array<SessCfg, kSess> random_cfg(std::mt19937& rng) {
  static constexpr std::array<unsigned, 10> kSnaps{0, 1, 14, 63, 64, 65, 96, 128, 1500, 4000};
  std::array<SessCfg, kSess> c{};
  for (auto& s : c) {
    s.enable = R(rng) % 8 != 0;
    s.log2 = R(rng) % 10 == 0 ? 0 : 1 + R(rng) % 5;
    s.dir_mask = 1 + R(rng) % 3;
    s.port_mask = R(rng) % 2 ? 0xff : 1 + R(rng) % 255;
    s.owner_req = R(rng) % 4 == 0;
    s.snap = R(rng) % 3 == 0 ? R(rng) % 2000 : kSnaps[R(rng) % kSnaps.size()];
  }
  return c;
}

// Random everything: records byte-exact, drops exact.
TEST(CapWriter, RandomTraffic) {
  std::uint64_t total_read = 0, total_dropped = 0;
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    Harness h(seed * 7919);
    h.configure(random_cfg(rng));
    for (unsigned phase = 0; phase < 4; ++phase) {
      const unsigned ready = std::array<unsigned, 4>{100, 60, 20, 90}[phase];
      const unsigned gap = std::array<unsigned, 4>{0, 30, 70, 10}[phase];
      std::array<unsigned, kSess> cons{};
      for (auto& c : cons) c = R(rng) % 3 == 0 ? 0 : R(rng) % 100;
      h.offer(random_frames(rng, 150), ready, gap, cons);
    }
    h.drain();
    h.check_totals();
    for (unsigned s = 0; s < kSess; ++s) {
      total_read += h.read(s);
      total_dropped += h.dropped(s);
    }
  }
  // The traffic exercised both fates.
  EXPECT_GT(total_read, 1000u);
  EXPECT_GT(total_dropped, 1000u);
  std::printf("records read %llu, dropped %llu\n", static_cast<unsigned long long>(total_read),
              static_cast<unsigned long long>(total_dropped));
}

// A consumer that never moves: exactly 2^LOG2 records, the rest dropped.
TEST(CapWriter, FullRingDropsExactly) {
  std::mt19937 rng(5);
  Harness h(5);
  std::array<SessCfg, kSess> c{};
  for (unsigned s = 0; s < kSess; ++s) {
    c[s].log2 = 2 + s;
    c[s].snap = 64;
  }
  h.configure(c);
  auto frames = random_frames(rng, 100);
  for (auto& f : frames) {
    f.cap = 0xf;
    f.port = 0;
    f.unsure = 0;
  }
  // Sparse enough that the buffer never fills.
  h.offer(frames, 100, 90, {0, 0, 0, 0});
  // The decision sits a few register stages behind the tap: the last
  // frames are counted a few cycles after they were offered.
  h.drain();
  for (unsigned s = 0; s < kSess; ++s) EXPECT_EQ(h.dropped(s), 100u - (4u << s)) << s;
  h.check_totals();
}

// A consumer that keeps up and a ready DMA: nothing is lost.
TEST(CapWriter, NoDropsWhenKeepingUp) {
  std::mt19937 rng(9);
  Harness h(9);
  std::array<SessCfg, kSess> c{};
  for (auto& s : c) s.snap = 128;
  h.configure(c);
  auto frames = random_frames(rng, 300);
  h.offer(frames, 100, 95, {100, 100, 100, 100});
  h.drain();
  for (unsigned s = 0; s < kSess; ++s) EXPECT_EQ(h.dropped(s), 0u) << s;
  h.check_totals();
}

}  // namespace
