// What the compiler refuses (loops, unknown interfaces, -i/-o in the wrong
// direction, missing ids, too many entries) and how it copes with sizes that
// matter: a realistic table near the NIC's 4096 entries, and 10,000 rules.
#include <gtest/gtest.h>

#include <chrono>

#include "compiler.hpp"
#include "evaluate.hpp"
#include "random_rules.hpp"
#include "test_util.hpp"

namespace norman::filter {
namespace {

using test::chain;
using test::ip;
using test::make_rule;

std::string compile_error(const Ruleset& rs, const CompileOptions& opt = {}) {
  test::MapIds ids;
  try {
    (void)compile(rs, ids, opt);
  } catch (const CompileError& e) {
    return e.what();
  }
  return "";
}

TEST(CompilerErrors, Loops) {
  Ruleset rs;
  chain(rs, "A").rules = {make_rule(10, TargetKind::kJump, "B")};
  chain(rs, "B").rules = {make_rule(20, TargetKind::kAccept),
                          make_rule(21, TargetKind::kGoto, "A")};
  chain(rs, "INPUT").rules = {make_rule(1, TargetKind::kJump, "A")};
  const std::string msg = compile_error(rs);
  EXPECT_NE(msg.find("Too many levels of links"), std::string::npos) << msg;
  EXPECT_NE(msg.find("A -> B -> A"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(chain B, rule 2)"), std::string::npos) << msg;
  // The classifier refuses to walk it too.
  test::MapIds ids;
  EXPECT_THROW((void)evaluate(rs, test::make_key({}), ids), CompileError);

  // A loop nothing reaches is still a loop (iptables checks every chain).
  Ruleset self;
  chain(self, "S").rules = {make_rule(5, TargetKind::kJump, "S")};
  EXPECT_NE(compile_error(self).find("Too many levels of links: S -> S (chain S, rule 1)"),
            std::string::npos);
}

TEST(CompilerErrors, Targets) {
  Ruleset rs;
  chain(rs, "INPUT").rules = {make_rule(1, TargetKind::kAccept),
                              make_rule(2, TargetKind::kJump, "NOPE")};
  EXPECT_NE(compile_error(rs).find("NOPE"), std::string::npos);
  EXPECT_NE(compile_error(rs).find("(chain INPUT, rule 2)"), std::string::npos);
  chain(rs, "INPUT").rules[1].target.chain = "OUTPUT";
  EXPECT_NE(compile_error(rs).find("built-in chain OUTPUT"), std::string::npos);
}

TEST(CompilerErrors, Interfaces) {
  Ruleset rs;
  Rule eth = make_rule(1, TargetKind::kAccept);
  eth.in = Iface{"eth0", false};
  chain(rs, "INPUT").rules = {eth};
  EXPECT_EQ(
      compile_error(rs),
      "nfw: unknown interface eth0: the NIC's interfaces are nic0, nic1 (chain INPUT, rule 1)");
  chain(rs, "INPUT").rules[0].in = Iface{"nic2", true};
  EXPECT_NE(compile_error(rs).find("unknown interface nic2"), std::string::npos);
  EXPECT_EQ(compile_error(rs, CompileOptions{4096, 3}), "");
  chain(rs, "INPUT").rules[0].in = Iface{"eth+", false};
  EXPECT_NE(compile_error(rs).find("unknown interface eth+"), std::string::npos);
  chain(rs, "INPUT").rules[0].in = Iface{"nic01", false};
  EXPECT_NE(compile_error(rs).find("unknown interface nic01"), std::string::npos);
  chain(rs, "INPUT").rules[0].in = Iface{"nic+", false};
  EXPECT_EQ(compile_error(rs), "");
}

TEST(CompilerErrors, InterfaceDirections) {
  Ruleset rs;
  Rule in = make_rule(1, TargetKind::kAccept);
  in.in = Iface{"nic0", false};
  chain(rs, "OUTPUT").rules = {in};
  EXPECT_EQ(compile_error(rs), "nfw: Can't use -i with OUTPUT (chain OUTPUT, rule 1)");

  // A user chain called from OUTPUT (through another one) inherits it.
  Ruleset user;
  chain(user, "A").rules = {make_rule(10, TargetKind::kGoto, "B")};
  chain(user, "B").rules = {make_rule(20, TargetKind::kAccept), in};
  chain(user, "B").rules[1].id = 21;
  chain(user, "OUTPUT").rules = {make_rule(2, TargetKind::kJump, "A")};
  EXPECT_EQ(compile_error(user),
            "nfw: Can't use -i with OUTPUT (chain B, rule 2), reached from OUTPUT");
  // Called from INPUT only: fine.
  chain(user, "OUTPUT").rules.clear();
  chain(user, "INPUT").rules = {make_rule(2, TargetKind::kJump, "A")};
  EXPECT_EQ(compile_error(user), "");

  Rule out = make_rule(3, TargetKind::kDrop);
  out.out = Iface{"nic1", false};
  chain(user, "A").rules.push_back(out);
  EXPECT_EQ(compile_error(user),
            "nfw: Can't use -o with INPUT (chain A, rule 2), reached from INPUT");
}

TEST(CompilerErrors, RuleIds) {
  Ruleset rs;
  chain(rs, "INPUT").rules = {make_rule(1, TargetKind::kAccept), make_rule(0, TargetKind::kAccept)};
  EXPECT_EQ(compile_error(rs), "nfw: rule has no id (chain INPUT, rule 2)");
  chain(rs, "OUTPUT").rules = {make_rule(7, TargetKind::kAccept),
                               make_rule(1, TargetKind::kAccept)};
  chain(rs, "INPUT").rules[1].id = 7;
  EXPECT_EQ(compile_error(rs), "nfw: rule id 7 used twice (chain OUTPUT, rule 1)");
}

TEST(CompilerErrors, PortsNeedTcpOrUdp) {
  Ruleset rs;
  Rule r = make_rule(1, TargetKind::kAccept);
  r.dport = PortMatch{{80, 80}, false};
  chain(rs, "INPUT").rules = {r};
  EXPECT_NE(compile_error(rs).find("need -p tcp or -p udp"), std::string::npos);
  chain(rs, "INPUT").rules[0].proto = Proto{132, false};  // sctp: no ports in the key
  EXPECT_NE(compile_error(rs).find("need -p tcp or -p udp"), std::string::npos);
  chain(rs, "INPUT").rules[0].proto = Proto{17, false};
  EXPECT_EQ(compile_error(rs), "");
  chain(rs, "INPUT").rules[0].tcp_flags = TcpFlags{0x17, 0x02, false};
  EXPECT_NE(compile_error(rs).find("--tcp-flags needs -p tcp"), std::string::npos);
}

TEST(CompilerLimits, CapacitySaysByHowMuch) {
  const Ruleset rs = test::flat_host_port_chain(5000);
  test::MapIds ids;
  try {
    (void)compile(rs, ids);
    FAIL() << "compiled";
  } catch (const CapacityError& e) {
    // 5000 rules and the two policies.
    EXPECT_EQ(e.needed, 5002u);
    EXPECT_EQ(e.capacity, 4096u);
    EXPECT_EQ(std::string(e.what()),
              "nfw: the ruleset needs 5002 entries, the NIC has 4096: 906 too many");
  }
  // Exactly full is fine.
  const Program p = compile(test::flat_host_port_chain(4094), ids);
  EXPECT_EQ(p.entries.size(), 4096u);
}

TEST(CompilerLimits, TenThousandRulesCompileFast) {
  const Ruleset rs = test::flat_host_port_chain(10000);
  test::MapIds ids;
  CompileOptions opt;
  opt.capacity = 1u << 20;
  const auto start = std::chrono::steady_clock::now();
  const Program p = compile(rs, ids, opt);
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("10000 rules: %zu entries in %.1f ms\n", p.entries.size(), ms);
  EXPECT_EQ(p.entries.size(), 10002u);
  // Generous: the target is well under 100 ms, but CI machines are shared.
  EXPECT_LT(ms, 1000.0);
}

// A host's table as an administrator would write it: per-client service
// rules, a UDP dispatch chain, logging drops, owner rules on OUTPUT.
Ruleset realistic() {
  Ruleset rs;
  std::uint64_t id = 1;
  auto add = [&](std::string_view c, Rule r) {
    r.id = id++;
    chain(rs, c).rules.push_back(std::move(r));
  };
  chain(rs, "INPUT").policy = Policy::kDrop;
  chain(rs, "LOGDROP");
  chain(rs, "UDP_IN");
  chain(rs, "APPS");

  Rule ping = make_rule(0, TargetKind::kAccept);
  ping.proto = Proto{1, false};
  ping.modules = {Module::kIcmp};
  ping.icmp = IcmpType{8, std::nullopt, false};
  add("INPUT", ping);
  Rule frag = make_rule(0, TargetKind::kDrop);
  frag.fragment = true;
  add("INPUT", frag);
  Rule udp = make_rule(0, TargetKind::kJump, "UDP_IN");
  udp.proto = Proto{17, false};
  add("INPUT", udp);
  for (unsigned c = 0; c < 1500; ++c) {
    Rule r = make_rule(0, TargetKind::kAccept);
    r.src = Addr{{ip(10, 20, c >> 8, c & 0xFF), 32}, false};
    r.proto = Proto{6, false};
    r.modules = {Module::kMultiport};
    r.multiport = Multiport{Multiport::Kind::kDestination, {{80, 80}, {443, 443}}, false};
    add("INPUT", r);
  }
  Rule ssh = make_rule(0, TargetKind::kAccept);
  ssh.in = Iface{"nic0", false};
  ssh.src = Addr{{ip(192, 168, 0, 0), 16}, false};
  ssh.proto = Proto{6, false};
  ssh.modules = {Module::kTcp};
  ssh.dport = PortMatch{{22, 22}, false};
  add("INPUT", ssh);
  add("INPUT", make_rule(0, TargetKind::kJump, "LOGDROP"));

  for (unsigned p = 0; p < 200; ++p) {
    Rule r = make_rule(0, p % 3 == 0 ? TargetKind::kDrop : TargetKind::kAccept);
    r.proto = Proto{17, false};
    r.modules = {Module::kUdp};
    r.dport = PortMatch{{5000 + p, 5000 + p}, false};
    add("UDP_IN", r);
  }
  add("UDP_IN", make_rule(0, TargetKind::kReturn));

  Rule log = make_rule(0, TargetKind::kLog);
  log.target.log_prefix = "drop: ";
  add("LOGDROP", log);
  add("LOGDROP", make_rule(0, TargetKind::kDrop));

  Rule apps = make_rule(0, TargetKind::kJump, "APPS");
  apps.owner = Owner{std::nullopt, Owner::Ids{{100, 199}, false}, std::nullopt};
  add("OUTPUT", apps);
  for (unsigned u = 0; u < 300; ++u) {
    Rule r = make_rule(0, TargetKind::kAccept);
    r.owner = Owner{Owner::Ids{{1000 + u, 1000 + u}, false}, std::nullopt, std::nullopt};
    r.dst = Addr{{ip(10, 30, u >> 8, u & 0xFF), 32}, false};
    add("APPS", r);
  }
  Rule reject = make_rule(0, TargetKind::kReject);
  reject.target.reject_with = RejectWith::kIcmpAdminProhibited;
  add("APPS", reject);
  Rule nobody = make_rule(0, TargetKind::kDrop);
  nobody.owner = Owner{Owner::Ids{{65534, 65534}, false}, std::nullopt, std::nullopt};
  add("OUTPUT", nobody);
  return rs;
}

TEST(CompilerLimits, RealisticTableFitsAndAgrees) {
  const Ruleset rs = realistic();
  test::MapIds ids;
  const auto start = std::chrono::steady_clock::now();
  const Program p = compile(rs, ids);
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::size_t rules = 0;
  for (const Chain& c : rs.chains) rules += c.rules.size();
  std::printf("realistic table: %zu rules, %zu entries in %.1f ms\n", rules, p.entries.size(), ms);
  EXPECT_LE(p.entries.size(), 4096u);
  EXPECT_GT(p.entries.size(), 3000u);

  std::vector<Entry> flat;
  for (const CompiledEntry& ce : p.entries) flat.push_back(ce.entry);
  test::RandomRules gen(7);
  const auto probe = test::RandomRules::probe_values(p);
  for (unsigned n = 0; n < 20000; ++n) {
    const Key k = gen.key(probe);
    const Verdict v = evaluate(rs, k, ids);
    const auto hit = first_match(flat, k);
    ASSERT_TRUE(hit);
    ASSERT_EQ(p.entries[*hit].path, v.path);
    ASSERT_EQ(p.entries[*hit].entry.action, v.action);
    ASSERT_EQ(p.entries[*hit].entry.log, v.log);
  }
}

}  // namespace
}  // namespace norman::filter

namespace norman::filter {
namespace {

// Non-terminal rules whose matches overlap without implying each other
// double the paths a packet can take: k such LOG rules need about 2^k
// entries. The compiler must report that, by how much, and quickly.
TEST(CompilerLimits, OverlappingLogRulesBlowUpAndAreRefused) {
  Ruleset rs;
  auto& rules = chain(rs, "INPUT").rules;
  for (unsigned i = 0; i < 13; ++i) {
    Rule r = make_rule(i + 1, TargetKind::kLog);
    r.proto = Proto{6, false};
    r.modules = {Module::kTcp};
    if (i % 2 == 0) {
      r.sport = PortMatch{{i * 100, 65535}, false};
    } else {
      r.src = Addr{{ip(10, i, 0, 0), 16}, true};
    }
    rules.push_back(r);
  }
  rules.push_back(make_rule(100, TargetKind::kAccept));
  test::MapIds ids;
  const auto start = std::chrono::steady_clock::now();
  try {
    (void)compile(rs, ids);
    FAIL() << "compiled";
  } catch (const CapacityError& e) {
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("13 overlapping LOG rules: %zu entries (%.1f ms)\n", e.needed, ms);
    EXPECT_GT(e.needed, 4096u);
  }
}

}  // namespace
}  // namespace norman::filter
