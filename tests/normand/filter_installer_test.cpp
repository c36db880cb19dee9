// FilterInstaller against a register-level model of the overlay's host
// interface: FILTER_WRITE arguments are decoded field by field (as the RTL
// does), two banks, commit, per-slot counters. Checks that the installed
// slots classify exactly like the program's first-match order, that edits
// write only what changed, and that rule counters survive edits.
#include "filter_installer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "filter_model_hw.hpp"

namespace norman::normand {
namespace {

namespace rf = norman::regmap::filter;
using filter::CompiledEntry;
using filter::CounterRef;
using filter::Counters;
using filter::Entry;
using filter::Key;
using filter::Program;

// Entry i matches destination ports [lo, hi] (and nothing else is checked),
// so overlapping entries make the order matter.
CompiledEntry port_entry(std::uint32_t lo, std::uint32_t hi, rf::Action a, std::uint64_t rule) {
  CompiledEntry ce;
  ce.entry[rf::FieldId::kDport] = {lo, hi};
  ce.entry.action = a;
  ce.path = {CounterRef{CounterRef::Kind::kRule, rule, filter::Direction::kInput}};
  return ce;
}

Key port_key(std::uint32_t port) {
  Key k;
  k[rf::FieldId::kDport] = port;
  k.frame_bytes = 100;
  return k;
}

// What the program says for a key: the first matching entry's index.
std::optional<std::size_t> program_lookup(const Program& p, const Key& k) {
  for (std::size_t i = 0; i < p.entries.size(); ++i) {
    if (filter::matches(p.entries[i].entry, k)) return i;
  }
  return std::nullopt;
}

void expect_same_verdicts(ModelHw& hw, const Program& p, std::mt19937& rng) {
  std::uniform_int_distribution<std::uint32_t> port(0, 2000);
  for (int i = 0; i < 300; ++i) {
    const Key k = port_key(port(rng));
    const auto want = program_lookup(p, k);
    const auto got = hw.lookup(k);
    ASSERT_EQ(want.has_value(), got.has_value()) << "port " << k[rf::FieldId::kDport];
    if (want) {
      EXPECT_EQ(hw.active_slot(*got).e, p.entries[*want].entry)
          << "port " << k[rf::FieldId::kDport];
    }
  }
  EXPECT_TRUE(hw.banks_equal());
}

Program random_program(std::mt19937& rng, std::size_t n, std::uint64_t& next_rule) {
  Program p;
  std::uniform_int_distribution<std::uint32_t> lo(0, 1900);
  std::uniform_int_distribution<std::uint32_t> len(0, 150);
  for (std::size_t i = 0; i < n; ++i) {
    const auto l = lo(rng);
    p.entries.push_back(port_entry(
        l, l + len(rng), (rng() & 1) ? rf::Action::kDrop : rf::Action::kAccept, next_rule++));
  }
  return p;
}

TEST(FilterInstaller, InstalledSlotsClassifyLikeTheProgram) {
  std::mt19937 rng(1);
  ModelHw hw(512);
  FilterInstaller inst(hw);
  std::uint64_t rule = 1;
  const Program p = random_program(rng, 300, rule);
  const auto st = inst.install(p);
  EXPECT_EQ(st.written, 300u);
  EXPECT_EQ(hw.commits, 1u);
  EXPECT_EQ(hw.writes, 600u);  // both banks
  expect_same_verdicts(hw, p, rng);
}

TEST(FilterInstaller, InsertAndDeleteWriteOnlyWhatChanged) {
  std::mt19937 rng(2);
  ModelHw hw(4096);
  FilterInstaller inst(hw);
  std::uint64_t rule = 1;
  Program p = random_program(rng, 3000, rule);
  inst.install(p);
  std::size_t total_written = 0;
  for (int round = 0; round < 200; ++round) {
    const std::size_t at = std::uniform_int_distribution<std::size_t>(0, p.entries.size())(rng);
    if ((rng() % 3) != 0 || p.entries.size() < 10) {
      p.entries.insert(
          p.entries.begin() + static_cast<std::ptrdiff_t>(at),
          port_entry(100, 200 + static_cast<std::uint32_t>(round), rf::Action::kDrop, rule++));
    } else {
      p.entries.erase(p.entries.begin() +
                      static_cast<std::ptrdiff_t>(std::min(at, p.entries.size() - 1)));
    }
    const auto st = inst.install(p);
    total_written += st.written;
    // One entry plus, rarely, a few neighbours re-spaced: never the table.
    EXPECT_LE(st.written, 64u) << "round " << round;
    if (round % 50 == 0) expect_same_verdicts(hw, p, rng);
  }
  expect_same_verdicts(hw, p, rng);
  EXPECT_LT(total_written, 200u * 4);
}

TEST(FilterInstaller, RepeatedInsertsAtOnePlaceKeepWorking) {
  std::mt19937 rng(3);
  ModelHw hw(4096);
  FilterInstaller inst(hw);
  std::uint64_t rule = 1;
  Program p = random_program(rng, 100, rule);
  inst.install(p);
  for (int i = 0; i < 2000;
       ++i) {  // always right after entry 50: gaps run out, neighbours get re-spaced
    p.entries.insert(p.entries.begin() + 51,
                     port_entry(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i) + 3,
                                rf::Action::kDrop, rule++));
    inst.install(p);
  }
  expect_same_verdicts(hw, p, rng);
}

TEST(FilterInstaller, RuleCountersSurviveOtherEditsAndRetiredEntries) {
  std::mt19937 rng(4);
  ModelHw hw(64);
  FilterInstaller inst(hw);
  Program p;
  p.entries.push_back(port_entry(10, 10, rf::Action::kDrop, 1));
  p.entries.push_back(port_entry(20, 20, rf::Action::kAccept, 2));
  inst.install(p);
  for (int i = 0; i < 5; ++i) hw.lookup(port_key(10));
  for (int i = 0; i < 3; ++i) hw.lookup(port_key(20));
  // Rule 1 moves (re-written entry with a different range): its old entry
  // retires with 5 hits, which must stay on rule 1.
  p.entries[0] = port_entry(10, 11, rf::Action::kDrop, 1);
  p.entries.insert(p.entries.begin(), port_entry(30, 30, rf::Action::kDrop, 3));
  inst.install(p);
  hw.lookup(port_key(11));
  auto c = inst.counts();
  const CounterRef r1{CounterRef::Kind::kRule, 1, filter::Direction::kInput};
  const CounterRef r2{CounterRef::Kind::kRule, 2, filter::Direction::kInput};
  EXPECT_EQ(c[r1].packets, 6u);
  EXPECT_EQ(c[r1].bytes, 600u);
  EXPECT_EQ(c[r2].packets, 3u);
  inst.drop_retired({r1});
  EXPECT_EQ(inst.counts()[r1].packets, 1u);
}

TEST(FilterInstaller, FullTableIsReplacedInPlaceAndTooBigIsRefusedUntouched) {
  std::mt19937 rng(5);
  ModelHw hw(256);
  FilterInstaller inst(hw);
  std::uint64_t rule = 1;
  const Program a = random_program(rng, 200, rule);
  inst.install(a);
  const Program b = random_program(rng, 200, rule);  // 200 kept + 200 new > 256: slots are reused
  inst.install(b);
  expect_same_verdicts(hw, b, rng);
  const Program big = random_program(rng, 257, rule);
  const std::size_t writes = hw.writes;
  EXPECT_THROW(inst.install(big), filter::CapacityError);
  EXPECT_EQ(hw.writes, writes);
  expect_same_verdicts(hw, b, rng);
}

}  // namespace
}  // namespace norman::normand
