// The filter overlay's exact tables (hw/regmap/norman.json, FILTER_EXACT_*):
// beside the range slots, FILTER_EXACT_TABLES hash tables whose entries match
// when (key vector & the table's mask) == the entry's value. An entry whose
// every field is a whole range or an aligned prefix block, with no negation,
// has such a form; a table per distinct mask then holds thousands of rules
// in block RAM where range slots cost thousands of bits each.
//
// The bucket hash, the vector layout and the location numbering are defined
// once in the register map; this is the driver's (and the tests') side of
// them, checked against the RTL by tests/rtl/filter.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "flat.hpp"

namespace norman::filter {

inline constexpr unsigned kExactTables = norman::regmap::kFilterExactTables;
inline constexpr unsigned kExactBucketsLog2 = norman::regmap::kFilterExactBucketsLog2;
inline constexpr unsigned kExactBuckets = 1u << kExactBucketsLog2;
inline constexpr unsigned kExactWays = norman::regmap::kFilterExactWays;
inline constexpr unsigned kExactEntries = norman::regmap::kFilterExactEntries;
inline constexpr unsigned kExactVectorBits = norman::regmap::kFilterExactVectorW;
inline constexpr unsigned kExactWords = (kExactVectorBits + 31) / 32;
static_assert(kExactEntries == kExactTables * kExactBuckets * kExactWays);
static_assert(kExactVectorBits == rf::kRangeKeyWidth + rf::kNumFlags);

// The exact vector: the range key packed as for lookups (field f at its lsb),
// then the flag bits; word i holds bits 32i+31..32i.
struct ExactVector {
  std::array<std::uint32_t, kExactWords> w{};
  friend bool operator==(const ExactVector&, const ExactVector&) = default;
  friend auto operator<=>(const ExactVector&, const ExactVector&) = default;
  ExactVector operator&(const ExactVector& o) const {
    ExactVector r;
    for (unsigned i = 0; i < kExactWords; ++i) r.w[i] = w[i] & o.w[i];
    return r;
  }
};

[[nodiscard]] ExactVector exact_vector(const std::array<std::uint32_t, rf::kNumFields>& fields,
                                       std::uint16_t flags);
[[nodiscard]] inline ExactVector exact_vector(const Key& k) {
  return exact_vector(k.field, k.flags);
}

// The bucket of a masked vector in table t (FILTER_EXACT_HASH_*).
[[nodiscard]] std::uint32_t exact_bucket(unsigned table, const ExactVector& masked);

// Location numbering: filter slot = FILTER_ENTRIES + location.
[[nodiscard]] constexpr std::uint32_t exact_location(unsigned table, std::uint32_t bucket,
                                                     unsigned way) {
  return ((table << kExactBucketsLog2) | bucket) * kExactWays + way;
}
[[nodiscard]] constexpr std::uint32_t exact_slot(std::uint32_t location) {
  return static_cast<std::uint32_t>(norman::regmap::kFilterEntries) + location;
}
[[nodiscard]] constexpr unsigned exact_table_of(std::uint32_t location) {
  return location / kExactWays >> kExactBucketsLog2;
}

// An entry's exact form: mask and value (value == value & mask), or nullopt
// if some field is negated or not a prefix block.
struct ExactForm {
  ExactVector mask;
  ExactVector value;
  friend bool operator==(const ExactForm&, const ExactForm&) = default;
};
[[nodiscard]] std::optional<ExactForm> exact_form(const Entry& e);

// The semantics the NIC implements for one exact entry.
[[nodiscard]] inline bool exact_matches(const ExactForm& f, const Key& k) {
  return (exact_vector(k) & f.mask) == f.value;
}

// FILTER.EXACT_DATA words for a vector, and the FILTER.EXACT_WRITE word.
[[nodiscard]] std::array<std::uint64_t, 4> exact_data_words(const ExactVector& v);
[[nodiscard]] std::uint64_t exact_write_word(std::uint32_t location, std::uint16_t prio,
                                             const Entry& e, bool valid = true);

}  // namespace norman::filter
