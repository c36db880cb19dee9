// Interrupt vectors -> eventfds.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "unique_fd.hpp"

namespace norman::nsim {

class IrqTable {
 public:
  // Registers (replacing) or, with an invalid fd, unregisters a vector.
  void set(std::uint32_t vector, UniqueFd fd);
  // Signals the vector's eventfd; counts vectors without one.
  void fire(std::uint32_t vector);

  [[nodiscard]] std::uint64_t delivered() const { return delivered_; }
  [[nodiscard]] std::uint64_t unregistered() const { return unregistered_; }
  [[nodiscard]] std::size_t size() const { return fds_.size(); }

 private:
  std::unordered_map<std::uint32_t, UniqueFd> fds_;
  std::uint64_t delivered_ = 0;
  std::uint64_t unregistered_ = 0;
};

}  // namespace norman::nsim
