// The strict JSON reader's two primitives, shared by the rule model's
// readers (ruleset_json*.cpp; internal to norman_filter): every error names
// where it is, and an object with a key the reader does not know is
// refused, so a misspelt key never silently drops a match.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace norman::filter::detail {

[[noreturn]] inline void bad(const std::string& where, const std::string& what) {
  throw std::invalid_argument("bad filter JSON at " + where + ": " + what);
}

inline void expect_object(const nlohmann::json& j, const std::string& where,
                          std::initializer_list<const char*> keys) {
  if (!j.is_object()) bad(where, "expected an object");
  for (const auto& item : j.items()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const std::string& k = item.key();
    if (std::none_of(keys.begin(), keys.end(), [&](const char* key) { return k == key; })) {
      bad(where, "unknown key \"" + k + "\"");
    }
  }
}

}  // namespace norman::filter::detail
