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

// Single-rule commands edit the table in place: a refused one must leave it
// (and the compiled state) as it was, and later commands must compile as if
// it had never happened.
TEST_F(FilterServiceTest, RefusedEditsArePutBackAndLaterEditsAgree) {
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(
        svc.command(cmd("-A INPUT -p udp --dport " + std::to_string(1000 + i) + " -j DROP")));
  }
  const auto gen = svc.generation();
  const auto before = svc.snapshot();
  EXPECT_THROW(svc.command(cmd("-I INPUT 10 -i nic9 -j ACCEPT")), filter::CompileError);
  EXPECT_THROW(svc.command(cmd("-A INPUT -i nic9 -j ACCEPT")), filter::CompileError);
  EXPECT_THROW(svc.command(cmd("-R INPUT 5 -i nic9 -j ACCEPT")), filter::CompileError);
  EXPECT_THROW(svc.command(cmd("-D INPUT 41")), filter::CommandError);
  EXPECT_EQ(svc.generation(), gen);
  const auto after = svc.snapshot();
  ASSERT_EQ(after.find("INPUT")->rules.size(), 40u);
  for (std::size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(after.find("INPUT")->rules[i].id, before.find("INPUT")->rules[i].id);
    EXPECT_TRUE(after.find("INPUT")->rules[i].same_spec(before.find("INPUT")->rules[i]));
  }
  ASSERT_TRUE(svc.command(cmd("-I INPUT 10 -p udp --dport 1020 -j ACCEPT")));
  ASSERT_TRUE(svc.command(cmd("-R INPUT 5 -p udp --dport 1030 -j ACCEPT")));
  ASSERT_TRUE(svc.command(cmd("-D INPUT -p udp --dport 1001 -j DROP")));
  ASSERT_TRUE(svc.command(cmd("-P INPUT DROP")));
  ASSERT_TRUE(svc.command(cmd("-N app")));
  ASSERT_TRUE(svc.command(cmd("-A app -p udp --dport 1039 -j ACCEPT")));
  ASSERT_TRUE(svc.command(cmd("-I INPUT 1 -p udp --dport 1035:1039 -j app")));
  ASSERT_TRUE(svc.command(cmd("-E app app2")));
  const filter::Ruleset rs = svc.snapshot();
  RegistryOwnerIds ids(owners);
  for (std::uint16_t port = 995; port < 1045; ++port) {
    const Key k = udp_key(port, std::nullopt);
    EXPECT_EQ(verdict(k), filter::evaluate(rs, k, ids).action) << "port " << port;
  }
  EXPECT_EQ(svc.status().entries, filter::compile(rs, ids, {}).entries.size());
}

// A restore keeps the ids of rules it names by id, whatever they now say;
// refused, it must not leave those rules behind in what the next command
// compiles.
TEST_F(FilterServiceTest, RefusedRestoreKeepsTheCurrentRules) {
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 1 -j DROP")));
  filter::Ruleset big = svc.snapshot();
  filter::Rule& kept = big.find("INPUT")->rules[0];  // same id, other rule
  kept.dport = filter::PortMatch{{2, 2}, false};
  kept.target.kind = filter::TargetKind::kAccept;
  for (int i = 0; i < 5000; ++i) {
    filter::Rule r;
    r.proto = filter::Proto{6, false};
    r.modules = {filter::Module::kTcp};
    r.dport =
        filter::PortMatch{{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)}, false};
    r.target.kind = filter::TargetKind::kDrop;
    big.find("INPUT")->rules.push_back(r);
  }
  EXPECT_THROW(svc.replace(big, std::nullopt, false), filter::CapacityError);
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 3 -j DROP")));
  EXPECT_EQ(verdict(udp_key(1, std::nullopt)), rf::Action::kDrop);
  EXPECT_EQ(verdict(udp_key(2, std::nullopt)), rf::Action::kAccept);
  EXPECT_EQ(verdict(udp_key(3, std::nullopt)), rf::Action::kDrop);
}

// A rule the NIC had no room for takes its id along: the next rule, another
// one, must not be compiled as that one.
TEST_F(FilterServiceTest, RuleRefusedForCapacityLeavesNoTrace) {
  filter::Ruleset full;
  for (int i = 0; i < 4093; ++i) {  // + the two policies: one slot left
    filter::Rule r;
    r.proto = filter::Proto{6, false};
    r.modules = {filter::Module::kTcp};
    r.dport =
        filter::PortMatch{{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)}, false};
    r.target.kind = filter::TargetKind::kDrop;
    full.find("INPUT")->rules.push_back(r);
  }
  svc.replace(full, std::nullopt, false);
  // Source or destination port: two entries.
  EXPECT_THROW(svc.command(cmd("-I INPUT 5 -p udp -m multiport --ports 20:21 -j DROP")),
               filter::CapacityError);
  ASSERT_TRUE(svc.command(cmd("-I INPUT 5 -p udp --dport 8 -j REJECT")));
  EXPECT_EQ(verdict(udp_key(8, std::nullopt)), rf::Action::kReject);
  EXPECT_EQ(verdict(udp_key(20, std::nullopt)), rf::Action::kAccept);
  ASSERT_TRUE(svc.command(cmd("-D INPUT 1")));
  ASSERT_TRUE(svc.command(cmd("-D INPUT 1")));
  ASSERT_TRUE(svc.command(cmd("-I INPUT 5 -p udp -m multiport --ports 20:21 -j DROP")));
  EXPECT_EQ(verdict(udp_key(20, std::nullopt)), rf::Action::kDrop);
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

// check() (nfw-restore --test) refuses what replace() refuses, for the same
// reasons, and changes nothing: not the table, not the NIC, not the
// generation.
TEST_F(FilterServiceTest, CheckRefusesWhatReplaceRefusesAndChangesNothing) {
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j ACCEPT")));
  const auto gen = svc.generation();
  const auto writes = hw.writes;
  filter::Ruleset lo = svc.snapshot();
  lo.find("INPUT")->rules.push_back(*cmd("-A INPUT -i nic7 -j ACCEPT").rule);
  std::string check_error;
  std::string replace_error;
  try {
    svc.check(lo);
  } catch (const filter::CompileError& e) {
    check_error = e.what();
  }
  EXPECT_NE(check_error.find("unknown interface nic7"), std::string::npos) << check_error;
  EXPECT_EQ(svc.generation(), gen);
  EXPECT_EQ(hw.writes, writes);
  try {
    svc.replace(lo, std::nullopt, false);
  } catch (const filter::CompileError& e) {
    replace_error = e.what();
  }
  EXPECT_EQ(replace_error, check_error);

  filter::Ruleset big;
  for (int i = 0; i < 5000; ++i) {
    big.find("INPUT")->rules.push_back(
        *cmd("-A INPUT -p tcp --dport " + std::to_string(i + 1) + " ! -s 10.0.0.0/8 -j DROP").rule);
  }
  EXPECT_THROW(svc.check(big), filter::CapacityError);
  // A table that fits passes and is not installed.
  filter::Ruleset good = svc.snapshot();
  good.find("OUTPUT")->rules.push_back(*cmd("-A OUTPUT -p udp --dport 9 -j DROP").rule);
  svc.check(good);
  EXPECT_EQ(svc.generation(), gen);
  EXPECT_EQ(hw.writes, writes);
  EXPECT_TRUE(svc.snapshot().find("OUTPUT")->rules.empty());
}

// Connection tracking is not on the NIC yet: -m state / -m conntrack rules
// are refused alike by check() (nfw-restore --test), replace() (the load)
// and a command (nfw -A), with one message, and nothing changes.
TEST_F(FilterServiceTest, ConnectionTrackingIsRefusedAlikeEverywhere) {
  ASSERT_TRUE(svc.command(cmd("-A INPUT -p udp --dport 53 -j ACCEPT")));
  const auto gen = svc.generation();
  const auto writes = hw.writes;
  filter::Ruleset ct = svc.snapshot();
  ct.find("INPUT")->rules.insert(
      ct.find("INPUT")->rules.begin(),
      *cmd("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT").rule);
  auto error_of = [](auto&& f) {
    try {
      f();
    } catch (const filter::CompileError& e) {
      return std::string(e.what());
    }
    return std::string("<accepted>");
  };
  const std::string check_error = error_of([&] { svc.check(ct); });
  EXPECT_NE(check_error.find("connection tracking is not on the NIC yet"), std::string::npos)
      << check_error;
  EXPECT_EQ(error_of([&] { svc.replace(ct, std::nullopt, false); }), check_error);
  const std::string command_error =
      error_of([&] { (void)svc.command(cmd("-I INPUT -m state --state NEW -j ACCEPT")); });
  EXPECT_NE(command_error.find("connection tracking is not on the NIC yet"), std::string::npos)
      << command_error;
  EXPECT_EQ(svc.generation(), gen);
  EXPECT_EQ(hw.writes, writes);
  EXPECT_EQ(svc.snapshot().find("INPUT")->rules.size(), 1u);
}

}  // namespace
}  // namespace norman::normand
