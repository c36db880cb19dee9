// filter_lookup with 64 range slots (and no exact entries): field edges,
// NEG, flags, priorities, refused writes, bank commits under traffic,
// counters, reset.
#include "filter_small.hpp"

#include <bit>

namespace {

using namespace filter_tb;
using FieldId = rf::FieldId;

constexpr unsigned kEntries = kSmallEntries;

class FilterSmall : public ::testing::Test {
 protected:
  void SetUp() override { tb.reset(); }

  // Write into the shadow bank and commit, so that the active bank equals it.
  void install(unsigned slot, const nf::Entry& e, std::uint16_t prio, bool valid = true) {
    EXPECT_FALSE(tb.write(slot, e, prio, valid).error);
    tb.commit();
    // The new shadow is the old active bank: bring it up to date too.
    EXPECT_FALSE(tb.write(slot, e, prio, valid).error);
  }

  Tb<SmallModel> tb{kEntries, kSmallGeom};
  Gen gen{777};
};

TEST_F(FilterSmall, LatencyIsReportedAndFixed) {
  // 4 + ceil(log2(64) / 2), plus the stage that ranks range and exact winners
  EXPECT_EQ(tb.latency(), 8u);
  nf::Key k;
  EXPECT_EQ(tb.classify(k), Verdict{});
  nf::Entry any;
  install(5, any, 1);
  EXPECT_TRUE(tb.classify(k).hit);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterSmall, EveryFieldAtItsRangeEdges) {
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    const std::uint32_t max = nf::field_max(i);
    // Interior range, a single value, and ranges touching 0 and max.
    const std::vector<nf::FieldRange> ranges = {{max / 5, max / 5 * 3},
                                                {max / 3, max / 3},
                                                {0, max / 7},
                                                {max / 2 + 1, max},
                                                {0, 0},
                                                {max, max},
                                                {0, max}};
    for (const auto& r : ranges) {
      for (bool neg : {false, true}) {
        nf::Entry e;
        e.range[i] = r;
        if (neg) e.neg = static_cast<std::uint16_t>(1u << i);
        e.action = rf::Action::kDrop;
        install(9, e, 3);
        std::vector<std::uint32_t> vals = {0, max, r.lo, r.hi};
        if (r.lo > 0) vals.push_back(r.lo - 1);
        if (r.hi < max) vals.push_back(r.hi + 1);
        vals.push_back(r.lo + (r.hi - r.lo) / 2);
        for (std::uint32_t v : vals) {
          nf::Key k;
          for (unsigned j = 0; j < rf::kNumFields; ++j) k.field[j] = gen.pool_value(j);
          k.field[i] = v;
          const bool in = r.lo <= v && v <= r.hi;
          tb.key(k, true,
                 Verdict{in != neg, static_cast<std::uint16_t>(in != neg ? 9 : 0),
                         static_cast<std::uint8_t>(in != neg ? 1 : 0),
                         static_cast<std::uint8_t>(in != neg ? 3 : 0), false});
          tb.step();
        }
        tb.drain();
      }
    }
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_GT(tb.checked(), 500u);
}

TEST_F(FilterSmall, NegOnSeveralFieldsIsPerField) {
  nf::Entry e;
  e[FieldId::kDport] = {1000, 2000};
  e[FieldId::kProto] = {6, 6};
  e[FieldId::kSrcIp] = {0x0a000000, 0x0affffff};
  e.neg = static_cast<std::uint16_t>((1u << static_cast<unsigned>(FieldId::kDport)) |
                                     (1u << static_cast<unsigned>(FieldId::kSrcIp)));
  install(0, e, 0);
  for (std::uint32_t dport : {999u, 1000u, 1500u, 2000u, 2001u}) {
    for (std::uint32_t proto : {6u, 17u}) {
      for (std::uint32_t ip : {0x09ffffffu, 0x0a000000u, 0x0affffffu, 0x0b000000u}) {
        nf::Key k;
        k[FieldId::kDport] = dport;
        k[FieldId::kProto] = proto;
        k[FieldId::kSrcIp] = ip;
        tb.key(k);
        tb.step();
      }
    }
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_EQ(tb.checked(), 40u);
}

TEST_F(FilterSmall, FlagsAreTernary) {
  // Every flags value against a few (value, mask) pairs, back to back;
  // value bits outside the mask must not matter.
  const std::vector<std::pair<std::uint16_t, std::uint16_t>> vm = {{0x000, 0x000}, {0x022, 0x022},
                                                                   {0x002, 0x012}, {0xfff, 0x001},
                                                                   {0x800, 0xc00}, {0x5a5, 0xfff}};
  for (std::size_t n = 0; n < vm.size(); ++n) {
    nf::Entry e;
    e.flags_value = vm[n].first;
    e.flags_mask = vm[n].second;
    e.log = true;
    install(static_cast<unsigned>(n) * 7, e, 2);
    unsigned hits = 0;
    for (unsigned f = 0; f < (1u << rf::kNumFlags); ++f) {
      nf::Key k;
      k.flags = static_cast<std::uint16_t>(f);
      tb.key(k);
      tb.step();
      hits += nf::matches(e, k) ? 1 : 0;
    }
    tb.drain();
    EXPECT_EQ(hits, (1u << rf::kNumFlags) >> std::popcount(vm[n].second));
    install(static_cast<unsigned>(n) * 7, e, 2, false);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterSmall, LowestPriorityWinsTiesGoToLowestSlot) {
  nf::Entry any;
  nf::Entry port80;
  port80[FieldId::kDport] = {80, 80};
  port80.action = rf::Action::kReject;
  nf::Key k80, k81;
  k80[FieldId::kDport] = 80;
  k81[FieldId::kDport] = 81;

  install(40, any, 100);
  EXPECT_EQ(tb.classify(k80).slot, 40);
  install(50, port80, 7);
  EXPECT_EQ(tb.classify(k80).slot, 50);
  EXPECT_EQ(tb.classify(k81).slot, 40);
  install(60, port80, 7);  // same priority, higher slot: loses
  EXPECT_EQ(tb.classify(k80).slot, 50);
  install(3, port80, 7);  // same priority, lower slot: wins
  EXPECT_EQ(tb.classify(k80).slot, 3);
  install(63, any, 0);  // lowest priority anywhere wins
  EXPECT_EQ(tb.classify(k80).slot, 63);
  EXPECT_EQ(tb.classify(k81).slot, 63);
  install(0, any, 0);
  EXPECT_EQ(tb.classify(k80).slot, 0);
  install(0, any, 0, false);
  EXPECT_EQ(tb.classify(k80).slot, 63);
  EXPECT_EQ(tb.mismatches(), 0u);

  // Many equal priorities: the lowest matching slot, whatever the order of writing.
  for (unsigned s = kEntries; s-- > 0;) {
    nf::Entry e;
    e[FieldId::kSport] = {s * 10, s * 10 + 15};
    EXPECT_FALSE(tb.write(s, e, 5).error);
  }
  tb.commit();
  for (std::uint32_t p = 0; p < kEntries * 10 + 20; ++p) {
    nf::Key k;
    k[FieldId::kSport] = p;
    tb.key(k);
    tb.step();
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterSmall, InvalidSlotsNeverMatch) {
  nf::Entry any;
  for (unsigned s = 0; s < kEntries; ++s) EXPECT_FALSE(tb.write(s, any, 0, false).error);
  tb.commit();
  for (int i = 0; i < 200; ++i) {
    tb.key(gen.key_random(), true, Verdict{});
    tb.step();
  }
  tb.drain();
  // Slots never written since reset do not match either.
  tb.commit();
  for (int i = 0; i < 200; ++i) {
    tb.key(gen.key_random(), true, Verdict{});
    tb.step();
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_EQ(tb.hits(), 0u);
}

TEST_F(FilterSmall, RefusedWritesChangeNothing) {
  nf::Entry good;
  good[FieldId::kDport] = {22, 22};
  good.action = rf::Action::kDrop;
  EXPECT_FALSE(tb.write(12, good, 4).error);

  // Slot out of range.
  auto a = nf::encode_write(good, 12, 4);
  rf::kSlot.set(a[0], kEntries);
  EXPECT_TRUE(tb.write_args(a).error);
  rf::kSlot.set(a[0], 0xffff);
  EXPECT_TRUE(tb.write_args(a).error);
  // Unknown action.
  for (std::uint64_t act : {3u, 0x80u, 0xffu}) {
    a = nf::encode_write(good, 12, 4);
    rf::kAction.set(a[0], act);
    EXPECT_TRUE(tb.write_args(a).error);
  }
  // lo > hi on each field in turn.
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    nf::Entry bad;
    bad.range[i] = {1, 0};
    const auto r = tb.write(12, bad, 0);
    EXPECT_TRUE(r.error) << "field " << i;
    EXPECT_EQ(r.cycles, 1u) << "a refused write answers at once";
  }
  tb.commit();
  nf::Key k;
  k[FieldId::kDport] = 22;
  EXPECT_EQ(tb.classify(k), (Verdict{true, 12, 1, 3, false}));
  k[FieldId::kDport] = 23;
  EXPECT_EQ(tb.classify(k), Verdict{});
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterSmall, WriteTakesStrideRowsPlusOne) {
  nf::Entry e;
  const auto r = tb.write(1, e, 1);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.cycles, (1u << 4) + 1);
  std::printf("write: %llu cycles from wr_valid_i to wr_done_o\n",
              static_cast<unsigned long long>(r.cycles));
}

TEST_F(FilterSmall, RandomRulesBackToBack) {
  for (int round = 0; round < 20; ++round) {
    write_random(tb, gen, 0, kEntries, round % 2 == 0 ? 8 : 1000);
    tb.commit();
    random_keys(tb, gen, 3000);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  std::printf("checked %llu keys, %llu hits\n", static_cast<unsigned long long>(tb.checked()),
              static_cast<unsigned long long>(tb.hits()));
}

TEST_F(FilterSmall, CommitIsAtomicUnderTraffic) {
  // Old set: random rules. Then, with a key on every cycle, rewrite the
  // shadow with another set and commit; each result must be the verdict of
  // the bank that was active when its key entered (the bench's model flips
  // with epoch_o, and Tb::commit checks that done comes after the drain).
  write_random(tb, gen, 0, kEntries, 16);
  tb.commit();
  auto traffic = [&] {
    const auto& act = tb.active();
    const unsigned s = static_cast<unsigned>(gen.below(kEntries));
    tb.key(act[s].valid && gen.below(4) != 0 ? gen.key_near(act[s].entry) : gen.key_random());
  };
  for (int round = 0; round < 8; ++round) {
    for (unsigned s = 0; s < kEntries; ++s) {
      tb.write(s, gen.entry(), static_cast<std::uint16_t>(gen.below(16)), gen.below(8) != 0,
               traffic);
    }
    const std::uint32_t epoch = tb.m().epoch_o;
    const std::uint64_t c = tb.commit(traffic);
    EXPECT_EQ(tb.m().epoch_o, epoch + 1);
    EXPECT_EQ(c, tb.latency() + 1) << "an idle engine flips at once and drains in Latency cycles";
    for (int i = 0; i < 50; ++i) {
      traffic();
      tb.step();
    }
  }
  // A commit requested during a write flips only after the write is done.
  tb.m().wr_valid_i = 0;
  nf::Entry any;
  auto a = nf::encode_write(any, 7, 0);
  bool requested = false;
  const std::uint32_t epoch = tb.m().epoch_o;
  tb.write_args(a, [&] {
    traffic();
    if (!requested && tb.m().wr_ready_o == 0) {
      tb.m().commit_i = tb.m().commit_ready_o;
      requested = true;
    } else {
      EXPECT_EQ(tb.m().epoch_o, epoch) << "flipped in the middle of a write";
    }
  });
  tb.shadow()[7] = Slot{any, 0, true};  // the shadow that the waiting commit makes active
  for (int i = 0; i < 40; ++i) {
    traffic();
    tb.step();
  }
  EXPECT_EQ(tb.m().epoch_o, epoch + 1);
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_GT(tb.checked(), 8000u);
}

TEST_F(FilterSmall, EpochCountsCommits) {
  EXPECT_EQ(tb.m().epoch_o, 0u);
  for (unsigned i = 1; i <= 5; ++i) {
    tb.commit();
    EXPECT_EQ(tb.m().epoch_o, i);
  }
  EXPECT_TRUE(tb.m().idle_o);
}

TEST_F(FilterSmall, CountersBackToBackAndClear) {
  nf::Entry hot, other;
  hot[FieldId::kDport] = {53, 53};
  other[FieldId::kDport] = {54, 54};
  install(17, hot, 1);
  install(18, other, 1);
  nf::Key k53, k54;
  k53[FieldId::kDport] = 53;
  k54[FieldId::kDport] = 54;
  // Bursts on one slot every cycle, alternating slots, and gaps.
  for (int i = 0; i < 1000; ++i) {
    nf::Key k = (i % 100 < 60) ? k53 : (i % 2 ? k54 : k53);
    k.frame_bytes = 64 + static_cast<std::uint32_t>(i % 1400);
    if (i % 97 != 0) tb.key(k);
    tb.step();
  }
  tb.drain();
  for (int i = 0; i < 3; ++i) tb.step();
  for (unsigned s : {17u, 18u, 19u}) {
    const auto [p, b] = tb.counters(s);
    EXPECT_EQ(p, tb.ref_pkts(s)) << "slot " << s;
    EXPECT_EQ(b, tb.ref_bytes(s)) << "slot " << s;
  }
  EXPECT_GT(tb.ref_pkts(17), 500u);
  tb.clear_counters(17);
  for (int i = 0; i < 3; ++i) tb.step();
  EXPECT_EQ(tb.counters(17), (std::pair<std::uint64_t, std::uint64_t>{0, 0}));
  EXPECT_EQ(tb.counters(18).first, tb.ref_pkts(18));

  // A clear during back-to-back hits of the same slot: the count restarts
  // within the keys still in the pipeline when the clear was requested, and
  // bytes stay consistent with packets.
  for (int i = 0; i < 200; ++i) {
    nf::Key k = k53;
    k.frame_bytes = 100;
    tb.key(k);
    if (i == 100) {
      tb.m().cnt_clr_valid_i = 1;
      tb.m().cnt_clr_slot_i = 17;
    }
    tb.step();
  }
  tb.drain();
  for (int i = 0; i < 3; ++i) tb.step();
  const auto [p, b] = tb.counters(17);
  EXPECT_GE(p, 99u);
  EXPECT_LE(p, 100u + tb.latency() + 2);
  EXPECT_EQ(b, p * 100);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterSmall, ResetSweepsAndKeysMissMeanwhile) {
  nf::Entry any;
  install(2, any, 0);
  EXPECT_TRUE(tb.classify(nf::Key{}).hit);
  // The counters' sweep (range slots and exact locations) is the longest.
  const std::uint64_t sweep = tb.reset([&] { tb.key(nf::Key{}, true, Verdict{}); });
  EXPECT_GE(sweep, tb.slots());
  EXPECT_LE(sweep, tb.slots() + 4);
  tb.drain();
  EXPECT_EQ(tb.classify(nf::Key{}), Verdict{});
  EXPECT_EQ(tb.counters(2).first, 0u);
  EXPECT_EQ(tb.m().epoch_o, 0u);
  EXPECT_TRUE(tb.m().idle_o);
  EXPECT_EQ(tb.mismatches(), 0u);
}

}  // namespace
