// filter_classifier at its real capacity (FILTER_ENTRIES slots).
#include <chrono>

#include "Vfilter_classifier.h"
#include "filter_tb.hpp"

namespace {

using namespace filter_tb;
using FieldId = rf::FieldId;
using norman::regmap::kFilterEntries;

class Filter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tb_ = std::make_unique<Tb<Vfilter_classifier>>(kFilterEntries); }
  static void TearDownTestSuite() { tb_.reset(); }
  void SetUp() override { tb_->reset(); }

  static std::unique_ptr<Tb<Vfilter_classifier>> tb_;
  Tb<Vfilter_classifier>& tb = *tb_;
  Gen gen{4242};
};

std::unique_ptr<Tb<Vfilter_classifier>> Filter::tb_;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST_F(Filter, CapacityAndResetSweep) {
  EXPECT_EQ(tb.entries(), 4096u);
  // 4 + ceil(log2(4096) / 2)
  EXPECT_EQ(tb.latency(), 10u);
  const std::uint64_t sweep = tb.reset();
  EXPECT_GE(sweep, kFilterEntries);
  EXPECT_LE(sweep, kFilterEntries + 4);
  EXPECT_TRUE(tb.m().idle_o);
}

// The same latency whether 16 or 4096 slots are valid, with random rules
// and keys on every cycle; the shadow is filled up while the active bank is
// in use. The last stage is the real capacity, all slots valid.
TEST_F(Filter, FixedLatencyFromSixteenToAllSlots) {
  const auto t0 = std::chrono::steady_clock::now();
  struct Stage {
    unsigned first, last;
  };
  // Each bank is written on alternate commits, so it receives the slots
  // added since it was last the shadow: 16 | 256 | 1024 | 4096 in use.
  const Stage stages[] = {{0, 16}, {0, 256}, {16, 1024}, {256, 4096}};
  for (const Stage& st : stages) {
    for (unsigned s = st.first; s < st.last; ++s) {
      EXPECT_FALSE(tb.write(s, gen.entry(), static_cast<std::uint16_t>(gen.below(64)), true).error);
    }
    tb.commit();
    unsigned valid = 0;
    for (const Slot& s : tb.active()) valid += s.valid ? 1 : 0;
    EXPECT_EQ(valid, st.last);
    const std::uint64_t before = tb.checked();
    random_keys(tb, gen, 5000);
    EXPECT_EQ(tb.checked() - before, 5000u);
    EXPECT_EQ(tb.latency(), 10u);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  std::printf("latency %llu at 16..4096 valid slots; %llu keys, %llu hits, %.1f s\n",
              static_cast<unsigned long long>(tb.latency()),
              static_cast<unsigned long long>(tb.checked()),
              static_cast<unsigned long long>(tb.hits()), seconds_since(t0));
}

// Many rule sets of various sizes (random ranges, prefixes, NEG, flags,
// tied priorities), each with back-to-back random and edge-biased keys.
TEST_F(Filter, RandomRuleSetsAgainstReference) {
  const auto t0 = std::chrono::steady_clock::now();
  const unsigned sizes[] = {64, 512, 64, 1500, 4096, 300, 4096};
  unsigned have[2] = {0, 0};  // slots written so far in each bank (0 = A)
  unsigned bank = 1;          // the shadow after reset
  for (unsigned n : sizes) {
    // Overwrite what the shadow held beyond n with empty slots.
    for (unsigned s = n; s < have[bank]; ++s) tb.write(s, nf::Entry{}, 0, false);
    write_random(tb, gen, 0, n, n / 8);
    have[bank] = n;
    tb.commit();
    bank ^= 1u;
    random_keys(tb, gen, 8000);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  std::printf("%llu keys, %llu hits, %.1f s\n", static_cast<unsigned long long>(tb.checked()),
              static_cast<unsigned long long>(tb.hits()), seconds_since(t0));
}

// Highest slots, all priorities equal except one, and a commit under traffic.
TEST_F(Filter, HighSlotsAndCommitUnderTraffic) {
  nf::Entry any;
  any.action = rf::Action::kDrop;
  nf::Entry ssh;
  ssh[FieldId::kDport] = {22, 22};
  ssh.action = rf::Action::kReject;
  ssh.reject_with = rf::RejectWith::kTcpReset;
  EXPECT_FALSE(tb.write(4095, any, 9).error);
  EXPECT_FALSE(tb.write(4094, ssh, 9).error);
  tb.commit();
  nf::Key k22;
  k22[FieldId::kDport] = 22;
  EXPECT_EQ(tb.classify(k22), (Verdict{true, 4094, 2, 255, false}));
  EXPECT_EQ(tb.classify(nf::Key{}), (Verdict{true, 4095, 1, 3, false}));

  auto traffic = [&] { tb.key(gen.below(2) != 0 ? k22 : gen.key_random()); };
  EXPECT_FALSE(tb.write(4000, ssh, 8, true, traffic).error);
  EXPECT_FALSE(tb.write(4095, any, 9, true, traffic).error);
  EXPECT_FALSE(tb.write(4094, ssh, 9, true, traffic).error);
  tb.commit(traffic);
  for (int i = 0; i < 100; ++i) {
    traffic();
    tb.step();
  }
  tb.drain();
  EXPECT_EQ(tb.classify(k22).slot, 4000);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(Filter, CountersOfHotSlots) {
  nf::Entry a, b;
  a[FieldId::kUid] = {1000, 1000};
  b[FieldId::kUid] = {1001, 1001};
  EXPECT_FALSE(tb.write(4095, a, 1).error);
  EXPECT_FALSE(tb.write(0, b, 1).error);
  tb.commit();
  for (int i = 0; i < 2000; ++i) {
    nf::Key k;
    k[FieldId::kUid] = (i / 7) % 3 == 0 ? 1001 : 1000;
    k.frame_bytes = 1514;
    tb.key(k);
    tb.step();
  }
  tb.drain();
  for (int i = 0; i < 3; ++i) tb.step();
  for (unsigned s : {0u, 4095u, 1u}) {
    const auto [p, by] = tb.counters(s);
    EXPECT_EQ(p, tb.ref_pkts(s));
    EXPECT_EQ(by, tb.ref_bytes(s));
  }
  EXPECT_EQ(tb.ref_pkts(0) + tb.ref_pkts(4095), 2000u);
  tb.clear_counters(4095);
  for (int i = 0; i < 3; ++i) tb.step();
  EXPECT_EQ(tb.counters(4095).first, 0u);
  EXPECT_EQ(tb.counters(0).first, tb.ref_pkts(0));
}

// Cycles without keys must cost the simulator little.
TEST_F(Filter, IdleCyclesAreCheap) {
  nf::Entry any;
  EXPECT_FALSE(tb.write(1, any, 1).error);
  tb.commit();
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kIdle = 200000;
  for (int i = 0; i < kIdle; ++i) tb.step();
  const double idle_ns = seconds_since(t0) * 1e9 / kIdle;
  const auto t1 = std::chrono::steady_clock::now();
  constexpr int kKeys = 5000;
  for (int i = 0; i < kKeys; ++i) {
    tb.key(nf::Key{}, false);
    tb.step();
  }
  tb.drain();
  const double key_ns = seconds_since(t1) * 1e9 / kKeys;
  std::printf("idle cycle %.0f ns, cycle with a key %.0f ns\n", idle_ns, key_ns);
  EXPECT_LT(idle_ns, 5000.0);
}

}  // namespace
