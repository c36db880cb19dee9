#include "filter_installer.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace norman::normand {

namespace {

void add(filter::Counters& to, const filter::Counters& c) {
  to.packets += c.packets;
  to.bytes += c.bytes;
}

constexpr std::size_t kPerTable = std::size_t{filter::kExactBuckets} * filter::kExactWays;

// A mask with fewer new entries than this stays in range slots while they
// have room: a table is worth a mask only if it takes a real load off them.
constexpr std::size_t kMinClaim = 16;

// Exact location l is slot FILTER_ENTRIES + l whatever range_slots_ is.
constexpr std::size_t kExactBase = norman::regmap::kFilterEntries;

enum SlotState : std::uint8_t { kFree = 0, kUsed = 1, kDeparting = 2, kTaken = 3 };

}  // namespace

// Where the added entries of one install go, computed without touching the
// installer's state (a refused install changes nothing).
struct FilterInstaller::Placement {
  std::vector<std::uint16_t> slot;  // per added entry
  std::vector<bool> gone_reused;    // per departing entry: its slot was taken
  std::vector<std::optional<filter::ExactVector>> new_mask;  // per table: mask to write
  std::vector<std::uint16_t> free;                           // the range free stack afterwards
  std::size_t overflow = 0;
};

FilterInstaller::FilterInstaller(FilterHw& hw)
    : hw_(hw),
      range_slots_(hw.capacity()),
      exact_entries_(hw.exact_tables() * kPerTable),
      used_(kExactBase + exact_entries_, 0),
      tables_(hw.exact_tables()) {
  if (range_slots_ > norman::regmap::kFilterEntries || hw.exact_tables() > filter::kExactTables) {
    throw std::runtime_error("filter overlay: geometry beyond the register map's");
  }
  // Range slots are handed out from the top of the stack: lowest first.
  free_.resize(range_slots_);
  std::iota(free_.rbegin(), free_.rend(), std::uint16_t{0});
}

FilterInstaller::Placement FilterInstaller::place(const std::vector<Slot>& gone,
                                                  std::span<const filter::CompiledEntry> add) {
  Placement p;
  p.free = free_;
  p.slot.resize(add.size());
  p.gone_reused.assign(gone.size(), false);
  p.new_mask.resize(tables_.size());

  std::vector<std::uint8_t> state(used_);
  std::vector<std::size_t> remaining(tables_.size());
  std::vector<std::optional<filter::ExactVector>> mask(tables_.size());
  for (std::size_t t = 0; t < tables_.size(); ++t) {
    remaining[t] = tables_[t].entries;
    mask[t] = tables_[t].mask;
  }
  std::vector<std::size_t> gone_at(state.size(), 0);
  std::vector<std::size_t> gone_range;  // departing range slots, reusable last
  for (std::size_t i = 0; i < gone.size(); ++i) {
    const std::uint16_t s = gone[i].slot;
    state[s] = kDeparting;
    gone_at[s] = i;
    if (is_exact(s)) {
      --remaining[filter::exact_table_of(static_cast<std::uint32_t>(s - kExactBase))];
    } else {
      gone_range.push_back(i);
    }
  }

  // Exact forms of the new entries and the demand per mask.
  std::vector<std::optional<filter::ExactForm>> form(add.size());
  std::map<filter::ExactVector, std::size_t> demand;
  if (!tables_.empty()) {
    for (std::size_t i = 0; i < add.size(); ++i) {
      form[i] = filter::exact_form(add[i].entry);
      if (form[i]) ++demand[form[i]->mask];
    }
  }
  // Empty tables go to the masks that need room most.
  std::vector<std::pair<std::size_t, filter::ExactVector>> by_demand;
  for (const auto& [m, d] : demand) by_demand.emplace_back(d, m);
  std::stable_sort(by_demand.begin(), by_demand.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [d, m] : by_demand) {
    std::size_t room = 0;
    for (std::size_t t = 0; t < tables_.size(); ++t) {
      if (mask[t] == m) room += kPerTable - remaining[t];
    }
    // Hashing fills buckets unevenly: claim tables until a quarter stays free.
    while (d * 4 > room * 3) {
      if (d < kMinClaim && p.free.size() >= d) break;
      std::optional<std::size_t> pick;
      for (std::size_t t = 0; t < tables_.size(); ++t) {
        if (remaining[t] != 0 || mask[t] == m) continue;
        if (!pick || (!mask[t] && mask[*pick])) pick = t;  // unused tables first
      }
      if (!pick) break;
      mask[*pick] = m;
      p.new_mask[*pick] = m;
      room += kPerTable;
    }
  }

  auto take = [&](std::uint16_t s) {
    if (state[s] == kDeparting) p.gone_reused[gone_at[s]] = true;
    state[s] = kTaken;
  };
  std::size_t next_gone_range = 0;
  for (std::size_t i = 0; i < add.size(); ++i) {
    if (form[i]) {
      // The candidate bucket with the most free ways; a departing entry's
      // way only if no bucket has a free one.
      std::optional<std::uint16_t> best;
      std::optional<std::uint16_t> departing;
      unsigned best_free = 0;
      for (std::size_t t = 0; t < tables_.size(); ++t) {
        if (mask[t] != form[i]->mask) continue;
        const std::uint32_t b = filter::exact_bucket(static_cast<unsigned>(t), form[i]->value);
        unsigned free_ways = 0;
        std::optional<std::uint16_t> first_free;
        for (unsigned w = 0; w < filter::kExactWays; ++w) {
          const auto s = static_cast<std::uint16_t>(
              kExactBase + filter::exact_location(static_cast<unsigned>(t), b, w));
          if (state[s] == kFree) {
            ++free_ways;
            if (!first_free) first_free = s;
          } else if (state[s] == kDeparting && !departing) {
            departing = s;
          }
        }
        if (free_ways > best_free) {
          best_free = free_ways;
          best = first_free;
        }
      }
      if (!best) best = departing;
      if (best) {
        take(*best);
        p.slot[i] = *best;
        continue;
      }
    }
    if (!p.free.empty()) {
      p.slot[i] = p.free.back();
      p.free.pop_back();
      take(p.slot[i]);
      continue;
    }
    while (next_gone_range < gone_range.size() &&
           state[gone[gone_range[next_gone_range]].slot] != kDeparting)
      ++next_gone_range;
    if (next_gone_range < gone_range.size()) {
      p.slot[i] = gone[gone_range[next_gone_range++]].slot;
      take(p.slot[i]);
      continue;
    }
    ++p.overflow;
  }
  return p;
}

// Priorities for the new entries: list labeling in the priority space.
// Find the smallest aligned window of priorities around the insertion
// point whose density (old entries in it plus the new ones) is below a
// threshold that loosens as windows shrink, and spread its entries evenly
// over it. Writes stay local (amortized O(log^2) per insert) and appends
// do not crowd the end of the space.
void FilterInstaller::assign_priorities(std::vector<Slot>& next, std::size_t pre, std::size_t n_add,
                                        std::vector<bool>& dirty) {
  if (n_add == 0) return;
  constexpr unsigned kBits = norman::regmap::kFilterPrioBits;
  const std::uint32_t anchor = pre > 0 ? next[pre - 1].prio : 0;
  for (unsigned level = 1; level <= kBits; ++level) {
    const std::int64_t size = std::int64_t{1} << level;
    const std::int64_t base = static_cast<std::int64_t>(anchor) & ~(size - 1);
    // Old entries with priorities in [base, base + size) are contiguous.
    std::size_t a = pre;
    while (a > 0 && static_cast<std::int64_t>(next[a - 1].prio) >= base) --a;
    std::size_t b = pre + n_add;
    while (b < next.size() && static_cast<std::int64_t>(next[b].prio) < base + size) ++b;
    const auto count = static_cast<std::int64_t>(b - a);
    // Density allowed: 1 for tiny windows down to 1/2 for the whole space.
    const std::int64_t allowed = size - size * level / (2 * kBits);
    if (count > allowed && level < kBits) continue;
    for (std::int64_t j = 0; j < count; ++j) {
      const auto p = static_cast<std::uint32_t>(base + j * size / count);
      const std::size_t i = a + static_cast<std::size_t>(j);
      if (next[i].prio != p || dirty[i]) {
        next[i].prio = p;
        dirty[i] = true;
      }
    }
    break;
  }
}

struct FilterInstaller::Plan {
  std::size_t pre = 0;
  std::size_t suf = 0;
  std::vector<Slot> gone;
  Placement placement;
};

FilterInstaller::Plan FilterInstaller::plan(const std::vector<filter::CompiledEntry>& want) {
  if (want.size() > capacity()) throw filter::CapacityError(want.size(), capacity());

  // The unchanged head and tail keep their slots, priorities and counters.
  const std::size_t n_old = entries_.size();
  const std::size_t n_new = want.size();
  std::size_t pre = 0;
  while (pre < n_old && pre < n_new && entries_[pre].ce == want[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < n_old - pre && suf < n_new - pre &&
         entries_[n_old - 1 - suf].ce == want[n_new - 1 - suf])
    ++suf;

  std::vector<Slot> gone(entries_.begin() + static_cast<std::ptrdiff_t>(pre),
                         entries_.begin() + static_cast<std::ptrdiff_t>(n_old - suf));
  const std::size_t n_add = n_new - pre - suf;
  Placement p = place(gone, std::span(want).subspan(pre, n_add));
  if (p.overflow > 0) {
    // What fits depends on the masks and the hash, not only on the count.
    throw filter::CapacityError(n_new, n_new - p.overflow);
  }
  return Plan{pre, suf, std::move(gone), std::move(p)};
}

void FilterInstaller::check(const filter::Program& program) { (void)plan(program.entries); }

InstallStats FilterInstaller::install(const filter::Program& program) {
  const auto& want = program.entries;
  Plan planned = plan(want);
  const std::size_t pre = planned.pre;
  const std::size_t suf = planned.suf;
  const std::size_t n_new = want.size();
  const std::size_t n_add = n_new - pre - suf;
  std::vector<Slot>& gone = planned.gone;
  Placement& p = planned.placement;

  std::vector<Slot> next;
  next.reserve(n_new);
  next.insert(next.end(), entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(pre));
  for (std::size_t i = 0; i < n_add; ++i) next.push_back(Slot{want[pre + i], p.slot[i], 0});
  next.insert(next.end(), entries_.end() - static_cast<std::ptrdiff_t>(suf), entries_.end());

  std::vector<bool> dirty(next.size(), false);
  for (std::size_t i = pre; i < pre + n_add; ++i) dirty[i] = true;
  assign_priorities(next, pre, n_add, dirty);

  // One bank's writes, replayed on the other after the commit.
  std::size_t exact_writes = 0;
  std::size_t range_writes = 0;
  auto write_all = [&] {
    for (std::size_t t = 0; t < tables_.size(); ++t) {
      if (p.new_mask[t]) {
        hw_.exact_mask(static_cast<unsigned>(t), *p.new_mask[t]);
        ++exact_writes;
      }
    }
    for (std::size_t i = 0; i < next.size(); ++i) {
      if (!dirty[i]) continue;
      const auto& s = next[i];
      const auto prio = static_cast<std::uint16_t>(s.prio);
      if (is_exact(s.slot)) {
        const auto loc = static_cast<std::uint32_t>(s.slot - kExactBase);
        hw_.exact_write(filter::exact_form(s.ce.entry)->value,
                        filter::exact_write_word(loc, prio, s.ce.entry));
        ++exact_writes;
      } else {
        hw_.write(filter::encode_write(s.ce.entry, s.slot, prio));
        ++range_writes;
      }
    }
    for (std::size_t i = 0; i < gone.size(); ++i) {
      if (p.gone_reused[i]) continue;
      const std::uint16_t s = gone[i].slot;
      if (is_exact(s)) {
        hw_.exact_write(filter::ExactVector{},
                        filter::exact_write_word(static_cast<std::uint32_t>(s - kExactBase), 0,
                                                 filter::Entry{}, false));
        ++exact_writes;
      } else {
        hw_.write(filter::encode_write(filter::Entry{}, s, 0, false));
        ++range_writes;
      }
    }
  };

  // A reused slot's counter still counts its old entry until the commit:
  // take what it has now for the old entry and start the new one from zero.
  for (std::size_t i = 0; i < gone.size(); ++i) {
    if (!p.gone_reused[i]) continue;
    const auto c = hw_.counter(gone[i].slot);
    for (const auto& ref : gone[i].ce.path) add(retired_[ref], c);
  }

  const std::uint64_t refused_before = tables_.empty() ? 0 : hw_.exact_refused();
  write_all();
  for (std::size_t i = 0; i < gone.size(); ++i) {
    if (p.gone_reused[i]) hw_.clear_counter(gone[i].slot);
  }
  hw_.commit();
  write_all();  // the other bank, now the shadow

  // Departed entries can no longer be hit: their counts are final.
  for (std::size_t i = 0; i < gone.size(); ++i) {
    const std::uint16_t s = gone[i].slot;
    if (is_exact(s)) {
      --tables_[filter::exact_table_of(static_cast<std::uint32_t>(s - kExactBase))].entries;
      --exact_count_;
    }
    if (p.gone_reused[i]) continue;
    const auto c = hw_.counter(s);
    for (const auto& ref : gone[i].ce.path) add(retired_[ref], c);
    hw_.clear_counter(s);
    used_[s] = kFree;
    if (!is_exact(s)) p.free.push_back(s);
  }
  for (std::size_t i = 0; i < n_add; ++i) {
    const std::uint16_t s = p.slot[i];
    used_[s] = kUsed;
    if (is_exact(s)) {
      ++tables_[filter::exact_table_of(static_cast<std::uint32_t>(s - kExactBase))].entries;
      ++exact_count_;
    }
  }
  for (std::size_t t = 0; t < tables_.size(); ++t) {
    if (p.new_mask[t]) tables_[t].mask = p.new_mask[t];
  }
  free_ = std::move(p.free);
  entries_ = std::move(next);
  if (exact_writes > 0 && hw_.exact_refused() != refused_before) {
    // The driver and the NIC disagree on the format: nothing sensible to undo.
    throw std::runtime_error(
        "filter overlay: the NIC refused exact-table writes (FILTER_EXACT_REFUSED)");
  }
  return InstallStats{(exact_writes + range_writes) / 2, n_new - n_add, gone.size(),
                      exact_writes / 2};
}

std::map<filter::CounterRef, filter::Counters> FilterInstaller::counts() {
  return counts_where([](const filter::CounterRef&) { return true; });
}

std::map<filter::CounterRef, filter::Counters> FilterInstaller::counts(
    const std::set<filter::CounterRef>& only) {
  return counts_where([&](const filter::CounterRef& r) { return only.contains(r); });
}

// One NIC counter read per installed entry that counts for a wanted ref.
std::map<filter::CounterRef, filter::Counters> FilterInstaller::counts_where(
    const std::function<bool(const filter::CounterRef&)>& wanted) {
  std::map<filter::CounterRef, filter::Counters> out;
  for (const auto& [ref, c] : retired_) {
    if (wanted(ref)) out[ref] = c;
  }
  for (const auto& s : entries_) {
    if (std::none_of(s.ce.path.begin(), s.ce.path.end(), wanted)) continue;
    const auto c = hw_.counter(s.slot);
    if (c.packets == 0 && c.bytes == 0) continue;
    for (const auto& ref : s.ce.path) {
      if (wanted(ref)) add(out[ref], c);
    }
  }
  return out;
}

const filter::CompiledEntry* FilterInstaller::at_slot(std::uint16_t slot) const {
  for (const auto& s : entries_) {
    if (s.slot == slot) return &s.ce;
  }
  return nullptr;
}

void FilterInstaller::drop_retired(const std::vector<filter::CounterRef>& refs) {
  for (const auto& r : refs) retired_.erase(r);
}

}  // namespace norman::normand
