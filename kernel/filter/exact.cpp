#include "exact.hpp"

#include <bit>

namespace norman::filter {

namespace rm = norman::regmap;

namespace {

void put_bits(ExactVector& v, unsigned lsb, unsigned width, std::uint32_t value) {
  for (unsigned b = 0; b < width; ++b) {
    if (((value >> b) & 1u) != 0) v.w[(lsb + b) / 32] |= 1u << ((lsb + b) % 32);
  }
}

// The mask of a field range if it is an aligned block [v, v + 2^k - 1]
// (k = 0: one value; the whole field: mask 0).
std::optional<std::uint32_t> block_mask(const FieldRange& r, std::uint32_t max) {
  const std::uint32_t lo = r.lo > max ? max : r.lo;
  const std::uint32_t hi = r.hi > max ? max : r.hi;
  if (lo > hi) return std::nullopt;
  const std::uint32_t span = hi - lo;  // 2^k - 1 for a block
  if ((span & (span + 1)) != 0) return std::nullopt;
  if ((lo & span) != 0) return std::nullopt;
  return max & ~span;
}

}  // namespace

ExactVector exact_vector(const std::array<std::uint32_t, rf::kNumFields>& fields,
                         std::uint16_t flags) {
  ExactVector v;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    put_bits(v, rf::kFields[i].lsb, rf::kFields[i].width, fields[i] & field_max(i));
  }
  put_bits(v, rf::kRangeKeyWidth, rf::kNumFlags, flags);
  return v;
}

std::uint32_t exact_bucket(unsigned table, const ExactVector& masked) {
  std::uint32_t f = static_cast<std::uint32_t>(rm::kFilterExactHashSeed) ^
                    (table * static_cast<std::uint32_t>(rm::kFilterExactHashSeedStep));
  for (unsigned i = 0; i < kExactWords; ++i) {
    const unsigned r =
        (i * rm::kFilterExactHashRotStep + table * rm::kFilterExactHashTableRot) % 32;
    f ^= std::rotl(masked.w[i], static_cast<int>(r));
  }
  const std::uint32_t a = f ^ (f >> 16);
  const std::uint32_t b = a * static_cast<std::uint32_t>(rm::kFilterExactHashMult);
  return b >> (32 - kExactBucketsLog2);
}

std::optional<ExactForm> exact_form(const Entry& e) {
  if (e.neg != 0) return std::nullopt;
  std::array<std::uint32_t, rf::kNumFields> mask{};
  std::array<std::uint32_t, rf::kNumFields> value{};
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    const auto m = block_mask(e.range[i], field_max(i));
    if (!m) return std::nullopt;
    mask[i] = *m;
    value[i] = e.range[i].lo & *m;
  }
  const auto fm = static_cast<std::uint16_t>(e.flags_mask & ((1u << rf::kNumFlags) - 1u));
  ExactForm f{exact_vector(mask, fm),
              exact_vector(value, static_cast<std::uint16_t>(e.flags_value & fm))};
  return f;
}

std::array<std::uint64_t, 4> exact_data_words(const ExactVector& v) {
  std::array<std::uint64_t, 4> d{};
  for (unsigned i = 0; i < kExactWords; ++i)
    d[i / 2] |= static_cast<std::uint64_t>(v.w[i]) << (32 * (i % 2));
  return d;
}

std::uint64_t exact_write_word(std::uint32_t location, std::uint16_t prio, const Entry& e,
                               bool valid) {
  std::uint64_t w = 0;
  rf::kSlot.set(w, location);
  rf::kValid.set(w, valid ? 1 : 0);
  rf::kLog.set(w, e.log ? 1 : 0);
  rf::kAction.set(w, static_cast<std::uint64_t>(e.action));
  rf::kRejectWith.set(w, static_cast<std::uint64_t>(e.reject_with));
  rf::kPrio.set(w, prio);
  return w;
}

}  // namespace norman::filter
