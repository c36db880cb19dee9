// A refused set command, worded as ipset words it (without the "ipset
// v7.17: " prefix the command line adds) and with ipset's exit status:
// 1 for a command the sets refuse, 2 for a bad command line (then ipset
// adds "Try `ipset help' for more information.").
#pragma once

#include <stdexcept>
#include <string>

namespace norman::sets {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int status = 1)
      : std::runtime_error(what), status_(status) {}
  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] bool usage() const { return status_ == 2; }

 private:
  int status_;
};

inline Error usage_error(const std::string& what) { return Error(what, 2); }
inline Error syntax_error(const std::string& what) { return Error("Syntax error: " + what, 1); }

}  // namespace norman::sets
