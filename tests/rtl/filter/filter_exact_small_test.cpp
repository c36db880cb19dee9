// filter_lookup's exact tables (small geometry, filter_small.hpp) beside 64
// range slots: masks, placement by the driver's hash, ranking against range
// slots and among locations, counters of the winner only, refused writes,
// one write per cycle, banks and commits under traffic, reset.
#include "filter_small.hpp"

namespace {

using namespace filter_tb;
using FieldId = rf::FieldId;

constexpr unsigned kEntries = kSmallEntries;

// A mask of whole fields (exact values) and flag bits.
nf::ExactVector field_mask(std::initializer_list<FieldId> fields, std::uint16_t flags = 0) {
  std::array<std::uint32_t, rf::kNumFields> m{};
  for (FieldId f : fields) m[static_cast<unsigned>(f)] = nf::field_max(static_cast<unsigned>(f));
  return nf::exact_vector(m, flags);
}

nf::Key key_dport(std::uint32_t dport, std::uint32_t proto = 6) {
  nf::Key k;
  k[FieldId::kDport] = dport;
  k[FieldId::kProto] = proto;
  k.frame_bytes = 100;
  return k;
}

ExactSlot exact_entry(const nf::ExactVector& value, std::uint16_t prio,
                      rf::Action action = rf::Action::kDrop, bool log = false) {
  ExactSlot x;
  x.valid = true;
  x.value = value;
  x.prio = prio;
  x.action = static_cast<std::uint8_t>(action);
  x.reject_with = static_cast<std::uint8_t>(rf::RejectWith::kIcmpAdminProhibited);
  x.log = log;
  return x;
}

class FilterExactSmall : public ::testing::Test {
 protected:
  void SetUp() override { tb.reset(); }

  // Into both banks (write the shadow, commit, bring the new shadow up to date).
  void install(unsigned slot, const nf::Entry& e, std::uint16_t prio, bool valid = true) {
    EXPECT_FALSE(tb.write(slot, e, prio, valid).error);
    tb.commit();
    EXPECT_FALSE(tb.write(slot, e, prio, valid).error);
  }
  void install_mask(unsigned t, const nf::ExactVector& m) {
    EXPECT_FALSE(tb.ex_mask(t, m));
    tb.commit();
    EXPECT_FALSE(tb.ex_mask(t, m));
  }
  std::uint32_t install_exact(unsigned t, unsigned w, const ExactSlot& x) {
    const std::uint32_t loc = tb.ex_place(t, w, x);
    tb.commit();
    EXPECT_EQ(tb.ex_place(t, w, x), loc);
    return loc;
  }
  std::uint16_t slot_of(std::uint32_t loc) const {
    return static_cast<std::uint16_t>(kEntries + loc);
  }

  nf::ExactVector random_mask(bool prefix_style) { return random_exact_mask(gen, prefix_style); }
  nf::ExactVector random_value(const nf::ExactVector& mask) {
    return random_exact_value(gen, mask);
  }
  nf::Key key_hitting(const nf::ExactVector& value, const nf::ExactVector& mask) {
    return key_for_exact(gen, value, mask);
  }

  Tb<SmallModel> tb{kEntries, kSmallGeom};
  Gen gen{31337};
};

TEST_F(FilterExactSmall, ExactEntryDecidesAtTheLookupLatency) {
  EXPECT_EQ(tb.latency(), 8u);
  const nf::ExactVector m = field_mask({FieldId::kProto, FieldId::kDport});
  install_mask(1, m);
  const std::uint32_t loc = install_exact(
      1, 2, exact_entry(nf::exact_vector(key_dport(22)) & m, 5, rf::Action::kReject, true));
  EXPECT_EQ(tb.classify(key_dport(22)),
            (Verdict{true, slot_of(loc), 2,
                     static_cast<std::uint8_t>(rf::RejectWith::kIcmpAdminProhibited), true}));
  EXPECT_EQ(tb.classify(key_dport(23)), Verdict{});
  EXPECT_EQ(tb.classify(key_dport(22, 17)), Verdict{});
  // Fields outside the mask do not matter.
  nf::Key k = key_dport(22);
  k[FieldId::kSrcIp] = 0x0a000001;
  k[FieldId::kUid] = 1000;
  k.flags = 0xABC;
  EXPECT_TRUE(tb.classify(k).hit);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterExactSmall, LowestPriorityTiesToRangeSlotThenLowestLocation) {
  const nf::ExactVector m = field_mask({FieldId::kDport});
  const nf::ExactVector v = nf::exact_vector(key_dport(80)) & m;
  const nf::Key k80 = key_dport(80);
  install_mask(0, m);
  install_mask(2, m);  // two tables with one mask: the same key in both
  nf::Entry any;
  any.action = rf::Action::kAccept;
  install(40, any, 7);
  EXPECT_EQ(tb.classify(k80).slot, 40);

  // Equal priority: the range slot.
  const std::uint32_t l2 = install_exact(2, 3, exact_entry(v, 7));
  EXPECT_EQ(tb.classify(k80).slot, 40);
  // Lower: the exact entry.
  install_exact(2, 3, exact_entry(v, 6));
  EXPECT_EQ(tb.classify(k80).slot, slot_of(l2));
  // The same priority in a lower table: the lower location.
  const std::uint32_t l0 = install_exact(0, 1, exact_entry(v, 6, rf::Action::kReject));
  ASSERT_LT(l0, l2);
  EXPECT_EQ(tb.classify(k80), (Verdict{true, slot_of(l0), 2, 13, false}));
  // And in a lower way of the same bucket.
  const std::uint32_t l00 = install_exact(0, 0, exact_entry(v, 6, rf::Action::kAccept));
  EXPECT_EQ(l00 + 1, l0);
  EXPECT_EQ(tb.classify(k80).slot, slot_of(l00));
  // A strictly lower priority wins from anywhere.
  install_exact(2, 3, exact_entry(v, 5));
  EXPECT_EQ(tb.classify(k80).slot, slot_of(l2));
  // A range slot with a lower priority beats every exact entry.
  install(63, any, 4);
  EXPECT_EQ(tb.classify(k80).slot, 63);
  EXPECT_EQ(tb.classify(key_dport(81)).slot, 63);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterExactSmall, OnlyTheHashedBucketAndExactValuesMatch) {
  const nf::ExactVector m = field_mask({FieldId::kDport}, nf::flag_bit(rf::Flag::kTcpSyn));
  install_mask(3, m);
  nf::Key k = key_dport(443);
  k.flags = nf::flag_bit(rf::Flag::kTcpSyn);
  const nf::ExactVector v = nf::exact_vector(k) & m;
  const std::uint32_t b = kSmallGeom.bucket(3, v);
  // The right value in every other bucket of the table: never looked at.
  for (std::uint32_t ob = 0; ob < (1u << kSmallGeom.buckets_log2); ++ob) {
    if (ob == b) continue;
    EXPECT_FALSE(tb.ex_write(kSmallGeom.location(3, ob, ob % 4), exact_entry(v, 1)));
  }
  // A value with a bit outside the mask (SPORT) in the key's bucket: no key
  // can ever equal it once masked.
  nf::Key k2 = k;
  k2[FieldId::kSport] = 1;
  ExactSlot outside = exact_entry(nf::exact_vector(k2) & (m | field_mask({FieldId::kSport})), 1);
  EXPECT_FALSE(tb.ex_write(kSmallGeom.location(3, b, 0), outside));
  tb.commit();
  EXPECT_EQ(tb.classify(k), Verdict{});
  EXPECT_EQ(tb.classify(k2), Verdict{});
  // The flag is part of the key: without SYN it is another value.
  const std::uint32_t loc = tb.ex_place(3, 2, exact_entry(v, 1, rf::Action::kDrop));
  tb.commit();
  EXPECT_EQ(tb.classify(k).slot, slot_of(loc));
  nf::Key nosyn = k;
  nosyn.flags = nf::flag_bit(rf::Flag::kTcpAck);
  EXPECT_EQ(tb.classify(nosyn), Verdict{});
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterExactSmall, CountersCountOnlyTheWinner) {
  nf::Entry any;
  install(3, any, 10);  // matches every key
  const nf::ExactVector m = field_mask({FieldId::kDport});
  install_mask(1, m);
  const std::uint32_t loc =
      install_exact(1, 1, exact_entry(nf::exact_vector(key_dport(53)) & m, 2));
  // Back to back, alternating and in bursts, with a few gaps.
  std::uint64_t n53 = 0, b53 = 0, other = 0, bother = 0;
  for (int i = 0; i < 600; ++i) {
    nf::Key k = key_dport((i % 5) < 3 ? 53 : 54 + static_cast<std::uint32_t>(i % 7));
    k.frame_bytes = 64 + static_cast<std::uint32_t>(i);
    if (i % 61 != 0) {
      tb.key(k);
      (k[FieldId::kDport] == 53 ? n53 : other) += 1;
      (k[FieldId::kDport] == 53 ? b53 : bother) += k.frame_bytes;
    }
    tb.step();
  }
  tb.drain();
  for (int i = 0; i < 3; ++i) tb.step();
  EXPECT_EQ(tb.counters(3), std::make_pair(other, bother)) << "a range slot that lost counted";
  EXPECT_EQ(tb.counters(slot_of(loc)), std::make_pair(n53, b53));
  EXPECT_EQ(tb.ref_pkts(slot_of(loc)), n53);
  EXPECT_EQ(tb.counters(slot_of(loc) + 1).first, 0u);
  tb.clear_counters(slot_of(loc));
  for (int i = 0; i < 3; ++i) tb.step();
  EXPECT_EQ(tb.counters(slot_of(loc)), (std::pair<std::uint64_t, std::uint64_t>{0, 0}));
  EXPECT_EQ(tb.counters(3).first, other);
  // The last slot of all: the last exact location.
  const std::uint32_t last = kSmallGeom.entries() - 1;
  EXPECT_EQ(tb.counters(slot_of(last)).first, 0u);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterExactSmall, RefusedWritesChangeNothing) {
  const nf::ExactVector m = field_mask({FieldId::kDport});
  install_mask(0, m);
  const ExactSlot good = exact_entry(nf::exact_vector(key_dport(7)) & m, 3);
  const std::uint32_t loc = install_exact(0, 0, good);
  // Locations past the tables, unknown actions, tables past the count; the
  // bench checks that each pulses ex_wr_refused_o.
  for (std::uint32_t bad : {kSmallGeom.entries(), kSmallGeom.entries() + 1, 0xFFFFu}) {
    EXPECT_TRUE(tb.ex_write(bad, good));
  }
  for (std::uint8_t act : std::initializer_list<std::uint8_t>{3, 0x80, 0xFF}) {
    ExactSlot x = good;
    x.action = act;
    x.prio = 0;
    EXPECT_TRUE(tb.ex_write(loc, x));
    x.valid = false;
    EXPECT_TRUE(tb.ex_write(loc, x));
  }
  for (unsigned t : {4u, 5u, 255u}) EXPECT_TRUE(tb.ex_mask(t, nf::ExactVector{}));
  tb.commit();
  EXPECT_EQ(tb.classify(key_dport(7)).slot, slot_of(loc));
  EXPECT_EQ(tb.classify(key_dport(8)), Verdict{});
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterExactSmall, OneWritePerCycle) {
  // Every location written on consecutive cycles, no stall, each with a
  // value that hashes to its bucket; then every entry is found.
  const std::array<nf::ExactVector, 4> masks{
      field_mask({FieldId::kSrcIp, FieldId::kDport}), field_mask({FieldId::kDstIp}),
      field_mask({FieldId::kUid, FieldId::kProto}), field_mask({FieldId::kSport}, 0x0F0)};
  for (unsigned t = 0; t < kSmallGeom.tables; ++t) EXPECT_FALSE(tb.ex_mask(t, masks[t]));
  std::vector<std::pair<std::uint32_t, ExactSlot>> writes;
  for (unsigned t = 0; t < kSmallGeom.tables; ++t) {
    for (std::uint32_t b = 0; b < (1u << kSmallGeom.buckets_log2); ++b) {
      for (unsigned w = 0; w < kSmallGeom.ways; ++w) {
        nf::ExactVector v;
        do {
          nf::Key k;
          for (unsigned i = 0; i < rf::kNumFields; ++i) {
            k.field[i] = static_cast<std::uint32_t>(gen.rng()()) & nf::field_max(i);
          }
          k.flags = static_cast<std::uint16_t>(gen.below(1u << rf::kNumFlags));
          v = nf::exact_vector(k) & masks[t];
        } while (kSmallGeom.bucket(t, v) != b);
        writes.emplace_back(kSmallGeom.location(t, b, w),
                            exact_entry(v, static_cast<std::uint16_t>(gen.below(8)),
                                        static_cast<rf::Action>(gen.below(3)), gen.below(2) != 0));
      }
    }
  }
  const std::uint64_t start = tb.cycle();
  EXPECT_EQ(tb.ex_stream(writes), 0u);
  EXPECT_EQ(tb.cycle() - start, writes.size()) << "one write per cycle";
  tb.commit();
  for (const auto& [loc, x] : writes) {
    tb.key(key_hitting(x.value, masks[kSmallGeom.table_of(loc)]));
    tb.step();
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_EQ(tb.hits(), writes.size());
}

// Random masks (prefix-style and arbitrary, sometimes shared by tables),
// random entries placed where the hash says (a few anywhere, a few with
// bits outside the mask), random range slots with priorities from the same
// small range; keys mostly aimed at entries. Every verdict against the
// reference.
TEST_F(FilterExactSmall, RandomTablesAndRangeSlotsAgainstReference) {
  for (int round = 0; round < 24; ++round) {
    for (unsigned t = 0; t < kSmallGeom.tables; ++t) {
      if (gen.below(3) == 0) continue;  // keep this table's mask (and entries)
      const nf::ExactVector m =
          (t > 0 && gen.below(4) == 0) ? tb.mask_shadow()[t - 1] : random_mask(gen.below(3) != 0);
      EXPECT_FALSE(tb.ex_mask(t, m));
    }
    const unsigned n = static_cast<unsigned>(gen.below(kSmallGeom.entries()));
    for (unsigned i = 0; i < n; ++i) {
      const unsigned t = static_cast<unsigned>(gen.below(kSmallGeom.tables));
      const nf::ExactVector& m = tb.mask_shadow()[t];
      ExactSlot x = exact_entry(random_value(m), static_cast<std::uint16_t>(gen.below(16)),
                                static_cast<rf::Action>(gen.below(3)), gen.below(4) == 0);
      x.valid = gen.below(10) != 0;
      x.reject_with = static_cast<std::uint8_t>(gen.below(256));
      const unsigned w = static_cast<unsigned>(gen.below(kSmallGeom.ways));
      switch (gen.below(20)) {
        case 0:  // anywhere
          EXPECT_FALSE(tb.ex_write(static_cast<std::uint32_t>(gen.below(kSmallGeom.entries())), x));
          break;
        case 1:  // bits outside the mask
          x.value = nf::exact_vector(gen.key_random());
          EXPECT_FALSE(
              tb.ex_write(kSmallGeom.location(t, kSmallGeom.bucket(t, x.value & m), w), x));
          break;
        default:
          tb.ex_place(t, w, x);
          break;
      }
    }
    write_random(tb, gen, 0, round % 3 == 0 ? 0 : kEntries, 16);
    tb.commit();
    // Keys: at valid exact entries, near range slots, or random.
    std::vector<std::uint32_t> valid;
    for (std::uint32_t l = 0; l < kSmallGeom.entries(); ++l) {
      if (tb.ex_active()[l].valid) valid.push_back(l);
    }
    for (unsigned i = 0; i < 1500; ++i) {
      const auto r = gen.below(10);
      if (r < 6 && !valid.empty()) {
        const std::uint32_t l = valid[gen.below(valid.size())];
        tb.key(key_hitting(tb.ex_active()[l].value, tb.mask_active()[kSmallGeom.table_of(l)]));
      } else if (r < 8) {
        const unsigned s = static_cast<unsigned>(gen.below(kEntries));
        tb.key(gen.key_near(tb.active()[s].entry));
      } else {
        tb.key(gen.key_random());
      }
      tb.step();
      if (tb.mismatches() > 10) break;
    }
    tb.drain();
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  std::printf("checked %llu keys, %llu hits\n", static_cast<unsigned long long>(tb.checked()),
              static_cast<unsigned long long>(tb.hits()));
}

// Masks and entries of the shadow rewritten and committed while a key
// enters on every cycle: each verdict is that of the bank active when its
// key entered (Tb flips its model with epoch_o and checks that commit_done_o
// follows the drain, with no write accepted meanwhile).
TEST_F(FilterExactSmall, CommitIsAtomicUnderTraffic) {
  auto traffic = [&] {
    const auto& act = tb.ex_active();
    const std::uint32_t l = static_cast<std::uint32_t>(gen.below(kSmallGeom.entries()));
    if (act[l].valid && gen.below(4) != 0) {
      tb.key(key_hitting(act[l].value, tb.mask_active()[kSmallGeom.table_of(l)]));
    } else {
      tb.key(gen.key_near(tb.active()[gen.below(kEntries)].entry));
    }
  };
  for (int round = 0; round < 20; ++round) {
    for (unsigned t = 0; t < kSmallGeom.tables; ++t) {
      EXPECT_FALSE(tb.ex_mask(t, random_mask(true), traffic));
    }
    for (unsigned i = 0; i < kSmallGeom.entries(); ++i) {
      const unsigned t = static_cast<unsigned>(gen.below(kSmallGeom.tables));
      ExactSlot x =
          exact_entry(random_value(tb.mask_shadow()[t]), static_cast<std::uint16_t>(gen.below(8)),
                      static_cast<rf::Action>(gen.below(3)));
      x.valid = gen.below(8) != 0;
      tb.ex_place(t, static_cast<unsigned>(gen.below(kSmallGeom.ways)), x, traffic);
    }
    for (unsigned s = 0; s < 8; ++s) {
      tb.write(static_cast<unsigned>(gen.below(kEntries)), gen.entry(),
               static_cast<std::uint16_t>(gen.below(8)), true, traffic);
    }
    const std::uint64_t c = tb.commit(traffic);
    EXPECT_EQ(c, tb.latency() + 1) << "an idle engine flips at once and drains in Latency cycles";
    for (int i = 0; i < 30; ++i) {
      traffic();
      tb.step();
    }
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_GT(tb.checked(), 5000u);
  EXPECT_GT(tb.hits(), 1000u);
}

// A write taken in the cycle of the commit belongs to the bank the commit
// makes active: the very first key after it sees the entry.
TEST_F(FilterExactSmall, WriteInTheCommitCycleBelongsToTheNewBank) {
  const nf::ExactVector m = field_mask({FieldId::kDport});
  install_mask(2, m);
  const ExactSlot x = exact_entry(nf::exact_vector(key_dport(99)) & m, 1);
  const std::uint32_t loc = kSmallGeom.location(2, kSmallGeom.bucket(2, x.value), 3);
  const std::uint32_t epoch = tb.m().epoch_o;
  bool committed = false;
  EXPECT_FALSE(tb.ex_write(loc, x, [&] {
    if (!committed && tb.m().ex_wr_valid_i) {
      ASSERT_TRUE(tb.m().commit_ready_o);
      tb.m().commit_i = 1;
      committed = true;
    }
    tb.key(key_dport(99));
  }));
  EXPECT_TRUE(committed);
  EXPECT_EQ(tb.m().epoch_o, epoch + 1);
  tb.key(key_dport(99), true, Verdict{true, slot_of(loc), 1, 13, false});
  tb.step();
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(FilterExactSmall, ResetSweepClearsBothBanks) {
  const nf::ExactVector m = field_mask({FieldId::kDport});
  install_mask(0, m);
  install_exact(0, 0, exact_entry(nf::exact_vector(key_dport(5)) & m, 1));
  EXPECT_TRUE(tb.classify(key_dport(5)).hit);
  bool ex_ready_seen_low = false;
  const std::uint64_t sweep = tb.reset([&] {
    tb.key(key_dport(5), true, Verdict{});
    ex_ready_seen_low |= tb.m().ex_wr_ready_o == 0;
  });
  EXPECT_TRUE(ex_ready_seen_low);
  EXPECT_GE(sweep, tb.slots());
  tb.drain();
  EXPECT_EQ(tb.classify(key_dport(5)), Verdict{});
  tb.commit();
  EXPECT_EQ(tb.classify(key_dport(5)), Verdict{});
  // Masks are back to zero: an entry of value 0 in the hashed bucket of the
  // zero vector matches every key.
  const std::uint32_t loc = tb.ex_place(1, 0, exact_entry(nf::ExactVector{}, 9));
  tb.commit();
  EXPECT_EQ(tb.classify(key_dport(12345)).slot, slot_of(loc));
  EXPECT_TRUE(tb.m().idle_o);
  EXPECT_EQ(tb.mismatches(), 0u);
}

}  // namespace
