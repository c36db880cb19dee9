// Packet crafting for tests: Ethernet frames (optionally 802.1Q-tagged)
// carrying ARP, IPv4, IPv6, TCP, UDP, ICMP or ICMPv6, built byte by byte in
// network order with correct lengths and checksums.
//
// Every length, version and checksum the builders compute can be overridden
// (the std::optional members), so malformed packets are crafted with the same
// calls as good ones. Frames carry no FCS.
//
//   namespace pg = norman::pktgen;
//   pg::Eth eth(pg::mac("02:00:00:00:00:01"), pg::mac("02:00:00:00:00:02"), pg::Vlan(100));
//   pg::Ipv4 ip(pg::ipv4("10.0.0.1"), pg::ipv4("10.0.0.2"));
//   ip.ttl = 1;
//   pg::Tcp tcp(1234, 80, pg::tcp_flag::kSyn);
//   pg::Bytes frame = pg::ip_frame(eth, ip, tcp, pg::pattern(100));
//
// The descriptions take their essential fields in a constructor; set the rest
// as members (designated initializers would trip -Wmissing-field-initializers).
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace norman::pktgen {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ipv4Addr = std::array<uint8_t, 4>;
using Ipv6Addr = std::array<uint8_t, 16>;

namespace ethertype {
inline constexpr uint16_t kIpv4 = 0x0800;
inline constexpr uint16_t kArp = 0x0806;
inline constexpr uint16_t kVlan = 0x8100;
inline constexpr uint16_t kIpv6 = 0x86DD;
}  // namespace ethertype

namespace ipproto {
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kIpv6Frag = 44;
inline constexpr uint8_t kGre = 47;
inline constexpr uint8_t kIcmpv6 = 58;
inline constexpr uint8_t kNoNext = 59;
}  // namespace ipproto

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flag

inline constexpr size_t kEthHeaderBytes = 14;
inline constexpr size_t kVlanTagBytes = 4;
inline constexpr size_t kEthMinFrameBytes = 60;  // without FCS
inline constexpr size_t kIpv4HeaderBytes = 20;
inline constexpr size_t kIpv6HeaderBytes = 40;
inline constexpr size_t kTcpHeaderBytes = 20;
inline constexpr size_t kUdpHeaderBytes = 8;
inline constexpr size_t kIcmpHeaderBytes = 8;
inline constexpr size_t kArpBytes = 28;  // Ethernet/IPv4 ARP

// ---------------------------------------------------------------------------
// Addresses

// "aa:bb:cc:dd:ee:ff" (':' or '-' separated).
inline Mac mac(std::string_view text) {
  auto hex = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("pktgen::mac: bad address " + std::string(text));
  };
  if (text.size() != 17) throw std::invalid_argument("pktgen::mac: bad address " + std::string(text));
  Mac m{};
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[3 * i - 1] != ':' && text[3 * i - 1] != '-') {
      throw std::invalid_argument("pktgen::mac: bad address " + std::string(text));
    }
    m[i] = static_cast<uint8_t>(hex(text[3 * i]) * 16 + hex(text[3 * i + 1]));
  }
  return m;
}

inline Ipv4Addr ipv4(std::string_view text) {
  Ipv4Addr a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), a.data()) != 1) {
    throw std::invalid_argument("pktgen::ipv4: bad address " + std::string(text));
  }
  return a;
}

inline Ipv6Addr ipv6(std::string_view text) {
  Ipv6Addr a{};
  if (inet_pton(AF_INET6, std::string(text).c_str(), a.data()) != 1) {
    throw std::invalid_argument("pktgen::ipv6: bad address " + std::string(text));
  }
  return a;
}

// ---------------------------------------------------------------------------
// Byte helpers (network order)

inline void put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void put(Bytes& b, ByteSpan s) { b.insert(b.end(), s.begin(), s.end()); }

inline void store16(Bytes& b, size_t off, uint16_t v) {
  b.at(off) = static_cast<uint8_t>(v >> 8);
  b.at(off + 1) = static_cast<uint8_t>(v);
}
inline uint16_t load16(ByteSpan b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}

// n bytes 0, 1, 2, ... (mod 256) starting at `first`: recognizable payloads.
inline Bytes pattern(size_t n, uint8_t first = 0) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
  return b;
}

// ---------------------------------------------------------------------------
// Internet checksum (RFC 1071)

// Adds `data` to a running ones'-complement sum as big-endian 16-bit words; an
// odd trailing byte is padded with zero. Sums may be chained over pieces
// only if every piece but the last has even length.
inline uint32_t csum_add(uint32_t sum, ByteSpan data) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>((data[i] << 8) | data[i + 1]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  return sum;
}

inline uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The checksum of `data`; also 0 when run over data that contains a correct checksum.
inline uint16_t internet_checksum(ByteSpan data) { return csum_fold(csum_add(0, data)); }

// ---------------------------------------------------------------------------
// Header descriptions

struct Vlan {
  Vlan() = default;
  explicit Vlan(uint16_t id_, uint8_t pcp_ = 0, bool dei_ = false) : id(id_), pcp(pcp_), dei(dei_) {}
  uint16_t id = 0;  // 12 bits
  uint8_t pcp = 0;  // 3 bits
  bool dei = false;
  uint16_t tpid = ethertype::kVlan;
};

struct Eth {
  Eth() = default;
  Eth(const Mac& dst_, const Mac& src_, std::optional<Vlan> vlan_ = std::nullopt)
      : dst(dst_), src(src_), vlan(vlan_) {}
  Mac dst{};
  Mac src{};
  std::optional<Vlan> vlan;
  // Frames shorter than this are zero-padded (a real MAC never delivers less
  // than 60 bytes). Set 0 to get exactly the headers and payload.
  size_t min_len = kEthMinFrameBytes;
};

struct Arp {
  Arp() = default;
  Arp(uint16_t op_, const Mac& sha_, const Ipv4Addr& spa_, const Mac& tha_, const Ipv4Addr& tpa_)
      : op(op_), sha(sha_), spa(spa_), tha(tha_), tpa(tpa_) {}
  uint16_t op = 1;  // 1 request, 2 reply
  Mac sha{};
  Ipv4Addr spa{};
  Mac tha{};
  Ipv4Addr tpa{};
};

struct Ipv4 {
  Ipv4() = default;
  Ipv4(const Ipv4Addr& src_, const Ipv4Addr& dst_) : src(src_), dst(dst_) {}
  Ipv4Addr src{};
  Ipv4Addr dst{};
  uint8_t dscp = 0;  // 6 bits
  uint8_t ecn = 0;   // 2 bits
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;  // in 8-byte units, 13 bits
  Bytes options;             // zero-padded (End of Options) to a multiple of 4, at most 40
  // Overrides (malformed packets); unset = computed.
  std::optional<uint8_t> version;
  std::optional<uint8_t> ihl;
  std::optional<uint16_t> total_len;
  std::optional<uint8_t> proto;
  std::optional<uint16_t> checksum;
};

struct Ipv6 {
  Ipv6() = default;
  Ipv6(const Ipv6Addr& src_, const Ipv6Addr& dst_) : src(src_), dst(dst_) {}
  Ipv6Addr src{};
  Ipv6Addr dst{};
  uint8_t traffic_class = 0;  // DSCP << 2 | ECN
  uint32_t flow_label = 0;    // 20 bits
  uint8_t hop_limit = 64;
  // Overrides; unset = computed.
  std::optional<uint8_t> version;
  std::optional<uint8_t> next_header;
  std::optional<uint16_t> payload_len;
};

struct Tcp {
  Tcp() = default;
  Tcp(uint16_t src_port_, uint16_t dst_port_, uint8_t flags_ = 0)
      : src_port(src_port_), dst_port(dst_port_), flags(flags_) {}
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;  // tcp_flag::*
  uint16_t window = 65535;
  uint16_t urgent = 0;
  Bytes options;  // zero-padded to a multiple of 4, at most 40
  std::optional<uint8_t> data_offset;
  std::optional<uint16_t> checksum;
};

struct Udp {
  Udp() = default;
  Udp(uint16_t src_port_, uint16_t dst_port_) : src_port(src_port_), dst_port(dst_port_) {}
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  std::optional<uint16_t> length;
  std::optional<uint16_t> checksum;
};

// ICMP over IPv4, ICMPv6 over IPv6 (the checksum then covers the pseudo-header).
struct Icmp {
  Icmp() = default;
  Icmp(uint8_t type_, uint8_t code_, uint32_t rest_ = 0) : type(type_), code(code_), rest(rest_) {}
  uint8_t type = 8;  // echo request (ICMPv6: use 128)
  uint8_t code = 0;
  uint32_t rest = 0;  // the 4 type-specific header bytes (e.g. identifier, sequence)
  std::optional<uint16_t> checksum;
};

// Any other protocol: the payload is carried as is.
struct RawL4 {
  RawL4() = default;
  explicit RawL4(uint8_t proto_) : proto(proto_) {}
  uint8_t proto = ipproto::kNoNext;
};

using L3 = std::variant<Ipv4, Ipv6>;
using L4 = std::variant<Tcp, Udp, Icmp, RawL4>;

// ---------------------------------------------------------------------------
// Builders, innermost first

inline Bytes padded_options(const Bytes& opts) {
  Bytes o = opts;
  while (o.size() % 4 != 0) o.push_back(0);
  if (o.size() > 40) throw std::invalid_argument("pktgen: more than 40 bytes of options");
  return o;
}

// Ones'-complement sum of the IPv4 pseudo-header for an L4 segment of `len` bytes.
inline uint32_t pseudo_sum(const Ipv4& ip, uint8_t proto, size_t len) {
  uint32_t s = csum_add(0, ip.src);
  s = csum_add(s, ip.dst);
  return s + proto + static_cast<uint32_t>(len);
}

// IPv6 pseudo-header (RFC 8200 section 8.1).
inline uint32_t pseudo_sum(const Ipv6& ip, uint8_t proto, size_t len) {
  uint32_t s = csum_add(0, ip.src);
  s = csum_add(s, ip.dst);
  return s + static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xFFFF) + proto;
}

// A TCP segment; `pseudo` is the pseudo-header sum (see pseudo_sum).
inline Bytes tcp_segment(const Tcp& t, ByteSpan payload, uint32_t pseudo) {
  const Bytes opts = padded_options(t.options);
  const auto doff = t.data_offset.value_or(static_cast<uint8_t>((kTcpHeaderBytes + opts.size()) / 4));
  Bytes b;
  put16(b, t.src_port);
  put16(b, t.dst_port);
  put32(b, t.seq);
  put32(b, t.ack);
  put8(b, static_cast<uint8_t>(doff << 4));
  put8(b, t.flags);
  put16(b, t.window);
  put16(b, 0);
  put16(b, t.urgent);
  put(b, opts);
  put(b, payload);
  store16(b, 16, t.checksum.value_or(csum_fold(csum_add(pseudo, b))));
  return b;
}

inline Bytes udp_datagram(const Udp& u, ByteSpan payload, uint32_t pseudo) {
  Bytes b;
  put16(b, u.src_port);
  put16(b, u.dst_port);
  put16(b, u.length.value_or(static_cast<uint16_t>(kUdpHeaderBytes + payload.size())));
  put16(b, 0);
  put(b, payload);
  uint16_t sum = csum_fold(csum_add(pseudo, b));
  if (sum == 0) sum = 0xFFFF;  // 0 means "no checksum" in UDP (RFC 768)
  store16(b, 6, u.checksum.value_or(sum));
  return b;
}

// ICMP (pseudo = 0) or ICMPv6 (pseudo = IPv6 pseudo-header sum).
inline Bytes icmp_message(const Icmp& m, ByteSpan payload, uint32_t pseudo) {
  Bytes b;
  put8(b, m.type);
  put8(b, m.code);
  put16(b, 0);
  put32(b, m.rest);
  put(b, payload);
  store16(b, 2, m.checksum.value_or(csum_fold(csum_add(pseudo, b))));
  return b;
}

inline Bytes ipv4_packet(const Ipv4& ip, uint8_t proto, ByteSpan payload) {
  const Bytes opts = padded_options(ip.options);
  const size_t hdr_len = kIpv4HeaderBytes + opts.size();
  const auto ihl = ip.ihl.value_or(static_cast<uint8_t>(hdr_len / 4));
  Bytes b;
  put8(b, static_cast<uint8_t>((ip.version.value_or(4) << 4) | (ihl & 0xF)));
  put8(b, static_cast<uint8_t>((ip.dscp << 2) | (ip.ecn & 0x3)));
  put16(b, ip.total_len.value_or(static_cast<uint16_t>(hdr_len + payload.size())));
  put16(b, ip.id);
  put16(b, static_cast<uint16_t>((ip.df ? 0x4000 : 0) | (ip.mf ? 0x2000 : 0) | (ip.frag_offset & 0x1FFF)));
  put8(b, ip.ttl);
  put8(b, ip.proto.value_or(proto));
  put16(b, 0);
  put(b, ip.src);
  put(b, ip.dst);
  put(b, opts);
  store16(b, 10, ip.checksum.value_or(internet_checksum(b)));
  put(b, payload);
  return b;
}

inline Bytes ipv6_packet(const Ipv6& ip, uint8_t next_header, ByteSpan payload) {
  Bytes b;
  put32(b, (static_cast<uint32_t>(ip.version.value_or(6)) << 28) |
               (static_cast<uint32_t>(ip.traffic_class) << 20) | (ip.flow_label & 0xFFFFF));
  put16(b, ip.payload_len.value_or(static_cast<uint16_t>(payload.size())));
  put8(b, ip.next_header.value_or(next_header));
  put8(b, ip.hop_limit);
  put(b, ip.src);
  put(b, ip.dst);
  put(b, payload);
  return b;
}

inline Bytes arp_packet(const Arp& a) {
  Bytes b;
  put16(b, 1);  // Ethernet
  put16(b, ethertype::kIpv4);
  put8(b, 6);
  put8(b, 4);
  put16(b, a.op);
  put(b, a.sha);
  put(b, a.spa);
  put(b, a.tha);
  put(b, a.tpa);
  return b;
}

inline Bytes eth_frame(const Eth& e, uint16_t type, ByteSpan payload) {
  Bytes b;
  put(b, e.dst);
  put(b, e.src);
  if (e.vlan) {
    put16(b, e.vlan->tpid);
    put16(b, static_cast<uint16_t>((e.vlan->pcp & 0x7) << 13 | (e.vlan->dei ? 0x1000 : 0) | (e.vlan->id & 0xFFF)));
  }
  put16(b, type);
  put(b, payload);
  if (b.size() < e.min_len) b.resize(e.min_len, 0);
  return b;
}

// The IP protocol number an L4 description stands for over IPv4 or IPv6.
inline uint8_t l4_proto(const L4& l4, bool over_ipv6) {
  struct Visitor {
    bool v6;
    uint8_t operator()(const Tcp&) const { return ipproto::kTcp; }
    uint8_t operator()(const Udp&) const { return ipproto::kUdp; }
    uint8_t operator()(const Icmp&) const { return v6 ? ipproto::kIcmpv6 : ipproto::kIcmp; }
    uint8_t operator()(const RawL4& r) const { return r.proto; }
  };
  return std::visit(Visitor{over_ipv6}, l4);
}

// The L4 bytes (header + payload) with the checksum for the given IP header.
inline Bytes l4_segment(const L3& l3, const L4& l4, ByteSpan payload) {
  const bool v6 = std::holds_alternative<Ipv6>(l3);
  const uint8_t proto = l4_proto(l4, v6);
  auto pseudo = [&](size_t len) {
    return v6 ? pseudo_sum(std::get<Ipv6>(l3), proto, len) : pseudo_sum(std::get<Ipv4>(l3), proto, len);
  };
  if (const auto* t = std::get_if<Tcp>(&l4)) {
    return tcp_segment(*t, payload, pseudo(kTcpHeaderBytes + padded_options(t->options).size() + payload.size()));
  }
  if (const auto* u = std::get_if<Udp>(&l4)) {
    return udp_datagram(*u, payload, pseudo(kUdpHeaderBytes + payload.size()));
  }
  if (const auto* m = std::get_if<Icmp>(&l4)) {
    return icmp_message(*m, payload, v6 ? pseudo(kIcmpHeaderBytes + payload.size()) : 0);
  }
  return Bytes(payload.begin(), payload.end());
}

// The IP packet (header + L4 segment).
inline Bytes ip_packet(const L3& l3, const L4& l4, ByteSpan payload = {}) {
  const Bytes seg = l4_segment(l3, l4, payload);
  if (const auto* v4 = std::get_if<Ipv4>(&l3)) return ipv4_packet(*v4, l4_proto(l4, false), seg);
  return ipv6_packet(std::get<Ipv6>(l3), l4_proto(l4, true), seg);
}

// A whole frame: Ethernet (+ VLAN) / IPv4 or IPv6 / TCP, UDP, ICMP(v6) or raw.
inline Bytes ip_frame(const Eth& eth, const L3& l3, const L4& l4, ByteSpan payload = {}) {
  const uint16_t type = std::holds_alternative<Ipv6>(l3) ? ethertype::kIpv6 : ethertype::kIpv4;
  return eth_frame(eth, type, ip_packet(l3, l4, payload));
}

inline Bytes arp_frame(const Eth& eth, const Arp& arp) {
  return eth_frame(eth, ethertype::kArp, arp_packet(arp));
}

}  // namespace norman::pktgen
