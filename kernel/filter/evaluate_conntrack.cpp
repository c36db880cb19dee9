// xt_state and xt_conntrack (revision 3) on a packet's conntrack view, read
// as conntrack_mt reads them: the state test runs first and is the only one
// that can pass without an entry; every other option needs one.
#include "ruleset_conntrack.hpp"

namespace norman::filter {

namespace {

bool addr_matches(const CtAddr& a, std::uint32_t actual) {
  const std::uint32_t mask = a.len == 0 ? 0 : (a.len >= 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> a.len));
  return (((actual ^ a.addr) & mask) == 0) != a.negated;
}

bool port_matches(const CtPorts& p, std::uint16_t actual) {
  return (p.lo <= actual && actual <= p.hi) != p.negated;
}

}  // namespace

bool state_matches(const CtStates& m, const CtView& v) {
  return ((m.mask & v.state) != 0) != m.negated;
}

bool conntrack_matches(const ConntrackMatch& m, const CtView& v) {
  if (m.state && !state_matches(*m.state, v)) return false;
  if (!v.tracked) return m.state.has_value();
  if (m.dir && (v.dir != *m.dir)) return false;
  if (m.proto && ((v.proto == m.proto->number) == m.proto->negated)) return false;
  if (m.orig_src && !addr_matches(*m.orig_src, v.orig_src)) return false;
  if (m.orig_dst && !addr_matches(*m.orig_dst, v.orig_dst)) return false;
  if (m.orig_sport && !port_matches(*m.orig_sport, v.orig_sport)) return false;
  if (m.orig_dport && !port_matches(*m.orig_dport, v.orig_dport)) return false;
  if (m.status && (((m.status->mask & v.status) != 0) == m.status->negated)) return false;
  return true;
}

}  // namespace norman::filter
