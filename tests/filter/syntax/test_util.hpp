// Helpers for the nfw syntax tests: parse a command written as one line.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "syntax.hpp"

namespace norman::nfw::test {

inline Command cmd(const std::string& line) { return parse_command(split_line(line)); }

inline filter::Rule rule(const std::string& line) { return *cmd(line).rule; }

// The token a SyntaxError names, or "<no error>".
inline std::string error_token(const std::string& line) {
  try {
    (void)cmd(line);
  } catch (const SyntaxError& e) {
    return e.token;
  }
  return "<no error>";
}

inline std::string error_message(const std::string& line) {
  try {
    (void)cmd(line);
  } catch (const SyntaxError& e) {
    return e.what();
  }
  return "<no error>";
}

// A save file without its "# Generated/Completed" lines (they carry a date).
inline std::string without_comments(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    const std::string line =
        text.substr(start, nl == std::string::npos ? std::string::npos : nl + 1 - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    if (!line.starts_with("#")) out += line;
  }
  return out;
}

struct Ids {
  std::uint64_t next = 1;
  std::function<std::uint64_t()> fn() {
    return [this] { return next++; };
  }
};

// Applies each line to `rs` in order.
inline void run(filter::Ruleset& rs, Ids& ids, const std::vector<std::string>& lines) {
  for (const auto& l : lines) filter::apply(rs, cmd(l), ids.fn());
}

}  // namespace norman::nfw::test
