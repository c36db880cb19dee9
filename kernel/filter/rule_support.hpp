// Small facts about rules that the reference classifier and the compiler must
// read the same way (which L4 protocol a rule's port matches refer to, how
// an interface name matches, what a target decides). Internal to
// norman_filter.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flat.hpp"
#include "ruleset.hpp"

namespace norman::filter::detail {

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;

inline bool has_module(const Rule& r, Module m) {
  return std::find(r.modules.begin(), r.modules.end(), m) != r.modules.end();
}

// Whether the rule uses a tcp/udp match (ports, TCP flags, multiport). Like
// the kernel's tcp/udp/multiport matches, such a rule only matches first
// fragments whose L4 header is there, whatever its '!'.
inline bool uses_ports(const Rule& r) {
  return r.sport || r.dport || r.tcp_flags || r.multiport || has_module(r, Module::kTcp) ||
         has_module(r, Module::kUdp) || has_module(r, Module::kMultiport);
}

inline bool uses_icmp(const Rule& r) { return r.icmp || has_module(r, Module::kIcmp); }

// The protocol the rule's port matches are about: -m tcp / -m udp, else an
// un-negated -p tcp / -p udp (iptables loads tcp/udp implicitly for
// "-p tcp --dport"). nullopt: no such protocol (iptables refuses the rule;
// the classifier lets it match nothing).
inline std::optional<std::uint8_t> port_proto(const Rule& r) {
  const bool tcp = has_module(r, Module::kTcp);
  const bool udp = has_module(r, Module::kUdp);
  if (tcp && udp) return std::nullopt;
  if (tcp) return kProtoTcp;
  if (udp) return kProtoUdp;
  if (r.proto && !r.proto->negated &&
      (r.proto->number == kProtoTcp || r.proto->number == kProtoUdp)) {
    return r.proto->number;
  }
  return std::nullopt;
}

// iptables' interface match, without the '!': a trailing '+' matches every
// name with that prefix.
inline bool iface_name_matches(std::string_view pattern, std::string_view actual) {
  if (!pattern.empty() && pattern.back() == '+') {
    return actual.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  }
  return actual == pattern;
}

inline std::string nic_name(std::uint32_t port) { return "nic" + std::to_string(port); }

inline rf::RejectWith reject_code(RejectWith w) {
  switch (w) {
    case RejectWith::kIcmpNetUnreachable:
      return rf::RejectWith::kIcmpNetUnreachable;
    case RejectWith::kIcmpHostUnreachable:
      return rf::RejectWith::kIcmpHostUnreachable;
    case RejectWith::kIcmpPortUnreachable:
      return rf::RejectWith::kIcmpPortUnreachable;
    case RejectWith::kIcmpProtoUnreachable:
      return rf::RejectWith::kIcmpProtUnreachable;
    case RejectWith::kIcmpNetProhibited:
      return rf::RejectWith::kIcmpNetProhibited;
    case RejectWith::kIcmpHostProhibited:
      return rf::RejectWith::kIcmpHostProhibited;
    case RejectWith::kIcmpAdminProhibited:
      return rf::RejectWith::kIcmpAdminProhibited;
    case RejectWith::kTcpReset:
      return rf::RejectWith::kTcpReset;
  }
  return rf::RejectWith::kIcmpPortUnreachable;
}

inline rf::Action policy_action(Policy p) {
  return p == Policy::kDrop ? rf::Action::kDrop : rf::Action::kAccept;
}

inline bool terminal(TargetKind k) {
  return k == TargetKind::kAccept || k == TargetKind::kDrop || k == TargetKind::kReject;
}

inline rf::Action terminal_action(TargetKind k) {
  return k == TargetKind::kDrop
             ? rf::Action::kDrop
             : (k == TargetKind::kReject ? rf::Action::kReject : rf::Action::kAccept);
}

inline const char* chain_of(Direction d) { return d == Direction::kInput ? "INPUT" : "OUTPUT"; }

}  // namespace norman::filter::detail
