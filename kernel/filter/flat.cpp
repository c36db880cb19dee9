#include "flat.hpp"

namespace norman::filter {

namespace rm = norman::regmap;

bool matches(const Entry& e, const Key& k) {
  if ((k.flags & e.flags_mask) != (e.flags_value & e.flags_mask)) return false;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    const bool in = e.range[i].lo <= k.field[i] && k.field[i] <= e.range[i].hi;
    const bool neg = ((e.neg >> i) & 1u) != 0;
    if (in == neg) return false;
  }
  return true;
}

std::optional<std::size_t> first_match(std::span<const Entry> entries, const Key& k) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (matches(entries[i], k)) return i;
  }
  return std::nullopt;
}

void set_owner(Key& k, const OwnerMeta& owner) {
  k.flags |= flag_bit(rf::Flag::kOwnerValid);
  k[rf::FieldId::kUid] = owner.uid;
  k[rf::FieldId::kGid] = owner.gid;
  k[rf::FieldId::kCmdId] = owner.cmd_id;
  k[rf::FieldId::kCgroup] = owner.cgroup;
}

std::vector<std::uint64_t> encode_write(const Entry& e, std::uint16_t slot, std::uint16_t prio,
                                        bool valid) {
  std::vector<std::uint64_t> args(2 + rf::kNumFields, 0);
  rf::kSlot.set(args[0], slot);
  rf::kValid.set(args[0], valid ? 1 : 0);
  rf::kLog.set(args[0], e.log ? 1 : 0);
  rf::kAction.set(args[0], static_cast<std::uint64_t>(e.action));
  rf::kRejectWith.set(args[0], static_cast<std::uint64_t>(e.reject_with));
  rf::kPrio.set(args[0], prio);
  rf::kNeg.set(args[1], e.neg);
  rf::kFlagsValue.set(args[1], e.flags_value);
  rf::kFlagsMask.set(args[1], e.flags_mask);
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    const std::uint32_t max = field_max(i);
    const std::uint64_t lo = e.range[i].lo > max ? max : e.range[i].lo;
    const std::uint64_t hi = e.range[i].hi > max ? max : e.range[i].hi;
    args[rf::kFields[i].arg] = lo | (hi << 32);
  }
  return args;
}

}  // namespace norman::filter
