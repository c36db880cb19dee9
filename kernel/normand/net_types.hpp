// Small value types for addresses, shared by normand's parts.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace norman::normand {

using Mac = std::array<std::uint8_t, 6>;
using Ipv4 = std::array<std::uint8_t, 4>;  // network order

std::string to_string(const Mac& m);   // "02:00:00:00:00:02"
std::string to_string(const Ipv4& a);  // "10.11.0.2"
std::optional<Mac> parse_mac(const std::string& s);
std::optional<Ipv4> parse_ipv4(const std::string& s);
// "10.11.0.2/24" -> address and prefix length (0..32).
std::optional<std::pair<Ipv4, unsigned>> parse_ipv4_prefix(const std::string& s);
// True if a and b share the first prefix_len bits.
bool same_subnet(const Ipv4& a, const Ipv4& b, unsigned prefix_len);

}  // namespace norman::normand
