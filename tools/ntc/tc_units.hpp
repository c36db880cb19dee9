// tc's units and handles, read and printed as iproute2's tc does, so numbers
// an administrator types or reads mean the same with ntc as with tc.
//
// Rates are kept in bytes per second (what the kernel and the NIC account
// in), sizes in bytes, handles as tc's 32-bit major:minor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace norman::ntc {

// "10gbit", "1.5Mbit", "100kbps" (kilobytes), "64Kibit", "1000" (bits):
// tc's suffixes, case-insensitive; a bare number is bits per second.
// Returns bytes per second (truncated, as tc), or nothing for bad input.
[[nodiscard]] std::optional<std::uint64_t> parse_rate(std::string_view text);

// "15k", "1m", "1600b", "1600", "10kbit": tc's get_size (k, m, g are 1024
// multiples). Nothing for bad input or a size that does not fit 32 bits.
[[nodiscard]] std::optional<std::uint32_t> parse_size(std::string_view text);

// A plain unsigned decimal (prio, quantum, r2q, mtu), as tc's get_u32 with
// base 10 would read it; also 0x hex (strtoul base 0), as tc accepts it.
[[nodiscard]] std::optional<std::uint32_t> parse_u32(std::string_view text);

// Bytes per second as tc prints a rate: "10Gbit", "1500Kbit", "12344bit".
[[nodiscard]] std::string format_rate(std::uint64_t bytes_per_sec);

// Bytes as tc prints a size: "1599b", "16Kb", "1Mb".
[[nodiscard]] std::string format_size(std::uint32_t bytes);

// tc's 32-bit handle: major in bits 31:16, minor in 15:0.
struct Handle {
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  friend bool operator==(const Handle&, const Handle&) = default;
  friend auto operator<=>(const Handle&, const Handle&) = default;
};

// "1:10", "1:", ":10" (hexadecimal, as tc reads classids), or nothing.
[[nodiscard]] std::optional<Handle> parse_handle(std::string_view text);

// "1:10", "1:" (minor 0), as tc prints handles.
[[nodiscard]] std::string format_handle(Handle h);

}  // namespace norman::ntc
