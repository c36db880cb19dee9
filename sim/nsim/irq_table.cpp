#include "irq_table.hpp"

#include <unistd.h>

namespace norman::nsim {

void IrqTable::set(std::uint32_t vector, UniqueFd fd) {
  if (fd) {
    fds_[vector] = std::move(fd);
  } else {
    fds_.erase(vector);
  }
}

void IrqTable::fire(std::uint32_t vector) {
  auto it = fds_.find(vector);
  if (it == fds_.end()) {
    ++unregistered_;
    return;
  }
  std::uint64_t one = 1;
  // An eventfd counter only overflows after 2^64-2 unread events; a write
  // failure (e.g. the fd is not an eventfd) is still counted as delivered
  // once attempted, nothing else can be done from the device side.
  ssize_t n = ::write(it->second.get(), &one, sizeof(one));
  (void)n;
  ++delivered_;
}

}  // namespace norman::nsim
