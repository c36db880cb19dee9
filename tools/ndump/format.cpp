// The line around the packet: timestamp, interface and direction, the
// truncation marker, the owner. The protocol printers are in format_*.cpp.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <ctime>

#include "format_internal.hpp"

namespace norman::ndump {

using detail::Bytes;
using detail::Printer;

PacketFormatter::PacketFormatter(FormatOptions opts) : opts_(opts) {}

std::string PacketFormatter::timestamp(std::uint64_t ts_ns) {
  // tcpdump's default: local time with microseconds (truncated, as libpcap
  // scales nanosecond files down).
  auto secs = static_cast<std::time_t>(ts_ns / 1'000'000'000u);
  auto usec = static_cast<unsigned>(ts_ns % 1'000'000'000u / 1000u);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
  return buf;
}

std::string PacketFormatter::owner_suffix(const Owner& o) {
  std::string s = " [uid " + std::to_string(o.uid);
  if (o.pid > 0) s += " pid " + std::to_string(o.pid);
  if (!o.comm.empty()) s += " " + o.comm;
  if (!o.cgroup.empty()) s += " cgroup " + o.cgroup;
  s += "]";
  return s;
}

std::string PacketFormatter::format(const CaptureRecord& rec) {
  Printer p{opts_, tcp_seq_, names_, {}, ""};
  p.out = timestamp(rec.ts_ns);
  p.out += ' ';
  // Live records know their port and direction; tcpdump -i any prints
  // "IFNAME In " / "IFNAME Out" the same way (%3s).
  if (opts_.show_interface) p.printf("nic%u ", rec.port);
  if (rec.dir == Direction::in) p.out += " In ";
  if (rec.dir == Direction::out) p.out += "Out ";
  Bytes frame(rec.data.data(), rec.data.size());
  try {
    detail::print_ether(p, frame, rec.orig_len);
  } catch (const detail::Truncated&) {
    p.printf(" [|%s]", p.proto);
  }
  if (rec.owner) p.out += owner_suffix(*rec.owner);
  if (!rec.owner && rec.host_kernel) p.out += " [host kernel]";
  return std::move(p.out);
}

namespace detail {

void Printer::printf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<std::size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<std::size_t>(n));
    return;
  }
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<std::size_t>(n));
  out += big;
}

namespace {
// The name of an address (NI_NAMEREQD: none when it has none), cached.
std::string host_name(NameCache& cache, const std::uint8_t* addr, int family, const char* numeric) {
  std::string key(reinterpret_cast<const char*>(addr), family == AF_INET ? 4 : 16);
  auto it = cache.hosts.find(key);
  if (it != cache.hosts.end()) return it->second;
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    std::memcpy(&sa->sin_addr, addr, 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    std::memcpy(&sa->sin6_addr, addr, 16);
    len = sizeof(sockaddr_in6);
  }
  char host[NI_MAXHOST];
  std::string name = numeric;
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0,
                  NI_NAMEREQD) == 0)
    name = host;
  cache.hosts.emplace(std::move(key), name);
  return name;
}
}  // namespace

std::string Printer::ip4(Bytes b, std::size_t off) const {
  b.need(off, 4);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, b.data() + off, buf, sizeof buf);
  if (!opt.numeric) return host_name(names, b.data() + off, AF_INET, buf);
  return buf;
}

std::string Printer::ip6(Bytes b, std::size_t off) const {
  b.need(off, 16);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b.data() + off, buf, sizeof buf);
  if (!opt.numeric) return host_name(names, b.data() + off, AF_INET6, buf);
  return buf;
}

namespace {
// tcpdump's OUI names, printed after a MAC address without -n.
const char* oui_name(std::uint32_t oui) {
  switch (oui) {
    case 0x000000:
      return "Ethernet";
    case 0x00000c:
      return "Cisco";
    case 0x00005e:
      return "IANA";
    case 0x000081:
      return "Nortel Networks SONMP";
    case 0x0000f8:
      return "Cisco bridged";
    case 0x0080c2:
      return "Ethernet bridged";
    case 0x00a03e:
      return "ATM Forum";
    case 0x00e02f:
      return "DOCSIS Spanning Tree";
    case 0x080007:
      return "Appletalk";
    case 0x009069:
      return "Juniper";
    case 0x080009:
      return "Hewlett-Packard";
    case 0x00120f:
      return "IEEE 802.3 Private";
    case 0x0012bb:
      return "ANSI/TIA";
    case 0x001b21:
      return "DCBX";
    case 0x002320:
      return "Nicira Networks";
    case 0x5c16c7:
      return "Big Switch Networks";
    case 0xb0d2f5:
      return "Vello Systems";
    case 0x002481:
      return "HP";
    case 0x0004ea:
      return "HP-Labs";
    case 0x748771:
      return "Infoblox Inc";
    case 0xa42305:
      return "Open Networking Lab";
    case 0x00049f:
      return "Freescale";
    case 0x0015ad:
      return "Netronome";
    case 0x001018:
      return "Broadcom";
    case 0x00e004:
      return "PMC-Sierra";
    case 0xd0f0db:
      return "Ericsson";
    default:
      return "Unknown";
  }
}
}  // namespace

std::string Printer::mac(Bytes b, std::size_t off) const {
  b.need(off, 6);
  const std::uint8_t* m = b.data() + off;
  if (!opt.numeric) {
    // /etc/ethers first, then the address with its OUI's name, as tcpdump.
    ether_addr ea{};
    std::memcpy(ea.ether_addr_octet, m, 6);
    char host[1024];
    if (ether_ntohost(host, &ea) == 0) return host;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  std::string s = buf;
  if (!opt.numeric) {
    s += " (oui ";
    s += oui_name(static_cast<std::uint32_t>(m[0] << 16 | m[1] << 8 | m[2]));
    s += ")";
  }
  return s;
}

namespace {
std::string port_name(const FormatOptions& opt, std::uint16_t port, const char* proto) {
  if (!opt.numeric) {
    servent se{};
    servent* res = nullptr;
    char buf[1024];
    if (getservbyport_r(htons(port), proto, &se, buf, sizeof buf, &res) == 0 && res != nullptr)
      return res->s_name;
  }
  return std::to_string(port);
}
}  // namespace

std::string Printer::tcp_port(std::uint16_t port) const { return port_name(opt, port, "tcp"); }
std::string Printer::udp_port(std::uint16_t port) const { return port_name(opt, port, "udp"); }

std::uint16_t in_cksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum) {
  std::uint64_t s = sum;
  for (std::size_t i = 0; i + 1 < len; i += 2)
    s += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) s += static_cast<std::uint32_t>(data[len - 1] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(~s & 0xffff);
}

std::uint32_t pseudo_header_sum(const IpContext& ip, std::uint8_t proto, std::uint32_t len) {
  std::uint32_t s = 0;
  if (ip.version == 4) {
    // The destination is the final hop of a source route when there is one
    // (RFC 791), as tcpdump's ip_finddst takes it.
    std::size_t dst = 16;
    const std::size_t hlen = (ip.header.u8(0) & 0x0f) * 4u;
    for (std::size_t cp = 20, optlen = 0; cp < hlen && ip.header.has(cp, 1); cp += optlen) {
      const std::uint8_t code = ip.header.u8(cp);
      if (code == 0) break;
      if (code == 1) {
        optlen = 1;
        continue;
      }
      if (!ip.header.has(cp + 1, 1)) break;
      optlen = ip.header.u8(cp + 1);
      if (optlen < 2 || cp + optlen > hlen || !ip.header.has(cp, optlen)) break;
      if ((code == 131 || code == 137) && optlen >= 7) {
        dst = cp + optlen - 4;
        break;
      }
    }
    s += ip.header.u16(12) + ip.header.u16(14) + ip.header.u16(dst) + ip.header.u16(dst + 2);
  } else {
    for (std::size_t i = 0; i < 32; i += 2) s += ip.header.u16(8 + i);
  }
  s += proto;
  s += len >> 16;
  s += len & 0xffff;
  return s;
}

std::uint16_t in_cksum_shouldbe(std::uint16_t sum, std::uint16_t computed) {
  // RFC 1624 as tcpdump applies it: the field plus the residue.
  std::uint32_t s = static_cast<std::uint32_t>(sum) + computed;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

}  // namespace detail
}  // namespace norman::ndump
