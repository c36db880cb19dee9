#include "net_types.hpp"

#include <cstdio>
#include <string_view>

namespace norman::normand {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal number of 1..max_digits digits without sign or leading zeros
// (so "010" is refused, as inet_pton does: it would read as octal elsewhere).
std::optional<unsigned> parse_decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

}  // namespace

std::string to_string(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

std::string to_string(const Ipv4& a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  return buf;
}

std::optional<Mac> parse_mac(const std::string& s) {
  // Exactly "xx:xx:xx:xx:xx:xx": the form ip(8) prints and accepts.
  if (s.size() != 17) return std::nullopt;
  Mac m{};
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && s[at - 1] != ':') return std::nullopt;
    const int hi = hex_digit(s[at]);
    const int lo = hex_digit(s[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    m[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return m;
}

std::optional<Ipv4> parse_ipv4(const std::string& s) {
  Ipv4 a{};
  std::string_view rest = s;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t dot = rest.find('.');
    const bool last = i == 3;
    if (last != (dot == std::string_view::npos)) return std::nullopt;
    const auto v = parse_decimal(rest.substr(0, dot), 3);
    if (!v || *v > 255) return std::nullopt;
    a[i] = static_cast<std::uint8_t>(*v);
    if (!last) rest.remove_prefix(dot + 1);
  }
  return a;
}

std::optional<std::pair<Ipv4, unsigned>> parse_ipv4_prefix(const std::string& s) {
  const std::size_t slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const auto ip = parse_ipv4(s.substr(0, slash));
  const auto len = parse_decimal(std::string_view(s).substr(slash + 1), 2);
  if (!ip || !len || *len > 32) return std::nullopt;
  return std::pair{*ip, *len};
}

bool same_subnet(const Ipv4& a, const Ipv4& b, unsigned prefix_len) {
  unsigned bits = prefix_len > 32 ? 32 : prefix_len;
  for (std::size_t i = 0; i < 4 && bits > 0; ++i) {
    const unsigned n = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xFF00U >> n);
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= n;
  }
  return true;
}

}  // namespace norman::normand
