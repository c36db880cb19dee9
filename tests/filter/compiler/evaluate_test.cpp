// The reference classifier on hand-written iptables scenarios: what
// iptables would decide and count for each packet.
// Designated initializers that leave the rest at its defaults are the point
// of the spec structs below; GCC warns about the omitted trailing members.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "evaluate.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace norman::filter {
namespace {

using test::chain;
using test::ip;
using test::KeySpec;
using test::make_key;
using test::make_rule;
using test::policy_ref;
using test::rule_ref;

Rule tcp_dport(std::uint64_t id, TargetKind kind, unsigned port, std::string target = {}) {
  Rule r = make_rule(id, kind, std::move(target));
  r.proto = Proto{6, false};
  r.modules = {Module::kTcp};
  r.dport = PortMatch{{port, port}, false};
  return r;
}

TEST(Evaluate, EmptyTableAppliesPolicy) {
  Ruleset rs;
  test::MapIds ids;
  auto v = evaluate(rs, make_key({}), ids);
  EXPECT_EQ(v.action, rf::Action::kAccept);
  EXPECT_EQ(v.path, std::vector<CounterRef>{policy_ref(Direction::kInput)});
  chain(rs, "OUTPUT").policy = Policy::kDrop;
  v = evaluate(rs, make_key({.dir = Direction::kOutput}), ids);
  EXPECT_EQ(v.action, rf::Action::kDrop);
  EXPECT_EQ(v.path, std::vector<CounterRef>{policy_ref(Direction::kOutput)});
}

TEST(Evaluate, JumpReturnGotoLogAndCounters) {
  // -P INPUT DROP
  // -A INPUT -j LOG                      (1)
  // -A INPUT -p tcp --dport 22 -j SSH    (2)
  // -A INPUT -p tcp -g WEB               (3)
  // -A INPUT -j ACCEPT                   (4)   never reached by tcp
  // -A SSH -s 10.0.0.0/8 -j ACCEPT       (10)
  // -A SSH -j RETURN                     (11)
  // -A SSH -j DROP                       (12)  unreachable
  // -A WEB -p tcp --dport 80 -j ACCEPT   (20)
  // -A WEB                               (21)  count only
  Ruleset rs;
  chain(rs, "INPUT").policy = Policy::kDrop;
  chain(rs, "SSH");
  chain(rs, "WEB");
  chain(rs, "INPUT").rules = {
      make_rule(1, TargetKind::kLog), tcp_dport(2, TargetKind::kJump, 22, "SSH"),
      make_rule(3, TargetKind::kGoto, "WEB"), make_rule(4, TargetKind::kAccept)};
  chain(rs, "INPUT").rules[2].proto = Proto{6, false};
  Rule from10 = make_rule(10, TargetKind::kAccept);
  from10.src = Addr{{ip(10, 0, 0, 0), 8}, false};
  chain(rs, "SSH").rules = {from10, make_rule(11, TargetKind::kReturn),
                            make_rule(12, TargetKind::kDrop)};
  chain(rs, "WEB").rules = {tcp_dport(20, TargetKind::kAccept, 80),
                            make_rule(21, TargetKind::kNone)};
  test::MapIds ids;

  const Key ssh_in = make_key({.src = ip(10, 1, 2, 3), .dport = 22});
  auto v = evaluate(rs, ssh_in, ids);
  EXPECT_EQ(v.action, rf::Action::kAccept);
  EXPECT_TRUE(v.log);
  EXPECT_EQ(v.path, (std::vector<CounterRef>{rule_ref(1), rule_ref(2), rule_ref(10)}));

  // SSH from outside: RETURN to INPUT, then goto WEB, fall off WEB: the
  // goto replaced INPUT's frame, so the end of WEB is the INPUT policy.
  const Key ssh_out = make_key({.src = ip(11, 0, 0, 1), .dport = 22});
  v = evaluate(rs, ssh_out, ids);
  EXPECT_EQ(v.action, rf::Action::kDrop);
  EXPECT_EQ(v.path, (std::vector<CounterRef>{rule_ref(1), rule_ref(2), rule_ref(11), rule_ref(3),
                                             rule_ref(21), policy_ref(Direction::kInput)}));

  const Key web = make_key({.src = ip(11, 0, 0, 1), .dport = 80});
  v = evaluate(rs, web, ids);
  EXPECT_EQ(v.action, rf::Action::kAccept);
  EXPECT_EQ(v.path, (std::vector<CounterRef>{rule_ref(1), rule_ref(3), rule_ref(20)}));

  const Key udp = make_key({.proto = 17, .src = ip(11, 0, 0, 1), .dport = 22});
  v = evaluate(rs, udp, ids);
  EXPECT_EQ(v.action, rf::Action::kAccept);
  EXPECT_EQ(v.path, (std::vector<CounterRef>{rule_ref(1), rule_ref(4)}));

  for (const Key& k : {ssh_in, ssh_out, web, udp}) count(rs, evaluate(rs, k, ids), k);
  EXPECT_EQ(chain(rs, "INPUT").rules[0].counters, (Counters{4, 400}));
  EXPECT_EQ(chain(rs, "INPUT").rules[1].counters, (Counters{2, 200}));
  EXPECT_EQ(chain(rs, "INPUT").rules[2].counters, (Counters{2, 200}));
  EXPECT_EQ(chain(rs, "INPUT").rules[3].counters, (Counters{1, 100}));
  EXPECT_EQ(chain(rs, "SSH").rules[0].counters, (Counters{1, 100}));
  EXPECT_EQ(chain(rs, "SSH").rules[1].counters, (Counters{1, 100}));
  EXPECT_EQ(chain(rs, "SSH").rules[2].counters, (Counters{0, 0}));
  EXPECT_EQ(chain(rs, "WEB").rules[1].counters, (Counters{1, 100}));
  EXPECT_EQ(chain(rs, "INPUT").policy_counters, (Counters{1, 100}));
}

TEST(Evaluate, ReturnInBuiltinChainAppliesPolicy) {
  Ruleset rs;
  chain(rs, "OUTPUT").policy = Policy::kDrop;
  chain(rs, "OUTPUT").rules = {make_rule(1, TargetKind::kReturn),
                               make_rule(2, TargetKind::kAccept)};
  test::MapIds ids;
  auto v = evaluate(rs, make_key({.dir = Direction::kOutput}), ids);
  EXPECT_EQ(v.action, rf::Action::kDrop);
  EXPECT_EQ(v.path, (std::vector<CounterRef>{rule_ref(1), policy_ref(Direction::kOutput)}));
}

TEST(Evaluate, NestedJumpsReturnToTheRightPlace) {
  // INPUT -j A; A -j B; B -j RETURN; A: -j LOG, then falls off; INPUT -j REJECT
  Ruleset rs;
  chain(rs, "A").rules = {make_rule(10, TargetKind::kJump, "B"), make_rule(11, TargetKind::kLog)};
  chain(rs, "B").rules = {make_rule(20, TargetKind::kReturn), make_rule(21, TargetKind::kDrop)};
  Rule reject = make_rule(2, TargetKind::kReject);
  reject.target.reject_with = RejectWith::kTcpReset;
  chain(rs, "INPUT").rules = {make_rule(1, TargetKind::kJump, "A"), reject};
  test::MapIds ids;
  auto v = evaluate(rs, make_key({}), ids);
  EXPECT_EQ(v.action, rf::Action::kReject);
  EXPECT_EQ(v.reject_with, rf::RejectWith::kTcpReset);
  EXPECT_TRUE(v.log);
  EXPECT_EQ(v.path, (std::vector<CounterRef>{rule_ref(1), rule_ref(10), rule_ref(20), rule_ref(11),
                                             rule_ref(2)}));
}

TEST(Evaluate, OwnerWithoutSocket) {
  Ruleset rs;
  Rule uid = make_rule(1, TargetKind::kDrop);
  uid.owner = Owner{Owner::Ids{{1000, 1000}, false}, std::nullopt, std::nullopt};
  Rule not_uid = make_rule(2, TargetKind::kReject);
  not_uid.owner = Owner{Owner::Ids{{0, 0}, true}, std::nullopt, std::nullopt};
  chain(rs, "OUTPUT").rules = {uid, not_uid};
  test::MapIds ids;
  // Owned by uid 1000: first rule.
  auto v = evaluate(rs, make_key({.dir = Direction::kOutput, .owner = true, .uid = 1000}), ids);
  EXPECT_EQ(v.path, std::vector<CounterRef>{rule_ref(1)});
  // Owned by root: neither.
  v = evaluate(rs, make_key({.dir = Direction::kOutput, .owner = true, .uid = 0}), ids);
  EXPECT_EQ(v.path, std::vector<CounterRef>{policy_ref(Direction::kOutput)});
  // Owned by uid 5: the negated rule.
  v = evaluate(rs, make_key({.dir = Direction::kOutput, .owner = true, .uid = 5}), ids);
  EXPECT_EQ(v.path, std::vector<CounterRef>{rule_ref(2)});
  // No owner: only the all-negated rule matches (as with no socket in Linux).
  v = evaluate(rs, make_key({.dir = Direction::kOutput}), ids);
  EXPECT_EQ(v.path, std::vector<CounterRef>{rule_ref(2)});

  // Mixed negation: no owner never matches.
  Rule mixed = make_rule(3, TargetKind::kDrop);
  mixed.owner = Owner{Owner::Ids{{0, 0}, true}, Owner::Ids{{50, 60}, false}, std::nullopt};
  chain(rs, "OUTPUT").rules = {mixed};
  EXPECT_EQ(evaluate(rs, make_key({.dir = Direction::kOutput}), ids).action, rf::Action::kAccept);
  EXPECT_EQ(
      evaluate(rs, make_key({.dir = Direction::kOutput, .owner = true, .uid = 3, .gid = 55}), ids)
          .action,
      rf::Action::kDrop);
  EXPECT_EQ(
      evaluate(rs, make_key({.dir = Direction::kOutput, .owner = true, .uid = 0, .gid = 55}), ids)
          .action,
      rf::Action::kAccept);
}

TEST(Evaluate, CmdOwnerAndCgroup) {
  test::MapIds ids;
  ids.cgroups = {{"/system.slice", 1}, {"/system.slice/nginx.service", 2}, {"/user.slice", 3}};
  const std::uint16_t nginx = ids.cmd_id("nginx");
  Ruleset rs;
  Rule cmd = make_rule(1, TargetKind::kAccept);
  cmd.owner = Owner{std::nullopt, std::nullopt, Owner::Name{"nginx", false}};
  Rule cg = make_rule(2, TargetKind::kReject);
  cg.cgroup = Cgroup{"/system.slice", false};
  Rule not_cg = make_rule(3, TargetKind::kDrop);
  not_cg.cgroup = Cgroup{"/user.slice", true};
  chain(rs, "INPUT").rules = {cmd, cg, not_cg};
  EXPECT_EQ(evaluate(rs, make_key({.owner = true, .cmd = nginx, .cgroup = 3}), ids).path,
            std::vector<CounterRef>{rule_ref(1)});
  EXPECT_EQ(evaluate(rs, make_key({.owner = true, .cmd = 99, .cgroup = 2}), ids).path,
            std::vector<CounterRef>{rule_ref(2)});
  EXPECT_EQ(evaluate(rs, make_key({.owner = true, .cmd = 99, .cgroup = 3}), ids).path,
            std::vector<CounterRef>{policy_ref(Direction::kInput)});
  EXPECT_EQ(evaluate(rs, make_key({.owner = true, .cmd = 99, .cgroup = 0}), ids).path,
            std::vector<CounterRef>{rule_ref(3)});
  // No owner: as xt_cgroup, both "--path" and "! --path" fail.
  EXPECT_EQ(evaluate(rs, make_key({}), ids).path, std::vector<CounterRef>{policy_ref(Direction::kInput)});
}

TEST(Evaluate, Multiport) {
  test::MapIds ids;
  Ruleset rs;
  Rule web = make_rule(1, TargetKind::kAccept);
  web.proto = Proto{6, false};
  web.modules = {Module::kMultiport};
  web.multiport =
      Multiport{Multiport::Kind::kDestination, {{80, 80}, {443, 443}, {8000, 8099}}, false};
  Rule either = make_rule(2, TargetKind::kReject);
  either.proto = Proto{17, false};
  either.modules = {Module::kMultiport};
  either.multiport = Multiport{Multiport::Kind::kEither, {{53, 53}}, false};
  Rule none = make_rule(3, TargetKind::kDrop);
  none.proto = Proto{6, false};
  none.modules = {Module::kMultiport};
  none.multiport = Multiport{Multiport::Kind::kSource, {{1, 1023}}, true};
  chain(rs, "INPUT").rules = {web, either, none};
  EXPECT_EQ(evaluate(rs, make_key({.dport = 8050}), ids).path,
            std::vector<CounterRef>{rule_ref(1)});
  EXPECT_EQ(evaluate(rs, make_key({.dport = 443}), ids).path, std::vector<CounterRef>{rule_ref(1)});
  EXPECT_EQ(evaluate(rs, make_key({.proto = 17, .sport = 53, .dport = 9}), ids).path,
            std::vector<CounterRef>{rule_ref(2)});
  EXPECT_EQ(evaluate(rs, make_key({.proto = 17, .sport = 9, .dport = 53}), ids).path,
            std::vector<CounterRef>{rule_ref(2)});
  EXPECT_EQ(evaluate(rs, make_key({.sport = 22, .dport = 9}), ids).path,
            std::vector<CounterRef>{policy_ref(Direction::kInput)});
  EXPECT_EQ(evaluate(rs, make_key({.sport = 2000, .dport = 9}), ids).path,
            std::vector<CounterRef>{rule_ref(3)});
  // Negation does not make a multiport match take fragments.
  EXPECT_EQ(evaluate(rs, make_key({.sport = 2000, .l4 = false, .frag = true}), ids).path,
            std::vector<CounterRef>{policy_ref(Direction::kInput)});
}

TEST(Evaluate, PortsTcpFlagsIcmpAndFragments) {
  test::MapIds ids;
  Ruleset rs;
  Rule not22 = make_rule(1, TargetKind::kDrop);
  not22.proto = Proto{6, false};
  not22.modules = {Module::kTcp};
  not22.dport = PortMatch{{22, 22}, true};
  not22.tcp_flags = TcpFlags{0x17, 0x02, false};  // --syn
  Rule frag = make_rule(2, TargetKind::kReject);
  frag.fragment = true;
  Rule ping = make_rule(3, TargetKind::kAccept);
  ping.proto = Proto{1, false};
  ping.modules = {Module::kIcmp};
  ping.icmp = IcmpType{8, std::nullopt, false};
  Rule not_udp = make_rule(4, TargetKind::kLog);
  not_udp.proto = Proto{17, true};
  chain(rs, "INPUT").rules = {not22, frag, ping, not_udp};
  // SYN to 80: dropped; SYN+ACK: not --syn; 22: negated port.
  EXPECT_EQ(evaluate(rs, make_key({.dport = 80, .tcp_flags = 0x02}), ids).path,
            std::vector<CounterRef>{rule_ref(1)});
  EXPECT_EQ(evaluate(rs, make_key({.dport = 80, .tcp_flags = 0x12}), ids).path,
            (std::vector<CounterRef>{rule_ref(4), policy_ref(Direction::kInput)}));
  EXPECT_EQ(evaluate(rs, make_key({.dport = 22, .tcp_flags = 0x02}), ids).path,
            (std::vector<CounterRef>{rule_ref(4), policy_ref(Direction::kInput)}));
  // A later fragment never matches a port match, negated or not.
  EXPECT_EQ(evaluate(rs, make_key({.l4 = false, .frag = true}), ids).path,
            std::vector<CounterRef>{rule_ref(2)});
  // A first fragment without its TCP header (truncated): no port match either.
  EXPECT_EQ(evaluate(rs, make_key({.dport = 0, .l4 = false, .tcp_flags = 0}), ids).path,
            (std::vector<CounterRef>{rule_ref(4), policy_ref(Direction::kInput)}));
  EXPECT_EQ(evaluate(rs, make_key({.proto = 1, .sport = 0x0800}), ids).path,
            std::vector<CounterRef>{rule_ref(3)});
  EXPECT_EQ(evaluate(rs, make_key({.proto = 1, .sport = 0x0000}), ids).path,
            (std::vector<CounterRef>{rule_ref(4), policy_ref(Direction::kInput)}));
  EXPECT_EQ(evaluate(rs, make_key({.proto = 17}), ids).path,
            std::vector<CounterRef>{policy_ref(Direction::kInput)});
}

TEST(Evaluate, InterfacesAndAddresses) {
  test::MapIds ids;
  Ruleset rs;
  Rule nic1 = make_rule(1, TargetKind::kAccept);
  nic1.in = Iface{"nic1", false};
  Rule not_any = make_rule(2, TargetKind::kDrop);
  not_any.in = Iface{"nic+", true};
  Rule src = make_rule(3, TargetKind::kReject);
  src.src = Addr{{ip(192, 168, 0, 0), 16}, true};
  chain(rs, "INPUT").rules = {nic1, not_any, src};
  Rule out0 = make_rule(4, TargetKind::kDrop);
  out0.out = Iface{"nic0", false};
  out0.dst = Addr{{ip(8, 8, 8, 8), 32}, false};
  chain(rs, "OUTPUT").rules = {out0};
  EXPECT_EQ(evaluate(rs, make_key({.iface = 1}), ids).path, std::vector<CounterRef>{rule_ref(1)});
  EXPECT_EQ(evaluate(rs, make_key({.iface = 0, .src = ip(192, 168, 3, 4)}), ids).path,
            std::vector<CounterRef>{policy_ref(Direction::kInput)});
  EXPECT_EQ(evaluate(rs, make_key({.iface = 0, .src = ip(192, 169, 3, 4)}), ids).path,
            std::vector<CounterRef>{rule_ref(3)});
  EXPECT_EQ(
      evaluate(rs, make_key({.dir = Direction::kOutput, .iface = 0, .dst = ip(8, 8, 8, 8)}), ids)
          .path,
      std::vector<CounterRef>{rule_ref(4)});
  EXPECT_EQ(
      evaluate(rs, make_key({.dir = Direction::kOutput, .iface = 1, .dst = ip(8, 8, 8, 8)}), ids)
          .path,
      std::vector<CounterRef>{policy_ref(Direction::kOutput)});
}

}  // namespace
}  // namespace norman::filter
