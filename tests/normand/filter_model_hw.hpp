// A register-level model of the filter overlay's host interface for
// normand's unit tests: FILTER_WRITE arguments decoded field by field (as
// the RTL does), two banks, commit, per-slot counters, and a lookup with
// the hardware's rule (lowest priority among matching valid slots).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <vector>

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
  explicit ModelHw(std::size_t cap)
      : cap_(cap), bank_{std::vector<Slot>(cap), std::vector<Slot>(cap)}, hits_(cap) {}
  std::size_t capacity() override { return cap_; }
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

  // The overlay's lookup: lowest priority among matching valid slots.
  std::optional<std::size_t> lookup(const Key& k) {
    std::optional<std::size_t> best;
    for (std::size_t s = 0; s < cap_; ++s) {
      const auto& x = bank_[active_][s];
      if (!x.valid || !filter::matches(x.e, k)) continue;
      if (!best || x.prio < bank_[active_][*best].prio) best = s;
    }
    if (best) {
      hits_[*best].packets += 1;
      hits_[*best].bytes += k.frame_bytes;
    }
    return best;
  }
  const Slot& active_slot(std::size_t s) const { return bank_[active_][s]; }
  bool banks_equal() const {
    for (std::size_t s = 0; s < cap_; ++s) {
      const auto& a = bank_[0][s];
      const auto& b = bank_[1][s];
      if (a.valid != b.valid || (a.valid && (a.prio != b.prio || !(a.e == b.e)))) return false;
    }
    return true;
  }

  std::size_t writes = 0;
  std::size_t commits = 0;

 private:
  std::size_t cap_;
  std::array<std::vector<Slot>, 2> bank_;
  std::vector<Counters> hits_;
  unsigned active_ = 0;
};

}  // namespace norman::normand
