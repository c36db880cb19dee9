#include "norman/net.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

namespace norman {

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  char buf[16];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Ipv4 a;
  if (::inet_pton(AF_INET, buf, &a.be) != 1) return std::nullopt;
  return a;
}

std::string Ipv4::to_string() const {
  const auto o = octets();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
  return buf;
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddr m;
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[3 * i - 1] != ':' && text[3 * i - 1] != '-') return std::nullopt;
    unsigned v = 0;
    const char* first = text.data() + 3 * i;
    auto [p, ec] = std::from_chars(first, first + 2, v, 16);
    if (ec != std::errc() || p != first + 2) return std::nullopt;
    m.b[i] = static_cast<std::uint8_t>(v);
  }
  return m;
}

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

std::string Endpoint::to_string() const { return ip.to_string() + ":" + std::to_string(port); }

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ip = Ipv4::parse(text.substr(0, colon));
  if (!ip) return std::nullopt;
  const auto ps = text.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port > 65535 || ps.empty())
    return std::nullopt;
  return Endpoint{*ip, static_cast<std::uint16_t>(port)};
}

std::string_view to_string(RxVerdict v) {
  switch (v) {
    case RxVerdict::kOk:
      return "ok";
    case RxVerdict::kMalformed:
      return "malformed";
    case RxVerdict::kFragment:
      return "fragment";
    case RxVerdict::kNotIpv4:
      return "not_ipv4";
    case RxVerdict::kNotUdp:
      return "not_udp";
    case RxVerdict::kBadLength:
      return "bad_length";
    case RxVerdict::kBadChecksum:
      return "bad_checksum";
  }
  return "unknown";
}

}  // namespace norman
