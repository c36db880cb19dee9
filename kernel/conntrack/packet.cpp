#include "packet.hpp"

#include "tcp_transitions.hpp"

namespace norman::conntrack {

namespace {

constexpr std::uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

std::uint32_t sum16(std::span<const std::uint8_t> b, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < b.size(); i += 2) acc += be16(b, i);
  if (b.size() % 2 != 0) acc += std::uint32_t{b.back()} << 8;
  return acc;
}

std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<std::uint16_t>(acc);
}

// TCP/UDP checksum with the IPv4 pseudo-header: valid when it folds to 0xFFFF.
bool l4_checksum_ok(std::uint32_t src, std::uint32_t dst, std::uint8_t proto,
                    std::span<const std::uint8_t> l4) {
  std::uint32_t acc = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto +
                      static_cast<std::uint32_t>(l4.size());
  return fold(sum16(l4, acc)) == 0xFFFF;
}

bool icmp_is_error(std::uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

// The tuple of the packet an ICMP error quotes (its IPv4 header and the
// first eight bytes after it).
std::optional<Tuple> inner_tuple(std::span<const std::uint8_t> b) {
  if (b.size() < 20 || (b[0] >> 4) != 4) return std::nullopt;
  const std::size_t ihl = std::size_t{b[0] & 0x0Fu} * 4;
  if (ihl < 20 || b.size() < ihl + 8) return std::nullopt;
  Tuple t;
  t.src = be32(b, 12);
  t.dst = be32(b, 16);
  t.proto = b[9];
  const auto l4 = b.subspan(ihl);
  if (t.proto == kProtoTcp || t.proto == kProtoUdp) {
    t.sport = be16(l4, 0);
    t.dport = be16(l4, 2);
  } else if (t.proto == kProtoIcmp) {
    if (!icmp_inverse(l4[0])) return std::nullopt;  // an error about an error, or a non-query
    t.sport = be16(l4, 4);
    t.dport = static_cast<std::uint16_t>((l4[0] << 8) | l4[1]);
  }
  return t;
}

}  // namespace

std::optional<std::uint8_t> icmp_inverse(std::uint8_t type) {
  switch (type) {
    case 8:
      return 0;
    case 0:
      return 8;
    case 13:
      return 14;
    case 14:
      return 13;
    case 15:
      return 16;
    case 16:
      return 15;
    case 17:
      return 18;
    case 18:
      return 17;
    default:
      return std::nullopt;
  }
}

ParseResult parse_packet(std::span<const std::uint8_t> ip, bool verify_checksum) {
  ParseResult r;
  auto fail = [&](Reason why) {
    r.reason = why;
    return r;
  };
  if (ip.size() < 20 || (ip[0] >> 4) != 4) return fail(Reason::kMalformed);
  const std::size_t ihl = std::size_t{ip[0] & 0x0Fu} * 4;
  const std::size_t total = be16(ip, 2);
  if (ihl < 20 || total < ihl || total > ip.size()) return fail(Reason::kMalformed);
  if ((be16(ip, 6) & 0x3FFF) != 0) return fail(Reason::kFragment);  // MF or an offset
  Packet& p = r.packet;
  p.ip_len = static_cast<std::uint32_t>(total);
  p.tuple.src = be32(ip, 12);
  p.tuple.dst = be32(ip, 16);
  p.tuple.proto = ip[9];
  const auto l4 = ip.subspan(ihl, total - ihl);
  switch (p.tuple.proto) {
    case kProtoTcp: {
      if (l4.size() < 20) return fail(Reason::kMalformed);
      const std::size_t doff = static_cast<std::size_t>(l4[12] >> 4) * 4;
      if (doff < 20 || l4.size() < doff) return fail(Reason::kMalformed);
      if (verify_checksum && !l4_checksum_ok(p.tuple.src, p.tuple.dst, kProtoTcp, l4))
        return fail(Reason::kChecksum);
      p.tcp_flags = l4[13];
      if (!tcp_flags_valid(p.tcp_flags)) return fail(Reason::kTcpFlags);
      p.tuple.sport = be16(l4, 0);
      p.tuple.dport = be16(l4, 2);
      p.ack = be32(l4, 8);
      p.tcp_end = be32(l4, 4) + static_cast<std::uint32_t>(l4.size() - doff) +
                  ((p.tcp_flags & 0x02) ? 1 : 0) + ((p.tcp_flags & 0x01) ? 1 : 0);
      return r;
    }
    case kProtoUdp: {
      if (l4.size() < 8) return fail(Reason::kMalformed);
      const std::size_t ulen = be16(l4, 4);
      if (ulen > l4.size() || ulen < 8) return fail(Reason::kMalformed);
      if (verify_checksum && be16(l4, 6) != 0 &&
          !l4_checksum_ok(p.tuple.src, p.tuple.dst, kProtoUdp, l4))
        return fail(Reason::kChecksum);
      p.tuple.sport = be16(l4, 0);
      p.tuple.dport = be16(l4, 2);
      return r;
    }
    case kProtoIcmp: {
      if (l4.size() < 8) return fail(Reason::kMalformed);
      if (verify_checksum && fold(sum16(l4)) != 0xFFFF) return fail(Reason::kChecksum);
      p.icmp_type = l4[0];
      if (p.icmp_type > 18) return fail(Reason::kMalformed);  // NR_ICMP_TYPES
      if (icmp_is_error(p.icmp_type)) {
        const auto inner = inner_tuple(l4.subspan(8));
        if (!inner) return fail(Reason::kIcmpNoRelated);
        p.icmp_error = true;
        p.inner = *inner;
        return r;
      }
      if (!icmp_inverse(p.icmp_type)) return fail(Reason::kIcmpNotNew);
      p.tuple.sport = be16(l4, 4);
      p.tuple.dport = static_cast<std::uint16_t>((l4[0] << 8) | l4[1]);
      return r;
    }
    default:
      return r;  // tracked by addresses and protocol only
  }
}

}  // namespace norman::conntrack
