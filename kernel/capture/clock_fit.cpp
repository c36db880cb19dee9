#include "clock_fit.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace norman::capture {

ClockFit::ClockFit(double nominal_ns_per_cycle, std::size_t window)
    : nominal_(nominal_ns_per_cycle),
      window_(std::max<std::size_t>(window, 2)),
      rate_(nominal_ns_per_cycle) {}

void ClockFit::add(const ClockSample& s) {
  if (s.after_ns < s.before_ns) return;                                          // not a bracket
  if (!samples_.empty() && s.cycles < samples_.back().cycles) samples_.clear();  // NIC reset
  samples_.push_back(s);
  if (samples_.size() > window_) samples_.pop_front();
  refit();
}

void ClockFit::refit() {
  std::int64_t narrowest = samples_.front().after_ns - samples_.front().before_ns;
  for (const auto& s : samples_) narrowest = std::min(narrowest, s.after_ns - s.before_ns);
  // Coordinates relative to the newest good sample keep the doubles exact
  // enough (cycles differences of a window fit in 53 bits).
  std::vector<std::pair<double, double>> pts;  // (cycles - ref, ns - ref)
  const ClockSample* ref = nullptr;
  for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
    if (it->after_ns - it->before_ns > 2 * narrowest + 1) continue;
    if (ref == nullptr) ref = &*it;
    const double mid_ns = static_cast<double>(it->before_ns - ref->before_ns) +
                          static_cast<double>(it->after_ns - it->before_ns) / 2.0;
    pts.emplace_back(-static_cast<double>(ref->cycles - it->cycles), mid_ns);
  }
  ref_cycles_ = ref->cycles;
  // Nanoseconds since the epoch need 61 bits: a double holds them only to
  // 256 ns, so the reference is kept as an integer plus a small offset.
  ref_base_ = ref->before_ns;
  ref_frac_ = static_cast<double>(ref->after_ns - ref->before_ns) / 2.0;
  if (pts.size() < 2) {
    rate_ = samples_.size() < 2 ? nominal_ : rate_;
    return;
  }
  double mx = 0, my = 0;
  for (const auto& [x, y] : pts) {
    mx += x;
    my += y;
  }
  mx /= static_cast<double>(pts.size());
  my /= static_cast<double>(pts.size());
  double sxx = 0, sxy = 0;
  for (const auto& [x, y] : pts) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
  }
  if (sxx <= 0) return;
  const double rate = sxy / sxx;
  // A rate far from the nominal one is a broken sample set, not an
  // oscillator (crystals are within a few hundred ppm).
  if (std::abs(rate - nominal_) > nominal_ * 0.01) return;
  rate_ = rate;
  // The fitted line through the centroid, expressed at the reference.
  // The line's value at the reference cycle, relative to ref_base_ as the
  // points are (their midpoints already hold the half bracket).
  ref_frac_ = my - rate * mx;
}

std::int64_t ClockFit::to_ns(std::uint64_t cycles) const {
  const double d = cycles >= ref_cycles_ ? static_cast<double>(cycles - ref_cycles_)
                                         : -static_cast<double>(ref_cycles_ - cycles);
  return ref_base_ + static_cast<std::int64_t>(std::llround(ref_frac_ + rate_ * d));
}

std::int64_t ClockFit::ref_ns() const {
  return ref_base_ + static_cast<std::int64_t>(std::llround(ref_frac_));
}

std::int64_t clock_to_ns(std::uint64_t ref_cycles, std::int64_t ref_ns, double ns_per_cycle,
                         std::uint64_t cycles) {
  const double d = cycles >= ref_cycles ? static_cast<double>(cycles - ref_cycles)
                                        : -static_cast<double>(ref_cycles - cycles);
  return ref_ns + static_cast<std::int64_t>(std::llround(ns_per_cycle * d));
}

}  // namespace norman::capture
