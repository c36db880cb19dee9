// Conjunctions of field constraints in the NIC's own form (an Entry's ranges,
// neg bits and flag ternary; its action is ignored here), and the few
// operations the compiler needs on them. A field holds either one range or
// the complement of one range, so intersecting two constraints on a field
// may need several entries: intersect() then returns their disjunction.
// Internal to norman_filter.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "flat.hpp"

namespace norman::filter::detail {

using Conj = Entry;
using Disj = std::vector<Conj>;  // a disjunction: any of its conjunctions

struct Span32 {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;
};

// Appends a ∧ b (nothing when empty, several when a field needs splitting).
void intersect(const Conj& a, const Conj& b, Disj& out);

// Every key of a is a key of b.
[[nodiscard]] bool subset(const Conj& a, const Conj& b);

// Whether intersect(a, b) finds keys on field i, and on the flags: it finds
// keys at all exactly when both hold for every field.
[[nodiscard]] bool field_meets(const Conj& a, const Conj& b, unsigned i);
[[nodiscard]] bool flags_meet(const Conj& a, const Conj& b);

// ¬a, when it is one conjunction (a constrains one field or one flag bit).
[[nodiscard]] std::optional<Conj> complement(const Conj& a);

// a ∧ b for disjunctions.
[[nodiscard]] Disj intersect(const Disj& a, const Disj& b);

// Single-constraint disjunctions.
[[nodiscard]] Disj field_in(rf::FieldId f, std::uint32_t lo, std::uint32_t hi);
[[nodiscard]] Disj field_not_in(rf::FieldId f, std::uint32_t lo, std::uint32_t hi);
// `spans` sorted and merged (no overlap, no adjacency).
[[nodiscard]] Disj field_in_set(rf::FieldId f, std::span<const Span32> spans);
[[nodiscard]] Disj field_not_in_set(rf::FieldId f, std::span<const Span32> spans);
[[nodiscard]] Disj flags_equal(std::uint16_t mask, std::uint16_t value);

// Sorts and merges overlapping or adjacent spans.
[[nodiscard]] std::vector<Span32> normalize(std::vector<Span32> spans);

}  // namespace norman::filter::detail
