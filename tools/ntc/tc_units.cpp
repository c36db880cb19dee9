#include "tc_units.hpp"

#include <strings.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace norman::ntc {
namespace {

// strtod over a copy (string_view is not NUL-terminated); returns the number
// and the unparsed rest, or nothing when no number starts the text.
std::optional<std::pair<double, std::string>> leading_number(std::string_view text) {
  const std::string s(text);
  if (s.empty() || s.front() == ' ' || s.front() == '-' || s.front() == '+') return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v) || v < 0) return std::nullopt;
  return std::pair{v, std::string(end)};
}

struct Suffix {
  const char* name;
  double bits;  // bits per second per unit
};

// tc's rate suffixes (bits, then bytes: "bps" is bytes per second).
constexpr std::array<Suffix, 18> kRateSuffixes{{
    {"bit", 1.},
    {"kibit", 1024.},
    {"kbit", 1000.},
    {"mibit", 1024. * 1024.},
    {"mbit", 1000000.},
    {"gibit", 1024. * 1024. * 1024.},
    {"gbit", 1000000000.},
    {"tibit", 1024. * 1024. * 1024. * 1024.},
    {"tbit", 1000000000000.},
    {"bps", 8.},
    {"kibps", 8. * 1024.},
    {"kbps", 8000.},
    {"mibps", 8. * 1024. * 1024.},
    {"mbps", 8000000.},
    {"gibps", 8. * 1024. * 1024. * 1024.},
    {"gbps", 8000000000.},
    {"tibps", 8. * 1024. * 1024. * 1024. * 1024.},
    {"tbps", 8000000000000.},
}};

}  // namespace

std::optional<std::uint64_t> parse_rate(std::string_view text) {
  auto num = leading_number(text);
  if (!num) return std::nullopt;
  double bits = num->first;
  const std::string& rest = num->second;
  if (!rest.empty()) {
    const Suffix* found = nullptr;
    for (const Suffix& s : kRateSuffixes) {
      if (strcasecmp(s.name, rest.c_str()) == 0) found = &s;
    }
    if (found == nullptr) return std::nullopt;
    bits *= found->bits;
  }
  const double bytes = bits / 8;
  if (bytes >= 18446744073709551615.0) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

std::optional<std::uint32_t> parse_size(std::string_view text) {
  auto num = leading_number(text);
  if (!num) return std::nullopt;
  double sz = num->first;
  const char* p = num->second.c_str();
  if (*p != '\0') {
    if (strcasecmp(p, "kb") == 0 || strcasecmp(p, "k") == 0) {
      sz *= 1024;
    } else if (strcasecmp(p, "gb") == 0 || strcasecmp(p, "g") == 0) {
      sz *= 1024. * 1024. * 1024.;
    } else if (strcasecmp(p, "gbit") == 0) {
      sz *= 1024. * 1024. * 1024. / 8;
    } else if (strcasecmp(p, "mb") == 0 || strcasecmp(p, "m") == 0) {
      sz *= 1024. * 1024.;
    } else if (strcasecmp(p, "mbit") == 0) {
      sz *= 1024. * 1024. / 8;
    } else if (strcasecmp(p, "kbit") == 0) {
      sz *= 1024. / 8;
    } else if (strcasecmp(p, "b") != 0) {
      return std::nullopt;
    }
  }
  // tc silently wraps sizes beyond 32 bits (burst 3g prints "0b"); a wrapped
  // burst is never what was meant, so it is refused.
  if (sz > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(sz);
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  const std::string s(text);
  if (s.empty() || s.front() == '-' || s.front() == '+' || s.front() == ' ') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (*end != '\0' || errno != 0 || v > std::numeric_limits<std::uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

std::string format_rate(std::uint64_t bytes_per_sec) {
  static constexpr std::array<const char*, 5> kUnits{"", "K", "M", "G", "T"};
  // tc shifts bytes to bits in 64 bits and divides by 1000 with truncation
  // while the rest is a round thousand or the number still has 7+ digits.
  std::uint64_t rate = bytes_per_sec << 3;
  std::size_t i = 0;
  for (; i + 1 < kUnits.size(); ++i) {
    if (rate < 1000) break;
    if (rate % 1000 != 0 && rate < 1000 * 1000) break;
    rate /= 1000;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f%sbit", static_cast<double>(rate), kUnits[i]);
  return buf;
}

std::string format_size(std::uint32_t bytes) {
  constexpr double kKilo = 1024;
  constexpr double kMega = kKilo * kKilo;
  const double v = bytes;
  char buf[64];
  if (v >= kMega && std::fabs(kMega * std::rint(v / kMega) - v) < 1024) {
    std::snprintf(buf, sizeof buf, "%gMb", std::rint(v / kMega));
  } else if (v >= kKilo && std::fabs(kKilo * std::rint(v / kKilo) - v) < 16) {
    std::snprintf(buf, sizeof buf, "%gKb", std::rint(v / kKilo));
  } else {
    std::snprintf(buf, sizeof buf, "%ub", bytes);
  }
  return buf;
}

std::optional<Handle> parse_handle(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto hex16 = [](std::string_view part) -> std::optional<std::uint16_t> {
    if (part.empty()) return std::uint16_t{0};
    if (part.size() > 4) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : part) {
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return std::nullopt;
      }
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return static_cast<std::uint16_t>(v);
  };
  const auto major = hex16(text.substr(0, colon));
  const auto minor = hex16(text.substr(colon + 1));
  if (!major || !minor) return std::nullopt;
  return Handle{*major, *minor};
}

std::string format_handle(Handle h) {
  char buf[16];
  if (h.minor == 0) {
    std::snprintf(buf, sizeof buf, "%x:", h.major);
  } else {
    std::snprintf(buf, sizeof buf, "%x:%x", h.major, h.minor);
  }
  return buf;
}

}  // namespace norman::ntc
