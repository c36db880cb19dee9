#include "compiler_conj.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace norman::filter::detail {

namespace {

// The set a field constraint admits, as at most two sorted disjoint spans.
struct FieldSet {
  std::array<Span32, 2> s{};
  unsigned n = 0;
};

FieldSet set_of(const Conj& c, unsigned i) {
  const std::uint32_t max = field_max(i);
  const std::uint32_t lo = c.range[i].lo;
  const std::uint32_t hi = std::min(c.range[i].hi, max);
  FieldSet fs;
  if (((c.neg >> i) & 1u) == 0) {
    if (lo <= hi) fs.s[fs.n++] = {lo, hi};
  } else if (lo > hi) {
    fs.s[fs.n++] = {0, max};
  } else {
    if (lo > 0) fs.s[fs.n++] = {0, lo - 1};
    if (hi < max) fs.s[fs.n++] = {hi + 1, max};
  }
  return fs;
}

bool unconstrained(const Conj& c, unsigned i) {
  return ((c.neg >> i) & 1u) == 0 && c.range[i].lo == 0 && c.range[i].hi >= field_max(i);
}

// One way to write a field: a range, maybe negated.
struct FieldForm {
  std::uint32_t lo;
  std::uint32_t hi;
  bool neg;
};

void set_form(Conj& c, unsigned i, const FieldForm& f) {
  c.range[i] = {f.lo, f.hi};
  const auto bit = static_cast<std::uint16_t>(1u << i);
  c.neg = static_cast<std::uint16_t>(f.neg ? (c.neg | bit) : (c.neg & ~bit));
}

}  // namespace

void intersect(const Conj& a, const Conj& b, Disj& out) {
  if (((a.flags_mask & b.flags_mask) & (a.flags_value ^ b.flags_value)) != 0) return;
  Conj r = a;
  r.flags_mask = static_cast<std::uint16_t>(a.flags_mask | b.flags_mask);
  r.flags_value =
      static_cast<std::uint16_t>((a.flags_value & a.flags_mask) | (b.flags_value & b.flags_mask));

  // Fields whose intersection is not one range (or its complement): their
  // alternative forms, multiplied out below.
  std::array<std::array<FieldForm, 3>, rf::kNumFields> alts{};
  std::array<unsigned, rf::kNumFields> nalts{};
  bool split = false;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (unconstrained(b, i)) continue;
    if (unconstrained(a, i)) {
      r.range[i] = b.range[i];
      set_form(r, i, {b.range[i].lo, b.range[i].hi, ((b.neg >> i) & 1u) != 0});
      continue;
    }
    const bool aneg = ((a.neg >> i) & 1u) != 0;
    const bool bneg = ((b.neg >> i) & 1u) != 0;
    if (!aneg && !bneg) {
      const std::uint32_t lo = std::max(a.range[i].lo, b.range[i].lo);
      const std::uint32_t hi = std::min(a.range[i].hi, b.range[i].hi);
      if (lo > hi) return;
      set_form(r, i, {lo, hi, false});
      continue;
    }
    const FieldSet sa = set_of(a, i);
    const FieldSet sb = set_of(b, i);
    std::array<Span32, 4> res{};
    unsigned n = 0;
    for (unsigned x = 0; x < sa.n; ++x) {
      for (unsigned y = 0; y < sb.n; ++y) {
        const std::uint32_t lo = std::max(sa.s[x].lo, sb.s[y].lo);
        const std::uint32_t hi = std::min(sa.s[x].hi, sb.s[y].hi);
        if (lo <= hi) res[n++] = {lo, hi};
      }
    }
    if (n == 0) return;
    // At most four pieces: insertion sort (std::sort trips GCC's array-bounds check here).
    for (unsigned x = 1; x < n; ++x) {
      for (unsigned y = x; y > 0 && res[y].lo < res[y - 1].lo; --y) std::swap(res[y], res[y - 1]);
    }
    const std::uint32_t max = field_max(i);
    if (n == 1) {
      set_form(r, i, {res[0].lo, res[0].hi, false});
    } else if (n == 2 && res[0].lo == 0 && res[1].hi == max) {
      set_form(r, i, {res[0].hi + 1, res[1].lo - 1, true});
    } else {
      // Intersections of unions of two spans yield at most three spans.
      for (unsigned k = 0; k < n && k < 3; ++k) alts[i][k] = {res[k].lo, res[k].hi, false};
      nalts[i] = std::min(n, 3u);
      split = true;
    }
  }
  if (!split) {
    out.push_back(r);
    return;
  }
  Disj acc{r};
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (nalts[i] == 0) continue;
    Disj next;
    next.reserve(acc.size() * nalts[i]);
    for (const Conj& c : acc) {
      for (unsigned k = 0; k < nalts[i]; ++k) {
        Conj d = c;
        set_form(d, i, alts[i][k]);
        next.push_back(d);
      }
    }
    acc = std::move(next);
  }
  out.insert(out.end(), acc.begin(), acc.end());
}

bool field_meets(const Conj& a, const Conj& b, unsigned i) {
  // As intersect() decides it.
  if (unconstrained(b, i) || unconstrained(a, i)) return true;
  if (((a.neg >> i) & 1u) == 0 && ((b.neg >> i) & 1u) == 0) {
    return std::max(a.range[i].lo, b.range[i].lo) <= std::min(a.range[i].hi, b.range[i].hi);
  }
  const FieldSet sa = set_of(a, i);
  const FieldSet sb = set_of(b, i);
  for (unsigned x = 0; x < sa.n; ++x) {
    for (unsigned y = 0; y < sb.n; ++y) {
      if (std::max(sa.s[x].lo, sb.s[y].lo) <= std::min(sa.s[x].hi, sb.s[y].hi)) return true;
    }
  }
  return false;
}

bool flags_meet(const Conj& a, const Conj& b) {
  return ((a.flags_mask & b.flags_mask) & (a.flags_value ^ b.flags_value)) == 0;
}

bool subset(const Conj& a, const Conj& b) {
  // a's flag constraints must include b's, with the same values.
  if ((b.flags_mask & ~a.flags_mask) != 0) return false;
  if (((a.flags_value ^ b.flags_value) & b.flags_mask) != 0) return false;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (unconstrained(b, i)) continue;
    const FieldSet sa = set_of(a, i);
    const FieldSet sb = set_of(b, i);
    for (unsigned x = 0; x < sa.n; ++x) {
      bool inside = false;
      for (unsigned y = 0; y < sb.n; ++y) {
        inside = inside || (sb.s[y].lo <= sa.s[x].lo && sa.s[x].hi <= sb.s[y].hi);
      }
      if (!inside) return false;
    }
  }
  return true;
}

std::optional<Conj> complement(const Conj& a) {
  int field = -1;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (unconstrained(a, i)) continue;
    if (field >= 0) return std::nullopt;
    field = static_cast<int>(i);
  }
  const int flag_bits = std::popcount(a.flags_mask);
  Disj d;
  if (field >= 0 && flag_bits == 0) {
    const auto i = static_cast<unsigned>(field);
    const auto f = static_cast<rf::FieldId>(i);
    const bool neg = ((a.neg >> i) & 1u) != 0;
    d = neg ? field_in(f, a.range[i].lo, a.range[i].hi)
            : field_not_in(f, a.range[i].lo, a.range[i].hi);
  } else if (field < 0 && flag_bits == 1) {
    d = flags_equal(a.flags_mask, static_cast<std::uint16_t>(~a.flags_value));
  }
  if (d.size() != 1) return std::nullopt;
  return d.front();
}

Disj intersect(const Disj& a, const Disj& b) {
  Disj out;
  out.reserve(a.size() * b.size());
  for (const Conj& x : a) {
    for (const Conj& y : b) intersect(x, y, out);
  }
  return out;
}

Disj field_in(rf::FieldId f, std::uint32_t lo, std::uint32_t hi) {
  const auto i = static_cast<unsigned>(f);
  if (lo > hi || lo > field_max(i)) return {};
  Conj c;
  c.range[i] = {lo, std::min(hi, field_max(i))};
  return {c};
}

Disj field_not_in(rf::FieldId f, std::uint32_t lo, std::uint32_t hi) {
  const auto i = static_cast<unsigned>(f);
  const std::uint32_t max = field_max(i);
  if (lo > hi || lo > max) return {Conj{}};
  hi = std::min(hi, max);
  if (lo == 0 && hi == max) return {};
  Conj c;
  // A complement touching an end is a plain range: keep neg bits for the
  // two-sided case only, so intersections rarely need to split.
  if (lo == 0) {
    c.range[i] = {hi + 1, max};
  } else if (hi == max) {
    c.range[i] = {0, lo - 1};
  } else {
    c.range[i] = {lo, hi};
    c.neg = static_cast<std::uint16_t>(1u << i);
  }
  return {c};
}

Disj field_in_set(rf::FieldId f, std::span<const Span32> spans) {
  Disj out;
  for (const Span32& s : spans) {
    Disj one = field_in(f, s.lo, s.hi);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

Disj field_not_in_set(rf::FieldId f, std::span<const Span32> spans) {
  if (spans.empty()) return {Conj{}};
  if (spans.size() == 1) return field_not_in(f, spans[0].lo, spans[0].hi);
  const std::uint32_t max = field_max(static_cast<unsigned>(f));
  Disj out;
  std::uint64_t next = 0;  // first value not yet covered
  for (const Span32& s : spans) {
    if (s.lo > next) {
      Disj one = field_in(f, static_cast<std::uint32_t>(next), s.lo - 1);
      out.insert(out.end(), one.begin(), one.end());
    }
    next = std::uint64_t{s.hi} + 1;
  }
  if (next <= max) {
    Disj one = field_in(f, static_cast<std::uint32_t>(next), max);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

Disj flags_equal(std::uint16_t mask, std::uint16_t value) {
  Conj c;
  c.flags_mask = mask;
  c.flags_value = static_cast<std::uint16_t>(value & mask);
  return {c};
}

std::vector<Span32> normalize(std::vector<Span32> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const Span32& a, const Span32& b) { return a.lo < b.lo; });
  std::vector<Span32> out;
  for (const Span32& s : spans) {
    if (s.lo > s.hi) continue;
    if (!out.empty() && std::uint64_t{s.lo} <= std::uint64_t{out.back().hi} + 1) {
      out.back().hi = std::max(out.back().hi, s.hi);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace norman::filter::detail
