// The reference classifier. It reads each rule straight against the key
// (no constraint algebra shared with the compiler), so that the two are
// independent ways of computing one answer. The walk is ipt_do_table's:
// a jump pushes the rule after it, RETURN and the end of a user chain pop,
// goto replaces the current chain, and an empty stack means the built-in
// chain's policy (its "underflow" entry).
#include "evaluate.hpp"

#include <algorithm>

#include "chain_graph.hpp"
#include "rule_support.hpp"

namespace norman::filter {

namespace {

using detail::nic_name;

bool has_flag(const Key& k, rf::Flag f) { return (k.flags & flag_bit(f)) != 0; }

bool in_range(std::uint32_t v, Range r) { return r.lo <= v && v <= r.hi; }

bool prefix_matches(std::uint32_t addr, const Prefix& p) {
  if (p.len == 0) return true;
  const std::uint32_t mask = p.len >= 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> p.len);
  return (addr & mask) == (p.addr & mask);
}

bool multiport_matches(const Multiport& mp, std::uint32_t sport, std::uint32_t dport) {
  bool hit = false;
  for (const Range& r : mp.ports) {
    switch (mp.kind) {
      case Multiport::Kind::kSource:
        hit = hit || in_range(sport, r);
        break;
      case Multiport::Kind::kDestination:
        hit = hit || in_range(dport, r);
        break;
      case Multiport::Kind::kEither:
        hit = hit || in_range(sport, r) || in_range(dport, r);
        break;
    }
  }
  return hit != mp.negated;
}

bool owner_matches(const Owner& o, const Key& k, OwnerIds& ids) {
  if (!has_flag(k, rf::Flag::kOwnerValid)) {
    // xt_owner without a socket: true exactly when every part is negated.
    return (!o.uid || o.uid->negated) && (!o.gid || o.gid->negated) && (!o.cmd || o.cmd->negated);
  }
  if (o.uid && in_range(k[rf::FieldId::kUid], o.uid->range) == o.uid->negated) return false;
  if (o.gid && in_range(k[rf::FieldId::kGid], o.gid->range) == o.gid->negated) return false;
  if (o.cmd && (k[rf::FieldId::kCmdId] == ids.cmd_id(o.cmd->name)) == o.cmd->negated) return false;
  return true;
}

bool cgroup_matches(const Cgroup& c, const Key& k, OwnerIds& ids) {
  // As xt_cgroup: without a socket (owner) the match fails, "!" or not.
  if (!has_flag(k, rf::Flag::kOwnerValid)) return false;
  const auto under = ids.cgroups_under(c.path);
  const bool in = std::find(under.begin(), under.end(), k[rf::FieldId::kCgroup]) != under.end();
  return in != c.negated;
}

bool rule_matches(const Rule& r, const Key& k, OwnerIds& ids, const CtView* ct) {
  const bool output = has_flag(k, rf::Flag::kDir);
  if (r.src && prefix_matches(k[rf::FieldId::kSrcIp], r.src->prefix) == r.src->negated)
    return false;
  if (r.dst && prefix_matches(k[rf::FieldId::kDstIp], r.dst->prefix) == r.dst->negated)
    return false;
  // The kernel has no input device on OUTPUT and no output device on INPUT
  // (an empty name), which only a negated or "+" match accepts.
  const std::string nic = nic_name(k[rf::FieldId::kIface]);
  if (r.in && detail::iface_name_matches(r.in->name, output ? "" : nic) == r.in->negated)
    return false;
  if (r.out && detail::iface_name_matches(r.out->name, output ? nic : "") == r.out->negated)
    return false;
  // Protocol 0 ("ip", "all") matches everything, '!' or not, as in ip_packet_match.
  if (r.proto && r.proto->number != 0 &&
      (k[rf::FieldId::kProto] == r.proto->number) == r.proto->negated) {
    return false;
  }
  const bool frag = has_flag(k, rf::Flag::kFrag);
  if (r.fragment && frag != *r.fragment) return false;
  const bool l4 = has_flag(k, rf::Flag::kL4Valid) && !frag;

  if (detail::uses_ports(r)) {
    const auto p = detail::port_proto(r);
    if (!p || k[rf::FieldId::kProto] != *p || !l4) return false;
    const std::uint32_t sport = k[rf::FieldId::kSport];
    const std::uint32_t dport = k[rf::FieldId::kDport];
    if (r.sport && in_range(sport, r.sport->range) == r.sport->negated) return false;
    if (r.dport && in_range(dport, r.dport->range) == r.dport->negated) return false;
    if (r.tcp_flags) {
      if (*p != detail::kProtoTcp) return false;
      const unsigned wire = (k.flags >> static_cast<unsigned>(rf::Flag::kTcpFin)) & 0xFFu;
      if (((wire & r.tcp_flags->mask) == r.tcp_flags->comp) == r.tcp_flags->negated) return false;
    }
    if (r.multiport && !multiport_matches(*r.multiport, sport, dport)) return false;
  }
  if (detail::uses_icmp(r)) {
    if (k[rf::FieldId::kProto] != detail::kProtoIcmp || !l4) return false;
    if (r.icmp) {
      const std::uint32_t type = k[rf::FieldId::kSport] >> 8;
      const std::uint32_t code = k[rf::FieldId::kSport] & 0xFFu;
      const bool hit =
          r.icmp->type == 255 || (type == r.icmp->type && (!r.icmp->code || code == *r.icmp->code));
      if (hit == r.icmp->negated) return false;
    }
  }
  if (r.owner && !owner_matches(*r.owner, k, ids)) return false;
  if (r.cgroup && !cgroup_matches(*r.cgroup, k, ids)) return false;
  // Without a conntrack view (the NIC today) no state match can hold.
  if (r.state && (ct == nullptr || !state_matches(*r.state, *ct))) return false;
  if (r.conntrack && (ct == nullptr || !conntrack_matches(*r.conntrack, *ct))) return false;
  return true;
}

}  // namespace

Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids) {
  return evaluate(rules, key, ids, nullptr, nullptr);
}

Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids, const CtView* ct) {
  return evaluate(rules, key, ids, ct, nullptr);
}

Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids, LimitContext* limits) {
  return evaluate(rules, key, ids, nullptr, limits);
}

Verdict evaluate(const Ruleset& rules, const Key& key, OwnerIds& ids, const CtView* ct,
                 LimitContext* limits) {
  const auto graph = detail::build_chain_graph(rules);
  const Direction dir = has_flag(key, rf::Flag::kDir) ? Direction::kOutput : Direction::kInput;
  const auto builtin = static_cast<std::size_t>(graph.builtin[static_cast<unsigned>(dir)]);

  struct Frame {
    std::size_t chain;
    std::size_t next;
  };
  std::vector<Frame> stack{{builtin, 0}};
  Verdict v;
  while (!stack.empty()) {
    const Frame f = stack.back();
    const Chain& chain = rules.chains[f.chain];
    if (f.next >= chain.rules.size()) {
      stack.pop_back();
      continue;
    }
    ++stack.back().next;
    const Rule& r = chain.rules[f.next];
    if (detail::has_limits(r)) {
      LimitContext none;
      const auto o = detail::limits_match(r, key, limits != nullptr ? *limits : none,
                                          [&](const Rule& p) { return rule_matches(p, key, ids, ct); });
      // A hotdrop (hashlimit could not hash the packet) drops it on the
      // spot: no rule counts it, no policy applies.
      if (o == detail::LimitOutcome::kHotdrop) {
        v.action = rf::Action::kDrop;
        return v;
      }
      if (o == detail::LimitOutcome::kNoMatch) continue;
    }
    if (!rule_matches(r, key, ids, ct)) continue;
    v.path.push_back(CounterRef{CounterRef::Kind::kRule, r.id, Direction::kInput});
    const TargetKind kind = r.target.kind;
    if (detail::terminal(kind)) {
      v.action = detail::terminal_action(kind);
      if (kind == TargetKind::kReject) v.reject_with = detail::reject_code(r.target.reject_with);
      return v;
    }
    const int target = graph.target[f.chain][f.next];
    switch (kind) {
      case TargetKind::kReturn:
        stack.pop_back();
        break;
      case TargetKind::kLog:
        v.log = true;
        break;
      case TargetKind::kJump:
        stack.push_back(Frame{static_cast<std::size_t>(target), 0});
        break;
      case TargetKind::kGoto:
        stack.back() = Frame{static_cast<std::size_t>(target), 0};
        break;
      default:
        break;
    }
  }
  v.path.push_back(CounterRef{CounterRef::Kind::kPolicy, 0, dir});
  v.action = detail::policy_action(*rules.chains[builtin].policy);
  return v;
}

void count(Ruleset& rules, const Verdict& v, const Key& key) {
  for (const CounterRef& ref : v.path) {
    Counters* c = nullptr;
    if (ref.kind == CounterRef::Kind::kPolicy) {
      if (Chain* chain = rules.find(detail::chain_of(ref.chain))) c = &chain->policy_counters;
    } else {
      for (Chain& chain : rules.chains) {
        for (Rule& r : chain.rules) {
          if (r.id == ref.rule_id) c = &r.counters;
        }
      }
    }
    if (c != nullptr) {
      c->packets += 1;
      c->bytes += key.frame_bytes;
    }
  }
}

}  // namespace norman::filter
