// Capture timestamps: the NIC stamps each record with CTRL.CYCLES (its
// free-running 250 MHz counter); normand disciplines that counter to the
// host's CLOCK_REALTIME so records carry host-clock nanoseconds.
//
// normand samples (realtime before, CYCLES, realtime after) periodically.
// A register read that was delayed (preemption, a busy PCIe link) shows as
// a wide bracket, so samples whose bracket is more than twice the narrowest
// of the window are ignored; the rest are fitted by least squares (time at
// the bracket's midpoint against cycles), which follows both the offset and
// the NIC oscillator's rate error. A counter that goes backwards (NIC
// reset) starts the fit anew.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace norman::capture {

struct ClockSample {
  std::int64_t before_ns = 0;  // CLOCK_REALTIME just before the read
  std::uint64_t cycles = 0;    // CTRL.CYCLES
  std::int64_t after_ns = 0;   // CLOCK_REALTIME just after
};

class ClockFit {
 public:
  explicit ClockFit(double nominal_ns_per_cycle = 4.0, std::size_t window = 16);

  void add(const ClockSample& s);
  [[nodiscard]] bool ready() const { return !samples_.empty(); }
  // Host-clock nanoseconds of a cycle count (extrapolated from the fit).
  [[nodiscard]] std::int64_t to_ns(std::uint64_t cycles) const;
  [[nodiscard]] double ns_per_cycle() const { return rate_; }
  // The fit's reference point: to_ns(c) = ref_ns() + ns_per_cycle() * (c -
  // ref_cycles()). normand hands these three to capture clients, which
  // convert with clock_to_ns below.
  [[nodiscard]] std::uint64_t ref_cycles() const { return ref_cycles_; }
  // (to the nearest nanosecond: the offset within it is dropped).
  [[nodiscard]] std::int64_t ref_ns() const;

 private:
  void refit();

  double nominal_;
  std::size_t window_;
  std::deque<ClockSample> samples_;
  // The fit: ns = ref_base_ + ref_frac_ + rate_ * (cycles - ref_cycles).
  double rate_;
  std::uint64_t ref_cycles_ = 0;
  std::int64_t ref_base_ = 0;
  double ref_frac_ = 0;
};

// The fit's conversion from its three numbers (what ClockFit::to_ns does).
std::int64_t clock_to_ns(std::uint64_t ref_cycles, std::int64_t ref_ns, double ns_per_cycle,
                         std::uint64_t cycles);

}  // namespace norman::capture
