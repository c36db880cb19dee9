// Shared by the fuzz targets: an invariant check that aborts (libFuzzer
// saves the input), and an OwnerIds with fixed answers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "owner_ids.hpp"

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace norman::fuzz {

// An nfw-save text without its "# Generated/Completed" lines (they carry
// the time).
inline std::string without_comments(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size() - 1;
    const std::string_view line = text.substr(start, nl + 1 - start);
    if (!line.starts_with("#")) out += line;
    start = nl + 1;
  }
  return out;
}

class FixedIds : public filter::OwnerIds {
 public:
  std::uint16_t cmd_id(std::string_view comm) override {
    return static_cast<std::uint16_t>(1 + comm.size() % 7);
  }
  std::vector<std::uint16_t> cgroups_under(std::string_view path) override {
    if (path == "/") return {1, 2, 3};
    return {static_cast<std::uint16_t>(1 + path.size() % 3)};
  }
};

}  // namespace norman::fuzz
