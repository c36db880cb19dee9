// Random rule sets for the compiler/classifier equivalence tests: every
// match kind with and without '!', user chains with jumps, gotos, RETURN and
// LOG, drawn from small value pools so that rules overlap, and keys biased
// towards the edges of every range the rules mention.
#pragma once

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "test_util.hpp"

namespace norman::filter::test {

class RandomRules {
 public:
  explicit RandomRules(std::uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }

  bool chance(unsigned percent) { return pick(100) < percent; }
  std::uint32_t pick(std::uint32_t n) { return static_cast<std::uint32_t>(rng_() % n); }
  template <typename T>
  const T& one_of(const std::vector<T>& v) {
    return v[pick(static_cast<std::uint32_t>(v.size()))];
  }

  // The cgroup tree the rules and keys refer to.
  static void add_cgroups(MapIds& ids) {
    ids.cgroups = {{"/a", 1}, {"/a/b", 2}, {"/a/b/c", 3}, {"/a/d", 4}, {"/e", 5}, {"/e/f", 7}};
  }

  Ruleset ruleset(unsigned max_user_chains = 4, unsigned max_rules = 7) {
    Ruleset rs;
    const unsigned users = pick(max_user_chains + 1);
    for (unsigned u = 0; u < users; ++u)
      rs.chains.push_back(Chain{"U" + std::to_string(u), std::nullopt, {}, {}});
    rs.chains[0].policy = chance(50) ? Policy::kAccept : Policy::kDrop;
    rs.chains[1].policy = chance(50) ? Policy::kAccept : Policy::kDrop;
    for (std::size_t c = 0; c < rs.chains.size(); ++c) {
      const unsigned n = pick(max_rules + 1);
      for (unsigned i = 0; i < n; ++i) rs.chains[c].rules.push_back(rule(rs, c));
    }
    add_interfaces(rs);
    return rs;
  }

  Rule rule(const Ruleset& rs, std::size_t chain_index) {
    Rule r;
    r.id = next_id_++;
    // User chain Uk may only call chains after it: no loops.
    std::vector<std::string> callees;
    for (std::size_t c = std::max<std::size_t>(2, chain_index + 1); c < rs.chains.size(); ++c) {
      callees.push_back(rs.chains[c].name);
    }
    const unsigned t = pick(100);
    if (t < 14) {
      r.target.kind = TargetKind::kAccept;
    } else if (t < 26) {
      r.target.kind = TargetKind::kDrop;
    } else if (t < 34) {
      r.target.kind = TargetKind::kReject;
      r.target.reject_with = static_cast<RejectWith>(pick(8));
    } else if (t < 46) {
      r.target.kind = TargetKind::kReturn;
    } else if (t < 58) {
      r.target.kind = TargetKind::kLog;
    } else if (t < 68) {
      r.target.kind = TargetKind::kNone;
    } else if (!callees.empty()) {
      r.target.kind = t < 88 ? TargetKind::kJump : TargetKind::kGoto;
      r.target.chain = one_of(callees);
    } else {
      r.target.kind = TargetKind::kAccept;
    }
    matches(r);
    return r;
  }

  void matches(Rule& r) {
    // Few matches per rule, so that rules still match often.
    if (chance(25)) r.src = Addr{prefix(), chance(30)};
    if (chance(20)) r.dst = Addr{prefix(), chance(30)};
    if (chance(8)) r.fragment = chance(50);
    if (chance(45)) l4(r);
    if (chance(12)) owner(r);
    if (chance(8))
      r.cgroup = Cgroup{one_of<std::string>({"/a", "/a/b", "/e", "/x", "/"}), chance(40)};
    if (chance(5)) r.comment = "c";
  }

  void l4(Rule& r) {
    const unsigned kind = pick(10);
    if (kind < 4) {
      r.proto = Proto{6, false};
      if (chance(70)) r.modules.push_back(Module::kTcp);
      if (chance(50)) r.dport = PortMatch{port_range(), chance(30)};
      if (chance(30)) r.sport = PortMatch{port_range(), chance(30)};
      if (chance(35)) {
        if (chance(50)) {
          r.tcp_flags = TcpFlags{0x17, 0x02, chance(30)};
        } else {
          const auto mask = static_cast<std::uint8_t>(rng_());
          auto comp = static_cast<std::uint8_t>(rng_() & mask);
          if (chance(10)) comp = static_cast<std::uint8_t>(rng_());
          r.tcp_flags = TcpFlags{mask, comp, chance(40)};
        }
      }
      if (chance(20)) multiport(r);
    } else if (kind < 7) {
      r.proto = Proto{17, false};
      if (chance(60)) r.modules.push_back(Module::kUdp);
      if (chance(50)) r.dport = PortMatch{port_range(), chance(30)};
      if (chance(30)) r.sport = PortMatch{port_range(), chance(30)};
      if (chance(25)) multiport(r);
    } else if (kind < 9) {
      r.proto = Proto{1, false};
      if (chance(70)) {
        r.modules.push_back(Module::kIcmp);
        IcmpType it;
        it.type = one_of<std::uint8_t>({0, 3, 8, 11, 255});
        if (it.type != 255 && chance(40)) it.code = one_of<std::uint8_t>({0, 1, 3});
        it.negated = chance(30);
        r.icmp = it;
      }
    } else {
      r.proto = Proto{one_of<std::uint8_t>({0, 1, 6, 17, 47}), chance(50)};
    }
  }

  void multiport(Rule& r) {
    Multiport mp;
    mp.kind = static_cast<Multiport::Kind>(pick(3));
    const unsigned n = 1 + pick(4);
    for (unsigned i = 0; i < n; ++i) mp.ports.push_back(port_range());
    mp.negated = chance(35);
    r.modules.push_back(Module::kMultiport);
    r.multiport = mp;
  }

  void owner(Rule& r) {
    Owner o;
    do {
      if (chance(50)) o.uid = Owner::Ids{id_range(), chance(40)};
      if (chance(40)) o.gid = Owner::Ids{id_range(), chance(40)};
      if (chance(30))
        o.cmd = Owner::Name{one_of<std::string>({"nginx", "sshd", "curl"}), chance(40)};
    } while (!o.uid && !o.gid && !o.cmd);
    r.modules.push_back(Module::kOwner);
    r.owner = o;
  }

  Prefix prefix() {
    static const std::vector<std::uint32_t> bases{ip(10, 0, 0, 0), ip(10, 1, 0, 0),
                                                  ip(10, 1, 2, 3), ip(192, 168, 1, 7),
                                                  ip(0, 0, 0, 0),  ip(255, 255, 255, 255)};
    const std::uint8_t len =
        one_of<std::uint8_t>({0, 1, 8, 16, 24, 31, 32, static_cast<std::uint8_t>(pick(33))});
    return Prefix{one_of(bases), len};
  }

  Range port_range() {
    static const std::vector<std::uint32_t> ports{0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65535};
    const std::uint32_t a = one_of(ports);
    if (chance(60)) return {a, a};
    const std::uint32_t b = one_of(ports);
    return {std::min(a, b), std::max(a, b)};
  }

  Range id_range() {
    static const std::vector<std::uint32_t> ids{0, 1, 2, 1000, 1001, 65534, 0xFFFFFFFFu};
    const std::uint32_t a = one_of(ids);
    if (chance(60)) return {a, a};
    const std::uint32_t b = one_of(ids);
    return {std::min(a, b), std::max(a, b)};
  }

  // -i only where every path comes from INPUT, -o only from OUTPUT.
  void add_interfaces(Ruleset& rs) {
    std::vector<std::vector<bool>> reach(2, std::vector<bool>(rs.chains.size(), false));
    for (unsigned d = 0; d < 2; ++d) {
      reach[d][d] = true;
      // Chains only call later chains, so one pass in order suffices.
      for (std::size_t c = 0; c < rs.chains.size(); ++c) {
        if (!reach[d][c]) continue;
        for (const Rule& r : rs.chains[c].rules) {
          if (r.target.kind != TargetKind::kJump && r.target.kind != TargetKind::kGoto) continue;
          for (std::size_t t = 0; t < rs.chains.size(); ++t) {
            if (rs.chains[t].name == r.target.chain) reach[d][t] = true;
          }
        }
      }
    }
    static const std::vector<std::string> names{"nic0", "nic1", "nic+", "ni+", "nic1+", "+"};
    for (std::size_t c = 0; c < rs.chains.size(); ++c) {
      for (Rule& r : rs.chains[c].rules) {
        if (!chance(15)) continue;
        if (reach[0][c] && !reach[1][c]) r.in = Iface{one_of(names), chance(30)};
        if (reach[1][c] && !reach[0][c]) r.out = Iface{one_of(names), chance(30)};
      }
    }
  }

  // Values worth probing for each field: the edges of every entry's ranges
  // and a few random ones.
  struct Probe {
    std::array<std::vector<std::uint32_t>, rf::kNumFields> values;
  };

  static Probe probe_values(const Program& p) {
    Probe pr;
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      const std::uint32_t max = field_max(i);
      std::set<std::uint32_t> s{0, max};
      for (const CompiledEntry& ce : p.entries) {
        const FieldRange& fr = ce.entry.range[i];
        const std::uint32_t lo = std::min(fr.lo, max);
        const std::uint32_t hi = std::min(fr.hi, max);
        s.insert(lo);
        s.insert(hi);
        if (lo > 0) s.insert(lo - 1);
        if (hi < max) s.insert(hi + 1);
      }
      pr.values[i].assign(s.begin(), s.end());
    }
    return pr;
  }

  Key key(const Probe& pr) {
    Key k;
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      if (chance(75)) {
        k.field[i] = one_of(pr.values[i]);
      } else {
        k.field[i] = static_cast<std::uint32_t>(rng_()) & field_max(i);
      }
    }
    // Mostly well-formed keys (as key_of_frame builds them), some arbitrary.
    k.flags = static_cast<std::uint16_t>(rng_() & ((1u << rf::kNumFlags) - 1));
    if (chance(70)) {
      const bool frag = chance(15);
      k.flags = static_cast<std::uint16_t>(
          k.flags & ~(flag_bit(rf::Flag::kFrag) | flag_bit(rf::Flag::kL4Valid)));
      if (frag) k.flags |= flag_bit(rf::Flag::kFrag);
      if (!frag && chance(85)) k.flags |= flag_bit(rf::Flag::kL4Valid);
      if (chance(40))
        k.field[static_cast<unsigned>(rf::FieldId::kProto)] = one_of<std::uint32_t>({1, 6, 17});
    }
    if (chance(30)) k.field[static_cast<unsigned>(rf::FieldId::kIface)] = pick(2);
    k.frame_bytes = 60 + pick(1400);
    return k;
  }

 private:
  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 1;
};

}  // namespace norman::filter::test
