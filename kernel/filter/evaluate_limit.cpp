#include "evaluate_limit.hpp"

#include <algorithm>

#include "rule_support.hpp"

namespace norman::filter::detail {

Rule rule_prefix(const Rule& r, std::size_t n) {
  Rule p = r;
  for (std::size_t i = n; i < r.modules.size(); ++i) {
    switch (r.modules[i]) {
      case Module::kTcp:
      case Module::kUdp:
        p.sport.reset();
        p.dport.reset();
        p.tcp_flags.reset();
        break;
      case Module::kIcmp:
        p.icmp.reset();
        break;
      case Module::kMultiport:
        p.multiport.reset();
        break;
      case Module::kOwner:
        p.owner.reset();
        break;
      case Module::kCgroup:
        p.cgroup.reset();
        break;
      case Module::kComment:
        p.comment.reset();
        break;
      case Module::kState:
        p.state.reset();
        break;
      case Module::kConntrack:
        p.conntrack.reset();
        break;
      case Module::kLimit:
        p.limit.reset();
        break;
      case Module::kHashlimit:
        p.hashlimit.reset();
        break;
    }
  }
  p.modules.resize(std::min(n, r.modules.size()));
  return p;
}

namespace {

HashlimitPacket hashlimit_packet(const Key& k) {
  HashlimitPacket p;
  p.src = k[rf::FieldId::kSrcIp];
  p.dst = k[rf::FieldId::kDstIp];
  p.proto = static_cast<std::uint8_t>(k[rf::FieldId::kProto]);
  const bool frag = (k.flags & flag_bit(rf::Flag::kFrag)) != 0;
  const bool l4 = (k.flags & flag_bit(rf::Flag::kL4Valid)) != 0;
  // proto_ports_offset(): the ports of TCP, UDP, DCCP, SCTP, UDP-Lite; 0
  // for protocols without ports. A first fragment or whole packet too short
  // to hold them cannot be hashed: the kernel drops it.
  if (p.proto == kProtoTcp || p.proto == kProtoUdp) {
    if (l4) {
      p.sport = static_cast<std::uint16_t>(k[rf::FieldId::kSport]);
      p.dport = static_cast<std::uint16_t>(k[rf::FieldId::kDport]);
    } else if (!frag) {
      p.ports_readable = false;
    }
  }
  return p;
}

}  // namespace

LimitOutcome limits_match(const Rule& r, const Key& key, LimitContext& ctx,
                          const std::function<bool(const Rule&)>& matches) {
  LimiterState fresh;
  LimiterState& state = ctx.state != nullptr ? *ctx.state : fresh;
  const std::uint64_t now = ctx.clock.jiffies(ctx.now_ns);
  for (std::size_t i = 0; i < r.modules.size(); ++i) {
    const Module m = r.modules[i];
    if (m != Module::kLimit && m != Module::kHashlimit) continue;
    if (!matches(rule_prefix(r, i))) return LimitOutcome::kNoMatch;
    if (m == Module::kLimit && r.limit) {
      if (!state.limit(r.id, *r.limit, now)) return LimitOutcome::kNoMatch;
    }
    if (m == Module::kHashlimit && r.hashlimit) {
      switch (state.hashlimit(*r.hashlimit, hashlimit_packet(key), now)) {
        case HashlimitTable::Result::kMatch:
          break;
        case HashlimitTable::Result::kNoMatch:
          return LimitOutcome::kNoMatch;
        case HashlimitTable::Result::kHotdrop:
          return LimitOutcome::kHotdrop;
      }
    }
  }
  return matches(r) ? LimitOutcome::kMatch : LimitOutcome::kNoMatch;
}

}  // namespace norman::filter::detail
