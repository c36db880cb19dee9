// The capture timestamp discipline: CTRL.CYCLES fitted to CLOCK_REALTIME
// from bracketed samples, some of them delayed.
#include "clock_fit.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace {

using norman::capture::ClockFit;
using norman::capture::ClockSample;

// A NIC whose oscillator runs 80 ppm fast, started at host time t0: its
// cycle c happens at host time t0 + c * 4 / (1 + 80e-6) ns.
struct FakeNic {
  std::int64_t t0 = 1'765'000'000'000'000'000;
  double ns_per_cycle = 4.0 / (1.0 + 80e-6);
  std::uint64_t cycles_at(std::int64_t t) const {
    return static_cast<std::uint64_t>(static_cast<double>(t - t0) / ns_per_cycle);
  }
  std::int64_t time_of(std::uint64_t c) const {
    return t0 + static_cast<std::int64_t>(std::llround(static_cast<double>(c) * ns_per_cycle));
  }
};

TEST(ClockFit, FollowsOffsetAndRateDespiteDelayedReads) {
  FakeNic nic;
  ClockFit fit;
  std::mt19937 rng(7);
  std::int64_t t = nic.t0 + 5'000'000'000;
  for (int i = 0; i < 40; ++i) {
    t += 1'000'000'000;  // one sample a second
    // The read happens somewhere in a bracket of 300..600 ns; one in five
    // reads is preempted and its bracket is 50 us wide.
    const std::int64_t width =
        rng() % 5 == 0 ? 50'000 : 300 + static_cast<std::int64_t>(rng() % 300);
    const std::int64_t at = t + static_cast<std::int64_t>(rng() % static_cast<unsigned>(width));
    fit.add(ClockSample{t, nic.cycles_at(at), t + width});
  }
  EXPECT_NEAR(fit.ns_per_cycle(), nic.ns_per_cycle, 1e-6);
  // A record stamped 0.5 s after the last sample: within a microsecond.
  const std::uint64_t c = nic.cycles_at(t + 500'000'000);
  EXPECT_NEAR(static_cast<double>(fit.to_ns(c)), static_cast<double>(nic.time_of(c)), 1000.0);
}

TEST(ClockFit, OneSampleUsesTheNominalRate) {
  ClockFit fit(4.0);
  EXPECT_FALSE(fit.ready());
  fit.add(ClockSample{1000, 100, 1010});
  ASSERT_TRUE(fit.ready());
  EXPECT_EQ(fit.to_ns(100), 1005);
  EXPECT_EQ(fit.to_ns(350), 2005);
  EXPECT_EQ(fit.to_ns(50), 805);
}

TEST(ClockFit, NicResetStartsAgain) {
  ClockFit fit(4.0);
  fit.add(ClockSample{0, 1'000'000, 10});
  fit.add(ClockSample{4'000'000, 2'000'000, 4'000'010});
  fit.add(ClockSample{9'000'000, 10, 9'000'010});  // counter went back: reset
  EXPECT_EQ(fit.to_ns(10), 9'000'005);
  EXPECT_EQ(fit.to_ns(260), 9'001'005);
}

TEST(ClockFit, NanosecondsSinceTheEpochStayExact) {
  // A double holds today's epoch nanoseconds only to 256 ns; the fit and
  // the three numbers normand hands to ndump must not lose them.
  ClockFit fit(4.0);
  const std::int64_t t0 = 1'765'000'000'000'000'123;
  for (std::int64_t i = 0; i < 4; ++i) {
    const std::int64_t t = t0 + i * 1'000'000'000;
    fit.add(ClockSample{t - 10, static_cast<std::uint64_t>(i) * 250'000'000 + 7, t + 10});
  }
  const std::uint64_t c = 3 * 250'000'000 + 7 + 25;  // 100 ns after the last sample
  const std::int64_t want = t0 + 3'000'000'000 + 100;
  EXPECT_NEAR(static_cast<double>(fit.to_ns(c) - want), 0.0, 1.0);
  const auto shared =
      norman::capture::clock_to_ns(fit.ref_cycles(), fit.ref_ns(), fit.ns_per_cycle(), c);
  EXPECT_NEAR(static_cast<double>(shared - want), 0.0, 1.0);
}

TEST(ClockFit, IgnoresSamplesThatAreNotBrackets) {
  ClockFit fit(4.0);
  fit.add(ClockSample{100, 0, 50});
  EXPECT_FALSE(fit.ready());
}

}  // namespace
