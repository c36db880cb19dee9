// The filter key of a frame. This mirrors the RTL parser
// (hw/rtl/core/pkt_parser.sv) check for check, so that software verdicts
// (nfw's reference classifier, the compiler tests) see the very key the NIC
// builds: the same frames are refused (runt, truncated 802.1Q tag, IPv4 with
// a bad version, IHL or total length, or shorter than its header), L3 is
// bounded by the frame and L4 by the IPv4 total length (Ethernet padding
// never completes a short packet), later fragments carry no L4 fields, and
// an L4 header that fails its own checks contributes nothing (the parser
// zeroes its fields) while the frame is still judged on its IPv4 fields.
#include <algorithm>

#include "flat.hpp"

namespace norman::filter {

namespace {

constexpr std::size_t kEthHdr = 14;
constexpr std::size_t kVlanHdr = 4;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
// The parser's frame length counter is 16 bits wide and saturates.
constexpr std::size_t kMaxCountedLen = 0xFFFF;

std::uint16_t be16(std::span<const std::uint8_t> f, std::size_t at) {
  return static_cast<std::uint16_t>((f[at] << 8) | f[at + 1]);
}

std::uint32_t be32(std::span<const std::uint8_t> f, std::size_t at) {
  return (std::uint32_t{f[at]} << 24) | (std::uint32_t{f[at + 1]} << 16) |
         (std::uint32_t{f[at + 2]} << 8) | std::uint32_t{f[at + 3]};
}

// Whether the L4 header within `payload` bytes passes the parser's checks.
bool l4_complete(std::span<const std::uint8_t> f, std::size_t l4, std::size_t payload,
                 std::uint8_t proto) {
  switch (proto) {
    case kProtoTcp: {
      if (payload < 20) return false;
      const unsigned doff = f[l4 + 12] >> 4;
      return doff >= 5 && payload >= doff * 4u;
    }
    case kProtoUdp: {
      if (payload < 8) return false;
      const std::size_t udp_len = be16(f, l4 + 4);
      return udp_len >= 8 && udp_len <= payload;
    }
    case kProtoIcmp:
      return payload >= 8;
    default:
      return false;
  }
}

}  // namespace

std::optional<Key> key_of_frame(std::span<const std::uint8_t> frame, Direction dir, unsigned port,
                                const std::optional<OwnerMeta>& owner) {
  const std::size_t len = std::min(frame.size(), kMaxCountedLen);
  if (len < kEthHdr) return std::nullopt;
  std::size_t l3 = kEthHdr;
  std::uint16_t ethertype = be16(frame, 12);
  if (ethertype == kEtherTypeVlan) {
    if (len < kEthHdr + kVlanHdr) return std::nullopt;
    ethertype = be16(frame, 16);
    l3 = kEthHdr + kVlanHdr;
  }
  if (ethertype != kEtherTypeIpv4) return std::nullopt;

  const std::size_t avail = len - l3;
  if (avail < 20) return std::nullopt;
  if ((frame[l3] >> 4) != 4) return std::nullopt;
  const std::size_t hdr_len = (frame[l3] & 0x0Fu) * 4u;
  if (hdr_len < 20) return std::nullopt;
  if (avail < hdr_len) return std::nullopt;
  const std::size_t total = be16(frame, l3 + 2);
  if (total < hdr_len || total > avail) return std::nullopt;

  Key k;
  const std::uint8_t proto = frame[l3 + 9];
  k[rf::FieldId::kIface] = port & field_max(static_cast<unsigned>(rf::FieldId::kIface));
  k[rf::FieldId::kProto] = proto;
  k[rf::FieldId::kSrcIp] = be32(frame, l3 + 12);
  k[rf::FieldId::kDstIp] = be32(frame, l3 + 16);
  if (dir == Direction::kOutput) k.flags |= flag_bit(rf::Flag::kDir);

  const unsigned frag_offset = ((frame[l3 + 6] & 0x1Fu) << 8) | frame[l3 + 7];
  if (frag_offset != 0) {
    k.flags |= flag_bit(rf::Flag::kFrag);
  } else {
    const std::size_t l4 = l3 + hdr_len;
    const std::size_t payload = total - hdr_len;
    if (l4_complete(frame, l4, payload, proto)) {
      k.flags |= flag_bit(rf::Flag::kL4Valid);
      if (proto == kProtoIcmp) {
        k[rf::FieldId::kSport] = (std::uint32_t{frame[l4]} << 8) | frame[l4 + 1];
      } else {
        k[rf::FieldId::kSport] = be16(frame, l4);
        k[rf::FieldId::kDport] = be16(frame, l4 + 2);
      }
      if (proto == kProtoTcp) {
        const unsigned tcp_flags = frame[l4 + 13];
        for (unsigned bit = 0; bit < 8; ++bit) {
          if (((tcp_flags >> bit) & 1u) != 0) {
            k.flags |= static_cast<std::uint16_t>(flag_bit(rf::Flag::kTcpFin) << bit);
          }
        }
      }
    }
  }

  if (owner) set_owner(k, *owner);
  // iptables counts the IPv4 datagram (padding and link header excluded).
  k.frame_bytes = static_cast<std::uint32_t>(total);
  return k;
}

}  // namespace norman::filter
