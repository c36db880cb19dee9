// Addresses, the Internet checksum, and the UDP/IPv4/Ethernet header code of
// libnorman: building headers for the TX ring (from a per-socket template,
// so the per-packet work is a 42-byte copy, a few stores and the checksums)
// and parsing frames from the RX ring.
//
// Everything here is header-only, allocation-free and does no system call.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace norman {

// ---- addresses --------------------------------------------------------------

// An IPv4 address, kept in network byte order exactly as it sits in a header.
struct Ipv4 {
  std::uint32_t be = 0;  // network order (memcpy of the 4 header bytes)

  static constexpr Ipv4 from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                    std::uint8_t d) {
    const std::uint32_t host =
        (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
    return Ipv4{std::endian::native == std::endian::little ? __builtin_bswap32(host) : host};
  }
  static Ipv4 from_bytes(const std::uint8_t* p) {
    Ipv4 a;
    std::memcpy(&a.be, p, 4);
    return a;
  }
  // Dotted quad ("10.11.0.2"); nullopt if malformed.
  static std::optional<Ipv4> parse(std::string_view text);
  [[nodiscard]] std::array<std::uint8_t, 4> octets() const {
    std::array<std::uint8_t, 4> o{};
    std::memcpy(o.data(), &be, 4);
    return o;
  }
  [[nodiscard]] bool is_unspecified() const { return be == 0; }
  [[nodiscard]] std::string to_string() const;
  friend constexpr bool operator==(Ipv4 a, Ipv4 b) { return a.be == b.be; }
};

struct MacAddr {
  std::array<std::uint8_t, 6> b{};
  // "02:00:00:00:00:02" (':' or '-'); nullopt if malformed.
  static std::optional<MacAddr> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const MacAddr& x, const MacAddr& y) { return x.b == y.b; }
};

// An IPv4 address and a UDP port (host order).
struct Endpoint {
  Ipv4 ip{};
  std::uint16_t port = 0;
  [[nodiscard]] bool is_unspecified() const { return ip.is_unspecified() && port == 0; }
  // "10.11.0.2:7000"
  [[nodiscard]] std::string to_string() const;
  // "10.11.0.2:7000"; nullopt if malformed.
  static std::optional<Endpoint> parse(std::string_view text);
  friend constexpr bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.ip == b.ip && a.port == b.port;
  }
};

// ---- byte order helpers -------------------------------------------------------

// The 16-bit value as it reads when loaded natively from network-order memory.
constexpr std::uint16_t net16(std::uint16_t host) {
  return std::endian::native == std::endian::little
             ? static_cast<std::uint16_t>(__builtin_bswap16(host))
             : host;
}
inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((std::uint16_t{p[0]} << 8) | p[1]);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

// ---- Internet checksum (RFC 1071) -------------------------------------------

namespace csum {

// Adds `len` bytes to a running sum of native-order words (not folded). An odd
// trailing byte is padded with zero. Pieces may be chained only if every piece
// but the last has even length and starts at an even offset of the checksummed
// region. The folded result, stored natively, is the checksum in network order.
inline std::uint64_t add(std::uint64_t sum, const void* data, std::size_t len) {
  const auto* p = static_cast<const std::uint8_t*>(data);
#if defined(__SSE2__)
  if (len >= 32) {
    const __m128i zero = _mm_setzero_si128();
    __m128i acc0 = zero;
    __m128i acc1 = zero;
    while (len >= 32) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
      // 32-bit words widened into 64-bit lanes: no carry is ever lost.
      acc0 = _mm_add_epi64(acc0, _mm_unpacklo_epi32(a, zero));
      acc1 = _mm_add_epi64(acc1, _mm_unpackhi_epi32(a, zero));
      acc0 = _mm_add_epi64(acc0, _mm_unpacklo_epi32(b, zero));
      acc1 = _mm_add_epi64(acc1, _mm_unpackhi_epi32(b, zero));
      p += 32;
      len -= 32;
    }
    const __m128i acc = _mm_add_epi64(acc0, acc1);
    alignas(16) std::uint64_t lanes[2];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc);
    sum += lanes[0] + lanes[1];
  }
#endif
  while (len >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    sum += (w & 0xFFFFFFFFU) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    const std::uint8_t last[2] = {p[0], 0};
    std::uint16_t w;
    std::memcpy(&w, last, 2);
    sum += w;
  }
  return sum;
}

// Folds a running sum to 16 bits (ones' complement, end-around carry):
// 64 -> 32 bits with an end-around add, then the rotate trick (the high half
// of x + rotl(x, 16) is the ones'-complement sum of x's halves).
constexpr std::uint16_t fold(std::uint64_t s) {
  const auto hi = static_cast<std::uint32_t>(s >> 32);
  auto x = static_cast<std::uint32_t>(s);
  x += hi;
  x += static_cast<std::uint32_t>(x < hi);
  return static_cast<std::uint16_t>((x + ((x << 16) | (x >> 16))) >> 16);
}

// The checksum field value (native representation; memcpy it into the header).
constexpr std::uint16_t finish(std::uint64_t s) { return static_cast<std::uint16_t>(~fold(s)); }

}  // namespace csum

// ---- frame layout -------------------------------------------------------------

inline constexpr std::size_t kEthHeaderBytes = 14;
inline constexpr std::size_t kVlanTagBytes = 4;
inline constexpr std::size_t kIpv4HeaderBytes = 20;
inline constexpr std::size_t kUdpHeaderBytes = 8;
inline constexpr std::size_t kUdpFrameHeaderBytes =
    kEthHeaderBytes + kIpv4HeaderBytes + kUdpHeaderBytes;  // 42
inline constexpr std::size_t kEthMinFrameBytes = 60;  // without FCS; shorter frames are zero-padded
inline constexpr std::size_t kIpMtu = 1500;
// Largest UDP payload the runtime sends: a 1500-byte IPv4 packet, untagged.
inline constexpr std::size_t kMaxUdpPayload = kIpMtu - kIpv4HeaderBytes - kUdpHeaderBytes;  // 1472
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kDefaultTtl = 64;

// Offsets inside an untagged UDP/IPv4 frame.
namespace off {
inline constexpr std::size_t kEthDst = 0;
inline constexpr std::size_t kEthSrc = 6;
inline constexpr std::size_t kEthType = 12;
inline constexpr std::size_t kIp = 14;
inline constexpr std::size_t kIpTotalLen = kIp + 2;
inline constexpr std::size_t kIpId = kIp + 4;
inline constexpr std::size_t kIpCsum = kIp + 10;
inline constexpr std::size_t kIpSrc = kIp + 12;
inline constexpr std::size_t kIpDst = kIp + 16;
inline constexpr std::size_t kUdp = kIp + 20;
inline constexpr std::size_t kUdpSrcPort = kUdp;
inline constexpr std::size_t kUdpDstPort = kUdp + 2;
inline constexpr std::size_t kUdpLen = kUdp + 4;
inline constexpr std::size_t kUdpCsum = kUdp + 6;
inline constexpr std::size_t kPayload = kUdp + 8;
}  // namespace off

// ---- TX: header templates ---------------------------------------------------------

// The 42 header bytes of a connection's datagrams with everything fixed
// filled in, plus the checksum sums of those fixed fields. Destination
// fields may be left zero and supplied per packet (listening sockets).
struct UdpHeaderTemplate {
  alignas(8) std::uint8_t bytes[48]{};  // 42 used
  std::uint64_t ip_sum = 0;             // IPv4 header words, total length/id/checksum = 0
  std::uint64_t udp_sum = 0;            // pseudo-header (addresses, protocol) + both ports

  // Source (the connection) and, if known, destination (a connected peer).
  static UdpHeaderTemplate make(const MacAddr& src_mac, const Endpoint& src, const MacAddr& dst_mac,
                                const Endpoint& dst) {
    UdpHeaderTemplate t;
    std::uint8_t* h = t.bytes;
    std::memcpy(h + off::kEthDst, dst_mac.b.data(), 6);
    std::memcpy(h + off::kEthSrc, src_mac.b.data(), 6);
    store_be16(h + off::kEthType, kEtherTypeIpv4);
    h[off::kIp] = 0x45;                    // version 4, IHL 5
    h[off::kIp + 1] = 0;                   // DSCP/ECN
    store_be16(h + off::kIp + 6, 0x4000);  // DF: the runtime never fragments
    h[off::kIp + 8] = kDefaultTtl;
    h[off::kIp + 9] = kIpProtoUdp;
    std::memcpy(h + off::kIpSrc, &src.ip.be, 4);
    std::memcpy(h + off::kIpDst, &dst.ip.be, 4);
    store_be16(h + off::kUdpSrcPort, src.port);
    store_be16(h + off::kUdpDstPort, dst.port);
    t.ip_sum = csum::add(0, h + off::kIp, kIpv4HeaderBytes);
    t.udp_sum =
        csum::add(0, h + off::kIpSrc, 8) + net16(kIpProtoUdp) + csum::add(0, h + off::kUdp, 4);
    return t;
  }
};

// Writes the headers of a datagram whose `payload_len` payload bytes are
// already at frame + 42 and returns the frame length (zero-padded to 60).
// `dst`/`dst_mac` override the template's destination when non-null.
// checksum = false sends UDP checksum 0 (allowed for IPv4).
inline std::size_t write_udp_headers(std::uint8_t* frame, const UdpHeaderTemplate& t,
                                     std::size_t payload_len, std::uint16_t ip_id, bool checksum,
                                     const Endpoint* dst = nullptr,
                                     const MacAddr* dst_mac = nullptr) {
  std::memcpy(frame, t.bytes, kUdpFrameHeaderBytes);
  std::uint64_t ip_sum = t.ip_sum;
  std::uint64_t udp_sum = t.udp_sum;
  if (dst != nullptr) {
    std::memcpy(frame + off::kEthDst, dst_mac->b.data(), 6);
    std::memcpy(frame + off::kIpDst, &dst->ip.be, 4);
    const std::uint16_t port_n = net16(dst->port);
    std::memcpy(frame + off::kUdpDstPort, &port_n, 2);
    // The template's destination is zero: add the per-packet one.
    ip_sum += dst->ip.be & 0xFFFFFFFFU;
    udp_sum += std::uint64_t{dst->ip.be} + port_n;
  }
  const auto udp_len = static_cast<std::uint16_t>(kUdpHeaderBytes + payload_len);
  const auto ip_len = static_cast<std::uint16_t>(kIpv4HeaderBytes + udp_len);
  const std::uint16_t ip_len_n = net16(ip_len);
  const std::uint16_t udp_len_n = net16(udp_len);
  const std::uint16_t id_n = net16(ip_id);
  std::memcpy(frame + off::kIpTotalLen, &ip_len_n, 2);
  std::memcpy(frame + off::kIpId, &id_n, 2);
  std::memcpy(frame + off::kUdpLen, &udp_len_n, 2);
  const std::uint16_t ip_csum = csum::finish(ip_sum + ip_len_n + id_n);
  std::memcpy(frame + off::kIpCsum, &ip_csum, 2);
  std::uint16_t udp_csum = 0;
  if (checksum) {
    // The UDP length counts twice: in the pseudo-header and in the header.
    udp_csum =
        csum::finish(csum::add(udp_sum + 2U * udp_len_n, frame + off::kPayload, payload_len));
    if (udp_csum == 0) udp_csum = 0xFFFF;  // 0 would mean "no checksum"
  }
  std::memcpy(frame + off::kUdpCsum, &udp_csum, 2);
  std::size_t frame_len = kUdpFrameHeaderBytes + payload_len;
  if (frame_len < kEthMinFrameBytes) {
    std::memset(frame + frame_len, 0, kEthMinFrameBytes - frame_len);
    frame_len = kEthMinFrameBytes;
  }
  return frame_len;
}

// memcpy for the short payloads of the fast path, without a library call;
// long ones go to memcpy.
inline void copy_payload(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) {
  if (n >= 16 && n <= 128) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) std::memcpy(dst + i, src + i, 16);
    if (i < n) std::memcpy(dst + n - 16, src + n - 16, 16);  // overlapping tail
  } else if (n >= 8 && n < 16) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

// ---- RX: parsing ---------------------------------------------------------------------

// Why a received frame was not delivered as a datagram.
enum class RxVerdict : std::uint8_t {
  kOk = 0,
  kMalformed,    // the NIC's parser flagged it (RX slot FLAGS.MALFORMED)
  kFragment,     // an IPv4 fragment (FLAGS.FRAG or MF/offset): the runtime does not reassemble
  kNotIpv4,      // another EtherType or IP version
  kNotUdp,       // another IP protocol
  kBadLength,    // runt, IHL < 5, lengths that disagree with each other or the frame
  kBadChecksum,  // IPv4 header or UDP checksum wrong (only with checksum verification on)
};
std::string_view to_string(RxVerdict v);

struct ParsedUdp {
  const std::uint8_t* payload = nullptr;
  std::uint16_t payload_len = 0;
  Endpoint src{};
  Endpoint dst{};
};

// RX slot FLAGS bits (from the register map's bit numbers).
struct RxFlagBits {
  std::uint32_t malformed;
  std::uint32_t frag;
};

// The common case in a few instructions: an untagged IPv4 frame, IHL 5, no
// fragment, UDP, consistent lengths, no RX flags. Returns false for anything
// else (then parse_udp_frame decides); never accepts what it would reject.
inline bool parse_udp_frame_fast(const std::uint8_t* f, std::size_t len, ParsedUdp& out) {
  if constexpr (std::endian::native != std::endian::little) {
    return false;
  } else {
    if (len < kUdpFrameHeaderBytes) return false;
    std::uint32_t w12;  // EtherType (2), version/IHL, DSCP/ECN
    std::uint32_t w20;  // flags/fragment offset (2), TTL, protocol
    std::memcpy(&w12, f + 12, 4);
    std::memcpy(&w20, f + 20, 4);
    // bytes 08 00 45 .. and (.. & 3F) (..) .. 11
    if ((w12 & 0x00FFFFFFU) != 0x00450008U || (w20 & 0xFF00FF3FU) != 0x11000000U) return false;
    const std::size_t total = load_be16(f + off::kIpTotalLen);
    const std::size_t udp_len = load_be16(f + off::kUdpLen);
    if (kEthHeaderBytes + total > len || udp_len < kUdpHeaderBytes ||
        udp_len + kIpv4HeaderBytes > total) {
      return false;
    }
    out.payload = f + off::kPayload;
    out.payload_len = static_cast<std::uint16_t>(udp_len - kUdpHeaderBytes);
    std::memcpy(&out.src.ip.be, f + off::kIpSrc, 4);
    std::memcpy(&out.dst.ip.be, f + off::kIpDst, 4);
    out.src.port = load_be16(f + off::kUdpSrcPort);
    out.dst.port = load_be16(f + off::kUdpDstPort);
    return true;
  }
}

// Parses an Ethernet (optionally 802.1Q) / IPv4 / UDP frame.
inline RxVerdict parse_udp_frame(const std::uint8_t* f, std::size_t len, std::uint32_t nic_flags,
                                 RxFlagBits bits, bool verify_checksums, ParsedUdp& out) {
  if ((nic_flags & bits.malformed) != 0) return RxVerdict::kMalformed;
  if ((nic_flags & bits.frag) != 0) return RxVerdict::kFragment;
  if (len < kEthHeaderBytes) return RxVerdict::kBadLength;
  std::size_t l3 = kEthHeaderBytes;
  std::uint16_t type = load_be16(f + 12);
  if (type == kEtherTypeVlan) {
    if (len < kEthHeaderBytes + kVlanTagBytes) return RxVerdict::kBadLength;
    type = load_be16(f + 16);
    l3 += kVlanTagBytes;
  }
  if (type != kEtherTypeIpv4) return RxVerdict::kNotIpv4;
  if (len < l3 + kIpv4HeaderBytes) return RxVerdict::kBadLength;
  const std::uint8_t* ip = f + l3;
  if ((ip[0] >> 4) != 4) return RxVerdict::kNotIpv4;
  const std::size_t ihl = std::size_t{ip[0] & 0xFU} * 4;
  const std::size_t total = load_be16(ip + 2);
  if (ihl < kIpv4HeaderBytes || total < ihl || l3 + total > len) return RxVerdict::kBadLength;
  if ((load_be16(ip + 6) & 0x3FFF) != 0) return RxVerdict::kFragment;  // MF or a fragment offset
  if (ip[9] != kIpProtoUdp) return RxVerdict::kNotUdp;
  if (total < ihl + kUdpHeaderBytes) return RxVerdict::kBadLength;
  const std::uint8_t* udp = ip + ihl;
  const std::size_t udp_len = load_be16(udp + 4);
  if (udp_len < kUdpHeaderBytes || udp_len > total - ihl) return RxVerdict::kBadLength;
  if (verify_checksums) {
    if (csum::fold(csum::add(0, ip, ihl)) != 0xFFFF) return RxVerdict::kBadChecksum;
    std::uint16_t c;
    std::memcpy(&c, udp + 6, 2);
    if (c != 0) {
      const std::uint64_t s = csum::add(0, ip + 12, 8) + net16(kIpProtoUdp) +
                              net16(static_cast<std::uint16_t>(udp_len));
      if (csum::fold(csum::add(s, udp, udp_len)) != 0xFFFF) return RxVerdict::kBadChecksum;
    }
  }
  out.payload = udp + kUdpHeaderBytes;
  out.payload_len = static_cast<std::uint16_t>(udp_len - kUdpHeaderBytes);
  std::memcpy(&out.src.ip.be, ip + 12, 4);
  std::memcpy(&out.dst.ip.be, ip + 16, 4);
  out.src.port = load_be16(udp);
  out.dst.port = load_be16(udp + 2);
  return RxVerdict::kOk;
}

}  // namespace norman

template <>
struct std::hash<norman::Ipv4> {
  std::size_t operator()(norman::Ipv4 a) const noexcept { return std::hash<std::uint32_t>{}(a.be); }
};
