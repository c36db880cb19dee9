#include "random_rules.hpp"

#include <string>

namespace norman::filter::difftest {

namespace {

bool chance(std::mt19937& rng, unsigned percent) { return rng() % 100 < percent; }

template <typename T>
T pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

Addr random_addr(std::mt19937& rng, const std::vector<std::uint32_t>& pool) {
  static const std::vector<std::uint8_t> kLens{8, 12, 16, 17, 24, 30, 32, 32};
  const std::uint8_t len = pick(rng, kLens);
  const std::uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
  return Addr{Prefix{pick(rng, pool) & mask, len}, chance(rng, 20)};
}

Range random_ports(std::mt19937& rng, const Pools& pools) {
  std::uint32_t a = pick(rng, pools.ports);
  if (chance(rng, 60)) return {a, a};
  std::uint32_t b = pick(rng, pools.ports);
  if (a > b) std::swap(a, b);
  return {a, b};
}

void random_matches(std::mt19937& rng, const Pools& pools, const RuleGenOptions& opt, Rule& r) {
  if (chance(rng, 35)) r.src = random_addr(rng, pools.src);
  if (chance(rng, 25)) r.dst = random_addr(rng, pools.dst);
  if (chance(rng, 15)) {
    static const std::vector<std::string> kIfs{"nic0", "nic+", "nic1"};
    const std::string name = pick(rng, kIfs);
    const bool negated = chance(rng, 30);
    // `! -i nic+` sees no NIC packet: it runs only in the host's netfilter.
    r.in = Iface{name, negated && (opt.host_rules || name != "nic+")};
  }
  const auto p = static_cast<unsigned>(rng() % 100);
  if (p < 35) {
    r.proto = Proto{6, false};
    if (chance(rng, 70)) {
      r.modules.push_back(Module::kTcp);
      if (chance(rng, 50)) r.sport = PortMatch{random_ports(rng, pools), chance(rng, 20)};
      if (chance(rng, 60)) r.dport = PortMatch{random_ports(rng, pools), chance(rng, 20)};
      if (chance(rng, 30)) {
        // iptables names only FIN..URG (ECE and CWR have no name there).
        const auto mask =
            static_cast<std::uint8_t>(chance(rng, 50) ? 0x17 : ((rng() | 0x02) & 0x3F));
        r.tcp_flags = TcpFlags{mask, static_cast<std::uint8_t>(rng() & mask), chance(rng, 20)};
      }
      if (!r.sport && !r.dport && !r.tcp_flags)
        r.dport = PortMatch{random_ports(rng, pools), false};
    } else if (chance(rng, 50)) {
      r.modules.push_back(Module::kMultiport);
      Multiport m;
      m.kind = static_cast<Multiport::Kind>(rng() % 3);
      const auto n = static_cast<unsigned>(1 + rng() % 4);
      for (unsigned i = 0; i < n; ++i) m.ports.push_back(random_ports(rng, pools));
      m.negated = chance(rng, 25);
      r.multiport = m;
    }
  } else if (p < 55) {
    r.proto = Proto{17, chance(rng, 10)};
    if (!r.proto->negated && chance(rng, 70)) {
      r.modules.push_back(Module::kUdp);
      if (chance(rng, 50)) r.sport = PortMatch{random_ports(rng, pools), chance(rng, 20)};
      if (!r.sport || chance(rng, 50))
        r.dport = PortMatch{random_ports(rng, pools), chance(rng, 20)};
    }
  } else if (p < 70) {
    r.proto = Proto{1, false};
    if (chance(rng, 70)) {
      r.modules.push_back(Module::kIcmp);
      static const std::vector<std::uint8_t> kTypes{0, 3, 8, 11, 13};
      IcmpType t;
      t.type = pick(rng, kTypes);
      if (chance(rng, 30)) t.code = static_cast<std::uint8_t>(rng() % 4);
      t.negated = chance(rng, 20);
      r.icmp = t;
    }
  } else if (p < 78) {
    r.proto = Proto{static_cast<std::uint8_t>(chance(rng, 50) ? 47 : 6), true};
  }
}

}  // namespace

Ruleset random_ruleset(std::mt19937& rng, const Pools& pools, const RuleGenOptions& opt) {
  Ruleset rs;
  std::vector<std::string> users;
  for (unsigned i = 0; i < opt.user_chains; ++i) {
    users.push_back("chain" + std::to_string(i));
    rs.chains.push_back(Chain{users.back(), std::nullopt, {}, {}});
  }
  rs.find("INPUT")->policy = chance(rng, 50) ? Policy::kAccept : Policy::kDrop;
  std::uint64_t id = 1;
  // Chain i may call only chains j > i: no loops.
  auto fill = [&](Chain& c, int index, unsigned n) {
    for (unsigned k = 0; k < n; ++k) {
      Rule r;
      r.id = id++;
      random_matches(rng, pools, opt, r);
      const auto t = static_cast<unsigned>(rng() % 100);
      const std::size_t first_callee = index < 0 ? 0 : static_cast<std::size_t>(index) + 1;
      const bool can_call = first_callee < users.size();
      if (t < 30) {
        r.target.kind = TargetKind::kAccept;
      } else if (t < 55) {
        r.target.kind = TargetKind::kDrop;
      } else if (t < 75 && can_call) {
        r.target.kind = chance(rng, 75) ? TargetKind::kJump : TargetKind::kGoto;
        r.target.chain =
            users[std::uniform_int_distribution<std::size_t>(first_callee, users.size() - 1)(rng)];
      } else if (t < 85 && index >= 0) {
        r.target.kind = TargetKind::kReturn;
      } else {
        r.target.kind = TargetKind::kNone;
      }
      c.rules.push_back(std::move(r));
    }
  };
  fill(*rs.find("INPUT"), -1, opt.input_rules);
  for (std::size_t i = 0; i < users.size(); ++i) {
    fill(*rs.find(users[i]), static_cast<int>(i), opt.chain_rules);
  }
  return rs;
}

}  // namespace norman::filter::difftest
