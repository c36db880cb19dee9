// Interrupt vectors -> eventfds.
//
// The eventfds are shared with untrusted clients (each notification queue's
// interrupt is the application's eventfd): one open file, so a client can
// fill the counter (write 2^64-2) and clear O_NONBLOCK, which would make a
// plain write() here block nsim forever. fire() therefore never waits: it
// restores O_NONBLOCK, and a timer signal to this thread bounds the write should
// the client clear the flag again in between; a vector whose write blocked
// is unbound (counted), as its owner broke it on purpose.
#pragma once

#include <time.h>

#include <cstdint>
#include <unordered_map>

#include "unique_fd.hpp"

namespace norman::nsim {

class IrqTable {
 public:
  IrqTable() = default;
  ~IrqTable();
  IrqTable(const IrqTable&) = delete;
  IrqTable& operator=(const IrqTable&) = delete;

  // Registers (replacing) or, with an invalid fd, unregisters a vector.
  void set(std::uint32_t vector, UniqueFd fd);
  // Signals the vector's eventfd; counts vectors without one. Never blocks
  // longer than kWriteLimitNs, whatever the eventfd's other holders do.
  void fire(std::uint32_t vector);

  static constexpr long kWriteLimitNs = 2'000'000;

  [[nodiscard]] std::uint64_t delivered() const { return delivered_; }
  [[nodiscard]] std::uint64_t unregistered() const { return unregistered_; }
  // Counter full (2^64-2 unread events): the waiter is awake anyway.
  [[nodiscard]] std::uint64_t saturated() const { return saturated_; }
  // O_NONBLOCK found cleared (and set again).
  [[nodiscard]] std::uint64_t tampered() const { return tampered_; }
  // Writes that blocked and were cut short; their vector was unbound.
  [[nodiscard]] std::uint64_t blocked() const { return blocked_; }
  [[nodiscard]] std::size_t size() const { return fds_.size(); }

 private:
  bool arm_ready();

  std::unordered_map<std::uint32_t, UniqueFd> fds_;
  timer_t timer_{};
  bool timer_ok_ = false;
  int timer_tid_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t unregistered_ = 0;
  std::uint64_t saturated_ = 0;
  std::uint64_t tampered_ = 0;
  std::uint64_t blocked_ = 0;
};

}  // namespace norman::nsim
