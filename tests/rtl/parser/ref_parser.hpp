// Reference model of pkt_parser: the metadata (pkt_meta_t) of one frame,
// computed in software from the protocol definitions.
//
// Semantics shared with the RTL (docs/hw-interfaces.md, norman_pkg.sv):
// - Checks run in header order; the first failure sets `err` and stops, so
//   fields of the failing header and of everything after it stay zero.
//   ethertype/has_vlan/is_arp/is_ipv4/is_ipv6/l3_offset come from the
//   Ethernet header; ip_*, addresses and l4_offset need a good IP header;
//   is_tcp/is_udp/is_icmp also need a first fragment; ports, flags and ICMP
//   type/code need a good L4 header.
// - L3 lengths are checked against the frame, L4 lengths against the IP
//   packet (IPv4 total length / IPv6 payload length).
// - frame_len saturates at 0xFFFF.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace norman::ref {

// Same numbers as norman_pkg::parse_err_e.
enum class ParseErr : uint8_t {
  kNone = 0,
  kRunt = 1,
  kTruncVlan = 2,
  kTruncArp = 3,
  kIpv4Version = 4,
  kIpv4Ihl = 5,
  kIpv4Len = 6,
  kTruncIpv4 = 7,
  kIpv6Version = 8,
  kIpv6Len = 9,
  kTruncIpv6 = 10,
  kTruncL4 = 11,
  kTcpDoff = 12,
  kUdpLen = 13,
};

const char* to_string(ParseErr e);

// pkt_meta_t, field for field. IP addresses are the 128-bit fields as 16
// bytes, most significant first (an IPv4 address is bytes 12..15).
struct PktMeta {
  uint16_t frame_len = 0;
  uint64_t dst_mac = 0;
  uint64_t src_mac = 0;
  uint16_t ethertype = 0;
  bool has_vlan = false;
  uint16_t vlan_id = 0;
  uint8_t vlan_pcp = 0;
  bool is_arp = false;
  bool is_ipv4 = false;
  bool is_ipv6 = false;
  bool is_tcp = false;
  bool is_udp = false;
  bool is_icmp = false;
  bool ip_frag = false;
  bool ip_frag_later = false;
  bool ip_options = false;
  uint8_t ip_proto = 0;
  uint8_t ip_ttl = 0;
  uint8_t ip_dscp = 0;
  uint16_t ipv4_len = 0;  // IPv4 total length, once the IPv4 header passed its checks
  std::array<uint8_t, 16> src_ip{};
  std::array<uint8_t, 16> dst_ip{};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t l3_offset = 0;
  uint8_t l4_offset = 0;
  bool malformed = false;
  ParseErr err = ParseErr::kNone;

  bool operator==(const PktMeta&) const = default;
};

PktMeta parse(std::span<const uint8_t> frame);

// One line per differing field ("field: expected X, got Y"); empty if equal.
std::string diff(const PktMeta& expected, const PktMeta& actual);

// All fields on one line, for failure messages.
std::string to_string(const PktMeta& m);

}  // namespace norman::ref
