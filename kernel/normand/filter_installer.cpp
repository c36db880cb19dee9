#include "filter_installer.hpp"

#include <algorithm>
#include <numeric>

namespace norman::normand {

namespace {

void add(filter::Counters& to, const filter::Counters& c) {
  to.packets += c.packets;
  to.bytes += c.bytes;
}

}  // namespace

FilterInstaller::FilterInstaller(FilterHw& hw) : hw_(hw), capacity_(hw.capacity()) {
  // Slots are handed out from the top of the stack: lowest first.
  free_.resize(capacity_);
  std::iota(free_.rbegin(), free_.rend(), std::uint16_t{0});
}

InstallStats FilterInstaller::install(const filter::Program& program) {
  const auto& want = program.entries;
  if (want.size() > capacity_) throw filter::CapacityError(want.size(), capacity_);

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

  // New entries take free slots. Slots of departing entries are reused only
  // when the table is too full otherwise (see `reused` below).
  std::vector<std::uint16_t> reused;
  std::vector<Slot> next;
  next.reserve(n_new);
  next.insert(next.end(), entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(pre));
  std::size_t gone_next = 0;
  for (std::size_t i = 0; i < n_add; ++i) {
    Slot s;
    s.ce = want[pre + i];
    if (!free_.empty()) {
      s.slot = free_.back();
      free_.pop_back();
    } else {
      s.slot = gone[gone_next++].slot;
      reused.push_back(s.slot);
    }
    next.push_back(std::move(s));
  }
  next.insert(next.end(), entries_.end() - static_cast<std::ptrdiff_t>(suf), entries_.end());

  // Priorities for the new entries: list labeling in the priority space.
  // Find the smallest aligned window of priorities around the insertion
  // point whose density (old entries in it plus the new ones) is below a
  // threshold that loosens as windows shrink, and spread its entries evenly
  // over it. Writes stay local (amortized O(log^2) per insert) and appends
  // do not crowd the end of the space.
  std::vector<bool> dirty(next.size(), false);
  for (std::size_t i = pre; i < pre + n_add; ++i) dirty[i] = true;
  if (n_add > 0) {
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

  std::vector<std::vector<std::uint64_t>> writes;
  for (std::size_t i = 0; i < next.size(); ++i) {
    if (dirty[i]) {
      writes.push_back(filter::encode_write(next[i].ce.entry, next[i].slot,
                                            static_cast<std::uint16_t>(next[i].prio)));
    }
  }
  for (std::size_t i = gone_next; i < gone.size(); ++i) {
    writes.push_back(filter::encode_write(filter::Entry{}, gone[i].slot, 0, false));
  }

  // A reused slot's counter still counts its old entry until the commit:
  // take what it has now for the old entry and start the new one from zero.
  for (std::size_t i = 0; i < gone_next; ++i) {
    const auto c = hw_.counter(gone[i].slot);
    for (const auto& ref : gone[i].ce.path) add(retired_[ref], c);
  }

  for (const auto& w : writes) hw_.write(w);
  for (std::size_t i = 0; i < gone_next; ++i) hw_.clear_counter(gone[i].slot);
  hw_.commit();
  for (const auto& w : writes) hw_.write(w);  // the other bank, now the shadow

  // Departed entries can no longer be hit: their counts are final.
  for (std::size_t i = gone_next; i < gone.size(); ++i) {
    const auto c = hw_.counter(gone[i].slot);
    for (const auto& ref : gone[i].ce.path) add(retired_[ref], c);
    hw_.clear_counter(gone[i].slot);
    free_.push_back(gone[i].slot);
  }

  entries_ = std::move(next);
  return InstallStats{writes.size(), n_new - n_add, gone.size()};
}

std::map<filter::CounterRef, filter::Counters> FilterInstaller::counts() {
  auto out = retired_;
  for (const auto& s : entries_) {
    const auto c = hw_.counter(s.slot);
    if (c.packets == 0 && c.bytes == 0) continue;
    for (const auto& ref : s.ce.path) add(out[ref], c);
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
