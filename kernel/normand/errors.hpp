// A request normand refuses: the errno the client gets and why.
#pragma once

#include <stdexcept>
#include <string>

namespace norman::normand {

class CtlError : public std::runtime_error {
 public:
  CtlError(int err, const std::string& message) : std::runtime_error(message), err_(err) {}
  [[nodiscard]] int err() const { return err_; }

 private:
  int err_;
};

}  // namespace norman::normand
