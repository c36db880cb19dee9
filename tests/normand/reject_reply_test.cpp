// The answers normand sends for packets the filter REJECTs on INPUT, field
// by field, with checksums verified independently.
#include "reject_reply.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace norman::normand {
namespace {

using RejectWith = regmap::filter::RejectWith;

std::uint16_t get16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t get32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}
// One's-complement sum of a region (0xFFFF when its checksum is right).
std::uint16_t ones_sum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// Ethernet/IPv4 frame from 10.0.0.1:4000 (mac ..:01) to 10.0.0.2:port (mac ..:02).
std::vector<std::uint8_t> frame(std::uint8_t proto, std::vector<std::uint8_t> l4,
                                std::uint16_t frag = 0, std::uint32_t dst = 0x0A000002) {
  std::vector<std::uint8_t> f(14 + 20 + l4.size(), 0);
  for (int i = 0; i < 6; ++i) {
    f[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i == 5 ? 2 : 0x02 * (i == 0));
    f[static_cast<std::size_t>(6 + i)] = static_cast<std::uint8_t>(i == 5 ? 1 : 0x02 * (i == 0));
  }
  f[12] = 0x08;
  f[14] = 0x45;
  const auto total = static_cast<std::uint16_t>(20 + l4.size());
  f[16] = static_cast<std::uint8_t>(total >> 8);
  f[17] = static_cast<std::uint8_t>(total);
  f[20] = static_cast<std::uint8_t>(frag >> 8);
  f[21] = static_cast<std::uint8_t>(frag);
  f[22] = 64;
  f[23] = proto;
  f[26] = 10, f[29] = 1;
  f[30] = static_cast<std::uint8_t>(dst >> 24), f[31] = static_cast<std::uint8_t>(dst >> 16);
  f[32] = static_cast<std::uint8_t>(dst >> 8), f[33] = static_cast<std::uint8_t>(dst);
  std::copy(l4.begin(), l4.end(), f.begin() + 34);
  return f;
}

std::vector<std::uint8_t> udp(std::uint16_t dport) {
  return {0x0F,
          0xA0,
          static_cast<std::uint8_t>(dport >> 8),
          static_cast<std::uint8_t>(dport),
          0,
          12,
          0,
          0,
          'a',
          'b',
          'c',
          'd'};
}

std::vector<std::uint8_t> tcp(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                              std::size_t payload = 0) {
  std::vector<std::uint8_t> t(20 + payload, 0);
  t[0] = 0x0F, t[1] = 0xA0, t[2] = 0x00, t[3] = 22;
  for (int i = 0; i < 4; ++i) {
    t[static_cast<std::size_t>(4 + i)] = static_cast<std::uint8_t>(seq >> (24 - 8 * i));
    t[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(ack >> (24 - 8 * i));
  }
  t[12] = 0x50;
  t[13] = flags;
  return t;
}

TEST(RejectReply, IcmpPortUnreachableQuotesTheHeaderAndEightBytes) {
  const auto f = frame(17, udp(5432));
  const auto r = reject_reply(f, RejectWith::kIcmpPortUnreachable);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 14u + 20 + 8 + 28);
  EXPECT_EQ(std::vector<std::uint8_t>(r->begin(), r->begin() + 6),
            std::vector<std::uint8_t>(f.begin() + 6, f.begin() + 12));
  EXPECT_EQ(get16(*r, 12), 0x0800);
  EXPECT_EQ(get32(*r, 26), 0x0A000002u);  // from the address the packet was sent to
  EXPECT_EQ(get32(*r, 30), 0x0A000001u);
  EXPECT_EQ((*r)[23], 1);
  EXPECT_EQ(ones_sum(r->data() + 14, 20), 0xFFFF);
  EXPECT_EQ((*r)[34], 3);
  EXPECT_EQ((*r)[35], 3);
  EXPECT_EQ(ones_sum(r->data() + 34, r->size() - 34), 0xFFFF);
  EXPECT_EQ(std::vector<std::uint8_t>(r->begin() + 42, r->end()),
            std::vector<std::uint8_t>(f.begin() + 14, f.begin() + 42));
  EXPECT_EQ((*reject_reply(f, RejectWith::kIcmpAdminProhibited))[35], 13);
}

TEST(RejectReply, TcpResetFollowsTheSequenceRules) {
  // A SYN: RST+ACK acknowledging seq + 1.
  auto r = reject_reply(frame(6, tcp(0x02, 1000, 0)), RejectWith::kTcpReset);
  ASSERT_TRUE(r);
  EXPECT_EQ(get16(*r, 34), 22);
  EXPECT_EQ(get16(*r, 36), 4000);
  EXPECT_EQ(get32(*r, 38), 0u);
  EXPECT_EQ(get32(*r, 42), 1001u);
  EXPECT_EQ((*r)[47], 0x14);
  std::uint32_t pseudo = ones_sum(r->data() + 26, 8);
  pseudo += 6 + 20;
  EXPECT_EQ(ones_sum(r->data() + 34, 20, pseudo), 0xFFFF);
  // An ACK with 10 bytes: a bare RST with the acknowledged sequence.
  r = reject_reply(frame(6, tcp(0x18, 5000, 777, 10)), RejectWith::kTcpReset);
  ASSERT_TRUE(r);
  EXPECT_EQ(get32(*r, 38), 777u);
  EXPECT_EQ((*r)[47], 0x04);
}

TEST(RejectReply, NoAnswerWhereLinuxGivesNone) {
  EXPECT_FALSE(reject_reply(frame(6, tcp(0x04, 1, 1)), RejectWith::kTcpReset));  // a reset
  EXPECT_FALSE(reject_reply(frame(17, udp(53)), RejectWith::kTcpReset));         // not TCP
  EXPECT_FALSE(reject_reply(frame(1, {3, 3, 0, 0, 0, 0, 0, 0}),
                            RejectWith::kIcmpPortUnreachable));  // ICMP error
  EXPECT_FALSE(reject_reply(frame(17, udp(53), 0x0010),
                            RejectWith::kIcmpPortUnreachable));  // later fragment
  EXPECT_FALSE(reject_reply(frame(17, udp(53), 0, 0xE0000001),
                            RejectWith::kIcmpPortUnreachable));  // multicast
  EXPECT_FALSE(reject_reply(std::vector<std::uint8_t>(20, 0), RejectWith::kIcmpPortUnreachable));
  // An echo request is answered (it is not an error).
  EXPECT_TRUE(reject_reply(frame(1, {8, 0, 0, 0, 0, 1, 0, 1}), RejectWith::kIcmpHostProhibited));
}

}  // namespace
}  // namespace norman::normand
