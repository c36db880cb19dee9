// Deadlines for the blocking calls (private to libnorman).
#pragma once

#include <time.h>

#include <chrono>

namespace norman::detail {

// now + d, saturating at time_point::max() (kForever and other huge values).
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::nanoseconds d) {
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  if (d <= std::chrono::nanoseconds::zero()) return now;
  if (d >= Clock::time_point::max() - now) return Clock::time_point::max();
  return now + std::chrono::duration_cast<Clock::duration>(d);
}

inline timespec to_timespec(std::chrono::steady_clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

}  // namespace norman::detail
