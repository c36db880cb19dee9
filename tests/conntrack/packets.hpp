// IPv4 packets for the conntrack tests, with correct checksums (Linux
// verifies them on received packets): TCP segments, UDP datagrams, ICMP
// echo and ICMP errors quoting another packet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace norman::conntrack::test {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

std::uint32_t ip4(const std::string& dotted);  // host byte order

Bytes tcp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
          std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::size_t payload = 0);
Bytes udp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
          std::size_t payload = 8);
Bytes icmp_echo(std::uint32_t src, std::uint32_t dst, std::uint8_t type, std::uint16_t id,
                std::uint16_t seq, std::size_t payload = 56);
// An ICMP error (type/code) from src to dst quoting `about` (its IPv4 header
// and first 8 bytes of L4, as RFC 792 asks; Linux quotes more, up to 576 B).
Bytes icmp_error(std::uint32_t src, std::uint32_t dst, std::uint8_t type, std::uint8_t code,
                 const Bytes& about);

}  // namespace norman::conntrack::test
