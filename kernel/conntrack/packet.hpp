// An IPv4 packet as conntrack reads it: its tuple, and what the trackers
// need from the L4 header. Header errors and bad checksums (on received
// packets) are Linux's INVALID reasons. Internal to norman_conntrack.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "conntrack.hpp"

namespace norman::conntrack {

struct Packet {
  Tuple tuple;
  std::uint32_t ip_len = 0;    // IPv4 total length: what the byte counters add
  std::uint8_t tcp_flags = 0;  // TCP: the flag byte
  std::uint32_t ack = 0;       // TCP: acknowledgement number
  std::uint32_t tcp_end = 0;   // TCP: seq + payload + SYN + FIN
  std::uint8_t icmp_type = 0;
  bool icmp_error = false;  // ICMP error: `inner` is the packet it is about
  Tuple inner;
};

struct ParseResult {
  Packet packet;
  Reason reason = Reason::kNone;
};

[[nodiscard]] ParseResult parse_packet(std::span<const std::uint8_t> ip, bool verify_checksum);

// The ICMP query type answering `type` (echo 8 <-> 0, timestamp, info,
// address mask), as nf_conntrack_icmp inverts tuples.
[[nodiscard]] std::optional<std::uint8_t> icmp_inverse(std::uint8_t type);

}  // namespace norman::conntrack
