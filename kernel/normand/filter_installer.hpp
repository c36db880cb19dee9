// Keeps the NIC's filter overlay equal to a compiled Program, changing as
// little as possible: entries common to the old and new program keep their
// slot, priority and hit counters; only the entries in between are written.
// Every change goes to the shadow bank, is committed (one epoch flip, so a
// packet sees the old or the new rule set, never a mix), and is then
// repeated on the other bank so both stay equal.
//
// Counters: a slot's hardware counter belongs to the entry in it. When an
// entry leaves, its final counts are read after the commit (nothing can hit
// it any more) and kept in `retired`, attributed to the rules on its path,
// so rule counters survive edits of other rules.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "compiler.hpp"

namespace norman::normand {

// The overlay's host interface (NicDevice implements it over the CMD and
// FILTER registers; tests may model it).
class FilterHw {
 public:
  virtual ~FilterHw() = default;
  virtual std::size_t capacity() = 0;
  virtual void write(const std::vector<std::uint64_t>& args) = 0;  // FILTER_WRITE, shadow bank
  virtual void commit() = 0;  // FILTER_COMMIT (waits for drain)
  virtual void clear_counter(std::uint16_t slot) = 0;
  virtual filter::Counters counter(std::uint16_t slot) = 0;  // both lookup ports summed
};

struct InstallStats {
  std::size_t written = 0;  // slot writes per bank (new, moved and removed entries)
  std::size_t kept = 0;     // entries left untouched
  std::size_t removed = 0;
};

class FilterInstaller {
 public:
  explicit FilterInstaller(FilterHw& hw);

  // Makes the NIC hold `program`. Throws filter::CapacityError (nothing
  // changed) if it does not fit.
  InstallStats install(const filter::Program& program);

  // Current counts per CounterRef: installed entries (read from the NIC)
  // plus what retired entries counted.
  std::map<filter::CounterRef, filter::Counters> counts();

  // Forget retired counts of refs that no longer exist (deleted rules).
  void drop_retired(const std::vector<filter::CounterRef>& refs);

  [[nodiscard]] std::size_t installed() const { return entries_.size(); }
  // The entry in a NIC slot (nullptr if the slot is free).
  [[nodiscard]] const filter::CompiledEntry* at_slot(std::uint16_t slot) const;

 private:
  struct Slot {
    filter::CompiledEntry ce;
    std::uint16_t slot = 0;
    std::uint32_t prio = 0;
  };
  void spread(std::vector<Slot>& next, std::size_t first, std::size_t last,
              std::vector<bool>& dirty);

  FilterHw& hw_;
  std::size_t capacity_;
  std::vector<Slot> entries_;        // in priority order
  std::vector<std::uint16_t> free_;  // free slots (stack)
  std::map<filter::CounterRef, filter::Counters> retired_;
};

}  // namespace norman::normand
