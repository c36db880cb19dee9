// Test bench for the verilated filter_lookup (range slots and exact tables,
// any geometry, TagW = 16): drives range slot writes from FILTER_WRITE
// arguments (norman::filter::encode_write) and exact entry and mask writes
// as EXACT_WRITE/EXACT_MASK carry them, mirrors both banks in C++ and checks
// every lookup result, at exactly the latency the model reports, against
// norman::filter::matches and norman::filter::exact_matches with "lowest
// priority wins; ties to the range slot, then to the lowest slot or
// location". Exact entries are looked for where the driver's hash
// (norman::filter::exact_bucket) puts them, so a hash that differs in the
// RTL shows up as missed entries.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "exact.hpp"
#include "flat.hpp"
#include "norman/regmap.hpp"
#include "verilated.h"

namespace filter_tb {

namespace nf = norman::filter;
namespace rf = norman::regmap::filter;

struct Slot {
  nf::Entry entry;
  std::uint16_t prio = 0;
  bool valid = false;
};

// An exact entry as EXACT_WRITE leaves it.
struct ExactSlot {
  bool valid = false;
  nf::ExactVector value;
  std::uint16_t prio = 0;
  std::uint8_t action = 0;
  std::uint8_t reject_with = 0;
  bool log = false;
};

// Exact table geometry of a model (the register map's unless the test
// parameterizes a smaller one; the hash is the same, only fewer top bits of
// it are the bucket).
struct ExactGeom {
  unsigned tables = nf::kExactTables;
  unsigned buckets_log2 = nf::kExactBucketsLog2;
  unsigned ways = nf::kExactWays;
  unsigned entries() const { return tables * (1u << buckets_log2) * ways; }
  std::uint32_t bucket(unsigned t, const nf::ExactVector& masked) const {
    return nf::exact_bucket(t, masked) >> (nf::kExactBucketsLog2 - buckets_log2);
  }
  std::uint32_t location(unsigned t, std::uint32_t b, unsigned w) const {
    return ((t << buckets_log2) | b) * ways + w;
  }
  unsigned table_of(std::uint32_t loc) const { return loc / ways >> buckets_log2; }
};

// The key whose exact vector is v (fields and flags taken from their bits).
inline nf::Key key_of_vector(const nf::ExactVector& v) {
  auto bits = [&v](unsigned lsb, unsigned width) {
    std::uint32_t x = 0;
    for (unsigned b = 0; b < width; ++b) x |= ((v.w[(lsb + b) / 32] >> ((lsb + b) % 32)) & 1u) << b;
    return x;
  };
  nf::Key k;
  for (unsigned i = 0; i < rf::kNumFields; ++i)
    k.field[i] = bits(rf::kFields[i].lsb, rf::kFields[i].width);
  k.flags = static_cast<std::uint16_t>(bits(rf::kRangeKeyWidth, rf::kNumFlags));
  return k;
}

struct Verdict {
  bool hit = false;
  std::uint16_t slot = 0;
  std::uint8_t action = 0;
  std::uint8_t reject_with = 0;
  bool log = false;
  bool operator==(const Verdict&) const = default;
};

inline std::string to_string(const Verdict& v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "{hit=%d slot=%u action=%u rej=%u log=%d}", int{v.hit},
                unsigned{v.slot}, unsigned{v.action}, unsigned{v.reject_with}, int{v.log});
  return buf;
}

inline std::string to_string(const nf::Key& k) {
  std::string s = "{";
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    s += std::string(rf::kFields[i].name) + "=" + std::to_string(k.field[i]) + " ";
  }
  return s + "flags=" + std::to_string(k.flags) + "}";
}

// The reference: among valid matching range slots the lowest (prio, slot);
// then any exact entry with a strictly lower prio, lowest location first.
// Exact entries are searched in the key's bucket of each table, as the NIC
// (and the driver placing them) defines it.
inline Verdict reference(const std::vector<Slot>& bank, const nf::Key& k,
                         const std::vector<ExactSlot>* exact = nullptr,
                         const std::vector<nf::ExactVector>* masks = nullptr,
                         const ExactGeom& g = {}) {
  Verdict v;
  std::uint32_t best = 0x10000;
  for (std::size_t i = 0; i < bank.size(); ++i) {
    const Slot& s = bank[i];
    if (!s.valid || s.prio >= best || !nf::matches(s.entry, k)) continue;
    best = s.prio;
    v = {true, static_cast<std::uint16_t>(i), static_cast<std::uint8_t>(s.entry.action),
         static_cast<std::uint8_t>(s.entry.reject_with), s.entry.log};
  }
  if (exact == nullptr) return v;
  const nf::ExactVector kv = nf::exact_vector(k);
  for (unsigned t = 0; t < g.tables; ++t) {
    const nf::ExactVector& mask = (*masks)[t];
    const std::uint32_t b = g.bucket(t, kv & mask);
    for (unsigned w = 0; w < g.ways; ++w) {
      const std::uint32_t loc = g.location(t, b, w);
      const ExactSlot& x = (*exact)[loc];
      if (!x.valid || x.prio >= best || !nf::exact_matches(nf::ExactForm{mask, x.value}, k))
        continue;
      best = x.prio;
      v = {true, static_cast<std::uint16_t>(bank.size() + loc), x.action, x.reject_with, x.log};
    }
  }
  return v;
}

template <typename W>
void put_bits(W& w, unsigned lsb, unsigned width, std::uint64_t value) {
  for (unsigned b = 0; b < width; ++b) {
    const unsigned bit = lsb + b;
    const std::uint32_t m = 1u << (bit % 32);
    if ((value >> b) & 1u) {
      w[bit / 32] |= m;
    } else {
      w[bit / 32] &= ~m;
    }
  }
}

template <typename M>
class Tb {
 public:
  explicit Tb(unsigned entries, ExactGeom geom = {})
      : entries_(entries),
        geom_(geom),
        ctx_(std::make_unique<VerilatedContext>()),
        m_(std::make_unique<M>(ctx_.get())),
        pkts_(entries + geom.entries()),
        bytes_(entries + geom.entries()) {
    clear_mirror();
    m_->clk_i = 0;
    m_->rst_ni = 1;
    m_->key_valid_i = 0;
    m_->wr_valid_i = 0;
    m_->ex_wr_valid_i = 0;
    m_->commit_i = 0;
    m_->cnt_clr_valid_i = 0;
    m_->eval();
  }
  ~Tb() { m_->final(); }
  Tb(const Tb&) = delete;
  Tb& operator=(const Tb&) = delete;

  M& m() { return *m_; }
  unsigned entries() const { return entries_; }
  const ExactGeom& geom() const { return geom_; }
  unsigned slots() const { return entries_ + geom_.entries(); }
  std::uint64_t cycle() const { return cycle_; }
  std::uint64_t latency() const { return m_->latency_o; }
  std::uint64_t checked() const { return checked_; }
  std::uint64_t hits() const { return hits_; }
  std::uint64_t mismatches() const { return mismatches_; }
  bool pending_empty() const { return pending_.empty(); }
  std::vector<Slot>& active() { return bank_[active_]; }
  std::vector<Slot>& shadow() { return bank_[active_ ^ 1u]; }
  std::vector<ExactSlot>& ex_active() { return ex_[active_]; }
  std::vector<ExactSlot>& ex_shadow() { return ex_[active_ ^ 1u]; }
  std::vector<nf::ExactVector>& mask_active() { return mask_[active_]; }
  std::vector<nf::ExactVector>& mask_shadow() { return mask_[active_ ^ 1u]; }
  // The verdict of k on the active bank.
  Verdict expect(const nf::Key& k) const {
    return reference(bank_[active_], k, &ex_[active_], &mask_[active_], geom_);
  }
  std::uint64_t ref_pkts(unsigned slot) const { return pkts_[slot]; }
  std::uint64_t ref_bytes(unsigned slot) const { return bytes_[slot]; }
  const Verdict& last() const { return last_; }

  // Reset; returns the cycles wr_ready_o stayed low. each_cycle may queue keys.
  std::uint64_t reset(const std::function<void()>& each_cycle = {}) {
    m_->rst_ni = 0;
    m_->key_valid_i = 0;
    m_->wr_valid_i = 0;
    m_->ex_wr_valid_i = 0;
    m_->commit_i = 0;
    m_->cnt_clr_valid_i = 0;
    m_->eval();
    for (int i = 0; i < 3; ++i) raw_tick();
    m_->rst_ni = 1;
    m_->eval();
    pending_.clear();
    clear_mirror();
    active_ = 0;
    std::fill(pkts_.begin(), pkts_.end(), 0);
    std::fill(bytes_.begin(), bytes_.end(), 0);
    epoch_ = 0;
    const std::uint64_t start = cycle_;
    while (!(m_->wr_ready_o && m_->ex_wr_ready_o) && cycle_ - start < 2u * slots() + 1000) {
      if (each_cycle) each_cycle();
      step();
    }
    EXPECT_TRUE(m_->wr_ready_o) << "wr_ready_o never rose after reset";
    EXPECT_TRUE(m_->ex_wr_ready_o) << "ex_wr_ready_o never rose after reset";
    return cycle_ - start;
  }

  // Queue a key for this cycle, checked against the active bank as it is now
  // (or against `expected`, or not at all when check is false).
  void key(const nf::Key& k, bool check = true, std::optional<Verdict> expected = std::nullopt) {
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      put_bits(m_->key_i, rf::kFields[i].lsb, rf::kFields[i].width, k.field[i]);
    }
    m_->flags_i = k.flags;
    m_->bytes_i = static_cast<std::uint16_t>(k.frame_bytes);
    m_->tag_i = tag_;
    m_->key_valid_i = 1;
    Pending p{cycle_, tag_, k, std::nullopt};
    if (check) p.expected = expected ? *expected : expect(k);
    pending_.push_back(p);
    tag_ = static_cast<std::uint16_t>(tag_ + 1);
  }

  void step() {
    raw_tick();
    m_->key_valid_i = 0;
    m_->ex_wr_valid_i = 0;
    m_->commit_i = 0;
    m_->cnt_clr_valid_i = 0;
    if (m_->epoch_o != epoch_) {
      EXPECT_EQ(m_->epoch_o, epoch_ + 1) << "epoch jumped";
      epoch_ = m_->epoch_o;
      active_ ^= 1u;
      flip_cycle_ = cycle_;
      ++flips_;
    }
    check_outputs();
  }

  void drain() {
    for (std::uint64_t i = 0; i < latency() + 2; ++i) step();
    EXPECT_TRUE(pending_.empty());
  }

  // The single result of k (no other traffic).
  Verdict classify(const nf::Key& k) {
    key(k);
    step();
    drain();
    return last_;
  }

  struct WriteResult {
    bool error = false;
    std::uint64_t cycles = 0;  // wr_valid_i to wr_done_o
  };

  // FILTER_WRITE arguments onto the write port, until wr_done_o.
  WriteResult write_args(const std::vector<std::uint64_t>& a,
                         const std::function<void()>& each_cycle = {}) {
    for (int i = 0; !m_->wr_ready_o; ++i) {
      if (i > 10000) {
        ADD_FAILURE() << "wr_ready_o stuck low";
        return {};
      }
      if (each_cycle) each_cycle();
      step();
    }
    m_->wr_valid_i = 1;
    m_->wr_slot_i = static_cast<std::uint16_t>(rf::kSlot.get(a[0]));
    m_->wr_slot_valid_i = static_cast<std::uint8_t>(rf::kValid.get(a[0]));
    m_->wr_log_i = static_cast<std::uint8_t>(rf::kLog.get(a[0]));
    m_->wr_action_i = static_cast<std::uint8_t>(rf::kAction.get(a[0]));
    m_->wr_reject_with_i = static_cast<std::uint8_t>(rf::kRejectWith.get(a[0]));
    m_->wr_prio_i = static_cast<std::uint16_t>(rf::kPrio.get(a[0]));
    m_->wr_neg_i = static_cast<std::uint16_t>(rf::kNeg.get(a[1]) & ((1u << rf::kNumFields) - 1));
    m_->wr_flags_value_i =
        static_cast<std::uint16_t>(rf::kFlagsValue.get(a[1]) & ((1u << rf::kNumFlags) - 1));
    m_->wr_flags_mask_i =
        static_cast<std::uint16_t>(rf::kFlagsMask.get(a[1]) & ((1u << rf::kNumFlags) - 1));
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      const std::uint64_t w = a[rf::kFields[i].arg];
      put_bits(m_->wr_lo_i, rf::kFields[i].lsb, rf::kFields[i].width, w & 0xFFFFFFFFu);
      put_bits(m_->wr_hi_i, rf::kFields[i].lsb, rf::kFields[i].width, w >> 32);
    }
    const std::uint64_t start = cycle_;
    if (each_cycle) each_cycle();
    step();
    m_->wr_valid_i = 0;
    for (int i = 0; !m_->wr_done_o; ++i) {
      if (i > 10000) {
        ADD_FAILURE() << "wr_done_o never came";
        return {};
      }
      if (each_cycle) each_cycle();
      step();
    }
    return {m_->wr_error_o != 0, cycle_ - start};
  }

  // Write a slot of the shadow bank, mirrored in the model unless refused.
  WriteResult write(unsigned slot, const nf::Entry& e, std::uint16_t prio, bool valid = true,
                    const std::function<void()>& each_cycle = {}) {
    const WriteResult r =
        write_args(nf::encode_write(e, static_cast<std::uint16_t>(slot), prio, valid), each_cycle);
    if (!r.error && slot < entries_) shadow()[slot] = Slot{e, prio, valid};
    return r;
  }

  // One EXACT_WRITE (mask = false: entry at location idx) or EXACT_MASK
  // (mask = true: table idx) into the shadow bank, waiting for ex_wr_ready_o;
  // mirrored unless refused. Returns whether the model refused it (checked
  // against the rule: location/table out of range, unknown action).
  bool ex_write_raw(bool mask, std::uint16_t idx, const nf::ExactVector& v, const ExactSlot& x,
                    const std::function<void()>& each_cycle = {}) {
    for (int i = 0; !m_->ex_wr_ready_o; ++i) {
      if (i > 10000) {
        ADD_FAILURE() << "ex_wr_ready_o stuck low";
        return true;
      }
      if (each_cycle) each_cycle();
      step();
    }
    drive_ex(mask, idx, v, x);
    // Accepted at this edge, into the bank that is the shadow now (a commit
    // in the same cycle makes it the active one); a refusal shows at once.
    const unsigned target = active_ ^ 1u;
    if (each_cycle) each_cycle();
    m_->eval();
    const bool refused = m_->ex_wr_refused_o != 0;
    step();
    EXPECT_EQ(refused, ex_refusal(mask, idx, x.action)) << "idx " << idx;
    if (!refused) {
      if (mask) {
        mask_[target][idx] = v;
      } else {
        ExactSlot s = x;
        s.value = v;
        ex_[target][idx] = s;
      }
    }
    return refused;
  }
  bool ex_mask(unsigned table, const nf::ExactVector& mask,
               const std::function<void()>& each_cycle = {}) {
    return ex_write_raw(true, static_cast<std::uint16_t>(table), mask, ExactSlot{}, each_cycle);
  }
  bool ex_write(std::uint32_t loc, const ExactSlot& x,
                const std::function<void()>& each_cycle = {}) {
    return ex_write_raw(false, static_cast<std::uint16_t>(loc), x.value, x, each_cycle);
  }
  // Put x where the hash says, in table t's bucket for its value, way w.
  std::uint32_t ex_place(unsigned t, unsigned w, const ExactSlot& x,
                         const std::function<void()>& each_cycle = {}) {
    const std::uint32_t loc = geom_.location(t, geom_.bucket(t, x.value), w);
    EXPECT_FALSE(ex_write(loc, x, each_cycle));
    return loc;
  }
  // Writes on consecutive cycles with no gap (the model must take one per
  // cycle); returns the cycles ex_wr_ready_o was low in between (0).
  std::uint64_t ex_stream(const std::vector<std::pair<std::uint32_t, ExactSlot>>& writes) {
    std::uint64_t stalls = 0;
    for (const auto& [loc, x] : writes) {
      while (!m_->ex_wr_ready_o) {
        ++stalls;
        step();
      }
      drive_ex(false, static_cast<std::uint16_t>(loc), x.value, x);
      const unsigned target = active_ ^ 1u;
      step();
      if (!ex_refusal(false, static_cast<std::uint16_t>(loc), x.action)) ex_[target][loc] = x;
    }
    return stalls;
  }
  bool ex_refusal(bool mask, std::uint32_t idx, std::uint8_t action) const {
    return mask ? idx >= geom_.tables : (idx >= geom_.entries() || action > 2);
  }

  // Commit and wait for commit_done_o; checks that every key that entered
  // before the flip had its result by then. Returns cycles commit_i to done.
  std::uint64_t commit(const std::function<void()>& each_cycle = {}) {
    for (int i = 0; !m_->commit_ready_o; ++i) {
      if (i > 10000) {
        ADD_FAILURE() << "commit_ready_o stuck low";
        return 0;
      }
      if (each_cycle) each_cycle();
      step();
    }
    const std::uint64_t flips = flips_;
    const std::uint64_t start = cycle_;
    m_->commit_i = 1;
    if (each_cycle) each_cycle();
    step();
    for (int i = 0; !m_->commit_done_o; ++i) {
      if (i > 10000) {
        ADD_FAILURE() << "commit_done_o never came";
        return 0;
      }
      if (flips_ != flips) {
        EXPECT_FALSE(m_->wr_ready_o) << "writes accepted while the old bank drains";
        EXPECT_FALSE(m_->ex_wr_ready_o) << "exact writes accepted while the old bank drains";
      }
      if (each_cycle) each_cycle();
      step();
    }
    EXPECT_EQ(flips_, flips + 1) << "commit_done_o without a flip";
    for (const Pending& p : pending_) {
      EXPECT_GE(p.issue, flip_cycle_)
          << "commit_done_o before a key of the old bank had its result";
    }
    return cycle_ - start;
  }

  // Counters of a slot through the read port (one cycle of latency).
  std::pair<std::uint64_t, std::uint64_t> counters(unsigned slot) {
    m_->cnt_rd_slot_i = static_cast<std::remove_reference_t<decltype(m_->cnt_rd_slot_i)>>(slot);
    step();
    return {m_->cnt_rd_pkts_o, m_->cnt_rd_bytes_o};
  }

  void clear_counters(unsigned slot) {
    for (int i = 0; !m_->cnt_clr_ready_o; ++i) {
      if (i > 10000) {
        ADD_FAILURE() << "cnt_clr_ready_o stuck low";
        return;
      }
      step();
    }
    m_->cnt_clr_valid_i = 1;
    m_->cnt_clr_slot_i = static_cast<std::remove_reference_t<decltype(m_->cnt_clr_slot_i)>>(slot);
    step();
    pkts_[slot] = 0;
    bytes_[slot] = 0;
  }

 private:
  void clear_mirror() {
    bank_ = {std::vector<Slot>(entries_), std::vector<Slot>(entries_)};
    ex_ = {std::vector<ExactSlot>(geom_.entries()), std::vector<ExactSlot>(geom_.entries())};
    mask_ = {std::vector<nf::ExactVector>(geom_.tables),
             std::vector<nf::ExactVector>(geom_.tables)};
  }

  void drive_ex(bool mask, std::uint16_t idx, const nf::ExactVector& v, const ExactSlot& x) {
    m_->ex_wr_valid_i = 1;
    m_->ex_wr_mask_i = mask ? 1 : 0;
    m_->ex_wr_idx_i = idx;
    for (unsigned i = 0; i < nf::kExactWords; ++i) m_->ex_wr_vec_i[i] = v.w[i];
    m_->ex_wr_entry_valid_i = x.valid ? 1 : 0;
    m_->ex_wr_prio_i = x.prio;
    m_->ex_wr_action_i = x.action;
    m_->ex_wr_reject_with_i = x.reject_with;
    m_->ex_wr_log_i = x.log ? 1 : 0;
  }

  struct Pending {
    std::uint64_t issue;
    std::uint16_t tag;
    nf::Key key;
    std::optional<Verdict> expected;
  };

  void raw_tick() {
    m_->clk_i = 0;
    m_->eval();
    m_->clk_i = 1;
    m_->eval();
    ++cycle_;
  }

  void check_outputs() {
    if (!m_->res_valid_o) {
      if (!pending_.empty() && pending_.front().issue + latency() <= cycle_) {
        ADD_FAILURE() << "key issued at " << pending_.front().issue << " missing at cycle "
                      << cycle_;
        pending_.pop_front();
      }
      return;
    }
    if (pending_.empty()) {
      ADD_FAILURE() << "res_valid_o without a key, cycle " << cycle_;
      return;
    }
    const Pending p = pending_.front();
    pending_.pop_front();
    EXPECT_EQ(p.issue + latency(), cycle_) << "latency";
    EXPECT_EQ(static_cast<std::uint16_t>(m_->res_tag_o), p.tag) << "tag";
    Verdict got{m_->res_hit_o != 0, static_cast<std::uint16_t>(m_->res_slot_o),
                static_cast<std::uint8_t>(m_->res_action_o),
                static_cast<std::uint8_t>(m_->res_reject_with_o), m_->res_log_o != 0};
    last_ = got;
    if (got.hit) {
      ++hits_;
      pkts_[got.slot] += 1;
      bytes_[got.slot] += static_cast<std::uint16_t>(p.key.frame_bytes);
    } else {
      EXPECT_EQ(got, Verdict{}) << "a miss carries no slot or action";
    }
    if (p.expected) {
      ++checked_;
      if (!(got == *p.expected) && ++mismatches_ <= 10) {
        ADD_FAILURE() << "key " << to_string(p.key) << " at " << p.issue << ": got "
                      << to_string(got) << ", want " << to_string(*p.expected);
      }
    }
  }

  unsigned entries_;
  ExactGeom geom_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<M> m_;
  std::array<std::vector<Slot>, 2> bank_;
  std::array<std::vector<ExactSlot>, 2> ex_;
  std::array<std::vector<nf::ExactVector>, 2> mask_;
  unsigned active_ = 0;
  std::uint64_t epoch_ = 0, flips_ = 0, flip_cycle_ = 0;
  std::vector<std::uint64_t> pkts_, bytes_;
  std::uint64_t cycle_ = 0;
  std::uint16_t tag_ = 0x4321;
  std::deque<Pending> pending_;
  Verdict last_{};
  std::uint64_t checked_ = 0, hits_ = 0, mismatches_ = 0;
};

// ---------------------------------------------------------------------------
// Random rules and keys. Field values come from small per-field pools (plus
// 0 and the maximum), so that keys land on rule edges and rules overlap.
class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      const std::uint32_t max = nf::field_max(i);
      pool_[i] = {0, max};
      for (int j = 0; j < 6; ++j) pool_[i].push_back(static_cast<std::uint32_t>(rng_()) & max);
    }
  }

  std::mt19937_64& rng() { return rng_; }
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }

  std::uint32_t pool_value(unsigned i) { return pool_[i][below(pool_[i].size())]; }

  nf::Entry entry() {
    nf::Entry e;
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      const std::uint32_t max = nf::field_max(i);
      const unsigned w = rf::kFields[i].width;
      auto& r = e.range[i];
      switch (below(10)) {
        case 0:
        case 1: {  // exact
          r.lo = r.hi = pool_value(i);
          break;
        }
        case 2: {  // prefix
          const unsigned len = static_cast<unsigned>(below(w + 1));
          const std::uint32_t hostmask = len == 0 ? max : (len >= w ? 0 : (max >> len));
          r.lo = pool_value(i) & ~hostmask;
          r.hi = r.lo | hostmask;
          break;
        }
        case 3: {  // range between pool values
          std::uint32_t a = pool_value(i), b = pool_value(i);
          if (a > b) std::swap(a, b);
          r.lo = a;
          r.hi = b;
          break;
        }
        default:
          break;  // wildcard
      }
      if ((r.lo != 0 || r.hi != max) && below(8) == 0) e.neg |= static_cast<std::uint16_t>(1u << i);
    }
    const unsigned nmask = static_cast<unsigned>(below(4));
    for (unsigned b = 0; b < nmask; ++b) {
      const auto bit = static_cast<std::uint16_t>(1u << below(rf::kNumFlags));
      e.flags_mask |= bit;
      if (below(2) != 0) e.flags_value |= bit;
    }
    if (below(4) == 0)
      e.flags_value |= static_cast<std::uint16_t>(below(1u << rf::kNumFlags));  // outside the mask
    e.action = static_cast<rf::Action>(below(3));
    e.reject_with =
        below(2) != 0 ? rf::RejectWith::kTcpReset : rf::RejectWith::kIcmpAdminProhibited;
    e.log = below(5) == 0;
    return e;
  }

  // A key near `e` (its edges, inside, just outside) or from the pools.
  nf::Key key_near(const nf::Entry& e) {
    nf::Key k;
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      const std::uint32_t max = nf::field_max(i);
      const auto& r = e.range[i];
      switch (below(8)) {
        case 0:
          k.field[i] = r.lo;
          break;
        case 1:
          k.field[i] = r.hi;
          break;
        case 2:
          k.field[i] = r.lo == 0 ? 0 : r.lo - 1;
          break;
        case 3:
          k.field[i] = r.hi == max ? max : r.hi + 1;
          break;
        case 4:
          k.field[i] = pool_value(i);
          break;
        default:
          k.field[i] = r.lo + static_cast<std::uint32_t>(below(std::uint64_t{r.hi} - r.lo + 1));
          break;
      }
    }
    k.flags = below(2) != 0
                  ? static_cast<std::uint16_t>((e.flags_value & e.flags_mask) |
                                               (below(1u << rf::kNumFlags) & ~e.flags_mask))
                  : static_cast<std::uint16_t>(below(1u << rf::kNumFlags));
    k.frame_bytes = static_cast<std::uint32_t>(60 + below(1455));
    return k;
  }

  nf::Key key_random() {
    nf::Key k;
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      k.field[i] =
          below(2) != 0 ? pool_value(i) : static_cast<std::uint32_t>(rng_()) & nf::field_max(i);
    }
    k.flags = static_cast<std::uint16_t>(below(1u << rf::kNumFlags));
    k.frame_bytes = static_cast<std::uint32_t>(60 + below(1455));
    return k;
  }

 private:
  std::mt19937_64 rng_;
  std::array<std::vector<std::uint32_t>, rf::kNumFields> pool_;
};

inline nf::ExactVector operator|(const nf::ExactVector& a, const nf::ExactVector& b) {
  nf::ExactVector r;
  for (unsigned i = 0; i < nf::kExactWords; ++i) r.w[i] = a.w[i] | b.w[i];
  return r;
}

inline nf::ExactVector operator~(const nf::ExactVector& a) {
  nf::ExactVector r;
  for (unsigned i = 0; i < nf::kExactWords; ++i) r.w[i] = ~a.w[i];
  return r;
}

// A random exact-table mask: prefix-style (whole fields, field prefixes, a
// few flag bits; what nfw rules give) or arbitrary bits.
inline nf::ExactVector random_exact_mask(Gen& g, bool prefix_style) {
  std::array<std::uint32_t, rf::kNumFields> m{};
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    const std::uint32_t max = nf::field_max(i);
    const unsigned w = rf::kFields[i].width;
    if (prefix_style) {
      switch (g.below(4)) {
        case 0:
          m[i] = max;
          break;
        case 1: {
          const unsigned len = static_cast<unsigned>(g.below(w + 1));
          m[i] = len == 0 ? 0 : (max & ~(len >= w ? 0 : (max >> len)));
          break;
        }
        default:
          break;
      }
    } else if (g.below(2) != 0) {
      m[i] = static_cast<std::uint32_t>(g.rng()()) & max;
    }
  }
  const auto flags =
      static_cast<std::uint16_t>(g.below(1u << rf::kNumFlags) & (prefix_style ? 0x00Fu : 0xFFFu));
  return nf::exact_vector(m, flags);
}

// A value under mask, from the generator's pools so that exact entries and
// range slots overlap.
inline nf::ExactVector random_exact_value(Gen& g, const nf::ExactVector& mask) {
  return nf::exact_vector(g.key_random()) & mask;
}

// A key that an entry of this value and mask matches (the bits outside the
// mask random).
inline nf::Key key_for_exact(Gen& g, const nf::ExactVector& value, const nf::ExactVector& mask) {
  nf::Key k = key_of_vector(value | (nf::exact_vector(g.key_random()) & ~mask));
  k.frame_bytes = static_cast<std::uint32_t>(60 + g.below(1455));
  return k;
}

// Fill slots [first, last) of the shadow bank with random rules; priorities
// from a small range so that ties are common.
template <typename M>
void write_random(Tb<M>& tb, Gen& g, unsigned first, unsigned last, unsigned prio_range) {
  for (unsigned s = first; s < last; ++s) {
    const bool valid = g.below(16) != 0;
    const auto r = tb.write(s, g.entry(), static_cast<std::uint16_t>(g.below(prio_range)), valid);
    EXPECT_FALSE(r.error);
  }
}

// Keys back to back (one per cycle), each near a random valid slot of the
// active bank or random; every result checked.
template <typename M>
void random_keys(Tb<M>& tb, Gen& g, unsigned n) {
  std::vector<unsigned> valid;
  for (unsigned s = 0; s < tb.entries(); ++s) {
    if (tb.active()[s].valid) valid.push_back(s);
  }
  for (unsigned i = 0; i < n; ++i) {
    if (!valid.empty() && g.below(4) != 0) {
      tb.key(g.key_near(tb.active()[valid[g.below(valid.size())]].entry));
    } else {
      tb.key(g.key_random());
    }
    tb.step();
    if (tb.mismatches() > 10) break;
  }
  tb.drain();
}

}  // namespace filter_tb
