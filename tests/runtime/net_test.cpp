// Addresses, checksums, header building and frame parsing, checked against an
// independent implementation (soft_nic.hpp's byte-by-byte builder and a
// plain RFC 1071 loop).
#include "norman/net.hpp"

#include <gtest/gtest.h>

#include <random>

#include "norman/regmap.hpp"
#include "soft_nic.hpp"

namespace norman {
namespace {

using testing::Bytes;
using testing::make_udp_frame;
using testing::rfc1071;

const MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddr kMacB{{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01}};
const Endpoint kA{Ipv4::from_octets(10, 11, 0, 2), 7000};
const Endpoint kB{Ipv4::from_octets(10, 11, 0, 1), 5555};
constexpr RxFlagBits kBits{1U << regmap::rx_slot::kFlagsMalformed,
                           1U << regmap::rx_slot::kFlagsFrag};

TEST(Addresses, ParseAndFormat) {
  EXPECT_EQ(Ipv4::parse("10.11.0.2")->to_string(), "10.11.0.2");
  EXPECT_EQ(*Ipv4::parse("10.11.0.2"), Ipv4::from_octets(10, 11, 0, 2));
  EXPECT_FALSE(Ipv4::parse("10.11.0"));
  EXPECT_FALSE(Ipv4::parse("10.11.0.256"));
  EXPECT_FALSE(Ipv4::parse(""));
  EXPECT_EQ(MacAddr::parse("02:AA:bb:cc:dd:01")->to_string(), "02:aa:bb:cc:dd:01");
  EXPECT_FALSE(MacAddr::parse("02:aa:bb:cc:dd"));
  EXPECT_FALSE(MacAddr::parse("02:aa:bb:cc:dd:zz"));
  EXPECT_EQ(Endpoint::parse("10.0.0.1:53")->to_string(), "10.0.0.1:53");
  EXPECT_FALSE(Endpoint::parse("10.0.0.1:65536"));
  EXPECT_FALSE(Endpoint::parse("10.0.0.1"));
  const auto o = Ipv4::from_octets(1, 2, 3, 4).octets();
  EXPECT_EQ(o, (std::array<std::uint8_t, 4>{1, 2, 3, 4}));
}

TEST(Checksum, MatchesRfc1071LoopForAllLengthsAndOffsets) {
  std::mt19937 rng(1);
  Bytes buf(2100);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len = 0; len < 1600; len += (len < 80 ? 1 : 37)) {
      const std::span<const std::uint8_t> d(buf.data() + off, len);
      const std::uint16_t want = rfc1071(d);
      std::uint16_t got_native = csum::finish(csum::add(0, d.data(), d.size()));
      std::uint8_t got[2];
      std::memcpy(got, &got_native, 2);  // stored natively = network order
      ASSERT_EQ((got[0] << 8) | got[1], want) << "off " << off << " len " << len;
    }
  }
  // All-ones data folds to 0xFFFF (sum) -> checksum 0.
  Bytes ones(64, 0xFF);
  EXPECT_EQ(csum::fold(csum::add(0, ones.data(), ones.size())), 0xFFFF);
}

Bytes build(const UdpHeaderTemplate& t, std::span<const std::uint8_t> payload, std::uint16_t id,
            bool csum, const Endpoint* dst = nullptr, const MacAddr* dst_mac = nullptr) {
  Bytes f(2048, 0xEE);
  if (!payload.empty()) std::memcpy(f.data() + kUdpFrameHeaderBytes, payload.data(), payload.size());
  f.resize(write_udp_headers(f.data(), t, payload.size(), id, csum, dst, dst_mac));
  return f;
}

void expect_same_but_ip_id(Bytes got, Bytes want) {
  ASSERT_EQ(got.size(), want.size());
  // The independent builder uses IP id 0x1234: patch ours and fix the IP checksum.
  got[off::kIpId] = 0x12;
  got[off::kIpId + 1] = 0x34;
  got[off::kIpCsum] = 0;
  got[off::kIpCsum + 1] = 0;
  const std::uint16_t c = rfc1071(std::span(got).subspan(off::kIp, 20));
  got[off::kIpCsum] = static_cast<std::uint8_t>(c >> 8);
  got[off::kIpCsum + 1] = static_cast<std::uint8_t>(c);
  EXPECT_EQ(got, want);
}

TEST(Headers, ConnectedTemplateMatchesIndependentBuilder) {
  const auto t = UdpHeaderTemplate::make(kMacA, kA, kMacB, kB);
  std::mt19937 rng(2);
  for (std::size_t len : {0UL, 1UL, 17UL, 18UL, 19UL, 64UL, 511UL, 1000UL, 1471UL, 1472UL}) {
    Bytes payload(len);
    for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
    const Bytes got = build(t, payload, 0x1234, true);
    const Bytes want = make_udp_frame(kMacA, kMacB, kA, kB, payload, true);
    EXPECT_EQ(got, want) << "len " << len;
    // Any IP id: the IPv4 header checksum verifies (sums to zero).
    const Bytes g2 = build(t, payload, static_cast<std::uint16_t>(len * 7919), true);
    EXPECT_EQ(rfc1071(std::span(g2).subspan(off::kIp, 20)), 0) << "len " << len;
    expect_same_but_ip_id(g2, want);
  }
}

TEST(Headers, PerPacketDestinationMatchesIndependentBuilder) {
  const auto t = UdpHeaderTemplate::make(kMacA, kA, MacAddr{}, Endpoint{});
  for (const std::uint16_t port : std::array<std::uint16_t, 4>{1, 53, 5555, 65535}) {
    const Endpoint dst{Ipv4::from_octets(192, 168, static_cast<std::uint8_t>(port), 255), port};
    Bytes payload = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                     13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    const Bytes got = build(t, payload, 0x1234, true, &dst, &kMacB);
    EXPECT_EQ(got, make_udp_frame(kMacA, kMacB, kA, dst, payload, true)) << dst.to_string();
  }
}

TEST(Headers, NoChecksumOptionAndPadding) {
  const auto t = UdpHeaderTemplate::make(kMacA, kA, kMacB, kB);
  Bytes payload(5, 0x42);
  const Bytes got = build(t, payload, 0x1234, false);
  EXPECT_EQ(got.size(), 60U) << "short frames are zero-padded to 60 bytes";
  EXPECT_EQ(got[off::kUdpCsum], 0);
  EXPECT_EQ(got[off::kUdpCsum + 1], 0);
  EXPECT_EQ(load_be16(got.data() + off::kUdpLen), 13);
  EXPECT_EQ(load_be16(got.data() + off::kIpTotalLen), 33);
  for (std::size_t i = 47; i < 60; ++i) EXPECT_EQ(got[i], 0) << i;
  EXPECT_EQ(got, make_udp_frame(kMacA, kMacB, kA, kB, payload, false));
}

TEST(Headers, ChecksumZeroIsSentAsFFFF) {
  // Find a payload whose UDP checksum computes to 0 (then 0xFFFF is sent).
  const auto t = UdpHeaderTemplate::make(kMacA, kA, kMacB, kB);
  Bytes payload(2, 0);
  bool found = false;
  for (unsigned v = 0; v < 65536 && !found; ++v) {
    payload[0] = static_cast<std::uint8_t>(v >> 8);
    payload[1] = static_cast<std::uint8_t>(v);
    const Bytes f = build(t, payload, 0x1234, true);
    if (f[off::kUdpCsum] == 0xFF && f[off::kUdpCsum + 1] == 0xFF) {
      found = true;
      EXPECT_EQ(f, make_udp_frame(kMacA, kMacB, kA, kB, payload, true));
    }
  }
  EXPECT_TRUE(found);
}

TEST(Parse, GoodFrameAndVlan) {
  Bytes payload = {'h', 'e', 'l', 'l', 'o'};
  Bytes f = make_udp_frame(kMacB, kMacA, kB, kA, payload);
  ParsedUdp p;
  ASSERT_EQ(parse_udp_frame(f.data(), f.size(), 0, kBits, true, p), RxVerdict::kOk);
  EXPECT_EQ(p.payload_len, 5);
  EXPECT_EQ(0, std::memcmp(p.payload, "hello", 5));
  EXPECT_EQ(p.src, kB);
  EXPECT_EQ(p.dst, kA);
  // 802.1Q tag inserted after the MACs.
  Bytes v = f;
  const std::uint8_t tag[4] = {0x81, 0x00, 0x00, 0x64};
  v.insert(v.begin() + 12, tag, tag + 4);
  ASSERT_EQ(parse_udp_frame(v.data(), v.size(), 1U << regmap::rx_slot::kFlagsVlan, kBits, true, p),
            RxVerdict::kOk);
  EXPECT_EQ(p.payload_len, 5);
  EXPECT_EQ(p.src, kB);
}

TEST(Parse, EveryDropReason) {
  Bytes payload(30, 7);
  const Bytes good = make_udp_frame(kMacB, kMacA, kB, kA, payload);
  ParsedUdp p;
  auto verdict = [&](const Bytes& f, std::uint32_t flags = 0, bool verify = true) {
    return parse_udp_frame(f.data(), f.size(), flags, kBits, verify, p);
  };
  EXPECT_EQ(verdict(good, kBits.malformed), RxVerdict::kMalformed);
  EXPECT_EQ(verdict(good, kBits.frag), RxVerdict::kFragment);
  Bytes b = good;
  b[off::kIp + 6] = 0x20;  // MF
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kFragment);
  b = good;
  b[12] = 0x08;
  b[13] = 0x06;  // ARP
  EXPECT_EQ(verdict(b), RxVerdict::kNotIpv4);
  b = good;
  b[off::kIp] = 0x65;  // version 6
  EXPECT_EQ(verdict(b), RxVerdict::kNotIpv4);
  b = good;
  b[off::kIp + 9] = 6;  // TCP
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kNotUdp);
  b = good;
  b.resize(13);
  EXPECT_EQ(verdict(b), RxVerdict::kBadLength);
  b = good;
  b.resize(30);
  EXPECT_EQ(verdict(b), RxVerdict::kBadLength);
  b = good;
  b[off::kIp] = 0x44;  // IHL 4
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kBadLength);
  b = good;
  store_be16(b.data() + off::kIpTotalLen, 2000);  // longer than the frame
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kBadLength);
  b = good;
  store_be16(b.data() + off::kUdpLen, 7);  // < 8
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kBadLength);
  b = good;
  store_be16(b.data() + off::kUdpLen, 100);  // beyond the IP packet
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kBadLength);
  b = good;
  b[off::kPayload + 3] ^= 1;  // corrupt payload: UDP checksum fails
  EXPECT_EQ(verdict(b, 0, true), RxVerdict::kBadChecksum);
  EXPECT_EQ(verdict(b, 0, false), RxVerdict::kOk) << "not verified by default";
  b = good;
  b[off::kIp + 8] = 1;  // TTL changed: IP header checksum fails
  EXPECT_EQ(verdict(b, 0, true), RxVerdict::kBadChecksum);
  // UDP checksum 0 = none: accepted even when verifying.
  const Bytes nocsum = make_udp_frame(kMacB, kMacA, kB, kA, payload, false);
  EXPECT_EQ(verdict(nocsum, 0, true), RxVerdict::kOk);
  // Ethernet padding after a short IP packet is not payload.
  Bytes small = make_udp_frame(kMacB, kMacA, kB, kA, Bytes{1, 2});
  ASSERT_EQ(small.size(), 60U);
  ASSERT_EQ(verdict(small), RxVerdict::kOk);
  EXPECT_EQ(p.payload_len, 2);
}

}  // namespace
}  // namespace norman
