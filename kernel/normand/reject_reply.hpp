// The answer to a packet the filter REJECTs on INPUT, built the way Linux's
// REJECT target builds it: an ICMP destination-unreachable (code from
// --reject-with) quoting the packet's IPv4 header and first 8 bytes of
// payload, or a TCP RST. The NIC hands such packets to normand (fallback
// ring, REJECT flag) instead of generating replies in hardware.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "norman/regmap.hpp"

namespace norman::normand {

// nullopt when Linux would not answer either: not IPv4, a fragment other
// than the first, a broadcast/multicast destination, an ICMP error (no
// error about an error), a TCP RST, tcp-reset on a non-TCP packet.
std::optional<std::vector<std::uint8_t>> reject_reply(std::span<const std::uint8_t> frame,
                                                      regmap::filter::RejectWith with);

}  // namespace norman::normand
