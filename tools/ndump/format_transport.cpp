// UDP and TCP as tcpdump 4.99 prints them, including TCP's relative
// sequence numbers per conversation and the options list. Ports of
// application protocols tcpdump would decode further print as plain
// UDP/TCP here (docs/ndump.md).
#include "format_internal.hpp"

namespace norman::ndump::detail {
namespace {

constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_udp = 17;

std::string addr(Printer& p, const IpContext& ip, bool src) {
  if (ip.version == 4) return p.ip4(ip.header, src ? 12 : 16);
  return p.ip6(ip.header, src ? 8 : 24);
}

void print_addrs_ports(Printer& p, const IpContext& ip, const std::string& sport,
                       const std::string& dport, std::uint8_t proto) {
  if (ip.next_header == proto)
    p.printf("%s.%s > %s.%s: ", addr(p, ip, true).c_str(), sport.c_str(),
             addr(p, ip, false).c_str(), dport.c_str());
  else
    p.printf("%s > %s: ", sport.c_str(), dport.c_str());
}

std::string tcp_flags(std::uint8_t f) {
  static const std::pair<std::uint8_t, char> names[] = {{0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'},
                                                        {0x08, 'P'}, {0x10, '.'}, {0x20, 'U'},
                                                        {0x40, 'E'}, {0x80, 'W'}};
  std::string s;
  for (auto [bit, c] : names)
    if (f & bit) s += c;
  return s.empty() ? "none" : s;
}

const char* tcp_option_name(std::uint8_t opt) {
  switch (opt) {
    case 0:
      return "eol";
    case 1:
      return "nop";
    case 2:
      return "mss";
    case 3:
      return "wscale";
    case 4:
      return "sackOK";
    case 5:
      return "sack";
    case 6:
      return "echo";
    case 7:
      return "echoreply";
    case 8:
      return "TS";
    case 11:
      return "cc";
    case 12:
      return "ccnew";
    case 13:
      return "";  // tcpdump 4.99's table names ccecho so
    case 19:
      return "md5";
    case 20:
      return "scps";
    case 28:
      return "uto";
    case 29:
      return "tcp-ao";
    case 30:
      return "mptcp";
    case 34:
      return "tfo";
    case 254:
      return "exp";
    default:
      return nullptr;
  }
}

// TCP Fast Open's cookie option (RFC 7413), bare or as experiment 254.
void print_fastopen(Printer& p, Bytes b, std::size_t cp, std::uint32_t datalen, bool exp) {
  if (exp) p.printf("tfo");
  if (datalen == 0) {
    p.printf(" cookiereq");
  } else if (datalen % 2 != 0 || datalen < 4 || datalen > 16) {
    p.printf(" (invalid)");
  } else {
    p.printf(" cookie ");
    for (std::uint32_t i = 0; i < datalen; ++i) p.printf("%02x", b.u8(cp + i));
  }
}

}  // namespace

void print_udp(Printer& p, Bytes b, std::uint32_t length, const IpContext& ip, bool fragmented) {
  p.proto = "udp";
  if (!b.has(2, 2)) {
    if (ip.next_header == proto_udp)
      p.printf("%s > %s: ", addr(p, ip, true).c_str(), addr(p, ip, false).c_str());
    throw Truncated{};
  }
  const std::uint16_t sport = b.u16(0), dport = b.u16(2);
  if (length < 8) {
    print_addrs_ports(p, ip, p.udp_port(sport), p.udp_port(dport), proto_udp);
    p.printf("truncated-udp %u", length);
    return;
  }
  if (!b.has(4, 2)) {
    print_addrs_ports(p, ip, p.udp_port(sport), p.udp_port(dport), proto_udp);
    throw Truncated{};
  }
  std::uint32_t ulen = b.u16(4);
  if (ulen == 0 && length > 65535) ulen = length;
  if (ulen < 8) {
    print_addrs_ports(p, ip, p.udp_port(sport), p.udp_port(dport), proto_udp);
    p.printf("truncated-udplength %u", ulen);
    return;
  }
  ulen -= 8;
  length -= 8;
  if (ulen < length) length = ulen;
  if (b.size() < 8) {
    print_addrs_ports(p, ip, p.udp_port(sport), p.udp_port(dport), proto_udp);
    throw Truncated{};
  }
  print_addrs_ports(p, ip, p.udp_port(sport), p.udp_port(dport), proto_udp);
  if (p.opt.verbose && !fragmented) {
    // IPv4 checksums only with -vv (as tcpdump), IPv6 with -v.
    const bool check = (ip.version == 4 && p.opt.verbose > 1) || ip.version == 6;
    const std::uint16_t field = b.u16(6);
    if (check && ip.version == 4 && field == 0) {
      p.printf("[no cksum] ");
    } else if (check && b.has(8, length)) {
      const std::uint32_t total = length + 8;
      std::uint16_t sum = in_cksum(b.data(), total, pseudo_header_sum(ip, proto_udp, total));
      if (sum != 0)
        p.printf("[bad udp cksum 0x%04x -> 0x%04x!] ", field, in_cksum_shouldbe(field, sum));
      else
        p.printf("[udp sum ok] ");
    }
  }
  if (ulen > length && !fragmented)
    p.printf("UDP, bad length %u > %u", ulen, length);
  else
    p.printf("UDP, length %u", ulen);
}

void print_tcp(Printer& p, Bytes b, std::uint32_t length, const IpContext& ip, bool fragmented) {
  p.proto = "tcp";
  if (!b.has(2, 2)) {
    p.printf("%s > %s:", addr(p, ip, true).c_str(), addr(p, ip, false).c_str());
    throw Truncated{};
  }
  const std::uint16_t sport = b.u16(0), dport = b.u16(2);
  print_addrs_ports(p, ip, p.tcp_port(sport), p.tcp_port(dport), proto_tcp);
  b.need(0, 20);
  std::uint32_t hlen = (b.u8(12) >> 4) * 4u;
  const std::uint32_t hdr_len = hlen;
  if (hlen < 20) {
    p.printf(" tcp %u [bad hdr length %u - too short, < 20]", length - hlen, hlen);
    return;
  }
  std::uint32_t seq = b.u32(4), ack = b.u32(8);
  const std::uint16_t win = b.u16(14), urp = b.u16(18);
  const std::uint8_t flags = b.u8(13);
  p.printf("Flags [%s]", tcp_flags(flags).c_str());

  // Relative sequence numbers (tcpdump without -S): one entry per
  // conversation in a canonical order, set on its first ACK-carrying
  // segment or any SYN, subtracted from later ones.
  std::uint32_t thseq = 0, thack = 0;
  bool rev = false;
  if (flags & 0x10) {
    const std::size_t alen = ip.version == 4 ? 4 : 16;
    const std::size_t srco = ip.version == 4 ? 12 : 8;
    const std::uint8_t* src = ip.header.data() + srco;
    const std::uint8_t* dst = src + alen;
    if (sport > dport)
      rev = true;
    else if (sport == dport)
      rev = std::memcmp(src, dst, alen) > 0;
    std::string key;
    const std::uint8_t *a = rev ? dst : src, *z = rev ? src : dst;
    key.append(reinterpret_cast<const char*>(a), alen);
    key.append(reinterpret_cast<const char*>(z), alen);
    const std::uint32_t ports =
        rev ? (std::uint32_t{dport} << 16 | sport) : (std::uint32_t{sport} << 16 | dport);
    key.append(reinterpret_cast<const char*>(&ports), sizeof ports);
    auto it = p.tcp_seq.entries.find(key);
    if (it == p.tcp_seq.entries.end() || (flags & 0x02)) {
      TcpSeqTable::Entry& e = p.tcp_seq.entries[key];
      if (rev) {
        e.ack = seq;
        e.seq = ack - 1;
      } else {
        e.seq = seq;
        e.ack = ack - 1;
      }
      thseq = e.seq;
      thack = e.ack;
    } else {
      TcpSeqTable::Entry& e = it->second;
      if (rev) {
        seq -= e.ack;
        ack -= e.seq;
      } else {
        seq -= e.seq;
        ack -= e.ack;
      }
      thseq = e.seq;
      thack = e.ack;
    }
  }
  if (hlen > length) {
    p.printf(" [bad hdr length %u - too long, > %u]", hlen, length);
    return;
  }
  if (p.opt.verbose && !fragmented && b.has(0, length)) {
    const std::uint16_t field = b.u16(16);
    std::uint16_t sum = in_cksum(b.data(), length, pseudo_header_sum(ip, proto_tcp, length));
    p.printf(", cksum 0x%04x", field);
    if (sum != 0)
      p.printf(" (incorrect -> 0x%04x)", in_cksum_shouldbe(field, sum));
    else
      p.printf(" (correct)");
  }
  length -= hlen;
  if (p.opt.verbose > 1 || length > 0 || (flags & 0x07)) {
    p.printf(", seq %u", seq);
    if (length > 0) p.printf(":%u", seq + length);
  }
  if (flags & 0x10) p.printf(", ack %u", ack);
  p.printf(", win %u", win);
  if (flags & 0x20) p.printf(", urg %u", urp);

  char sep = '\0';  // tcpdump's "ch": set once an option was printed
  if (hlen > 20) {
    std::uint32_t left = hlen - 20;
    std::size_t cp = 20;
    p.printf(", options [");
    while (left != 0) {
      if (sep) p.printf("%c", sep);
      const std::uint8_t opt = b.u8(cp++);
      std::uint32_t len;
      if (opt == 0 || opt == 1) {
        len = 1;
      } else {
        len = b.u8(cp++);
        if (len < 2 || len > left) {
          p.printf("[bad opt]");
          if (sep) p.printf("]");
          return;
        }
        --left;
      }
      --left;
      std::uint32_t datalen = 0;
      // tcpdump's LENCHECK: past the option length is "[bad opt]", past
      // the captured bytes the truncation marker (with a ">" once an
      // option was printed before, as tcpdump's trunc label does).
      bool bad = false, cut = false;
      auto lencheck = [&](std::uint32_t l) {
        if (bad || cut) return false;
        if (l > left)
          bad = true;
        else if (!b.has(cp, l))
          cut = true;
        return !bad && !cut;
      };
      if (const char* name = tcp_option_name(opt))
        p.printf("%s", name);
      else
        p.printf("unknown-%u", opt);
      switch (opt) {
        case 2:
          datalen = 2;
          if (lencheck(datalen)) p.printf(" %u", b.u16(cp));
          break;
        case 3:
          datalen = 1;
          if (lencheck(datalen)) p.printf(" %u", b.u8(cp));
          break;
        case 5:
          datalen = len - 2;
          if (datalen % 8 != 0) {
            p.printf(" invalid sack");
          } else {
            p.printf(" %u ", datalen / 8);
            for (std::uint32_t i = 0; i < datalen && !bad && !cut; i += 8) {
              if (!lencheck(i + 4)) break;
              std::uint32_t s = b.u32(cp + i);
              if (!lencheck(i + 8)) break;
              std::uint32_t e = b.u32(cp + i + 4);
              if (rev) {
                s -= thseq;
                e -= thseq;
              } else {
                s -= thack;
                e -= thack;
              }
              p.printf("{%u:%u}", s, e);
            }
          }
          break;
        case 6:
        case 7:
        case 11:
        case 12:
        case 13:
          datalen = 4;
          if (lencheck(datalen)) p.printf(" %u", b.u32(cp));
          break;
        case 8:
          datalen = 8;
          if (lencheck(datalen)) p.printf(" val %u ecr %u", b.u32(cp), b.u32(cp + 4));
          break;
        case 0:
        case 1:
        case 4:
          break;
        case 19:  // TCP-MD5: tcpdump cannot check it without -M
          datalen = 16;
          if (lencheck(datalen)) {
            p.printf(" ");
            p.printf(b.has(hdr_len, length) ? "shared secret not supplied with -M, "
                                            : "snaplen too short, ");
            p.printf("can't check - ");
            for (std::uint32_t i = 0; i < 16; ++i) p.printf("%02x", b.u8(cp + i));
          }
          break;
        case 20:
          datalen = 2;
          if (lencheck(datalen)) p.printf(" cap %02x id %u", b.u8(cp), b.u8(cp + 1));
          break;
        case 29:
          datalen = len - 2;
          if (datalen < 2) {
            p.printf(" (invalid)");
          } else if (lencheck(1)) {
            p.printf(" keyid %u", b.u8(cp));
            if (lencheck(2)) {
              p.printf(" rnextkeyid %u", b.u8(cp + 1));
              if (datalen > 2) {
                p.printf(" mac 0x");
                for (std::uint32_t i = 2; i < datalen; ++i) {
                  if (!lencheck(i + 1)) break;
                  p.printf("%02x", b.u8(cp + i));
                }
              }
            }
          }
          break;
        case 34:
          datalen = len - 2;
          if (lencheck(datalen)) {
            p.printf(" ");
            print_fastopen(p, b, cp, datalen, false);
          }
          break;
        case 254:
          datalen = len - 2;
          if (lencheck(datalen)) {
            if (datalen < 2) {
              bad = true;
              break;
            }
            const std::uint16_t magic = b.u16(cp);
            p.printf("-");
            if (magic == 0xf989)
              print_fastopen(p, b, cp + 2, datalen - 2, true);
            else
              p.printf("%04x", magic);
          }
          break;
        case 28: {
          datalen = 2;
          if (lencheck(datalen)) {
            std::uint32_t uto = b.u16(cp);
            p.printf(" 0x%x", uto);
            uto = (uto & 1) ? (uto >> 1) * 60 : uto >> 1;
            p.printf(" %u", uto);
          }
          break;
        }
        default:
          // Options ndump does not decode further: tcpdump's hex form.
          datalen = len - 2;
          if (datalen) p.printf(" 0x");
          for (std::uint32_t i = 0; i < datalen; ++i) {
            if (!lencheck(i + 1)) break;
            p.printf("%02x", b.u8(cp + i));
          }
          break;
      }
      if (bad) {
        p.printf("[bad opt]");
        if (sep) p.printf("]");
        return;
      }
      if (cut) {
        p.printf(" [|tcp]");
        if (sep) p.printf(">");
        return;
      }
      cp += datalen;
      left -= datalen;
      ++datalen;
      if (opt != 0 && opt != 1) ++datalen;
      if (datalen != len) p.printf("[len %u]", len);
      sep = ',';
      if (opt == 0) break;
    }
    p.printf("]");
  }
  p.printf(", length %u", length);
  if (length == 0) return;
  if (!b.has(0, hdr_len)) {
    p.printf(" [remaining caplen(%zu) < header length(%u)]", b.size(), hdr_len);
    throw Truncated{};
  }
  if ((flags & 0x04) && p.opt.verbose) {
    // A reset's payload (RFC 1122 allows a reason): with -v its first 30
    // bytes as tcpdump escapes them, "!RST" when not all captured.
    Bytes data = b.from(hdr_len);
    p.printf(data.has(0, length) ? " [RST" : " [!RST");
    std::uint32_t n = length;
    if (n > 30) {
      n = 30;
      p.printf("+");
    }
    p.printf(" ");
    for (std::size_t i = 0; i < n && i < data.size(); ++i) {
      std::uint8_t c = data.u8(i);
      if (c >= 0x80) {
        c &= 0x7f;
        p.printf("M-");
      }
      if (c < 0x20 || c > 0x7e) {
        c ^= 0x40;
        p.printf("^");
      }
      p.printf("%c", c);
    }
    p.printf("]");
  }
}

}  // namespace norman::ndump::detail
