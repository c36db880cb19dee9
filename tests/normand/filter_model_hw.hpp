// A register-level model of the filter overlay's host interface for
// normand's unit tests: FILTER_WRITE arguments decoded field by field (as
// the RTL does), two banks, commit, per-slot counters, and a lookup with
// the hardware's rule (lowest priority among matching valid slots).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <vector>

#include "exact.hpp"
#include "filter_installer.hpp"

namespace norman::normand {

namespace rf = norman::regmap::filter;
using filter::Counters;
using filter::Entry;
using filter::Key;

class ModelHw : public FilterHw {
 public:
  struct Slot {
    bool valid = false;
    std::uint16_t prio = 0;
    Entry e;
  };
  struct ExactSlot {
    bool valid = false;
    std::uint16_t prio = 0;
    filter::ExactVector value;
    rf::Action action = rf::Action::kAccept;
  };
  // exact_tables > 0: also the exact tables (register map geometry), their
  // slots numbered from FILTER_ENTRIES as on the NIC.
  explicit ModelHw(std::size_t cap, unsigned exact_tables = 0)
      : cap_(cap),
        tables_(exact_tables),
        bank_{std::vector<Slot>(cap), std::vector<Slot>(cap)},
        hits_(exact_tables > 0 ? kBase + filter::kExactEntries : cap) {
    for (auto& b : exact_) b.resize(exact_tables > 0 ? filter::kExactEntries : 0);
    for (auto& m : mask_) m.resize(exact_tables);
  }
  std::size_t capacity() override { return cap_; }
  unsigned exact_tables() override { return tables_; }
  void exact_mask(unsigned table, const filter::ExactVector& mask) override {
    ASSERT_LT(table, tables_);
    mask_[active_ ^ 1][table] = mask;
    ++exact_writes;
  }
  void exact_write(const filter::ExactVector& value, std::uint64_t word) override {
    const auto loc = static_cast<std::size_t>(rf::kSlot.get(word));
    ASSERT_LT(loc, exact_[0].size());
    ExactSlot x;
    x.valid = rf::kValid.get(word) != 0;
    x.prio = static_cast<std::uint16_t>(rf::kPrio.get(word));
    x.value = value;
    x.action = static_cast<rf::Action>(rf::kAction.get(word));
    exact_[active_ ^ 1][loc] = x;
    ++exact_writes;
  }
  void write(const std::vector<std::uint64_t>& a) override {
    ASSERT_EQ(a.size(), 2 + rf::kNumFields);
    const auto slot = static_cast<std::size_t>(rf::kSlot.get(a[0]));
    ASSERT_LT(slot, cap_);
    Slot s;
    s.valid = rf::kValid.get(a[0]) != 0;
    s.prio = static_cast<std::uint16_t>(rf::kPrio.get(a[0]));
    s.e.action = static_cast<rf::Action>(rf::kAction.get(a[0]));
    s.e.log = rf::kLog.get(a[0]) != 0;
    s.e.reject_with = static_cast<rf::RejectWith>(rf::kRejectWith.get(a[0]));
    s.e.neg = static_cast<std::uint16_t>(rf::kNeg.get(a[1]));
    s.e.flags_value = static_cast<std::uint16_t>(rf::kFlagsValue.get(a[1]));
    s.e.flags_mask = static_cast<std::uint16_t>(rf::kFlagsMask.get(a[1]));
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      s.e.range[i] = {static_cast<std::uint32_t>(a[rf::kFields[i].arg]),
                      static_cast<std::uint32_t>(a[rf::kFields[i].arg] >> 32)};
    }
    bank_[active_ ^ 1][slot] = s;
    ++writes;
  }
  void commit() override {
    active_ ^= 1;
    ++commits;
  }
  void clear_counter(std::uint16_t slot) override { hits_[slot] = {}; }
  Counters counter(std::uint16_t slot) override { return hits_[slot]; }

  // The overlay's lookup: lowest priority among matching valid slots; the
  // exact tables are searched the NIC's way, in the hashed bucket only.
  // Returns the slot (exact: FILTER_ENTRIES + location).
  std::optional<std::size_t> lookup(const Key& k) {
    std::optional<std::size_t> best;
    std::uint32_t best_prio = 0;
    for (std::size_t s = 0; s < cap_; ++s) {
      const auto& x = bank_[active_][s];
      if (!x.valid || !filter::matches(x.e, k)) continue;
      if (!best || x.prio < best_prio) {
        best = s;
        best_prio = x.prio;
      }
    }
    const filter::ExactVector v = filter::exact_vector(k);
    for (unsigned t = 0; t < tables_; ++t) {
      const auto masked = v & mask_[active_][t];
      const std::uint32_t b = filter::exact_bucket(t, masked);
      for (unsigned w = 0; w < filter::kExactWays; ++w) {
        const std::uint32_t loc = filter::exact_location(t, b, w);
        const auto& x = exact_[active_][loc];
        if (!x.valid || x.value != masked) continue;
        if (!best || x.prio < best_prio) {
          best = kBase + loc;
          best_prio = x.prio;
        }
      }
    }
    if (best) {
      hits_[*best].packets += 1;
      hits_[*best].bytes += k.frame_bytes;
    }
    return best;
  }
  const Slot& active_slot(std::size_t s) const { return bank_[active_][s]; }
  rf::Action active_action(std::size_t s) const {
    return s >= kBase ? exact_[active_][s - kBase].action : bank_[active_][s].e.action;
  }
  bool banks_equal() const {
    if (exact_[0].size() != exact_[1].size() || mask_[0] != mask_[1]) return false;
    for (std::size_t l = 0; l < exact_[0].size(); ++l) {
      const auto& a = exact_[0][l];
      const auto& b = exact_[1][l];
      if (a.valid != b.valid ||
          (a.valid && (a.prio != b.prio || a.value != b.value || a.action != b.action)))
        return false;
    }
    for (std::size_t s = 0; s < cap_; ++s) {
      const auto& a = bank_[0][s];
      const auto& b = bank_[1][s];
      if (a.valid != b.valid || (a.valid && (a.prio != b.prio || !(a.e == b.e)))) return false;
    }
    return true;
  }

  std::size_t writes = 0;
  std::size_t exact_writes = 0;
  std::size_t commits = 0;

 private:
  static constexpr std::size_t kBase = norman::regmap::kFilterEntries;
  std::size_t cap_;
  unsigned tables_;
  std::array<std::vector<ExactSlot>, 2> exact_;
  std::array<std::vector<filter::ExactVector>, 2> mask_;
  std::array<std::vector<Slot>, 2> bank_;
  std::vector<Counters> hits_;
  unsigned active_ = 0;
};

}  // namespace norman::normand
