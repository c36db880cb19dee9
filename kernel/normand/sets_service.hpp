// normand's side of nipset: the sets (norman::sets::Store) and ipset's
// command line run against them, one invocation at a time, all or nothing.
// Memory is bounded by the store's limits (sets, total entries, keys per
// element) and by the size of a request (kMaxArgs, kMaxArgBytes, the
// restore text at most ctl::kMaxPayloadBytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "store.hpp"

namespace norman::normand {

class SetsService {
 public:
  static constexpr std::size_t kMaxArgs = 64;
  static constexpr std::size_t kMaxArgBytes = 4096;

  explicit SetsService(sets::Limits limits = {}) : store_(limits) {}

  // Runs nipset's arguments (restore reads `input`). Throws
  // std::invalid_argument for a request nipset would never send (too many
  // or too long arguments, -file: nipset reads and writes files itself).
  sets::Outcome run(const std::vector<std::string>& args, std::string_view input);

  [[nodiscard]] const sets::Store& store() const { return store_; }
  [[nodiscard]] sets::Store& store() { return store_; }

 private:
  sets::Store store_;
};

}  // namespace norman::normand
