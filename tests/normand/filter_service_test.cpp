// normand's filter service: nfw commands and restores compiled and kept on
// a register-level model of the overlay; verdicts and per-rule counters
// against the reference classifier; incremental updates; -Z; restore with
// counters; refusals that change nothing.
#include "filter_service.hpp"

#include <gtest/gtest.h>

#include <random>

#include "evaluate.hpp"
#include "filter_model_hw.hpp"
#include "syntax.hpp"

namespace norman::normand {
namespace {

namespace rf = norman::regmap::filter;

filter::Command cmd(const std::string& line) {
  const auto args = nfw::split_line(line);
  return nfw::parse_command(args);
}

Key udp_key(std::uint16_t dport, std::optional<std::uint32_t> uid,
            filter::Direction dir = filter::Direction::kInput) {
  Key k;
  k[rf::FieldId::kProto] = 17;
  k[rf::FieldId::kDport] = dport;
  k[rf::FieldId::kSport] = 40000;
  k.flags = filter::flag_bit(rf::Flag::kL4Valid);
  if (dir == filter::Direction::kOutput) k.flags |= filter::flag_bit(rf::Flag::kDir);
  if (uid) {
    k.flags |= filter::flag_bit(rf::Flag::kOwnerValid);
    k[rf::FieldId::kUid] = *uid;
    k[rf::FieldId::kGid] = *uid;
  }
  k.frame_bytes = 60;
  return k;
}

class FilterServiceTest : public ::testing::Test {
 protected:
  ModelHw hw{4096};
  OwnerRegistry owners;
  FilterService svc{hw, owners, 2};

  // The hardware's verdict for k (and it counts the hit).
  rf::Action verdict(const Key& k) {
    const auto slot = hw.lookup(k);
    return slot ? hw.active_slot(*slot).e.action : rf::Action::kAccept;
  }
};

TEST_F(FilterServiceTest, OwnerRulesGiveTheReferenceVerdictsAndCounters) {
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 5432 -m owner ! --uid-owner 1000 -j DROP")));
  ASSERT_TRUE(
      svc.command(cmd("-A OUTPUT -p udp --dport 5432 -m owner ! --uid-owner 1000 -j DROP")));
  ASSERT_TRUE(svc.command(cmd("-P INPUT ACCEPT")));
  filter::Ruleset ref = svc.snapshot();
  RegistryOwnerIds ids(owners);
  std::mt19937 rng(1);
  for (int i = 0; i < 500; ++i) {
    const auto dir = (rng() & 1) ? filter::Direction::kInput : filter::Direction::kOutput;
    const std::uint16_t port = (rng() & 1) ? 5432 : 80;
    std::optional<std::uint32_t> uid;
    if (rng() % 3 != 0) uid = (rng() & 1) ? 1000 : 1001;
    const Key k = udp_key(port, uid, dir);
    const auto v = filter::evaluate(ref, k, ids);
    EXPECT_EQ(verdict(k), v.action)
        << "port " << port << " uid " << (uid ? std::to_string(*uid) : "none");
    filter::count(ref, v, k);
  }
  const auto got = svc.snapshot();
  for (const char* chain : {"INPUT", "OUTPUT"}) {
    EXPECT_EQ(got.find(chain)->rules[0].counters, ref.find(chain)->rules[0].counters) << chain;
    EXPECT_EQ(got.find(chain)->policy_counters, ref.find(chain)->policy_counters) << chain;
  }
  EXPECT_GT(got.find("INPUT")->rules[0].counters.packets, 0u);
}

TEST_F(FilterServiceTest, OneInsertIntoAThousandRulesWritesOneSlotPerBank) {
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(
        svc.command(cmd("-A INPUT -p tcp --dport " + std::to_string(1000 + i) + " -j DROP")));
  }
  EXPECT_EQ(svc.status().entries, 1002u);  // + the two policies
  ASSERT_TRUE(svc.command(cmd("-I INPUT 500 -p tcp --dport 22 -j ACCEPT")));
  EXPECT_LE(svc.status().last.written, 4u);
  ASSERT_TRUE(svc.command(cmd("-D INPUT 500")));
  EXPECT_LE(svc.status().last.written, 1u);
  EXPECT_EQ(svc.status().last.removed, 1u);
  // -C answers without changing anything.
  const auto gen = svc.generation();
  EXPECT_TRUE(svc.command(cmd("-C INPUT -p tcp --dport 1005 -j DROP")));
  EXPECT_FALSE(svc.command(cmd("-C INPUT -p tcp --dport 9 -j DROP")));
  EXPECT_EQ(svc.generation(), gen);
}

TEST_F(FilterServiceTest, CountersSurviveEditsAndZeroResetsThem) {
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j ACCEPT")));
  for (int i = 0; i < 7; ++i) verdict(udp_key(53, std::nullopt));
  // Edits elsewhere rewrite entries around rule 1; its count must stay.
  ASSERT_TRUE(svc.command(cmd("-I INPUT 1 -p udp --dport 54 -j DROP")));
  ASSERT_TRUE(svc.command(cmd("-P INPUT DROP")));
  verdict(udp_key(53, std::nullopt));
  auto rs = svc.snapshot();
  EXPECT_EQ(rs.find("INPUT")->rules[1].counters.packets, 8u);
  EXPECT_EQ(rs.find("INPUT")->rules[1].counters.bytes, 480u);
  ASSERT_TRUE(svc.command(cmd("-Z INPUT")));
  EXPECT_EQ(svc.snapshot().find("INPUT")->rules[1].counters.packets, 0u);
  verdict(udp_key(53, std::nullopt));
  verdict(udp_key(9, std::nullopt));  // the policy
  rs = svc.snapshot();
  EXPECT_EQ(rs.find("INPUT")->rules[1].counters.packets, 1u);
  EXPECT_EQ(rs.find("INPUT")->policy_counters.packets, 1u);
}

TEST_F(FilterServiceTest, ReplaceKeepsTheFilesCountersAndRefusesAStaleBase) {
  filter::Ruleset rs;
  std::uint64_t none = 0;
  nfw::apply_restore(
      rs,
      nfw::parse_restore("*filter\n:INPUT DROP [5:500]\n:OUTPUT ACCEPT [0:0]\n"
                         "[3:300] -A INPUT -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT\n"),
      false, true, [&none] { return none; });
  const auto gen = svc.generation();
  svc.replace(rs, gen, true);
  auto got = svc.snapshot();
  EXPECT_EQ(got.find("INPUT")->rules[0].counters.packets, 3u);
  EXPECT_EQ(got.find("INPUT")->policy_counters.bytes, 500u);
  verdict(udp_key(53, std::nullopt));
  EXPECT_EQ(svc.snapshot().find("INPUT")->rules[0].counters.packets, 4u);
  try {
    svc.replace(rs, gen, false);
    ADD_FAILURE() << "a stale generation was accepted";
  } catch (const filter::CommandError& e) {
    EXPECT_EQ(e.errno_value, EAGAIN);
  }
}

TEST_F(FilterServiceTest, RefusalsChangeNothing) {
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p tcp --dport 22 -j ACCEPT")));
  const auto gen = svc.generation();
  const auto writes = hw.writes;
  EXPECT_THROW(svc.command(cmd("-A OUTPUT -i nic0 -j DROP")), std::exception);
  filter::Ruleset big;
  for (int i = 0; i < 5000; ++i) {
    filter::Rule r;
    r.proto = filter::Proto{6, false};
    r.modules = {filter::Module::kTcp};
    r.dport =
        filter::PortMatch{{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)}, false};
    r.target.kind = filter::TargetKind::kDrop;
    big.find("INPUT")->rules.push_back(r);
  }
  try {
    svc.replace(big, std::nullopt, false);
    ADD_FAILURE() << "5000 rules fit 4096 slots?";
  } catch (const filter::CapacityError& e) {
    EXPECT_NE(std::string(e.what()).find("too many"), std::string::npos) << e.what();
  }
  EXPECT_EQ(svc.generation(), gen);
  EXPECT_EQ(hw.writes, writes);
  EXPECT_EQ(svc.snapshot().find("INPUT")->rules.size(), 1u);
  // REJECT on OUTPUT is fine: the application gets an error completion.
  EXPECT_TRUE(svc.command(cmd("-A OUTPUT -p udp --dport 9 -j REJECT")));
}

TEST_F(FilterServiceTest, LogRulesOnAnEntrysPathGiveTheirPrefixes) {
  ASSERT_TRUE(svc.command(cmd("-N audit")));
  ASSERT_TRUE(svc.command(cmd("-A audit -j LOG --log-prefix \"audit: \"")));
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j LOG --log-prefix \"dns: \"")));
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j audit")));
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j DROP")));
  const auto slot = hw.lookup(udp_key(53, std::nullopt));
  ASSERT_TRUE(slot);
  EXPECT_TRUE(hw.active_slot(*slot).e.log);
  EXPECT_EQ(hw.active_slot(*slot).e.action, rf::Action::kDrop);
  EXPECT_EQ(svc.log_prefixes(static_cast<std::uint16_t>(*slot)),
            (std::vector<std::string>{"dns: ", "audit: "}));
  const auto other = hw.lookup(udp_key(54, std::nullopt));
  ASSERT_TRUE(other);  // the policy
  EXPECT_TRUE(svc.log_prefixes(static_cast<std::uint16_t>(*other)).empty());
}

}  // namespace
}  // namespace norman::normand
