// Ethernet, 802.1Q tags, the ethertype switch, ARP, and tcpdump's hex dump
// for payloads ndump does not decode.
#include "format_internal.hpp"

namespace norman::ndump::detail {
namespace {

constexpr std::uint16_t ethertype_ip = 0x0800;
constexpr std::uint16_t ethertype_arp = 0x0806;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;

bool is_vlan(std::uint16_t t) { return t == 0x8100 || t == 0x9100 || t == 0x9200 || t == 0x88a8; }

void ether_type_print(Printer& p, std::uint16_t type) {
  const char* name = ethertype_name(type);
  p.printf("ethertype %s (0x%04x)", name ? name : "Unknown", type);
}

// tcpdump's hex_and_ascii_print with "\n\t" lines of 16 bytes.
void hex_and_ascii(Printer& p, Bytes b, std::uint32_t length) {
  bool truncated = false;
  std::size_t len = length;
  if (len > b.size()) {
    len = b.size();
    truncated = true;
  }
  std::string hex, ascii;
  std::size_t off = 0;
  auto graph = [](std::uint8_t c) { return c > 0x20 && c < 0x7f ? static_cast<char>(c) : '.'; };
  auto flush = [&] {
    p.printf("\n\t0x%04zx: %-40s  %s", off, hex.c_str(), ascii.c_str());
    hex.clear();
    ascii.clear();
  };
  std::size_t i = 0;
  for (; i + 1 < len; i += 2) {
    char buf[8];
    std::snprintf(buf, sizeof buf, " %02x%02x", b.u8(i), b.u8(i + 1));
    hex += buf;
    ascii += graph(b.u8(i));
    ascii += graph(b.u8(i + 1));
    if (hex.size() == 40) {
      flush();
      off += 16;
    }
  }
  if (len & 1) {
    char buf[8];
    std::snprintf(buf, sizeof buf, " %02x", b.u8(len - 1));
    hex += buf;
    ascii += graph(b.u8(len - 1));
  }
  if (!hex.empty()) flush();
  if (truncated) throw Truncated{};
}

}  // namespace

const char* ethertype_name(std::uint16_t type) {
  switch (type) {
    case 0x0800:
      return "IPv4";
    case 0x8847:
      return "MPLS unicast";
    case 0x8848:
      return "MPLS multicast";
    case 0x86dd:
      return "IPv6";
    case 0x8100:
      return "802.1Q";
    case 0x9100:
      return "802.1Q-9100";
    case 0x88a8:
      return "802.1Q-QinQ";
    case 0x9200:
      return "802.1Q-9200";
    case 0x88e5:
      return "802.1AE MACsec";
    case 0x0806:
      return "ARP";
    case 0x8035:
      return "Reverse ARP";
    case 0x8808:
      return "MPCP";
    case 0x8809:
      return "Slow Protocols";
    case 0x8863:
      return "PPPoE D";
    case 0x8864:
      return "PPPoE S";
    case 0x888e:
      return "EAPOL";
    case 0x8870:
      return "Jumbo";
    case 0x894f:
      return "NSH";
    case 0x9000:
      return "Loopback";
    case 0x88cc:
      return "LLDP";
    case 0x88f7:
      return "PTP";
    default:
      return nullptr;
  }
}

void print_ether(Printer& p, Bytes frame, std::uint32_t length) {
  p.proto = "ether";
  const std::uint32_t orig_length = length;
  std::uint32_t caplen = static_cast<std::uint32_t>(frame.size());
  if (length < caplen) {
    p.printf("[length %u < caplen %u] (invalid)", length, caplen);
    return;
  }
  if (caplen < 14) {
    p.printf(" [|ether]");
    return;
  }
  if (p.opt.link_header) p.printf("%s > %s, ", p.mac(frame, 6).c_str(), p.mac(frame, 0).c_str());
  std::size_t off = 12;
  length -= 12;
  bool printed_length = false;
  std::uint16_t type = frame.u16(off);
  off += 2;
  length -= 2;
  while (is_vlan(type)) {
    if (frame.size() - off < 4 || length < 4) {
      p.proto = "vlan";
      throw Truncated{};
    }
    if (p.opt.link_header) {
      std::uint16_t tci = frame.u16(off);
      ether_type_print(p, type);
      if (!printed_length) {
        p.printf(", length %u: ", orig_length);
        printed_length = true;
      } else {
        p.printf(", ");
      }
      p.printf("vlan %u, p %u%s, ", tci & 0xfff, tci >> 13, (tci & 0x1000) ? ", DEI" : "");
    }
    type = frame.u16(off + 2);
    off += 4;
    length -= 4;
  }
  Bytes payload = frame.from(off);
  if (type <= 1500) {
    // 802.3 length field: LLC, which ndump does not decode.
    if (type < length) {
      length = type;
      payload = payload.limit(length);
    }
    if (p.opt.link_header) {
      p.printf("802.3");
      if (!printed_length) p.printf(", length %u: ", length);
    } else {
      p.printf("%s > %s, 802.3, length %u: ", p.mac(frame, 6).c_str(), p.mac(frame, 0).c_str(),
               length);
    }
    p.printf("LLC");
    hex_and_ascii(p, payload, length);
    return;
  }
  if (p.opt.link_header) {
    ether_type_print(p, type);
    if (!printed_length)
      p.printf(", length %u: ", orig_length);
    else
      p.printf(", ");
  }
  bool handled = false;
  print_ethertype(p, type, payload, length, handled);
  if (!handled) {
    if (!p.opt.link_header) {
      p.printf("%s > %s, ", p.mac(frame, 6).c_str(), p.mac(frame, 0).c_str());
      ether_type_print(p, type);
      p.printf(", length %u: ", orig_length);
    }
    hex_and_ascii(p, payload, length);
  }
}

void print_ethertype(Printer& p, std::uint16_t type, Bytes payload, std::uint32_t length,
                     bool& handled) {
  handled = true;
  switch (type) {
    case ethertype_ip:
      print_ipv4(p, payload, length);
      return;
    case ethertype_ipv6:
      print_ipv6(p, payload, length);
      return;
    case ethertype_arp:
      print_arp(p, payload, length);
      return;
    default:
      handled = false;
      return;
  }
}

void print_arp(Printer& p, Bytes b, std::uint32_t length) {
  p.proto = "arp";
  b.need(0, 8);
  const std::uint16_t hrd = b.u16(0);
  const std::uint16_t pro = b.u16(2);
  const std::uint8_t hln = b.u8(4);
  const std::uint8_t pln = b.u8(5);
  const std::uint16_t op = b.u16(6);
  const std::size_t sha = 8, spa = sha + hln, tha = spa + pln, tpa = tha + hln;
  b.need(tpa, pln);
  if (!p.opt.link_header) p.printf("ARP, ");
  if ((pro != ethertype_ip && pro != 0x1000) || pln != 4 || hln == 0 || p.opt.verbose) {
    const char* hname = hrd == 1    ? "Ethernet"
                        : hrd == 6  ? "TokenRing"
                        : hrd == 15 ? "FrameRelay"
                                    : nullptr;
    if (hname)
      p.printf("%s (len %u), ", hname, hln);
    else
      p.printf("Unknown Hardware (%u) (len %u), ", hrd, hln);
    if (const char* pname = ethertype_name(pro))
      p.printf("%s (len %u)", pname, pln);
    else
      p.printf("Unknown Protocol (0x%04x) (len %u)", pro, pln);
    if (!p.opt.verbose) {
      p.printf(", length %u", length);
      return;
    }
  }
  static const char* const ops[] = {
      nullptr, "Request", "Reply",           "Reverse Request", "Reverse Reply", nullptr,
      nullptr, nullptr,   "Inverse Request", "Inverse Reply",   "NACK Reply"};
  std::string opname =
      op < std::size(ops) && ops[op] ? ops[op] : "Unknown (" + std::to_string(op) + ")";
  p.printf("%s%s ", p.opt.verbose ? ", " : "", opname.c_str());
  // Protocol addresses: IPv4 dotted, otherwise tcpdump's "<wrong proto type>"
  // / "<wrong len>" markers; link addresses as MAC-48 when 6 bytes.
  auto paddr = [&](std::size_t off) -> std::string {
    if (pro != ethertype_ip && pro != 0x1000) return "<wrong proto type>";
    if (pln != 4) return "<wrong len>";
    return p.ip4(b, off);
  };
  auto laddr = [&](std::size_t off) -> std::string {
    if (hln == 6) return p.mac(b, off);
    std::string s;
    for (std::size_t i = 0; i < hln; ++i) {
      char buf[4];
      std::snprintf(buf, sizeof buf, i ? ":%02x" : "%02x", b.u8(off + i));
      s += buf;
    }
    return s;
  };
  switch (op) {
    case 1: {
      p.printf("who-has %s", paddr(tpa).c_str());
      bool nonzero = false;
      for (std::size_t i = 0; i < hln; ++i) nonzero |= b.u8(tha + i) != 0;
      if (nonzero) p.printf(" (%s)", laddr(tha).c_str());
      p.printf(" tell %s", paddr(spa).c_str());
      break;
    }
    case 2:
      p.printf("%s is-at %s", paddr(spa).c_str(), laddr(sha).c_str());
      break;
    case 3:
    case 8:
      p.printf("who-is %s tell %s", laddr(tha).c_str(), laddr(sha).c_str());
      break;
    case 4:
      p.printf("%s at %s", laddr(tha).c_str(), paddr(tpa).c_str());
      break;
    case 9:
      p.printf("%s at %s", laddr(sha).c_str(), paddr(spa).c_str());
      break;
    default:
      hex_and_ascii(p, b, static_cast<std::uint32_t>(b.size()));
      return;
  }
  p.printf(", length %u", length);
}

}  // namespace norman::ndump::detail
