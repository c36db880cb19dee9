// `ntc qdisc|class|filter show` in tc's text shape (and -s, -d), or as JSON
// (-j) in the shape tc gives qdiscs: one object per line tc would print.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tc_config.hpp"

namespace norman::ntc {

// Counters of one class as the NIC keeps them (tc -s class show).
struct ClassStats {
  std::uint64_t bytes = 0;
  std::uint64_t packets = 0;
  std::uint64_t drops = 0;
  std::uint64_t overlimits = 0;
  std::uint64_t rate_bps = 0;  // estimate, bits per second
  std::uint64_t lended = 0;
  std::uint64_t borrowed = 0;
};

struct ShowInput {
  const PortConfig* cfg = nullptr;
  std::string dev;
  bool all_ports = false;  // no dev given: lines name their port, as tc's
  const std::map<Handle, ClassStats>* stats = nullptr;  // null: no counters known
};

[[nodiscard]] std::string show_qdiscs(const ShowInput& in, const Options& opt);
// Only `only` when given (tc class show ... classid C).
[[nodiscard]] std::string show_classes(const ShowInput& in, const Options& opt,
                                       std::optional<Handle> only = std::nullopt);
[[nodiscard]] std::string show_filters(const ShowInput& in, const Options& opt,
                                       std::optional<Handle> parent = std::nullopt);

}  // namespace norman::ntc
