// Keeps the NIC's filter overlay equal to a compiled Program, changing as
// little as possible: entries common to the old and new program keep their
// slot, priority and hit counters; only the entries in between are written.
// Every change goes to the shadow bank, is committed (one epoch flip, so a
// packet sees the old or the new rule set, never a mix), and is then
// repeated on the other bank so both stay equal.
//
// Placement: an entry whose fields are all whole ranges or aligned prefix
// blocks goes into an exact table with its mask (in the fullest-free of its
// candidate buckets), everything else into a range slot; a mask claims an
// empty table when enough of its entries arrive. An exact-form entry that
// finds no bucket room falls back to a range slot.
//
// Counters: a slot's hardware counter belongs to the entry in it. When an
// entry leaves, its final counts are read after the commit (nothing can hit
// it any more) and kept in `retired`, attributed to the rules on its path,
// so rule counters survive edits of other rules.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "compiler.hpp"
#include "exact.hpp"

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
  // Exact tables (geometry: regmap FILTER_EXACT_*); 0 if the NIC has none.
  // Slots FILTER_ENTRIES + location are theirs in counter()/clear_counter().
  virtual unsigned exact_tables() { return 0; }
  virtual void exact_mask(unsigned /*table*/, const filter::ExactVector& /*mask*/) {}
  // `word` as filter::exact_write_word builds it (location, VALID, PRIO...).
  virtual void exact_write(const filter::ExactVector& /*value*/, std::uint64_t /*word*/) {}
  // FILTER_EXACT_REFUSED so far: exact writes are posted and answer nothing.
  virtual std::uint64_t exact_refused() { return 0; }
};

struct InstallStats {
  std::size_t written = 0;  // slot writes per bank (new, moved and removed entries)
  std::size_t kept = 0;     // entries left untouched
  std::size_t removed = 0;
  std::size_t exact_written = 0;  // of `written`, exact-table writes (incl. masks)
};

class FilterInstaller {
 public:
  explicit FilterInstaller(FilterHw& hw);

  // Makes the NIC hold `program`. Throws filter::CapacityError (nothing
  // changed) if it does not fit.
  InstallStats install(const filter::Program& program);
  // Throws what install(program) would throw for lack of room, and changes
  // nothing either way (nfw-restore --test).
  void check(const filter::Program& program);

  // Current counts per CounterRef: installed entries (read from the NIC)
  // plus what retired entries counted.
  std::map<filter::CounterRef, filter::Counters> counts();
  // The same for `only` (reads the NIC counters of just the entries that
  // count for them: a restore needs the policies', not 10,000 reads).
  std::map<filter::CounterRef, filter::Counters> counts(const std::set<filter::CounterRef>& only);

  // Forget retired counts of refs that no longer exist (deleted rules).
  void drop_retired(const std::vector<filter::CounterRef>& refs);

  [[nodiscard]] std::size_t installed() const { return entries_.size(); }
  // Range slots plus exact entries: an upper bound (exact entries need a
  // table with their mask and room in their bucket).
  [[nodiscard]] std::size_t capacity() const { return range_slots_ + exact_entries_; }
  // Installed entries held by exact tables.
  [[nodiscard]] std::size_t installed_exact() const { return exact_count_; }
  // The entry in a NIC slot (nullptr if the slot is free).
  [[nodiscard]] const filter::CompiledEntry* at_slot(std::uint16_t slot) const;

 private:
  struct Slot {
    filter::CompiledEntry ce;
    std::uint16_t slot = 0;  // range slot, or FILTER_ENTRIES + exact location
    std::uint32_t prio = 0;
  };
  struct Table {
    std::optional<filter::ExactVector> mask;
    std::size_t entries = 0;
  };
  struct Placement;
  [[nodiscard]] static bool is_exact(std::uint16_t slot) {
    return slot >= norman::regmap::kFilterEntries;
  }
  Placement place(const std::vector<Slot>& gone, std::span<const filter::CompiledEntry> add);
  // The unchanged head (pre) and tail (suf) of the installed entries, and
  // where the rest of `want` goes; throws CapacityError when it does not fit.
  struct Plan;
  Plan plan(const std::vector<filter::CompiledEntry>& want);
  std::map<filter::CounterRef, filter::Counters> counts_where(
      const std::function<bool(const filter::CounterRef&)>& wanted);
  static void assign_priorities(std::vector<Slot>& next, std::size_t pre, std::size_t n_add,
                                std::vector<bool>& dirty);

  FilterHw& hw_;
  std::size_t range_slots_;
  std::size_t exact_entries_;
  std::vector<Slot> entries_;        // in priority order
  std::vector<std::uint16_t> free_;  // free range slots (stack)
  std::vector<std::uint8_t> used_;   // per slot: held by an installed entry
  std::vector<Table> tables_;
  std::size_t exact_count_ = 0;
  std::map<filter::CounterRef, filter::Counters> retired_;
};

}  // namespace norman::normand
