// iptables' spellings, kept in the order iptables keeps them so that what we
// print is what it prints.
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "syntax_internal.hpp"

namespace norman::nfw {

SyntaxError::SyntaxError(std::string token_in, const std::string& message)
    : std::runtime_error(message), token(std::move(token_in)) {}

namespace detail {

void syntax_error(std::string token, const std::string& message) {
  throw SyntaxError(std::move(token), message);
}

std::optional<std::size_t> invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      if (b == 0xE0) lo = 0xA0;  // overlong
      if (b == 0xED) hi = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      if (b == 0xF0) lo = 0x90;  // overlong
      if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // cut short
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::nullopt;
}

std::string escape_bytes(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool utf8 = !invalid_utf8_at(s);
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (u >= 0x80 && !utf8)) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

void check_utf8_word(const std::string& word) {
  if (const auto bad = invalid_utf8_at(word)) {
    syntax_error(escape_bytes(word), "nfw: `" + escape_bytes(word) + "' is not valid UTF-8 (byte " +
                                         std::to_string(*bad + 1) + "); rules are UTF-8 text");
  }
}

namespace {

constexpr std::array<IcmpName, 40> kIcmp{{
    {"any", 0xFF, 0, 0xFF},
    {"echo-reply", 0, 0, 0xFF},
    {"pong", 0, 0, 0xFF},
    {"destination-unreachable", 3, 0, 0xFF},
    {"network-unreachable", 3, 0, 0},
    {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2},
    {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4},
    {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6},
    {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9},
    {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11},
    {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13},
    {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xFF},
    {"redirect", 5, 0, 0xFF},
    {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1},
    {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xFF},
    {"ping", 8, 0, 0xFF},
    {"router-advertisement", 9, 0, 0xFF},
    {"router-solicitation", 10, 0, 0xFF},
    {"time-exceeded", 11, 0, 0xFF},
    {"ttl-exceeded", 11, 0, 0xFF},
    {"ttl-zero-during-transit", 11, 0, 0},
    {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xFF},
    {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xFF},
    {"timestamp-reply", 14, 0, 0xFF},
    {"address-mask-request", 17, 0, 0xFF},
    {"address-mask-reply", 18, 0, 0xFF},
}};

constexpr std::array<TcpFlagName, 10> kTcpFlags{{
    {"FIN", 0x01},
    {"SYN", 0x02},
    {"RST", 0x04},
    {"PSH", 0x08},
    {"ACK", 0x10},
    {"URG", 0x20},
    // Not accepted on input (iptables does not know them), but a rule read
    // from JSON may carry them and must still print.
    {"ECE", 0x40},
    {"CWR", 0x80},
    {"ALL", 0x3F},
    {"NONE", 0x00},
}};

struct RejectName {
  std::string_view name;
  std::string_view alias;
  filter::RejectWith value;
};
constexpr std::array<RejectName, 8> kReject{{
    {"icmp-net-unreachable", "net-unreach", filter::RejectWith::kIcmpNetUnreachable},
    {"icmp-host-unreachable", "host-unreach", filter::RejectWith::kIcmpHostUnreachable},
    {"icmp-proto-unreachable", "proto-unreach", filter::RejectWith::kIcmpProtoUnreachable},
    {"icmp-port-unreachable", "port-unreach", filter::RejectWith::kIcmpPortUnreachable},
    {"icmp-net-prohibited", "net-prohib", filter::RejectWith::kIcmpNetProhibited},
    {"icmp-host-prohibited", "host-prohib", filter::RejectWith::kIcmpHostProhibited},
    {"tcp-reset", "tcp-rst", filter::RejectWith::kTcpReset},
    {"icmp-admin-prohibited", "admin-prohib", filter::RejectWith::kIcmpAdminProhibited},
}};

constexpr std::array<std::string_view, 8> kLogLevelNames{"emerg", "alert",  "crit", "err",
                                                         "warn",  "notice", "info", "debug"};

}  // namespace

std::span<const IcmpName> icmp_names() { return kIcmp; }
std::span<const TcpFlagName> tcp_flag_names() { return kTcpFlags; }

std::string tcp_flags_string(std::uint8_t bits) {
  std::string out;
  for (const auto& f : kTcpFlags) {
    if (f.bits == 0 || f.bits == 0x3F || (bits & f.bits) == 0) continue;
    if (!out.empty()) out += ',';
    out += f.name;
  }
  return out.empty() ? "NONE" : out;
}

std::string_view reject_name(filter::RejectWith r) {
  for (const auto& n : kReject) {
    if (n.value == r) return n.name;
  }
  return "icmp-port-unreachable";
}

std::optional<filter::RejectWith> reject_from_name(std::string_view name) {
  for (const auto& n : kReject) {
    if (n.name == name || n.alias == name) return n.value;
  }
  return std::nullopt;
}

std::string_view log_level_name(std::uint8_t level) {
  return level < 8 ? kLogLevelNames[level] : "?";
}

std::string save_string(std::string_view s) {
  static constexpr std::string_view kPlain =
      "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (!s.empty() && s.find_first_not_of(kPlain) == std::string_view::npos)
    return " " + std::string(s);
  std::string out = " \"";
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string addr_string(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xFF) + "." +
         std::to_string((a >> 8) & 0xFF) + "." + std::to_string(a & 0xFF);
}

std::string prefix_suffix(std::uint8_t len, bool omit32) {
  if (len == 32 && omit32) return {};
  return "/" + std::to_string(len);
}

std::string proto_display(std::uint8_t number) {
  // iptables 1.8.9 asks the protocols database first; the fallback table
  // covers hosts without /etc/protocols.
  if (const protoent* p = getprotobynumber(number); p != nullptr && p->p_name != nullptr)
    return p->p_name;
  return filter::proto_name(number);
}

std::vector<const Chain*> user_chains_sorted(const filter::Ruleset& rules) {
  std::vector<const Chain*> out;
  for (const auto& c : rules.chains) {
    if (!c.builtin()) out.push_back(&c);
  }
  std::sort(out.begin(), out.end(),
            [](const Chain* a, const Chain* b) { return a->name < b->name; });
  return out;
}

}  // namespace detail
}  // namespace norman::nfw
