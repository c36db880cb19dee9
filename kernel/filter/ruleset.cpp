#include "ruleset.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace norman::filter {

std::optional<std::string> unsaveable_text(std::string_view s, bool word) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (word && (c == ' ' || c == '\t')) return "contains a blank";
    // Unquoted, a double quote would open a quoted word in nfw-restore (and
    // iptables-restore, which cannot read back its own save of a rule in
    // such a chain either).
    if (word && c == '"') return "contains a double quote";
    if (u == '\n') return "contains a newline";
    if (u == '\r') return "contains a carriage return";
    if ((u < 0x20 && u != '\t') || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      return std::string("contains the control character \\x") + kHex[u >> 4] + kHex[u & 15];
    }
  }
  return std::nullopt;
}

Ruleset::Ruleset() {
  chains.push_back(Chain{"INPUT", Policy::kAccept, {}, {}});
  chains.push_back(Chain{"OUTPUT", Policy::kAccept, {}, {}});
}

Chain* Ruleset::find(std::string_view name) {
  if (name == "FORWARD") return &forward;
  auto it = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.name == name; });
  return it == chains.end() ? nullptr : &*it;
}

const Chain* Ruleset::find(std::string_view name) const {
  if (name == "FORWARD") return &forward;
  auto it = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.name == name; });
  return it == chains.end() ? nullptr : &*it;
}

std::size_t Ruleset::references(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& c : chains) {
    for (const auto& r : c.rules) {
      if ((r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto) && r.target.chain == name) ++n;
    }
  }
  for (const auto& r : forward.rules) {
    if ((r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto) && r.target.chain == name) ++n;
  }
  return n;
}

bool Rule::same_spec(const Rule& o) const {
  return src == o.src && dst == o.dst && in == o.in && out == o.out && proto == o.proto && fragment == o.fragment &&
         modules == o.modules && sport == o.sport && dport == o.dport && tcp_flags == o.tcp_flags &&
         icmp == o.icmp && multiport == o.multiport && owner == o.owner && cgroup == o.cgroup &&
         comment == o.comment && target == o.target && state == o.state &&
         conntrack == o.conntrack && limit == o.limit && hashlimit == o.hashlimit;
}

namespace {
// /etc/protocols names iptables prints for the common protocols.
constexpr std::array<std::pair<std::string_view, std::uint8_t>, 9> kProtoNames{{
    {"icmp", 1},
    {"igmp", 2},
    {"tcp", 6},
    {"udp", 17},
    {"gre", 47},
    {"esp", 50},
    {"ah", 51},
    {"sctp", 132},
    {"udplite", 136},
}};
}  // namespace

std::optional<std::uint8_t> proto_number(std::string_view name) {
  for (const auto& [n, v] : kProtoNames) {
    if (n == name) return v;
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc{} || p != name.data() + name.size() || v > 255 || name.empty()) return std::nullopt;
  return static_cast<std::uint8_t>(v);
}

std::string proto_name(std::uint8_t number) {
  for (const auto& [n, v] : kProtoNames) {
    if (v == number) return std::string(n);
  }
  return std::to_string(number);
}

}  // namespace norman::filter
