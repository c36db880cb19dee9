// IPv4 (with -v's header line), a short IPv6 summary, and ICMP.
#include <netdb.h>

#include <string>
#include <utility>

#include "format_internal.hpp"

namespace norman::ndump::detail {
namespace {

constexpr std::uint8_t proto_icmp = 1;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_udp = 17;

// Without -n tcpdump names protocols from /etc/protocols (netdb), not from
// its own table.
std::string netdb_protoname(std::uint8_t proto) {
  protoent pe{};
  protoent* res = nullptr;
  char buf[1024];
  if (getprotobynumber_r(proto, &pe, buf, sizeof buf, &res) == 0 && res != nullptr)
    return res->p_name;
  return {};
}

void print_proto_name(Printer& p, std::uint8_t proto) {
  std::string name = p.opt.numeric ? std::string() : netdb_protoname(proto);
  if (!name.empty())
    p.printf(" %s", name.c_str());
  else
    p.printf(" ip-proto-%u", proto);
}

// IPv4 options with -v, as tcpdump's ip_optprint: false when an option
// runs past the captured bytes (tcpdump's "[truncated-option]").
bool print_ip_route(Printer& p, Bytes b, std::size_t cp, std::uint32_t length) {
  if (length < 3) {
    p.printf(" [bad length %u]", length);
    return true;
  }
  if ((length + 1) & 3) p.printf(" [bad length %u]", length);
  const std::uint32_t ptr = b.u8(cp + 2) - 1u;
  if (ptr < 3 || ((ptr + 1) & 3) || ptr > length + 1) p.printf(" [bad ptr %u]", b.u8(cp + 2));
  for (std::uint32_t len = 3; len < length; len += 4) {
    if (!b.has(cp + len, 4)) return false;
    p.printf(" %s", p.ip4(b, cp + len).c_str());
    if (ptr > len) p.printf(",");
  }
  return true;
}

bool print_ip_options(Printer& p, Bytes b, std::size_t cp, std::uint32_t length) {
  const char* sep = "";
  std::uint32_t option_len = 0;
  for (; length > 0; cp += option_len, length -= option_len) {
    p.printf("%s", sep);
    sep = ",";
    const std::uint8_t code = b.u8(cp);
    switch (code) {
      case 0:
        p.printf("EOL");
        break;
      case 1:
        p.printf("NOP");
        break;
      case 68:
        p.printf("timestamp");
        break;
      case 130:
        p.printf("security");
        break;
      case 7:
        p.printf("RR");
        break;
      case 137:
        p.printf("SSRR");
        break;
      case 131:
        p.printf("LSRR");
        break;
      case 148:
        p.printf("RA");
        break;
      case 82:
        p.printf("traceroute");
        break;
      default:
        p.printf("unknown %u", code);
    }
    if (code == 0 || code == 1) {
      option_len = 1;
    } else {
      option_len = b.u8(cp + 1);
      if (option_len < 2) {
        p.printf(" [bad length %u]", option_len);
        return true;
      }
    }
    if (option_len > length) {
      p.printf(" [bad length %u]", option_len);
      return true;
    }
    if (!b.has(cp, option_len)) return false;
    switch (code) {
      case 0:
        return true;
      case 7:
      case 131:
      case 137:
        if (!print_ip_route(p, b, cp, option_len)) return false;
        break;
      case 148:
        if (option_len < 4) {
          p.printf(" [bad length %u]", option_len);
          break;
        }
        if (b.u16(cp + 2) != 0) p.printf(" value %u", b.u16(cp + 2));
        break;
      case 68:
        // tcpdump decodes the time stamps; ndump prints the option's name
        // only (docs/ndump.md).
        break;
      default:
        break;
    }
  }
  return true;
}

void demux(Printer& p, std::uint8_t nh, Bytes payload, std::uint32_t length, const IpContext& ip,
           bool fragmented) {
  switch (nh) {
    case proto_tcp:
      print_tcp(p, payload, length, ip, fragmented);
      return;
    case proto_udp:
      print_udp(p, payload, length, ip, fragmented);
      return;
    case proto_icmp:
      if (ip.version == 4) {
        print_icmp(p, payload, length, ip, fragmented);
      } else {
        p.printf("[ICMP requires IPv4] (invalid)");
      }
      return;
    default: {
      print_proto_name(p, nh);
      p.printf(" %u", length);
    }
  }
}

}  // namespace

const char* ipproto_name(std::uint8_t proto) {
  switch (proto) {
    case 0:
      return "HBH";
    case 1:
      return "ICMP";
    case 2:
      return "IGMP";
    case 4:
      return "IPIP";
    case 6:
      return "TCP";
    case 8:
      return "EGP";
    case 9:
      return "IGRP";
    case 17:
      return "UDP";
    case 33:
      return "DCCP";
    case 41:
      return "IPv6";
    case 43:
      return "Routing";
    case 44:
      return "Fragment";
    case 46:
      return "RSVP";
    case 47:
      return "GRE";
    case 50:
      return "ESP";
    case 51:
      return "AH";
    case 55:
      return "Mobile IP";
    case 58:
      return "ICMPv6";
    case 59:
      return "No Next Header";
    case 60:
      return "DSTOPT";
    case 88:
      return "EIGRP";
    case 89:
      return "OSPF";
    case 103:
      return "PIM";
    case 108:
      return "Compressed IP";
    case 112:
      return "VRRP";
    case 113:
      return "PGM";
    case 132:
      return "SCTP";
    case 135:
      return "Mobility";
    default:
      return nullptr;
  }
}

void print_ipv4(Printer& p, Bytes b, std::uint32_t length) {
  p.proto = "ip";
  const std::uint8_t vhl = b.u8(0);
  if (vhl >> 4 != 4) {
    if (vhl >> 4 == 6)
      p.printf("IP6, wrong link-layer encapsulation");
    else
      p.printf("IP%u", vhl >> 4);
    p.printf(" (invalid)");
    return;
  }
  if (!p.opt.link_header) p.printf("IP ");
  b.need(0, 20);
  if (length < 20) {
    p.printf("truncated-ip %u", length);
    return;
  }
  const std::uint32_t hlen = (vhl & 0x0f) * 4u;
  if (hlen < 20) {
    p.printf("bad-hlen %u", hlen);
    return;
  }
  std::uint32_t len = b.u16(2);
  if (length < len) p.printf("truncated-ip - %u bytes missing! ", len - length);
  if (len < hlen) {
    p.printf("bad-len %u", len);
    return;
  }
  b = b.limit(len);  // Ethernet padding is not part of the datagram
  len -= hlen;
  const std::uint16_t off = b.u16(6);
  const std::uint8_t proto = b.u8(9);
  if (p.opt.verbose) {
    const std::uint8_t tos = b.u8(1);
    p.printf("(tos 0x%x", tos);
    static const char* const ecn[] = {"", ",ECT(1)", ",ECT(0)", ",CE"};
    p.printf("%s", ecn[tos & 3]);
    const std::uint8_t ttl = b.u8(8);
    if (ttl >= 1) p.printf(", ttl %u", ttl);
    // tcpdump's bittok2str order: MF "+", DF, the reserved bit "rsvd".
    std::string flags;
    for (auto [bit, name] : {std::pair{0x2000, "+"}, {0x4000, "DF"}, {0x8000, "rsvd"}}) {
      if (!(off & bit)) continue;
      if (!flags.empty()) flags += ", ";
      flags += name;
    }
    if (flags.empty()) flags = "none";
    const char* pname = ipproto_name(proto);
    p.printf(", id %u, offset %u, flags [%s], proto %s (%u)", b.u16(4), (off & 0x1fffu) * 8,
             flags.c_str(), pname ? pname : "unknown", proto);
    p.printf(", length %u", b.u16(2));
    bool truncated = false;
    if (hlen > 20) {
      p.printf(", options (");
      if (!print_ip_options(p, b, 20, hlen - 20)) {
        p.printf(" [truncated-option]");
        truncated = true;
      }
      p.printf(")");
    }
    if (b.has(0, hlen)) {
      std::uint16_t sum = in_cksum(b.data(), hlen);
      if (sum != 0)
        p.printf(", bad cksum %x (->%x)!", b.u16(10), in_cksum_shouldbe(b.u16(10), sum));
    }
    p.printf(")\n    ");
    if (truncated) {
      p.printf("%s > %s: ", p.ip4(b, 12).c_str(), p.ip4(b, 16).c_str());
      throw Truncated{};
    }
  }
  IpContext ip{4, b, proto};
  if ((off & 0x1fff) == 0) {
    if (proto != proto_tcp && proto != proto_udp && proto != 132 && proto != 33)
      p.printf("%s > %s: ", p.ip4(b, 12).c_str(), p.ip4(b, 16).c_str());
    if (!b.has(0, hlen)) {
      p.printf(" [remaining caplen(%zu) < header length(%u)]", b.size(), hlen);
      throw Truncated{};
    }
    demux(p, proto, b.from(hlen), len, ip, (off & 0x2000) != 0);
  } else {
    p.printf("%s > %s:", p.ip4(b, 12).c_str(), p.ip4(b, 16).c_str());
    print_proto_name(p, proto);
  }
}

void print_ipv6(Printer& p, Bytes b, std::uint32_t length) {
  // A summary only (docs/ndump.md): addresses, then the transport as for
  // IPv4 when it follows the fixed header directly.
  p.proto = "ip6";
  b.need(0, 40);
  if (!p.opt.link_header) p.printf("IP6 ");
  const std::uint32_t plen = b.u16(4);
  const std::uint8_t nh = b.u8(6);
  if (p.opt.verbose) {
    const std::uint32_t flow = b.u32(0);
    p.printf("(");
    if (flow & 0x0ff00000) p.printf("class 0x%02x, ", (flow & 0x0ff00000) >> 20);
    if (flow & 0x000fffff) p.printf("flowlabel 0x%05x, ", flow & 0x000fffff);
    const char* name = ipproto_name(nh);
    p.printf("hlim %u, next-header %s (%u) payload length: %u) ", b.u8(7), name ? name : "unknown",
             nh, plen);
  }
  IpContext ip{6, b, nh};
  std::uint32_t avail = length >= 40 ? length - 40 : 0;
  if (plen < avail) avail = plen;
  Bytes payload = b.limit(40 + static_cast<std::size_t>(plen)).from(40);
  if (nh == proto_tcp || nh == proto_udp) {
    demux(p, nh, payload, avail, ip, false);
    return;
  }
  p.printf("%s > %s:", p.ip6(b, 8).c_str(), p.ip6(b, 24).c_str());
  const char* name = ipproto_name(nh);
  if (name)
    p.printf(" %s", name);
  else
    p.printf(" ip-proto-%u", nh);
  p.printf(" %u", avail);
}

void print_icmp(Printer& p, Bytes b, std::uint32_t plen, const IpContext&, bool fragmented) {
  p.proto = "icmp";
  const std::uint8_t type = b.u8(0);
  const std::uint8_t code = b.u8(1);
  std::string s;
  char buf[256];
  auto inner_dst = [&] { return p.ip4(b, 8 + 16); };
  switch (type) {
    case 0:
    case 8:
      std::snprintf(buf, sizeof buf, "echo %s, id %u, seq %u", type == 8 ? "request" : "reply",
                    b.u16(4), b.u16(6));
      s = buf;
      break;
    case 3:
      switch (code) {
        case 0:
          s = "net " + inner_dst() + " unreachable";
          break;
        case 1:
          s = "host " + inner_dst() + " unreachable";
          break;
        case 2:
          s = inner_dst() + " protocol " + std::to_string(b.u8(8 + 9)) + " unreachable";
          break;
        case 3: {
          const std::size_t ohlen = (b.u8(8) & 0x0f) * 4u;
          const std::uint16_t dport = b.u16(8 + ohlen + 2);
          const std::uint8_t oproto = b.u8(8 + 9);
          if (oproto == proto_tcp)
            s = inner_dst() + " tcp port " + p.tcp_port(dport) + " unreachable";
          else if (oproto == proto_udp)
            s = inner_dst() + " udp port " + p.udp_port(dport) + " unreachable";
          else
            s = inner_dst() + " protocol " + std::to_string(oproto) + " port " +
                std::to_string(dport) + " unreachable";
          break;
        }
        case 4: {
          const std::uint16_t mtu = b.u16(6);
          s = inner_dst() + " unreachable - need to frag";
          if (mtu) s += " (mtu " + std::to_string(mtu) + ")";
          break;
        }
        case 5:
          s = inner_dst() + " unreachable - source route failed";
          break;
        case 6:
          s = "net " + inner_dst() + " unreachable - unknown";
          break;
        case 7:
          s = "host " + inner_dst() + " unreachable - unknown";
          break;
        case 8:
          s = inner_dst() + " unreachable - source host isolated";
          break;
        case 9:
          s = "net " + inner_dst() + " unreachable - admin prohibited";
          break;
        case 10:
          s = "host " + inner_dst() + " unreachable - admin prohibited";
          break;
        case 11:
          s = "net " + inner_dst() + " unreachable - tos prohibited";
          break;
        case 12:
          s = "host " + inner_dst() + " unreachable - tos prohibited";
          break;
        case 13:
          s = "host " + inner_dst() + " unreachable - admin prohibited filter";
          break;
        case 14:
          s = "host " + inner_dst() + " unreachable - host precedence violation";
          break;
        case 15:
          s = "host " + inner_dst() + " unreachable - precedence cutoff";
          break;
        default:
          s = inner_dst() + " unreachable - #" + std::to_string(code);
          break;
      }
      break;
    case 11:
      b.need(8 + 16, 4);
      s = code == 0   ? "time exceeded in-transit"
          : code == 1 ? "ip reassembly time exceeded"
                      : "time exceeded-#" + std::to_string(code);
      break;
    case 4:
      s = "source quench";
      break;
    case 13:
      std::snprintf(buf, sizeof buf, "time stamp query id %u seq %u", b.u16(4), b.u16(6));
      s = buf;
      break;
    case 14: {
      // Milliseconds since midnight UT as tcpdump prints them.
      auto ms = [](std::uint32_t t) {
        char out[48];
        std::uint32_t msec = t % 1000, sec = t / 1000, min = sec / 60;
        sec -= min * 60;
        std::uint32_t hrs = min / 60;
        min -= hrs * 60;
        std::snprintf(out, sizeof out, "%02u:%02u:%02u.%03u", hrs, min, sec, msec);
        return std::string(out);
      };
      std::snprintf(buf, sizeof buf, "time stamp reply id %u seq %u: org ", b.u16(4), b.u16(6));
      s = buf + ms(b.u32(8)) + ", recv " + ms(b.u32(12)) + ", xmit " + ms(b.u32(16));
      break;
    }
    case 5: {
      const std::string gw = p.ip4(b, 4), dst = inner_dst();
      switch (code) {
        case 0:
          s = "redirect " + dst + " to net " + gw;
          break;
        case 1:
          s = "redirect " + dst + " to host " + gw;
          break;
        case 2:
          s = "redirect-tos " + dst + " to net " + gw;
          break;
        case 3:
          s = "redirect-tos " + dst + " to host " + gw;
          break;
        default:
          s = "redirect-#" + std::to_string(code) + " " + dst + " to " + gw;
      }
      break;
    }
    case 9: {
      s = "router advertisement lifetime ";
      const std::uint32_t life = b.u16(6);
      if (life < 60)
        std::snprintf(buf, sizeof buf, "%u", life);
      else if (life < 3600)
        std::snprintf(buf, sizeof buf, "%u:%02u", life / 60, life % 60);
      else
        std::snprintf(buf, sizeof buf, "%u:%02u:%02u", life / 3600, life % 3600 / 60, life % 60);
      s += buf;
      std::uint32_t num = b.u8(4);
      s += " " + std::to_string(num) + ":";
      const std::uint32_t size = b.u8(5);
      if (size != 2) {
        s += " [size " + std::to_string(size) + "]";
        break;
      }
      for (std::size_t off = 8; num != 0; --num, off += 8)
        s += " {" + p.ip4(b, off) + " " + std::to_string(b.u32(off + 4)) + "}";
      break;
    }
    case 15:
      s = "information request";
      break;
    case 16:
      s = "information reply";
      break;
    case 17:
      s = "address mask request";
      break;
    case 10:
      s = "router solicitation";
      break;
    case 12:
      s = code ? "parameter problem - code " + std::to_string(code)
               : "parameter problem - octet " + std::to_string(b.u8(4));
      break;
    case 18:
      std::snprintf(buf, sizeof buf, "address mask is 0x%08x", b.u32(8));
      s = buf;
      break;
    default:
      s = "type-#" + std::to_string(type);
      break;
  }
  p.printf("ICMP %s, length %u", s.c_str(), plen);
  if (p.opt.verbose && !fragmented && b.has(0, plen)) {
    std::uint16_t sum = in_cksum(b.data(), plen);
    if (sum != 0)
      p.printf(" (wrong icmp cksum %x (->%x)!)", b.u16(2), in_cksum_shouldbe(b.u16(2), sum));
  }
  const bool error_type = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  if (p.opt.verbose >= 1 && error_type) {
    // The quoted datagram, printed as IP after a new line.
    Bytes inner = b.from(8);
    p.printf("\n\t");
    const std::uint16_t ilen = inner.u16(2);
    print_ipv4(p, inner.limit(ilen), ilen);
  }
  p.proto = "icmp";
}

}  // namespace norman::ndump::detail
