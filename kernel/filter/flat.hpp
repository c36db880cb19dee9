// What the NIC's filter overlay holds and sees: flattened entries (one
// conjunction of per-field ranges and flag bits, with an action) and the key
// the NIC builds from each IPv4 frame. Field names, widths and the command
// encoding come from hw/regmap/norman.json (regmap::filter), so this file,
// the RTL and the tests cannot disagree.
//
// Semantics (the hardware's, and `first_match` below): an entry matches a key
// when, for every field i, (lo_i <= key_i <= hi_i) XOR neg bit i holds, and
// (key.flags & flags_mask) == flags_value. Among matching valid entries the
// one with the lowest priority decides (ties: the lowest slot). No match:
// the frame passes (ACCEPT).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "norman/regmap.hpp"

namespace norman::filter {

namespace rf = norman::regmap::filter;

inline constexpr std::uint32_t field_max(unsigned i) {
  const unsigned w = rf::kFields[i].width;
  return w >= 32 ? 0xFFFFFFFFu : ((1u << w) - 1u);
}

inline constexpr std::uint16_t flag_bit(rf::Flag f) {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(f));
}

// The key of one IPv4 frame, as the NIC builds it.
struct Key {
  std::array<std::uint32_t, rf::kNumFields> field{};  // indexed by rf::FieldId
  std::uint16_t flags = 0;                            // bits rf::Flag
  std::uint32_t frame_bytes = 0;  // IPv4 total length, for byte counters (not matched)

  std::uint32_t& operator[](rf::FieldId f) { return field[static_cast<unsigned>(f)]; }
  std::uint32_t operator[](rf::FieldId f) const { return field[static_cast<unsigned>(f)]; }
  friend bool operator==(const Key&, const Key&) = default;
};

struct FieldRange {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0xFFFFFFFFu;  // clipped to the field's width by the encoder
  friend bool operator==(const FieldRange&, const FieldRange&) = default;
};

struct Entry {
  std::array<FieldRange, rf::kNumFields> range = full_ranges();
  std::uint16_t neg = 0;  // bit i: field i must be OUTSIDE its range
  std::uint16_t flags_value = 0;
  std::uint16_t flags_mask = 0;
  rf::Action action = rf::Action::kAccept;
  rf::RejectWith reject_with = rf::RejectWith::kIcmpPortUnreachable;
  bool log = false;  // a LOG rule on this entry's path

  FieldRange& operator[](rf::FieldId f) { return range[static_cast<unsigned>(f)]; }
  const FieldRange& operator[](rf::FieldId f) const { return range[static_cast<unsigned>(f)]; }
  friend bool operator==(const Entry&, const Entry&) = default;

  static std::array<FieldRange, rf::kNumFields> full_ranges() {
    std::array<FieldRange, rf::kNumFields> r{};
    for (unsigned i = 0; i < rf::kNumFields; ++i) r[i] = {0, field_max(i)};
    return r;
  }
};

[[nodiscard]] bool matches(const Entry& e, const Key& k);

// Index of the first entry (in list order = priority order) matching k.
[[nodiscard]] std::optional<std::size_t> first_match(std::span<const Entry> entries, const Key& k);

// CMD.ARG[0..] for FILTER_WRITE of `e` into `slot` with `prio`
// (2 + kNumFields words). valid=false writes an empty (never matching) slot.
[[nodiscard]] std::vector<std::uint64_t> encode_write(const Entry& e, std::uint16_t slot,
                                                      std::uint16_t prio, bool valid = true);

// The owner the NIC attaches to a frame (from the connection's context).
struct OwnerMeta {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint16_t cmd_id = 0;
  std::uint16_t cgroup = 0;
};

// Puts the owner into a key (OWNER_VALID and the owner fields).
void set_owner(Key& k, const OwnerMeta& owner);

enum class Direction : std::uint8_t { kInput = 0, kOutput = 1 };

// The key the NIC builds for an Ethernet frame (no FCS), exactly as the RTL
// does: nullopt for frames the filter does not judge (not IPv4, or
// malformed: those go to the fallback path unfiltered, as iptables never
// sees what the IPv4 stack refuses). owner = nullopt: no owner (fallback).
[[nodiscard]] std::optional<Key> key_of_frame(std::span<const std::uint8_t> frame, Direction dir,
                                              unsigned port, const std::optional<OwnerMeta>& owner);

}  // namespace norman::filter
