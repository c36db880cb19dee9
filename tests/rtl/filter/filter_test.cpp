// filter_lookup at its real capacity: FILTER_ENTRIES range slots and the
// register map's exact tables.
#include <algorithm>
#include <chrono>

#include "Vfilter_lookup.h"
#include "filter_tb.hpp"

namespace {

using namespace filter_tb;
using FieldId = rf::FieldId;
using norman::regmap::kFilterEntries;

class Filter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tb_ = std::make_unique<Tb<Vfilter_lookup>>(kFilterEntries); }
  static void TearDownTestSuite() { tb_.reset(); }
  void SetUp() override { tb_->reset(); }

  static std::unique_ptr<Tb<Vfilter_lookup>> tb_;
  Tb<Vfilter_lookup>& tb = *tb_;
  Gen gen{4242};
};

std::unique_ptr<Tb<Vfilter_lookup>> Filter::tb_;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST_F(Filter, CapacityAndResetSweep) {
  EXPECT_EQ(tb.entries(), 4096u);
  EXPECT_EQ(tb.slots(), 4096u + 16384u);
  // 4 + ceil(log2(4096) / 2), plus the stage that ranks range and exact winners
  EXPECT_EQ(tb.latency(), 11u);
  // The counters' sweep over every slot is the longest.
  const std::uint64_t sweep = tb.reset();
  EXPECT_GE(sweep, tb.slots());
  EXPECT_LE(sweep, tb.slots() + 4);
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
    EXPECT_EQ(tb.latency(), 11u);
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

// Exact entries counted by the verdicts since the last reset.
template <typename M>
std::uint64_t exact_verdicts(const Tb<M>& tb) {
  std::uint64_t n = 0;
  for (unsigned s = tb.entries(); s < tb.slots(); ++s) n += tb.ref_pkts(s);
  return n;
}

// Fill the shadow's exact tables: n entries under the shadow's masks, each
// placed where the driver's hash puts it, in a free way if there is one.
template <typename M>
void place_random_exact(Tb<M>& tb, Gen& gen, unsigned n, unsigned prio_range) {
  const ExactGeom& g = tb.geom();
  for (unsigned i = 0; i < n; ++i) {
    const unsigned t = static_cast<unsigned>(gen.below(g.tables));
    ExactSlot x;
    x.valid = gen.below(16) != 0;
    x.value = random_exact_value(gen, tb.mask_shadow()[t]);
    x.prio = static_cast<std::uint16_t>(gen.below(prio_range));
    x.action = static_cast<std::uint8_t>(gen.below(3));
    x.reject_with = static_cast<std::uint8_t>(gen.below(256));
    x.log = gen.below(4) == 0;
    unsigned way = static_cast<unsigned>(gen.below(g.ways));
    for (unsigned w = 0; w < g.ways; ++w) {
      if (!tb.ex_shadow()[g.location(t, g.bucket(t, x.value), w)].valid) {
        way = w;
        break;
      }
    }
    tb.ex_place(t, way, x);
  }
}

// Keys back to back: most aimed at valid exact entries of the active bank,
// some near range slots, some random.
template <typename M>
void keys_at_exact(Tb<M>& tb, Gen& gen, unsigned n) {
  std::vector<std::uint32_t> valid;
  for (std::uint32_t l = 0; l < tb.geom().entries(); ++l) {
    if (tb.ex_active()[l].valid) valid.push_back(l);
  }
  for (unsigned i = 0; i < n; ++i) {
    const auto r = gen.below(10);
    if (r < 7 && !valid.empty()) {
      const std::uint32_t l = valid[gen.below(valid.size())];
      tb.key(key_for_exact(gen, tb.ex_active()[l].value, tb.mask_active()[tb.geom().table_of(l)]));
    } else if (r < 9) {
      tb.key(gen.key_near(tb.active()[gen.below(tb.entries())].entry));
    } else {
      tb.key(gen.key_random());
    }
    tb.step();
    if (tb.mismatches() > 10) break;
  }
  tb.drain();
}

// The shipped geometry (4 tables x 1024 buckets x 4 ways): entries placed
// where norman::filter::exact_bucket says are found by the RTL's hash, under
// prefix-style and arbitrary masks, with range slots competing at the same
// priorities. Every verdict against the reference.
TEST_F(Filter, ExactTablesAgreeWithTheDriversHash) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t checked0 = tb.checked(), hits0 = tb.hits();
  EXPECT_EQ(tb.geom().entries(), 16384u);
  for (int round = 0; round < 3; ++round) {
    for (unsigned t = 0; t < tb.geom().tables; ++t) {
      EXPECT_FALSE(
          tb.ex_mask(t, random_exact_mask(gen, (t + static_cast<unsigned>(round)) % 3 != 0)));
    }
    write_random(tb, gen, 0, 256, 48);
    place_random_exact(tb, gen, 5000, 48);
    tb.commit();
    keys_at_exact(tb, gen, 8000);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  const std::uint64_t ex = exact_verdicts(tb);
  EXPECT_GT(ex, 4000u);
  EXPECT_GT(tb.hits() - hits0 - ex, 1000u);
  std::printf("%llu keys, %llu hits, %llu decided by exact entries, %.1f s\n",
              static_cast<unsigned long long>(tb.checked() - checked0),
              static_cast<unsigned long long>(tb.hits() - hits0),
              static_cast<unsigned long long>(ex), seconds_since(t0));
}

// 4,096 range slots and 12,000 exact entry writes (about 10,000 valid
// entries once full buckets and invalid ones are taken out): the latency of
// every key is the same as with none (Tb checks each result at exactly
// latency()).
TEST_F(Filter, FixedLatencyWithAllRangeSlotsAndExactEntries) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t checked0 = tb.checked();
  for (unsigned t = 0; t < tb.geom().tables; ++t)
    EXPECT_FALSE(tb.ex_mask(t, random_exact_mask(gen, true)));
  write_random(tb, gen, 0, kFilterEntries, 1000);
  place_random_exact(tb, gen, 12000, 1000);
  tb.commit();
  unsigned valid = 0;
  for (const ExactSlot& x : tb.ex_active()) valid += x.valid ? 1 : 0;
  EXPECT_GT(valid, 9000u);
  keys_at_exact(tb, gen, 10000);
  EXPECT_EQ(tb.latency(), 11u);
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_EQ(tb.checked() - checked0, 10000u);
  std::printf("latency %llu with 4096 range slots and %u valid exact entries; %llu keys, %.1f s\n",
              static_cast<unsigned long long>(tb.latency()), valid,
              static_cast<unsigned long long>(tb.checked() - checked0), seconds_since(t0));
}

// Cycles without keys must cost the simulator little. The idle figure is
// the fastest of several batches, so that a loaded machine (other jobs
// taking the CPU for a while) does not fail it.
TEST_F(Filter, IdleCyclesAreCheap) {
  nf::Entry any;
  EXPECT_FALSE(tb.write(1, any, 1).error);
  tb.commit();
  constexpr int kBatches = 20;
  constexpr int kIdle = 10000;
  double idle_ns = 1e18;
  for (int b = 0; b < kBatches; ++b) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kIdle; ++i) tb.step();
    idle_ns = std::min(idle_ns, seconds_since(t0) * 1e9 / kIdle);
  }
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
