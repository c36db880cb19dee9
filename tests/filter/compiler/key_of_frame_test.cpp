// key_of_frame on crafted frames: the checks of the RTL parser
// (hw/rtl/core/pkt_parser.sv) decide what is refused and what carries L4.
// Designated initializers that leave the rest at its defaults are the point
// of the spec structs below; GCC warns about the omitted trailing members.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "flat.hpp"
#include "test_util.hpp"

namespace norman::filter {
namespace {

using test::ip;

void put16(std::vector<std::uint8_t>& b, std::size_t at, unsigned v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xFFFFu);
}

std::vector<std::uint8_t> tcp(unsigned sport, unsigned dport, std::uint8_t flags,
                              unsigned doff = 5) {
  std::vector<std::uint8_t> h(doff * 4, 0);
  put16(h, 0, sport);
  put16(h, 2, dport);
  h[12] = static_cast<std::uint8_t>(doff << 4);
  h[13] = flags;
  return h;
}

std::vector<std::uint8_t> udp(unsigned sport, unsigned dport, unsigned payload = 4) {
  std::vector<std::uint8_t> h(8 + payload, 0);
  put16(h, 0, sport);
  put16(h, 2, dport);
  put16(h, 4, 8 + payload);
  return h;
}

std::vector<std::uint8_t> icmp(std::uint8_t type, std::uint8_t code) {
  std::vector<std::uint8_t> h(8, 0);
  h[0] = type;
  h[1] = code;
  return h;
}

struct Ip {
  std::uint8_t proto = 6;
  std::uint32_t src = ip(10, 0, 0, 1);
  std::uint32_t dst = ip(10, 0, 0, 2);
  unsigned ihl = 5;
  unsigned version = 4;
  unsigned frag = 0;  // flags and offset, as in bytes 6..7
  std::vector<std::uint8_t> l4;
  std::optional<unsigned> total;  // default: header + l4
};

std::vector<std::uint8_t> ipv4(const Ip& p) {
  std::vector<std::uint8_t> b(p.ihl * 4, 0);
  b[0] = static_cast<std::uint8_t>((p.version << 4) | p.ihl);
  put16(b, 2, p.total.value_or(static_cast<unsigned>(b.size() + p.l4.size())));
  put16(b, 6, p.frag);
  b[8] = 64;
  b[9] = p.proto;
  put32(b, 12, p.src);
  put32(b, 16, p.dst);
  b.insert(b.end(), p.l4.begin(), p.l4.end());
  return b;
}

std::vector<std::uint8_t> eth(const std::vector<std::uint8_t>& l3, unsigned ethertype = 0x0800,
                              bool vlan = false, std::size_t min_len = 60) {
  std::vector<std::uint8_t> f(12, 0x11);
  if (vlan) {
    f.push_back(0x81);
    f.push_back(0x00);
    f.push_back(0x20);
    f.push_back(0x05);
  }
  f.push_back(static_cast<std::uint8_t>(ethertype >> 8));
  f.push_back(static_cast<std::uint8_t>(ethertype));
  f.insert(f.end(), l3.begin(), l3.end());
  if (f.size() < min_len) f.resize(min_len, 0);
  return f;
}

bool flag(const Key& k, rf::Flag f) { return (k.flags & flag_bit(f)) != 0; }

std::optional<Key> key(const std::vector<std::uint8_t>& f, Direction d = Direction::kInput,
                       unsigned port = 0, const std::optional<OwnerMeta>& owner = std::nullopt) {
  return key_of_frame(f, d, port, owner);
}

TEST(KeyOfFrame, TcpWithOwner) {
  const auto f = eth(ipv4({.l4 = tcp(40000, 22, 0x12)}));
  const auto k = key(f, Direction::kInput, 1, OwnerMeta{1000, 100, 7, 3});
  ASSERT_TRUE(k);
  EXPECT_EQ((*k)[rf::FieldId::kIface], 1u);
  EXPECT_EQ((*k)[rf::FieldId::kProto], 6u);
  EXPECT_EQ((*k)[rf::FieldId::kSrcIp], ip(10, 0, 0, 1));
  EXPECT_EQ((*k)[rf::FieldId::kDstIp], ip(10, 0, 0, 2));
  EXPECT_EQ((*k)[rf::FieldId::kSport], 40000u);
  EXPECT_EQ((*k)[rf::FieldId::kDport], 22u);
  EXPECT_EQ((*k)[rf::FieldId::kUid], 1000u);
  EXPECT_EQ((*k)[rf::FieldId::kGid], 100u);
  EXPECT_EQ((*k)[rf::FieldId::kCmdId], 7u);
  EXPECT_EQ((*k)[rf::FieldId::kCgroup], 3u);
  EXPECT_TRUE(flag(*k, rf::Flag::kL4Valid));
  EXPECT_TRUE(flag(*k, rf::Flag::kOwnerValid));
  EXPECT_FALSE(flag(*k, rf::Flag::kDir));
  EXPECT_FALSE(flag(*k, rf::Flag::kFrag));
  EXPECT_TRUE(flag(*k, rf::Flag::kTcpSyn));
  EXPECT_TRUE(flag(*k, rf::Flag::kTcpAck));
  EXPECT_FALSE(flag(*k, rf::Flag::kTcpFin));
  EXPECT_FALSE(flag(*k, rf::Flag::kTcpRst));
  EXPECT_EQ(k->frame_bytes, 40u);  // the IPv4 datagram, as iptables counts
}

TEST(KeyOfFrame, AllTcpFlagsInWireOrder) {
  for (unsigned bit = 0; bit < 8; ++bit) {
    const auto k = key(eth(ipv4({.l4 = tcp(1, 2, static_cast<std::uint8_t>(1u << bit))})));
    ASSERT_TRUE(k);
    EXPECT_EQ(k->flags >> static_cast<unsigned>(rf::Flag::kTcpFin), 1u << bit);
  }
}

TEST(KeyOfFrame, OutputWithoutOwner) {
  const auto k = key(eth(ipv4({.proto = 17, .l4 = udp(53, 5353)})), Direction::kOutput, 0);
  ASSERT_TRUE(k);
  EXPECT_TRUE(flag(*k, rf::Flag::kDir));
  EXPECT_FALSE(flag(*k, rf::Flag::kOwnerValid));
  EXPECT_EQ((*k)[rf::FieldId::kUid], 0u);
  EXPECT_EQ((*k)[rf::FieldId::kSport], 53u);
  EXPECT_EQ((*k)[rf::FieldId::kDport], 5353u);
  EXPECT_EQ(k->flags & ~(flag_bit(rf::Flag::kDir) | flag_bit(rf::Flag::kL4Valid)), 0);
}

TEST(KeyOfFrame, VlanTag) {
  const auto k = key(eth(ipv4({.proto = 17, .l4 = udp(1234, 80)}), 0x0800, true));
  ASSERT_TRUE(k);
  EXPECT_EQ((*k)[rf::FieldId::kDport], 80u);
  EXPECT_TRUE(flag(*k, rf::Flag::kL4Valid));
  // A tag with nothing after it.
  std::vector<std::uint8_t> f(12, 0);
  f.insert(f.end(), {0x81, 0x00, 0x00, 0x01, 0x08});
  EXPECT_FALSE(key(f));
}

TEST(KeyOfFrame, Ipv4Options) {
  const auto k = key(eth(ipv4({.ihl = 7, .l4 = tcp(5, 443, 0x02)})));
  ASSERT_TRUE(k);
  EXPECT_EQ((*k)[rf::FieldId::kSport], 5u);
  EXPECT_EQ((*k)[rf::FieldId::kDport], 443u);
  EXPECT_TRUE(flag(*k, rf::Flag::kTcpSyn));
  // Options running past the frame.
  auto l3 = ipv4({.ihl = 15, .l4 = {}, .total = 60});
  l3.resize(40);
  EXPECT_FALSE(key(eth(l3, 0x0800, false, 0)));
}

TEST(KeyOfFrame, Fragments) {
  // First fragment (MF, offset 0): the L4 header is there.
  auto first = key(eth(ipv4({.frag = 0x2000, .l4 = tcp(1, 80, 0x10)})));
  ASSERT_TRUE(first);
  EXPECT_FALSE(flag(*first, rf::Flag::kFrag));
  EXPECT_TRUE(flag(*first, rf::Flag::kL4Valid));
  EXPECT_EQ((*first)[rf::FieldId::kDport], 80u);
  // A later fragment: bytes that look like a TCP header are payload.
  auto later = key(eth(ipv4({.frag = 185, .l4 = tcp(1, 80, 0x10)})));
  ASSERT_TRUE(later);
  EXPECT_TRUE(flag(*later, rf::Flag::kFrag));
  EXPECT_FALSE(flag(*later, rf::Flag::kL4Valid));
  EXPECT_EQ((*later)[rf::FieldId::kProto], 6u);
  EXPECT_EQ((*later)[rf::FieldId::kSport], 0u);
  EXPECT_EQ((*later)[rf::FieldId::kDport], 0u);
  EXPECT_EQ(later->flags >> static_cast<unsigned>(rf::Flag::kTcpFin), 0);
}

TEST(KeyOfFrame, Icmp) {
  auto echo = key(eth(ipv4({.proto = 1, .l4 = icmp(8, 0)})));
  ASSERT_TRUE(echo);
  EXPECT_EQ((*echo)[rf::FieldId::kSport], 0x0800u);
  EXPECT_EQ((*echo)[rf::FieldId::kDport], 0u);
  EXPECT_TRUE(flag(*echo, rf::Flag::kL4Valid));
  auto unreach = key(eth(ipv4({.proto = 1, .l4 = icmp(3, 3)})));
  ASSERT_TRUE(unreach);
  EXPECT_EQ((*unreach)[rf::FieldId::kSport], 0x0303u);
  // Four bytes of ICMP: not a header.
  auto shorty = key(eth(ipv4({.proto = 1, .l4 = {3, 3, 0, 0}})));
  ASSERT_TRUE(shorty);
  EXPECT_FALSE(flag(*shorty, rf::Flag::kL4Valid));
  EXPECT_EQ((*shorty)[rf::FieldId::kSport], 0u);
}

TEST(KeyOfFrame, TruncatedL4IsJudgedWithoutIt) {
  // Ethernet padding after a 10-byte TCP segment must not complete it.
  auto l4 = tcp(1, 22, 0x02);
  l4.resize(10);
  auto k = key(eth(ipv4({.l4 = l4})));
  ASSERT_TRUE(k);
  EXPECT_FALSE(flag(*k, rf::Flag::kL4Valid));
  EXPECT_EQ((*k)[rf::FieldId::kDport], 0u);
  EXPECT_EQ(k->flags >> static_cast<unsigned>(rf::Flag::kTcpFin), 0);
  // Data offset below 5, or past the segment.
  EXPECT_FALSE(flag(*key(eth(ipv4({.l4 = tcp(1, 22, 0, 4)}))), rf::Flag::kL4Valid));
  auto doff6 = tcp(1, 22, 0, 6);
  doff6.resize(20);
  EXPECT_FALSE(flag(*key(eth(ipv4({.l4 = doff6}))), rf::Flag::kL4Valid));
  EXPECT_TRUE(flag(*key(eth(ipv4({.l4 = tcp(1, 22, 0, 6)}))), rf::Flag::kL4Valid));
  // UDP length below 8 or beyond the IP payload.
  auto bad = udp(1, 2);
  bad[5] = 4;
  EXPECT_FALSE(flag(*key(eth(ipv4({.proto = 17, .l4 = bad}))), rf::Flag::kL4Valid));
  bad[5] = 40;
  EXPECT_FALSE(flag(*key(eth(ipv4({.proto = 17, .l4 = bad}))), rf::Flag::kL4Valid));
  // Other protocols have no L4 fields.
  auto gre = key(eth(ipv4({.proto = 47, .l4 = udp(1, 2)})));
  ASSERT_TRUE(gre);
  EXPECT_FALSE(flag(*gre, rf::Flag::kL4Valid));
  EXPECT_EQ((*gre)[rf::FieldId::kSport], 0u);
}

TEST(KeyOfFrame, MalformedIpv4IsRefused) {
  const auto ok = ipv4({.l4 = tcp(1, 2, 0)});
  EXPECT_TRUE(key(eth(ok)));
  EXPECT_FALSE(key(eth(ipv4({.version = 6, .l4 = tcp(1, 2, 0)}))));
  EXPECT_FALSE(key(eth(ipv4({.ihl = 4, .l4 = tcp(1, 2, 0)}))));
  EXPECT_FALSE(key(eth(ipv4({.l4 = tcp(1, 2, 0), .total = 19}))));
  EXPECT_FALSE(key(eth(ipv4({.ihl = 6, .l4 = tcp(1, 2, 0), .total = 22}))));
  // Total length beyond the frame (no padding to hide it).
  EXPECT_FALSE(key(eth(ipv4({.l4 = tcp(1, 2, 0), .total = 41}), 0x0800, false, 0)));
  // Fewer than 20 bytes of IPv4 header.
  auto cut = ok;
  cut.resize(19);
  EXPECT_FALSE(key(eth(cut, 0x0800, false, 0)));
  // Runt.
  EXPECT_FALSE(key(std::vector<std::uint8_t>(13, 0)));
}

TEST(KeyOfFrame, PaddingBeyondTotalLengthIsIgnored) {
  const auto k = key(eth(ipv4({.proto = 17, .l4 = udp(7, 9, 0)}), 0x0800, false, 60));
  ASSERT_TRUE(k);
  EXPECT_TRUE(flag(*k, rf::Flag::kL4Valid));
  EXPECT_EQ(k->frame_bytes, 28u);
}

TEST(KeyOfFrame, NotIpv4) {
  EXPECT_FALSE(key(eth(std::vector<std::uint8_t>(28, 0), 0x0806)));
  EXPECT_FALSE(key(eth(std::vector<std::uint8_t>(60, 0x60), 0x86DD)));
  EXPECT_FALSE(key(eth(ipv4({.l4 = tcp(1, 2, 0)}), 0x86DD)));
}

}  // namespace
}  // namespace norman::filter
