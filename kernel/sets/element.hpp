// Elements as ipset's command line writes them: "10.0.0.1", "10.0.0.0/30",
// "10.0.0.1-10.0.0.9" (hash:ip, hash:net), "10.0.0.1,udp:53",
// "10.0.0.0/30,tcp:80-82", "10.0.0.1,icmp:echo-request" (hash:ip,port),
// "22", "80-82", "ssh" (bitmap:port). Ranges and prefixes stand for many
// keys, counted before any is made so that a huge range is refused whole.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "set.hpp"

namespace norman::sets {

struct Part {
  std::uint32_t ip_lo = 0;
  std::uint32_t ip_hi = 0;
  std::uint8_t cidr = 32;  // hash:net
  std::uint8_t proto = 0;  // hash:ip,port
  std::uint16_t port_lo = 0;
  std::uint16_t port_hi = 0;
};

struct Element {
  Type type = Type::kHashIp;
  std::vector<Part> parts;
  bool host = true;  // hash:net: written without a prefix (a test looks at every prefix)

  [[nodiscard]] std::uint64_t count() const;
  [[nodiscard]] Key first() const;
  void for_each(const std::function<void(Key)>& fn) const;
};

// Throws Error with ipset's message. `test`: a test command (hash:net's
// ranges are not allowed there).
Element parse_element(const Header& h, std::string_view text);

// Protocol names as ipset prints them (tcp, udp, icmp, gre, ...).
std::string proto_name(std::uint8_t proto);
// ICMP type/code as ipset prints it: a name from ipset's table, else "T/C".
std::string icmp_name(std::uint8_t type, std::uint8_t code);

}  // namespace norman::sets
