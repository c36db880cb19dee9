#include "device_spec.hpp"

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace norman::device {

namespace {

constexpr const char* kExample =
    " (expected \"nsim\" or \"pci:DOMAIN:BUS:DEV.FN\", e.g. pci:0000:03:00.0 as lspci -D prints "
    "it)";

[[noreturn]] void bad(std::string_view spec, const std::string& why) {
  throw std::invalid_argument("device \"" + std::string(spec) + "\": " + why + kExample);
}

// Hex digits only, 1..max_digits of them, value <= max.
std::uint32_t hex_field(std::string_view spec, std::string_view s, const char* name,
                        std::size_t max_digits, std::uint32_t max) {
  if (s.empty() || s.size() > max_digits) {
    bad(spec, std::string(name) + " must be 1 to " + std::to_string(max_digits) + " hex digits");
  }
  std::uint32_t v = 0;
  for (char c : s) {
    unsigned d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      bad(spec, std::string(name) + " \"" + std::string(s) + "\" is not hexadecimal");
    }
    v = v * 16 + d;
  }
  if (v > max) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%x", max);
    bad(spec, std::string(name) + " \"" + std::string(s) + "\" is above its maximum " + buf);
  }
  return v;
}

}  // namespace

std::string PciAddress::str() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", domain & 0xffffU, bus & 0xffU, dev & 0x1fU,
                fn & 0x7U);
  return buf;
}

DeviceSpec parse_device_spec(std::string_view spec) {
  if (spec == "nsim") return {};
  constexpr std::string_view kPci = "pci:";
  if (spec.substr(0, kPci.size()) != kPci) bad(spec, "unknown device kind");
  std::string_view addr = spec.substr(kPci.size());
  const auto dot = addr.rfind('.');
  if (dot == std::string_view::npos) bad(spec, "no \".FN\" (function number)");
  std::vector<std::string_view> parts;
  std::string_view head = addr.substr(0, dot);
  for (;;) {
    const auto c = head.find(':');
    parts.push_back(head.substr(0, c));
    if (c == std::string_view::npos) break;
    head.remove_prefix(c + 1);
  }
  if (parts.size() != 2 && parts.size() != 3)
    bad(spec, "expected BUS:DEV.FN with an optional DOMAIN:");
  DeviceSpec d;
  d.kind = DeviceSpec::Kind::kPci;
  const std::size_t b = parts.size() - 2;
  d.pci.domain = b == 1 ? hex_field(spec, parts[0], "domain", 4, 0xffff) : 0;
  d.pci.bus = hex_field(spec, parts[b], "bus", 2, 0xff);
  d.pci.dev = hex_field(spec, parts[b + 1], "device", 2, 0x1f);
  d.pci.fn = hex_field(spec, addr.substr(dot + 1), "function", 1, 7);
  return d;
}

}  // namespace norman::device
