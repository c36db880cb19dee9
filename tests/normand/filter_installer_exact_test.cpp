// FilterInstaller with the exact tables: entries whose fields are whole
// ranges or prefix blocks go to hash tables (found by the NIC's bucket hash
// in the model), the rest to range slots; first-match order must hold
// across both kinds, through edits and whole-table replacements.
#include <gtest/gtest.h>

#include <random>

#include "filter_installer.hpp"
#include "filter_model_hw.hpp"

namespace norman::normand {
namespace {

namespace rf = norman::regmap::filter;
using filter::CompiledEntry;
using filter::CounterRef;
using filter::Entry;
using filter::Key;
using filter::Program;

std::uint32_t rnd(std::mt19937& g) { return static_cast<std::uint32_t>(g()); }

CompiledEntry rule(std::uint64_t id, Entry e) {
  CompiledEntry ce;
  ce.entry = e;
  ce.path = {CounterRef{CounterRef::Kind::kRule, id, filter::Direction::kInput}};
  return ce;
}

// -s SRC/32 -p tcp --dport PORT on INPUT: the shape of a blocklist.
Entry host_port(std::uint32_t src, std::uint32_t port, rf::Action a) {
  Entry e;
  e[rf::FieldId::kSrcIp] = {src, src};
  e[rf::FieldId::kProto] = {6, 6};
  e[rf::FieldId::kDport] = {port, port};
  e.flags_mask = filter::flag_bit(rf::Flag::kDir) | filter::flag_bit(rf::Flag::kL4Valid);
  e.flags_value = filter::flag_bit(rf::Flag::kL4Valid);
  e.action = a;
  return e;
}

Key key(std::uint32_t src, std::uint32_t port) {
  Key k;
  k[rf::FieldId::kSrcIp] = src;
  k[rf::FieldId::kProto] = 6;
  k[rf::FieldId::kDport] = port;
  k.flags = filter::flag_bit(rf::Flag::kL4Valid);
  k.frame_bytes = 60;
  return k;
}

Program blocklist(std::size_t n, std::uint64_t first_id) {
  Program p;
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = static_cast<std::uint32_t>(i);
    p.entries.push_back(
        rule(first_id + i, host_port(0x0A000000u + v, 1000 + v % 60000,
                                     (i % 3 == 0) ? rf::Action::kDrop : rf::Action::kAccept)));
  }
  Entry all;  // the policy: everything else
  all.action = rf::Action::kAccept;
  CompiledEntry pol;
  pol.entry = all;
  pol.path = {CounterRef{CounterRef::Kind::kPolicy, 0, filter::Direction::kInput}};
  p.entries.push_back(pol);
  return p;
}

// The hardware's answer must be the program's first match (same entry).
void expect_verdict(ModelHw& hw, FilterInstaller& inst, const Program& p, const Key& k) {
  std::optional<std::size_t> want;
  for (std::size_t i = 0; i < p.entries.size() && !want; ++i) {
    if (filter::matches(p.entries[i].entry, k)) want = i;
  }
  const auto got = hw.lookup(k);
  ASSERT_EQ(want.has_value(), got.has_value());
  if (!want) return;
  const CompiledEntry* ce = inst.at_slot(static_cast<std::uint16_t>(*got));
  ASSERT_NE(ce, nullptr) << "slot " << *got;
  EXPECT_EQ(*ce, p.entries[*want]) << "slot " << *got << " want entry " << *want;
}

TEST(FilterInstallerExact, TenThousandRuleBlocklistFitsAndClassifiesLikeTheProgram) {
  ModelHw hw(64, filter::kExactTables);
  FilterInstaller inst(hw);
  const Program p = blocklist(10000, 1);
  inst.install(p);
  EXPECT_EQ(inst.installed(), 10001u);
  EXPECT_GE(inst.installed_exact(), 10000u);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const auto v = static_cast<std::uint32_t>(rnd(rng) % 10500);
    const bool hit = (rnd(rng) & 3) != 0;
    expect_verdict(hw, inst, p, key(0x0A000000u + v, hit ? 1000 + v % 60000 : 999));
  }
  EXPECT_TRUE(hw.banks_equal());
}

TEST(FilterInstallerExact, OneInsertIntoTenThousandWritesAFewEntries) {
  ModelHw hw(64, filter::kExactTables);
  FilterInstaller inst(hw);
  Program p = blocklist(10000, 1);
  inst.install(p);
  const std::size_t before = hw.exact_writes + hw.writes;
  p.entries.insert(p.entries.begin() + 5000,
                   rule(99999, host_port(0xC0000201u, 4242, rf::Action::kDrop)));
  const InstallStats st = inst.install(p);
  EXPECT_LE(st.written, 8u);
  EXPECT_LE(hw.exact_writes + hw.writes - before, 16u);  // both banks
  expect_verdict(hw, inst, p, key(0xC0000201u, 4242));
  expect_verdict(hw, inst, p, key(0x0A000000u + 4999, 1000 + 4999));
  EXPECT_TRUE(hw.banks_equal());
}

// Exact-form entries (points and prefixes) overlapping range entries, over
// a small key domain so that order matters; random edits in between.
TEST(FilterInstallerExact, MixedRangeAndExactEntriesKeepFirstMatchOrderThroughEdits) {
  std::mt19937 rng(11);
  ModelHw hw(512, filter::kExactTables);
  FilterInstaller inst(hw);
  std::uint64_t id = 1;
  auto random_entry = [&]() {
    Entry e;
    const unsigned kind = rnd(rng) % 4;
    const std::uint32_t src = 0x0A000000u + rnd(rng) % 64;
    const std::uint32_t port = 80 + rnd(rng) % 16;
    if (kind == 0) {
      e = host_port(src, port, rf::Action::kDrop);
    } else if (kind == 1) {  // a /28 prefix, any port
      e[rf::FieldId::kSrcIp] = {src & ~15u, src | 15u};
    } else if (kind == 2) {  // a port range: range slots only
      const std::uint32_t lo = 80 + rnd(rng) % 16;
      e[rf::FieldId::kDport] = {lo, lo + 1 + rnd(rng) % 5};
    } else {  // a negation: range slots only
      e[rf::FieldId::kSrcIp] = {src, src};
      e.neg = 1u << static_cast<unsigned>(rf::FieldId::kSrcIp);
    }
    e.action = (rnd(rng) & 1) ? rf::Action::kDrop : rf::Action::kAccept;
    return rule(id++, e);
  };
  Program p;
  for (int i = 0; i < 300; ++i) p.entries.push_back(random_entry());
  for (int round = 0; round < 30; ++round) {
    inst.install(p);
    for (int i = 0; i < 300; ++i) {
      expect_verdict(hw, inst, p, key(0x0A000000u + rnd(rng) % 70, 78 + rnd(rng) % 22));
    }
    ASSERT_TRUE(hw.banks_equal());
    // Edit: delete a block, insert a block, somewhere.
    const std::size_t at = rnd(rng) % p.entries.size();
    const std::size_t del = std::min<std::size_t>(rnd(rng) % 20, p.entries.size() - at);
    p.entries.erase(p.entries.begin() + static_cast<std::ptrdiff_t>(at),
                    p.entries.begin() + static_cast<std::ptrdiff_t>(at + del));
    const std::size_t ins = rnd(rng) % 25;
    for (std::size_t i = 0; i < ins; ++i) {
      p.entries.insert(p.entries.begin() + static_cast<std::ptrdiff_t>(at), random_entry());
    }
  }
  EXPECT_GT(inst.installed_exact(), 0u);
  EXPECT_LT(inst.installed_exact(), inst.installed());
}

TEST(FilterInstallerExact, CountersOfExactEntriesSurviveEdits) {
  ModelHw hw(64, filter::kExactTables);
  FilterInstaller inst(hw);
  Program p = blocklist(100, 1);
  inst.install(p);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(hw.lookup(key(0x0A000000u + 50, 1050)).has_value());
  const CounterRef r50{CounterRef::Kind::kRule, 51, filter::Direction::kInput};
  EXPECT_EQ(inst.counts()[r50].packets, 3u);
  // Another rule goes, one comes: rule 51 keeps its entry and its count.
  p.entries.erase(p.entries.begin() + 10);
  p.entries.insert(p.entries.begin() + 20, rule(500, host_port(0x0B000001u, 9, rf::Action::kDrop)));
  inst.install(p);
  EXPECT_EQ(inst.counts()[r50].packets, 3u);
  // Rule 51 itself changes: its old entry retires with its count.
  p.entries[50] = rule(51, host_port(0x0A000000u + 50, 2000, rf::Action::kDrop));
  inst.install(p);
  EXPECT_EQ(inst.counts()[r50].packets, 3u);
  ASSERT_TRUE(hw.lookup(key(0x0A000000u + 50, 2000)).has_value());
  EXPECT_EQ(inst.counts()[r50].packets, 4u);
}

TEST(FilterInstallerExact, ReplacementWithAnotherShapeReclaimsTables) {
  ModelHw hw(64, filter::kExactTables);
  FilterInstaller inst(hw);
  inst.install(blocklist(8000, 1));
  // Same count, another mask (/24 sources, any port): the first set's
  // tables empty as it departs and go to the new mask.
  Program q;
  for (std::uint32_t i = 0; i < 8000; ++i) {
    Entry e;
    e[rf::FieldId::kSrcIp] = {0x0C000000u + (i << 8), 0x0C000000u + (i << 8) + 255};
    e.action = rf::Action::kDrop;
    q.entries.push_back(rule(20000 + i, e));
  }
  inst.install(q);
  EXPECT_EQ(inst.installed(), 8000u);
  std::mt19937 rng(3);
  for (int i = 0; i < 500; ++i) {
    expect_verdict(hw, inst, q,
                   key(0x0C000000u + (static_cast<std::uint32_t>(rnd(rng) % 8100) << 8) + 7, 1));
  }
  EXPECT_TRUE(hw.banks_equal());
}

TEST(FilterInstallerExact, BeyondRangeAndExactRoomIsRefusedUntouched) {
  ModelHw hw(64, filter::kExactTables);
  FilterInstaller inst(hw);
  const Program ok = blocklist(1000, 1);
  inst.install(ok);
  const std::size_t writes = hw.writes + hw.exact_writes;
  try {
    inst.install(blocklist(filter::kExactEntries + 100, 1));
    FAIL() << "no CapacityError";
  } catch (const filter::CapacityError& e) {
    EXPECT_GT(e.needed, e.capacity);
    EXPECT_NE(std::string(e.what()).find("too many"), std::string::npos) << e.what();
  }
  EXPECT_EQ(hw.writes + hw.exact_writes, writes);
  expect_verdict(hw, inst, ok, key(0x0A000000u + 5, 1005));
}

}  // namespace
}  // namespace norman::normand
