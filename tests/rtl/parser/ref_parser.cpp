#include "ref_parser.hpp"

#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace norman::ref {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;

using Span = std::span<const uint8_t>;

uint16_t be16(Span s, size_t off) { return static_cast<uint16_t>(s[off] << 8 | s[off + 1]); }

uint64_t be48(Span s, size_t off) {
  uint64_t v = 0;
  for (size_t i = 0; i < 6; ++i) v = v << 8 | s[off + i];
  return v;
}

// Parses the L4 header at the start of `seg`, which is exactly the IP
// packet's payload. Returns the error, if any.
std::optional<ParseErr> parse_l4(PktMeta& m, Span seg, bool over_ipv6) {
  switch (m.ip_proto) {
    case kProtoTcp: {
      m.is_tcp = true;
      if (seg.size() < 20) return ParseErr::kTruncL4;
      const unsigned doff = seg[12] >> 4;
      if (doff < 5) return ParseErr::kTcpDoff;
      if (seg.size() < doff * 4) return ParseErr::kTruncL4;
      m.src_port = be16(seg, 0);
      m.dst_port = be16(seg, 2);
      m.tcp_flags = seg[13];
      return std::nullopt;
    }
    case kProtoUdp: {
      m.is_udp = true;
      if (seg.size() < 8) return ParseErr::kTruncL4;
      const uint16_t len = be16(seg, 4);
      if (len < 8 || len > seg.size()) return ParseErr::kUdpLen;
      m.src_port = be16(seg, 0);
      m.dst_port = be16(seg, 2);
      return std::nullopt;
    }
    default:
      break;
  }
  if (m.ip_proto == (over_ipv6 ? kProtoIcmpv6 : kProtoIcmp)) {
    m.is_icmp = true;
    // RFC 792 and RFC 4443 messages all start with 8 header bytes.
    if (seg.size() < 8) return ParseErr::kTruncL4;
    m.icmp_type = seg[0];
    m.icmp_code = seg[1];
  }
  return std::nullopt;
}

std::optional<ParseErr> parse_ipv4(PktMeta& m, Span pkt, size_t l3) {
  // `pkt` runs from the IPv4 header to the end of the frame.
  if (pkt.size() < 20) return ParseErr::kTruncIpv4;
  if (pkt[0] >> 4 != 4) return ParseErr::kIpv4Version;
  const size_t ihl = pkt[0] & 0xF;
  if (ihl < 5) return ParseErr::kIpv4Ihl;
  const size_t hdr_len = ihl * 4;
  if (pkt.size() < hdr_len) return ParseErr::kTruncIpv4;
  const size_t total = be16(pkt, 2);
  if (total < hdr_len || total > pkt.size()) return ParseErr::kIpv4Len;

  m.ip_dscp = static_cast<uint8_t>(pkt[1] >> 2);
  m.ipv4_len = static_cast<uint16_t>(total);
  m.ip_ttl = pkt[8];
  m.ip_proto = pkt[9];
  for (size_t i = 0; i < 4; ++i) {
    m.src_ip[12 + i] = pkt[12 + i];
    m.dst_ip[12 + i] = pkt[16 + i];
  }
  m.ip_options = ihl > 5;
  const bool more_fragments = (pkt[6] & 0x20) != 0;
  const unsigned frag_offset = be16(pkt, 6) & 0x1FFFu;
  m.ip_frag = more_fragments || frag_offset != 0;
  m.ip_frag_later = frag_offset != 0;
  if (m.ip_frag_later) return std::nullopt;  // the L4 header is in the first fragment

  m.l4_offset = static_cast<uint8_t>(l3 + hdr_len);
  return parse_l4(m, pkt.subspan(hdr_len, total - hdr_len), false);
}

std::optional<ParseErr> parse_ipv6(PktMeta& m, Span pkt, size_t l3) {
  if (pkt.size() < 40) return ParseErr::kTruncIpv6;
  if (pkt[0] >> 4 != 6) return ParseErr::kIpv6Version;
  const size_t payload = be16(pkt, 4);
  if (payload > pkt.size() - 40) return ParseErr::kIpv6Len;

  const unsigned traffic_class = (pkt[0] & 0xFu) << 4 | pkt[1] >> 4;
  m.ip_dscp = static_cast<uint8_t>(traffic_class >> 2);
  m.ip_proto = pkt[6];
  m.ip_ttl = pkt[7];
  for (size_t i = 0; i < 16; ++i) {
    m.src_ip[i] = pkt[8 + i];
    m.dst_ip[i] = pkt[24 + i];
  }
  m.l4_offset = static_cast<uint8_t>(l3 + 40);
  // Extension headers are not followed: anything but TCP/UDP/ICMPv6 is left at ip_proto.
  return parse_l4(m, pkt.subspan(40, payload), true);
}

}  // namespace

PktMeta parse(std::span<const uint8_t> frame_bytes) {
  PktMeta m;
  // The hardware counts 16 bits; bytes beyond that are not seen as part of the frame.
  const size_t len = frame_bytes.size() > 0xFFFF ? 0xFFFF : frame_bytes.size();
  const Span f = frame_bytes.first(len);
  m.frame_len = static_cast<uint16_t>(len);

  auto result = [&]() -> std::optional<ParseErr> {
    if (f.size() < 14) return ParseErr::kRunt;
    m.dst_mac = be48(f, 0);
    m.src_mac = be48(f, 6);
    uint16_t type = be16(f, 12);
    size_t l3 = 14;
    if (type == kEtherVlan) {
      m.has_vlan = true;
      if (f.size() < 18) return ParseErr::kTruncVlan;
      const uint16_t tci = be16(f, 14);
      m.vlan_pcp = static_cast<uint8_t>(tci >> 13);
      m.vlan_id = tci & 0xFFF;
      type = be16(f, 16);
      l3 = 18;
    }
    m.ethertype = type;
    const Span pkt = f.subspan(l3);
    switch (type) {
      case kEtherArp:
        m.is_arp = true;
        m.l3_offset = static_cast<uint8_t>(l3);
        if (pkt.size() < 28) return ParseErr::kTruncArp;
        return std::nullopt;
      case kEtherIpv4:
        m.is_ipv4 = true;
        m.l3_offset = static_cast<uint8_t>(l3);
        return parse_ipv4(m, pkt, l3);
      case kEtherIpv6:
        m.is_ipv6 = true;
        m.l3_offset = static_cast<uint8_t>(l3);
        return parse_ipv6(m, pkt, l3);
      default:
        return std::nullopt;
    }
  }();

  if (result) {
    m.malformed = true;
    m.err = *result;
  }
  return m;
}

const char* to_string(ParseErr e) {
  switch (e) {
    case ParseErr::kNone: return "NONE";
    case ParseErr::kRunt: return "RUNT";
    case ParseErr::kTruncVlan: return "TRUNC_VLAN";
    case ParseErr::kTruncArp: return "TRUNC_ARP";
    case ParseErr::kIpv4Version: return "IPV4_VERSION";
    case ParseErr::kIpv4Ihl: return "IPV4_IHL";
    case ParseErr::kIpv4Len: return "IPV4_LEN";
    case ParseErr::kTruncIpv4: return "TRUNC_IPV4";
    case ParseErr::kIpv6Version: return "IPV6_VERSION";
    case ParseErr::kIpv6Len: return "IPV6_LEN";
    case ParseErr::kTruncIpv6: return "TRUNC_IPV6";
    case ParseErr::kTruncL4: return "TRUNC_L4";
    case ParseErr::kTcpDoff: return "TCP_DOFF";
    case ParseErr::kUdpLen: return "UDP_LEN";
  }
  return "?";
}

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string hex(const std::array<uint8_t, 16>& a) {
  std::string s;
  for (size_t i = 0; i < a.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", a[i]);
    s += buf;
    if (i % 2 == 1 && i + 1 < a.size()) s += ':';
  }
  return s;
}

std::vector<std::pair<std::string_view, std::string>> fields(const PktMeta& m) {
  return {
      {"frame_len", std::to_string(m.frame_len)},
      {"dst_mac", hex(m.dst_mac)},
      {"src_mac", hex(m.src_mac)},
      {"ethertype", hex(m.ethertype)},
      {"has_vlan", std::to_string(m.has_vlan)},
      {"vlan_id", std::to_string(m.vlan_id)},
      {"vlan_pcp", std::to_string(m.vlan_pcp)},
      {"is_arp", std::to_string(m.is_arp)},
      {"is_ipv4", std::to_string(m.is_ipv4)},
      {"is_ipv6", std::to_string(m.is_ipv6)},
      {"is_tcp", std::to_string(m.is_tcp)},
      {"is_udp", std::to_string(m.is_udp)},
      {"is_icmp", std::to_string(m.is_icmp)},
      {"ip_frag", std::to_string(m.ip_frag)},
      {"ip_frag_later", std::to_string(m.ip_frag_later)},
      {"ip_options", std::to_string(m.ip_options)},
      {"ip_proto", std::to_string(m.ip_proto)},
      {"ip_ttl", std::to_string(m.ip_ttl)},
      {"ip_dscp", std::to_string(m.ip_dscp)},
      {"ipv4_len", std::to_string(m.ipv4_len)},
      {"src_ip", hex(m.src_ip)},
      {"dst_ip", hex(m.dst_ip)},
      {"src_port", std::to_string(m.src_port)},
      {"dst_port", std::to_string(m.dst_port)},
      {"tcp_flags", hex(m.tcp_flags)},
      {"icmp_type", std::to_string(m.icmp_type)},
      {"icmp_code", std::to_string(m.icmp_code)},
      {"l3_offset", std::to_string(m.l3_offset)},
      {"l4_offset", std::to_string(m.l4_offset)},
      {"malformed", std::to_string(m.malformed)},
      {"err", to_string(m.err)},
  };
}

}  // namespace

std::string diff(const PktMeta& expected, const PktMeta& actual) {
  const auto e = fields(expected);
  const auto a = fields(actual);
  std::string out;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e[i].second != a[i].second) {
      out += std::string(e[i].first) + ": expected " + e[i].second + ", got " + a[i].second + "\n";
    }
  }
  return out;
}

std::string to_string(const PktMeta& m) {
  std::string out;
  for (const auto& [name, value] : fields(m)) {
    out += std::string(name) + "=" + value + " ";
  }
  return out;
}

}  // namespace norman::ref
