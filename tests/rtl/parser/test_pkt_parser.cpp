// pkt_parser: crafted frames with hand-written expectations, malformed and
// truncated frames, randomized frames against the reference parser, and
// timing (one frame per cycle, fixed latency, order).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "parser_sim.hpp"
#include "pktgen.hpp"
#include "ref_parser.hpp"

namespace {

namespace pg = norman::pktgen;
namespace ref = norman::ref;
using norman::parser_test::kBeatBytes;
using norman::parser_test::kParserLatency;
using norman::parser_test::ParserSim;
using pg::Bytes;
using Err = ref::ParseErr;
using Rng = std::mt19937_64;

// Idle cycles before frame i.
using GapFn = std::function<unsigned(size_t)>;

// Sends the frames, waits for the pipeline to drain, and checks that exactly
// one metadata came out per frame, in order, ParserLatency cycles after the
// frame's last beat, equal to the reference. Returns what the parser produced.
std::vector<ref::PktMeta> run_and_check(ParserSim& sim, const std::vector<Bytes>& frames,
                                        const GapFn& gap = nullptr) {
  sim.clear_outputs();
  std::vector<uint64_t> last_cycle;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (gap) sim.idle(gap(i));
    last_cycle.push_back(sim.send(frames[i]));
  }
  sim.idle(static_cast<unsigned>(kParserLatency) + 3);

  const auto& out = sim.outputs();
  EXPECT_EQ(out.size(), frames.size()) << "metadata count differs from frame count";
  int failures = 0;
  std::vector<ref::PktMeta> metas;
  for (size_t i = 0; i < std::min(out.size(), frames.size()); ++i) {
    metas.push_back(out[i].meta);
    if (failures >= 10) continue;
    if (out[i].cycle != last_cycle[i] + kParserLatency) {
      ADD_FAILURE() << "frame " << i << " (" << frames[i].size() << " bytes): metadata at cycle " << out[i].cycle
                    << ", last beat at " << last_cycle[i];
      ++failures;
    }
    const ref::PktMeta expected = ref::parse(frames[i]);
    if (!(out[i].meta == expected)) {
      std::string hexdump;
      for (size_t j = 0; j < std::min<size_t>(frames[i].size(), 100); ++j) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%02x ", frames[i][j]);
        hexdump += buf;
      }
      ADD_FAILURE() << "frame " << i << " (" << frames[i].size() << " bytes) differs from the reference:\n"
                    << ref::diff(expected, out[i].meta) << "frame: " << hexdump;
      ++failures;
    }
  }
  return metas;
}

class PktParser : public ::testing::Test {
 protected:
  // The parser's metadata for one frame (also checked against the reference).
  ref::PktMeta hw(const Bytes& frame) {
    auto metas = run_and_check(sim_, {frame});
    return metas.empty() ? ref::PktMeta{} : metas[0];
  }
  ParserSim sim_;
};

const pg::Mac kDst = pg::mac("02:11:22:33:44:55");
const pg::Mac kSrc = pg::mac("02:66:77:88:99:aa");
const pg::Ipv4Addr kIp4A = pg::ipv4("10.1.2.3");
const pg::Ipv4Addr kIp4B = pg::ipv4("192.168.200.7");
const pg::Ipv6Addr kIp6A = pg::ipv6("2001:db8::1");
const pg::Ipv6Addr kIp6B = pg::ipv6("fe80::1234:5678:9abc:def0");

std::array<uint8_t, 16> as128(const pg::Ipv4Addr& a) {
  std::array<uint8_t, 16> r{};
  std::copy(a.begin(), a.end(), r.begin() + 12);
  return r;
}

pg::Eth eth(std::optional<pg::Vlan> vlan = std::nullopt, size_t min_len = pg::kEthMinFrameBytes) {
  pg::Eth e(kDst, kSrc, vlan);
  e.min_len = min_len;
  return e;
}
pg::Ipv4 ip4() { return pg::Ipv4(kIp4A, kIp4B); }
pg::Ipv6 ip6() { return pg::Ipv6(kIp6A, kIp6B); }

constexpr uint64_t kDstMac = 0x021122334455;
constexpr uint64_t kSrcMac = 0x02667788'99aa;

// ---------------------------------------------------------------------------
// pktgen itself (other suites rely on it)

TEST(PktGen, Ipv4HeaderChecksumMatchesKnownValue) {
  // A classic worked example: 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73, DF.
  pg::Ipv4 ip(pg::ipv4("192.168.0.1"), pg::ipv4("192.168.0.199"));
  ip.df = true;
  ip.total_len = 0x73;
  const Bytes b = pg::ipv4_packet(ip, pg::ipproto::kUdp, {});
  ASSERT_EQ(b.size(), 20u);
  EXPECT_EQ(b[0], 0x45);
  EXPECT_EQ(pg::load16(b, 2), 0x73);
  EXPECT_EQ(pg::load16(b, 6), 0x4000);
  EXPECT_EQ(b[8], 64);
  EXPECT_EQ(b[9], 17);
  EXPECT_EQ(pg::load16(b, 10), 0xB861);
}

// Sum over the pseudo-header and the segment must fold to zero.
uint16_t l4_residual(const pg::L3& l3, uint8_t proto, std::span<const uint8_t> seg) {
  uint32_t pseudo = 0;
  if (const auto* v4 = std::get_if<pg::Ipv4>(&l3)) {
    pseudo = proto == pg::ipproto::kIcmp ? 0 : pg::pseudo_sum(*v4, proto, seg.size());
  } else {
    pseudo = pg::pseudo_sum(std::get<pg::Ipv6>(l3), proto, seg.size());
  }
  return pg::csum_fold(pg::csum_add(pseudo, seg));
}

TEST(PktGen, ChecksumsAndLengthsAreConsistent) {
  pg::Tcp tcp_mss(1, 2);
  tcp_mss.options = {2, 4, 5, 0xb4};
  const std::vector<pg::L4> l4s = {tcp_mss,
                                   pg::Udp(3, 4), pg::Icmp(8, 0, 0x12345678)};
  for (bool v6 : {false, true}) {
    pg::Ipv4 v4 = ip4();
    v4.options = {0x94, 0x04, 0, 0};  // router alert
    const pg::L3 l3 = v6 ? pg::L3{ip6()} : pg::L3{v4};
    for (const auto& l4 : l4s) {
      for (size_t payload_len : {0u, 1u, 33u}) {
        const Bytes pkt = pg::ip_packet(l3, l4, pg::pattern(payload_len, 0x5a));
        const uint8_t proto = pg::l4_proto(l4, v6);
        const size_t hdr = v6 ? 40 : 24;
        if (v6) {
          EXPECT_EQ(pkt[0] >> 4, 6);
          EXPECT_EQ(pg::load16(pkt, 4), pkt.size() - 40);
          EXPECT_EQ(pkt[6], proto);
        } else {
          EXPECT_EQ(pkt[0], 0x46);
          EXPECT_EQ(pg::load16(pkt, 2), pkt.size());
          EXPECT_EQ(pkt[9], proto);
          EXPECT_EQ(pg::internet_checksum(std::span(pkt).first(hdr)), 0) << "IPv4 header checksum";
        }
        const auto seg = std::span<const uint8_t>(pkt).subspan(hdr);
        EXPECT_EQ(l4_residual(l3, proto, seg), 0) << "v6=" << v6 << " proto=" << int{proto} << " len=" << payload_len;
        if (proto == pg::ipproto::kUdp) {
          EXPECT_EQ(pg::load16(seg, 4), seg.size());
        }
        if (proto == pg::ipproto::kTcp) {
          EXPECT_EQ(seg[12] >> 4, 6);
        }
      }
    }
  }
}

TEST(PktGen, EthernetLayout) {
  const Bytes f = pg::eth_frame(eth(pg::Vlan(0x123, 6, true)), 0x88B5, pg::pattern(3));
  ASSERT_EQ(f.size(), 60u);  // padded
  EXPECT_EQ(f[0], 0x02);
  EXPECT_EQ(f[5], 0x55);
  EXPECT_EQ(f[11], 0xaa);
  EXPECT_EQ(pg::load16(f, 12), 0x8100);
  EXPECT_EQ(pg::load16(f, 14), 0xD123);
  EXPECT_EQ(pg::load16(f, 16), 0x88B5);
  EXPECT_EQ(f[18], 0);
  EXPECT_EQ(f[20], 2);
  EXPECT_EQ(f[21], 0);  // padding
  EXPECT_EQ(pg::eth_frame(eth(std::nullopt, 0), 0x88B5, {}).size(), 14u);
  EXPECT_EQ(pg::ipv6("::1")[15], 1);
  EXPECT_THROW(pg::mac("02:11:22:33:44"), std::invalid_argument);
  EXPECT_THROW(pg::ipv4("10.0.0.256"), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// Well-formed frames, one protocol at a time

TEST_F(PktParser, Ipv4Tcp) {
  pg::Ipv4 ip = ip4();
  ip.dscp = 46;
  ip.ecn = 1;
  ip.ttl = 63;
  ip.df = true;
  const Bytes f = pg::ip_frame(eth(), ip, pg::Tcp(40000, 443, pg::tcp_flag::kSyn | pg::tcp_flag::kAck));
  const auto m = hw(f);
  EXPECT_EQ(m.frame_len, 60);
  EXPECT_EQ(m.dst_mac, kDstMac);
  EXPECT_EQ(m.src_mac, kSrcMac);
  EXPECT_EQ(m.ethertype, 0x0800);
  EXPECT_FALSE(m.has_vlan);
  EXPECT_TRUE(m.is_ipv4);
  EXPECT_FALSE(m.is_ipv6 || m.is_arp || m.is_udp || m.is_icmp);
  EXPECT_TRUE(m.is_tcp);
  EXPECT_FALSE(m.ip_frag || m.ip_frag_later || m.ip_options);
  EXPECT_EQ(m.ip_proto, 6);
  EXPECT_EQ(m.ip_ttl, 63);
  EXPECT_EQ(m.ip_dscp, 46);
  EXPECT_EQ(m.ipv4_len, 40);  // 20 + 20: the frame is padded to 60 bytes, the count is not
  EXPECT_EQ(m.src_ip, as128(kIp4A));
  EXPECT_EQ(m.dst_ip, as128(kIp4B));
  EXPECT_EQ(m.src_port, 40000);
  EXPECT_EQ(m.dst_port, 443);
  EXPECT_EQ(m.tcp_flags, 0x12);
  EXPECT_EQ(m.l3_offset, 14);
  EXPECT_EQ(m.l4_offset, 34);
  EXPECT_FALSE(m.malformed);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, VlanIpv4MaxOptionsTcpMaxOptionsMultiBeat) {
  pg::Ipv4 ip = ip4();
  ip.options = pg::pattern(40, 0x80);  // IHL 15
  pg::Tcp tcp(7, 65535, pg::tcp_flag::kPsh | pg::tcp_flag::kAck);
  tcp.options = pg::pattern(40, 1);
  const Bytes f = pg::ip_frame(eth(pg::Vlan(0xABC, 5)), ip, tcp, pg::pattern(200));
  ASSERT_EQ(f.size(), 18u + 60 + 60 + 200);
  const auto m = hw(f);
  EXPECT_EQ(m.frame_len, f.size());
  EXPECT_TRUE(m.has_vlan);
  EXPECT_EQ(m.vlan_id, 0xABC);
  EXPECT_EQ(m.vlan_pcp, 5);
  EXPECT_EQ(m.ethertype, 0x0800);
  EXPECT_TRUE(m.ip_options);
  EXPECT_TRUE(m.is_tcp);
  EXPECT_EQ(m.src_port, 7);
  EXPECT_EQ(m.dst_port, 65535);
  EXPECT_EQ(m.tcp_flags, 0x18);
  EXPECT_EQ(m.l3_offset, 18);
  EXPECT_EQ(m.l4_offset, 78);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, EveryIpv4HeaderLength) {
  for (size_t opt = 0; opt <= 40; opt += 4) {
    pg::Ipv4 ip = ip4();
    ip.options = Bytes(opt, 1);  // NOPs
    const auto m = hw(pg::ip_frame(eth(), ip, pg::Udp(53, 5353), pg::pattern(10)));
    EXPECT_EQ(m.ip_options, opt > 0);
    EXPECT_EQ(m.l4_offset, 34 + opt);
    EXPECT_TRUE(m.is_udp);
    EXPECT_EQ(m.src_port, 53);
    EXPECT_EQ(m.dst_port, 5353);
    EXPECT_EQ(m.err, Err::kNone);
  }
}

TEST_F(PktParser, Ipv4Udp) {
  const auto m = hw(pg::ip_frame(eth(), ip4(), pg::Udp(4791, 53), pg::pattern(100)));
  EXPECT_TRUE(m.is_udp);
  EXPECT_FALSE(m.is_tcp || m.is_icmp);
  EXPECT_EQ(m.ip_proto, 17);
  EXPECT_EQ(m.src_port, 4791);
  EXPECT_EQ(m.dst_port, 53);
  EXPECT_EQ(m.tcp_flags, 0);
  EXPECT_EQ(m.frame_len, 14 + 20 + 8 + 100);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, Ipv4Icmp) {
  const auto m = hw(pg::ip_frame(eth(), ip4(), pg::Icmp(3, 4)));
  EXPECT_TRUE(m.is_icmp);
  EXPECT_FALSE(m.is_tcp || m.is_udp);
  EXPECT_EQ(m.ip_proto, 1);
  EXPECT_EQ(m.icmp_type, 3);
  EXPECT_EQ(m.icmp_code, 4);
  EXPECT_EQ(m.src_port, 0);
  EXPECT_EQ(m.l4_offset, 34);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, Ipv4OtherProtocols) {
  // GRE, and ICMPv6's number over IPv4 (not ICMP there).
  for (uint8_t proto : std::initializer_list<uint8_t>{pg::ipproto::kGre, pg::ipproto::kIcmpv6}) {
    const auto m = hw(pg::ip_frame(eth(), ip4(), pg::RawL4(proto), pg::pattern(30)));
    EXPECT_EQ(m.ip_proto, proto);
    EXPECT_FALSE(m.is_tcp || m.is_udp || m.is_icmp);
    EXPECT_EQ(m.l4_offset, 34);
    EXPECT_EQ(m.src_port, 0);
    EXPECT_EQ(m.icmp_type, 0);
    EXPECT_EQ(m.err, Err::kNone);
  }
}

TEST_F(PktParser, Ipv4Fragments) {
  pg::Ipv4 first = ip4();
  first.mf = true;
  auto m = hw(pg::ip_frame(eth(), first, pg::Tcp(1, 2, 1), pg::pattern(64)));
  EXPECT_TRUE(m.ip_frag);
  EXPECT_FALSE(m.ip_frag_later);
  EXPECT_TRUE(m.is_tcp);
  EXPECT_EQ(m.src_port, 1);
  EXPECT_EQ(m.dst_port, 2);
  EXPECT_EQ(m.tcp_flags, 1);

  // Middle and last fragments: no L4 header, even if the bytes look like one,
  // and even if there are fewer bytes than an L4 header.
  for (bool mf : {true, false}) {
    for (size_t len : {0u, 4u, 64u}) {
      pg::Ipv4 later = ip4();
      later.mf = mf;
      later.frag_offset = 185;
      later.proto = pg::ipproto::kTcp;
      m = hw(pg::ip_frame(eth(), later, pg::RawL4{}, pg::pattern(len)));
      EXPECT_TRUE(m.ip_frag);
      EXPECT_TRUE(m.ip_frag_later);
      EXPECT_EQ(m.ip_proto, 6);
      EXPECT_FALSE(m.is_tcp);
      EXPECT_EQ(m.src_port, 0);
      EXPECT_EQ(m.dst_port, 0);
      EXPECT_EQ(m.tcp_flags, 0);
      EXPECT_EQ(m.l4_offset, 0);
      EXPECT_EQ(m.src_ip, as128(kIp4A));
      EXPECT_EQ(m.err, Err::kNone);
    }
  }
  // DF alone is not fragmentation.
  pg::Ipv4 df = ip4();
  df.df = true;
  m = hw(pg::ip_frame(eth(), df, pg::Udp{}));
  EXPECT_FALSE(m.ip_frag);
}

TEST_F(PktParser, Ipv6Tcp) {
  pg::Ipv6 ip = ip6();
  ip.traffic_class = 0xB9;  // DSCP 46, ECN 1
  ip.flow_label = 0xFFFFF;
  ip.hop_limit = 255;
  const auto m = hw(pg::ip_frame(eth(), ip, pg::Tcp(22, 50000, 0xFF)));
  EXPECT_TRUE(m.is_ipv6);
  EXPECT_FALSE(m.is_ipv4);
  EXPECT_EQ(m.ethertype, 0x86DD);
  EXPECT_TRUE(m.is_tcp);
  EXPECT_EQ(m.ip_proto, 6);
  EXPECT_EQ(m.ip_ttl, 255);
  EXPECT_EQ(m.ip_dscp, 46);
  EXPECT_EQ(m.src_ip, kIp6A);
  EXPECT_EQ(m.dst_ip, kIp6B);
  EXPECT_EQ(m.src_port, 22);
  EXPECT_EQ(m.dst_port, 50000);
  EXPECT_EQ(m.tcp_flags, 0xFF);
  EXPECT_EQ(m.l3_offset, 14);
  EXPECT_EQ(m.l4_offset, 54);
  EXPECT_FALSE(m.ip_frag || m.ip_options);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, VlanIpv6Udp) {
  const auto m = hw(pg::ip_frame(eth(pg::Vlan(1, 7)), ip6(), pg::Udp(1000, 2000),
                                 pg::pattern(500)));
  EXPECT_TRUE(m.has_vlan);
  EXPECT_EQ(m.vlan_id, 1);
  EXPECT_EQ(m.vlan_pcp, 7);
  EXPECT_TRUE(m.is_udp);
  EXPECT_EQ(m.src_port, 1000);
  EXPECT_EQ(m.dst_port, 2000);
  EXPECT_EQ(m.l3_offset, 18);
  EXPECT_EQ(m.l4_offset, 58);
  EXPECT_EQ(m.frame_len, 18 + 40 + 8 + 500);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, Icmpv6) {
  const auto m = hw(pg::ip_frame(eth(), ip6(), pg::Icmp(135, 0), pg::pattern(16)));
  EXPECT_TRUE(m.is_icmp);
  EXPECT_EQ(m.ip_proto, 58);
  EXPECT_EQ(m.icmp_type, 135);
  EXPECT_EQ(m.icmp_code, 0);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, Ipv6OtherNextHeadersGiveOnlyIpProto) {
  // Extension headers are not followed; ICMP's v4 number is not ICMP here.
  for (uint8_t nh : std::initializer_list<uint8_t>{pg::ipproto::kHopByHop, pg::ipproto::kIpv6Frag, pg::ipproto::kNoNext, pg::ipproto::kIcmp}) {
    const auto m = hw(pg::ip_frame(eth(), ip6(), pg::RawL4(nh), pg::pattern(24)));
    EXPECT_EQ(m.ip_proto, nh);
    EXPECT_FALSE(m.is_tcp || m.is_udp || m.is_icmp);
    EXPECT_EQ(m.src_port, 0);
    EXPECT_EQ(m.icmp_type, 0);
    EXPECT_EQ(m.l4_offset, 54);
    EXPECT_EQ(m.src_ip, kIp6A);
    EXPECT_EQ(m.err, Err::kNone);
  }
}

TEST_F(PktParser, Arp) {
  const pg::Arp arp(2, kSrc, kIp4A, kDst, kIp4B);
  for (bool vlan : {false, true}) {
    const auto m = hw(pg::arp_frame(eth(vlan ? std::optional(pg::Vlan(9)) : std::nullopt), arp));
    EXPECT_TRUE(m.is_arp);
    EXPECT_FALSE(m.is_ipv4 || m.is_ipv6);
    EXPECT_EQ(m.ethertype, 0x0806);
    EXPECT_EQ(m.l3_offset, vlan ? 18 : 14);
    EXPECT_EQ(m.l4_offset, 0);
    EXPECT_EQ(m.src_ip, (std::array<uint8_t, 16>{}));
    EXPECT_EQ(m.ip_proto, 0);
    EXPECT_EQ(m.err, Err::kNone);
  }
}

TEST_F(PktParser, NonIpEthertypes) {
  // LLDP, an 802.3 length field, 802.1ad (not parsed as a tag), and a second
  // 802.1Q tag (only one is parsed).
  for (uint16_t type : std::initializer_list<uint16_t>{0x88CC, 0x002E, 0x88A8}) {
    const auto m = hw(pg::eth_frame(eth(), type, pg::pattern(46)));
    EXPECT_EQ(m.ethertype, type);
    EXPECT_FALSE(m.has_vlan || m.is_arp || m.is_ipv4 || m.is_ipv6);
    EXPECT_EQ(m.l3_offset, 0);
    EXPECT_EQ(m.dst_mac, kDstMac);
    EXPECT_EQ(m.err, Err::kNone);
  }
  const Bytes inner = pg::eth_frame(eth(pg::Vlan(20), 0), 0x0800, pg::ip_packet(ip4(), pg::Udp{}));
  const Bytes qinq = pg::eth_frame(eth(pg::Vlan(10)), 0x8100, std::span(inner).subspan(14));
  const auto m = hw(qinq);
  EXPECT_TRUE(m.has_vlan);
  EXPECT_EQ(m.vlan_id, 10);
  EXPECT_EQ(m.ethertype, 0x8100);
  EXPECT_FALSE(m.is_ipv4);
  EXPECT_EQ(m.err, Err::kNone);
}

TEST_F(PktParser, FrameLengthCountsEveryBeat) {
  for (size_t len : {14u, 60u, 63u, 64u, 65u, 127u, 128u, 129u, 191u, 192u, 1514u, 1518u, 9000u, 65535u}) {
    const Bytes f = pg::ip_frame(eth(std::nullopt, 0), ip4(), pg::Udp(9, 0), pg::pattern(len > 42 ? len - 42 : 0));
    const Bytes g = len >= 42 ? f : pg::eth_frame(eth(std::nullopt, 0), 0x9000, pg::pattern(len - 14));
    ASSERT_EQ(g.size(), len);
    const auto m = hw(g);
    EXPECT_EQ(m.frame_len, len);
    if (len >= 42) {
      EXPECT_TRUE(m.is_udp) << len;
      EXPECT_EQ(m.src_port, 9) << len;
    }
  }
}

TEST_F(PktParser, FrameLengthSaturates) {
  Bytes f = pg::eth_frame(eth(), 0x9000, pg::pattern(70000));
  const auto m = hw(f);
  EXPECT_EQ(m.frame_len, 0xFFFF);
  EXPECT_EQ(m.ethertype, 0x9000);
}

TEST_F(PktParser, IpPacketShorterThanPaddedFrame) {
  // A 20-byte TCP segment in a 60-byte frame: the IP length, not the frame, bounds L4.
  const Bytes f = pg::ip_frame(eth(), ip4(), pg::Tcp(5, 6));
  ASSERT_EQ(f.size(), 60u);
  auto m = hw(f);
  EXPECT_EQ(m.err, Err::kNone);
  EXPECT_EQ(m.src_port, 5);
  // The same frame claiming a TCP segment of 6 bytes, which the padding would cover.
  pg::Ipv4 ip = ip4();
  ip.total_len = 26;
  m = hw(pg::ip_frame(eth(), ip, pg::Tcp(5, 6)));
  EXPECT_EQ(m.err, Err::kTruncL4);
  EXPECT_TRUE(m.is_tcp);
  EXPECT_EQ(m.src_port, 0);
}

// ---------------------------------------------------------------------------
// Malformed frames

TEST_F(PktParser, RuntsAndEmptyFrame) {
  const Bytes full = pg::ip_frame(eth(), ip4(), pg::Udp{});
  for (size_t len = 0; len < 14; ++len) {
    const auto m = hw(Bytes(full.begin(), full.begin() + static_cast<long>(len)));
    EXPECT_EQ(m.frame_len, len);
    EXPECT_EQ(m.err, Err::kRunt);
    EXPECT_TRUE(m.malformed);
    EXPECT_EQ(m.dst_mac, 0u);
    EXPECT_EQ(m.ethertype, 0);
  }
}

TEST_F(PktParser, TruncatedVlanTag) {
  const Bytes full = pg::ip_frame(eth(pg::Vlan(5)), ip4(), pg::Udp{});
  for (size_t len = 14; len < 18; ++len) {
    const auto m = hw(Bytes(full.begin(), full.begin() + static_cast<long>(len)));
    EXPECT_EQ(m.err, Err::kTruncVlan);
    EXPECT_TRUE(m.has_vlan);
    EXPECT_EQ(m.dst_mac, kDstMac);
    EXPECT_EQ(m.src_mac, kSrcMac);
    EXPECT_EQ(m.vlan_id, 0);
    EXPECT_EQ(m.ethertype, 0);
    EXPECT_FALSE(m.is_ipv4);
  }
  // Ends right after the tag: Ethernet is fine, IPv4 is truncated.
  EXPECT_EQ(hw(Bytes(full.begin(), full.begin() + 18)).err, Err::kTruncIpv4);
}

TEST_F(PktParser, TruncatedArp) {
  const Bytes full = pg::arp_frame(eth(std::nullopt, 0), pg::Arp{});
  ASSERT_EQ(full.size(), 42u);
  for (size_t len = 14; len < 42; ++len) {
    const auto m = hw(Bytes(full.begin(), full.begin() + static_cast<long>(len)));
    EXPECT_EQ(m.err, Err::kTruncArp) << len;
    EXPECT_TRUE(m.is_arp);
    EXPECT_EQ(m.l3_offset, 14);
  }
  EXPECT_EQ(hw(full).err, Err::kNone);
}

// Truncates `full` at every length 0..100 and checks the error against `expect`.
void sweep(ParserSim& sim, const Bytes& full, const std::function<Err(size_t)>& expect) {
  std::vector<Bytes> frames;
  for (size_t len = 0; len <= 100; ++len) frames.emplace_back(full.begin(), full.begin() + static_cast<long>(len));
  const auto metas = run_and_check(sim, frames);  // every cut against the reference, back to back
  ASSERT_EQ(metas.size(), frames.size());
  for (size_t len = 0; len <= 100; ++len) {
    EXPECT_EQ(metas[len].err, expect(len)) << "cut at " << len << ": got " << ref::to_string(metas[len].err);
    EXPECT_EQ(metas[len].malformed, expect(len) != Err::kNone);
    EXPECT_EQ(metas[len].frame_len, len);
    EXPECT_EQ(metas[len].src_port, 0) << "no L4 fields from a truncated frame";
  }
}

TEST_F(PktParser, TruncateIpv4OptionsTcpAtEveryLength) {
  pg::Ipv4 ip = ip4();
  ip.options = pg::pattern(12, 1);  // 32-byte header
  pg::Tcp tcp(1, 2, pg::tcp_flag::kSyn);
  tcp.options = pg::pattern(12, 1);  // 32-byte header
  const Bytes full = pg::ip_frame(eth(std::nullopt, 0), ip, tcp, pg::pattern(40));
  ASSERT_EQ(full.size(), 14u + 32 + 32 + 40);
  EXPECT_EQ(hw(full).err, Err::kNone);
  sweep(sim_, full, [](size_t len) {
    if (len < 14) return Err::kRunt;
    if (len < 14 + 32) return Err::kTruncIpv4;
    return Err::kIpv4Len;  // the IP total length still claims the whole packet
  });
}

TEST_F(PktParser, TruncateConsistentIpv4TcpAtEveryLength) {
  // Cut, then make the IP total length match the cut: now the TCP header is short.
  pg::Ipv4 ip = ip4();
  ip.options = pg::pattern(12, 1);
  pg::Tcp tcp(1, 2, pg::tcp_flag::kSyn);
  tcp.options = pg::pattern(12, 1);
  const Bytes full = pg::ip_frame(eth(std::nullopt, 0), ip, tcp, pg::pattern(40));
  std::vector<Bytes> frames;
  for (size_t len = 46; len <= 100; ++len) {
    Bytes f(full.begin(), full.begin() + static_cast<long>(len));
    pg::store16(f, 14 + 2, static_cast<uint16_t>(len - 14));
    frames.push_back(f);
  }
  const auto metas = run_and_check(sim_, frames);
  ASSERT_EQ(metas.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    const size_t seg = frames[i].size() - 46;
    const Err want = seg < 32 ? Err::kTruncL4 : Err::kNone;
    EXPECT_EQ(metas[i].err, want) << "segment of " << seg;
    EXPECT_TRUE(metas[i].is_tcp);
    EXPECT_EQ(metas[i].src_ip, as128(kIp4A));
    EXPECT_EQ(metas[i].dst_port, want == Err::kNone ? 2 : 0);
  }
}

TEST_F(PktParser, TruncateIpv6UdpAtEveryLength) {
  const Bytes full = pg::ip_frame(eth(std::nullopt, 0), ip6(), pg::Udp(3, 4), pg::pattern(60));
  ASSERT_EQ(full.size(), 14u + 40 + 8 + 60);
  EXPECT_EQ(hw(full).err, Err::kNone);
  sweep(sim_, full, [](size_t len) {
    if (len < 14) return Err::kRunt;
    if (len < 54) return Err::kTruncIpv6;
    return Err::kIpv6Len;
  });
}

TEST_F(PktParser, TruncateConsistentIpv6UdpAtEveryLength) {
  const Bytes full = pg::ip_frame(eth(std::nullopt, 0), ip6(), pg::Udp(3, 4), pg::pattern(60));
  std::vector<Bytes> frames;
  for (size_t len = 54; len <= 100; ++len) {
    Bytes f(full.begin(), full.begin() + static_cast<long>(len));
    pg::store16(f, 14 + 4, static_cast<uint16_t>(len - 54));
    frames.push_back(f);
  }
  const auto metas = run_and_check(sim_, frames);
  ASSERT_EQ(metas.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    const size_t seg = frames[i].size() - 54;
    EXPECT_EQ(metas[i].err, seg < 8 ? Err::kTruncL4 : Err::kUdpLen) << "segment of " << seg;  // UDP length 68
    EXPECT_TRUE(metas[i].is_udp);
    EXPECT_EQ(metas[i].src_ip, kIp6A);
  }
}

TEST_F(PktParser, BadIpv4Ihl) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    pg::Ipv4 ip = ip4();
    ip.ihl = ihl;
    const auto m = hw(pg::ip_frame(eth(), ip, pg::Tcp(1, 0)));
    EXPECT_EQ(m.err, Err::kIpv4Ihl) << int{ihl};
    EXPECT_TRUE(m.is_ipv4);
    EXPECT_EQ(m.l3_offset, 14);
    EXPECT_FALSE(m.is_tcp);
    EXPECT_EQ(m.ip_proto, 0);
    EXPECT_EQ(m.src_ip, (std::array<uint8_t, 16>{}));
    EXPECT_EQ(m.l4_offset, 0);
  }
  // IHL beyond the frame.
  pg::Ipv4 ip = ip4();
  ip.ihl = 15;
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip, pg::RawL4{}, pg::pattern(20))).err, Err::kTruncIpv4);
  // IHL beyond the total length (frame long enough).
  ip.total_len = 40;
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip, pg::RawL4{}, pg::pattern(100))).err, Err::kIpv4Len);
  ip.total_len.reset();
  const auto m = hw(pg::ip_frame(eth(), ip, pg::RawL4{}, pg::pattern(100)));
  EXPECT_EQ(m.err, Err::kNone);  // a 60-byte header of garbage options is still well-formed
  EXPECT_EQ(m.l4_offset, 74);
}

TEST_F(PktParser, BadIpVersions) {
  for (uint8_t v : std::initializer_list<uint8_t>{0, 5, 6, 15}) {
    pg::Ipv4 ip = ip4();
    ip.version = v;
    const auto m = hw(pg::ip_frame(eth(), ip, pg::Udp{}));
    EXPECT_EQ(m.err, Err::kIpv4Version) << int{v};
    EXPECT_TRUE(m.is_ipv4);
    EXPECT_EQ(m.ip_ttl, 0);
  }
  for (uint8_t v : std::initializer_list<uint8_t>{0, 4, 7}) {
    pg::Ipv6 ip = ip6();
    ip.version = v;
    const auto m = hw(pg::ip_frame(eth(), ip, pg::Udp{}));
    EXPECT_EQ(m.err, Err::kIpv6Version) << int{v};
    EXPECT_TRUE(m.is_ipv6);
    EXPECT_EQ(m.src_ip, (std::array<uint8_t, 16>{}));
  }
  // A valid IPv6 packet behind the IPv4 ethertype, and the other way round.
  EXPECT_EQ(hw(pg::eth_frame(eth(), 0x0800, pg::ip_packet(ip6(), pg::Udp{}))).err, Err::kIpv4Version);
  Bytes v4in6 = pg::eth_frame(eth(), 0x86DD, pg::ip_packet(ip4(), pg::Udp{}, pg::pattern(40)));
  EXPECT_EQ(hw(v4in6).err, Err::kIpv6Version);
}

TEST_F(PktParser, BadIpLengths) {
  auto v4_with_total = [&](uint16_t total, const Bytes& options = {}) {
    pg::Ipv4 ip = ip4();
    ip.options = options;
    ip.total_len = total;
    return hw(pg::ip_frame(eth(), ip, pg::Udp{}, pg::pattern(20)));  // 14 + 20 + 8 + 20 = 62 bytes
  };
  EXPECT_EQ(v4_with_total(0).err, Err::kIpv4Len);
  EXPECT_EQ(v4_with_total(19).err, Err::kIpv4Len);
  EXPECT_EQ(v4_with_total(23, Bytes(4, 1)).err, Err::kIpv4Len);  // shorter than its 24-byte header
  EXPECT_EQ(v4_with_total(49).err, Err::kIpv4Len);               // one byte past the frame
  EXPECT_EQ(v4_with_total(0xFFFF).err, Err::kIpv4Len);
  EXPECT_EQ(v4_with_total(48).err, Err::kNone);
  EXPECT_EQ(v4_with_total(20).err, Err::kTruncL4);  // no room for UDP

  auto v6_with_payload = [&](uint16_t len) {
    pg::Ipv6 ip = ip6();
    ip.payload_len = len;
    return hw(pg::ip_frame(eth(), ip, pg::Udp{}, pg::pattern(20)));  // 14 + 40 + 28 = 82 bytes
  };
  EXPECT_EQ(v6_with_payload(29).err, Err::kIpv6Len);
  EXPECT_EQ(v6_with_payload(0xFFFF).err, Err::kIpv6Len);
  EXPECT_EQ(v6_with_payload(28).err, Err::kNone);
  EXPECT_EQ(v6_with_payload(7).err, Err::kTruncL4);
  EXPECT_EQ(v6_with_payload(27).err, Err::kUdpLen);  // UDP says 28
}

TEST_F(PktParser, BadTcpDataOffset) {
  for (uint8_t doff = 0; doff < 5; ++doff) {
    for (bool v6 : {false, true}) {
      pg::Tcp tcp(80, 81, pg::tcp_flag::kAck);
      tcp.data_offset = doff;
      const auto m = v6 ? hw(pg::ip_frame(eth(), ip6(), tcp, pg::pattern(10)))
                        : hw(pg::ip_frame(eth(), ip4(), tcp, pg::pattern(10)));
      EXPECT_EQ(m.err, Err::kTcpDoff) << int{doff};
      EXPECT_TRUE(m.is_tcp);
      EXPECT_EQ(m.src_port, 0);
      EXPECT_EQ(m.tcp_flags, 0);
      EXPECT_EQ(m.l4_offset, v6 ? 54 : 34);
      EXPECT_EQ(m.ip_ttl, 64);  // the IP header was fine
    }
  }
  // Data offset past the end of the IP packet.
  pg::Tcp tcp(80, 81);
  tcp.data_offset = 15;
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip4(), tcp, pg::pattern(39))).err, Err::kTruncL4);
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip4(), tcp, pg::pattern(40))).err, Err::kNone);
}

TEST_F(PktParser, BadUdpLength) {
  for (bool v6 : {false, true}) {
    for (uint16_t len : std::initializer_list<uint16_t>{0, 1, 7, 29, 0xFFFF}) {
      pg::Udp udp(1, 2);
      udp.length = len;
      const auto m = v6 ? hw(pg::ip_frame(eth(), ip6(), udp, pg::pattern(20)))
                        : hw(pg::ip_frame(eth(), ip4(), udp, pg::pattern(20)));
      EXPECT_EQ(m.err, Err::kUdpLen) << len;
      EXPECT_TRUE(m.is_udp);
      EXPECT_EQ(m.dst_port, 0);
    }
    // Shorter than the IP payload is allowed (trailing bytes).
    pg::Udp udp(1, 2);
    udp.length = 8;
    const auto m = v6 ? hw(pg::ip_frame(eth(), ip6(), udp, pg::pattern(20)))
                      : hw(pg::ip_frame(eth(), ip4(), udp, pg::pattern(20)));
    EXPECT_EQ(m.err, Err::kNone);
    EXPECT_EQ(m.dst_port, 2);
  }
}

TEST_F(PktParser, TruncatedIcmp) {
  pg::Ipv4 ip = ip4();
  ip.total_len = 20 + 7;
  auto m = hw(pg::ip_frame(eth(), ip, pg::Icmp(8, 0)));
  EXPECT_EQ(m.err, Err::kTruncL4);
  EXPECT_TRUE(m.is_icmp);
  EXPECT_EQ(m.icmp_type, 0);
  pg::Ipv6 ip6h = ip6();
  ip6h.payload_len = 4;
  m = hw(pg::ip_frame(eth(), ip6h, pg::Icmp(128, 0)));
  EXPECT_EQ(m.err, Err::kTruncL4);
  EXPECT_TRUE(m.is_icmp);
}

TEST_F(PktParser, FirstErrorInHeaderOrderWins) {
  pg::Ipv4 ip = ip4();
  ip.version = 5;
  ip.ihl = 2;
  ip.total_len = 1;
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip, pg::Udp{})).err, Err::kIpv4Version);
  ip.version = 4;
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip, pg::Udp{})).err, Err::kIpv4Ihl);
  ip.ihl.reset();
  pg::Udp udp;
  udp.length = 3;
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip, udp)).err, Err::kIpv4Len);
  ip.total_len.reset();
  EXPECT_EQ(hw(pg::ip_frame(eth(), ip, udp)).err, Err::kUdpLen);
  // A VLAN tag cut short hides everything behind it.
  EXPECT_EQ(hw(Bytes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00}).err, Err::kTruncVlan);
}

// ---------------------------------------------------------------------------
// Randomized frames against the reference

uint64_t seed_from_env(uint64_t fallback) {
  const char* s = std::getenv("PKT_PARSER_SEED");
  return s ? std::strtoull(s, nullptr, 0) : fallback;
}

struct Gen {
  Rng rng;
  explicit Gen(uint64_t seed) : rng(seed) {}

  uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
  uint8_t u8() { return static_cast<uint8_t>(rng()); }
  uint16_t u16() { return static_cast<uint16_t>(rng()); }
  Bytes bytes(size_t n) {
    Bytes b(n);
    for (auto& x : b) x = u8();
    return b;
  }
  template <size_t N>
  std::array<uint8_t, N> arr() {
    std::array<uint8_t, N> a{};
    for (auto& x : a) x = u8();
    return a;
  }
  size_t payload_len() {
    const uint32_t r = below(100);
    if (r < 70) return below(101);
    if (r < 95) return below(1501);
    return 1500 + below(7501);
  }

  pg::Eth eth() {
    pg::Eth e(arr<6>(), arr<6>());
    if (chance(30)) e.vlan = pg::Vlan(static_cast<uint16_t>(below(4096)), static_cast<uint8_t>(below(8)), chance(50));
    e.min_len = chance(80) ? pg::kEthMinFrameBytes : 0;
    return e;
  }

  // A protocol number the parser does not decode further.
  uint8_t other_proto() {
    for (;;) {
      const uint8_t p = u8();
      if (p != 1 && p != 6 && p != 17 && p != 58) return p;
    }
  }

  pg::L4 l4() {
    switch (below(4)) {
      case 0: {
        pg::Tcp t(u16(), u16(), u8());
        t.seq = static_cast<uint32_t>(rng());
        t.ack = static_cast<uint32_t>(rng());
        t.window = u16();
        t.options = bytes(4 * below(11));
        return t;
      }
      case 1:
        return pg::Udp(u16(), u16());
      case 2:
        return pg::Icmp(u8(), u8(), static_cast<uint32_t>(rng()));
      default:
        return pg::RawL4(other_proto());
    }
  }

  Bytes valid_frame() {
    const pg::Eth e = eth();
    const uint32_t kind = below(10);
    if (kind == 0) return pg::arp_frame(e, pg::Arp(u16(), arr<6>(), arr<4>(), arr<6>(), arr<4>()));
    if (kind == 1) {
      uint16_t type;
      do type = u16();
      while (type == 0x0800 || type == 0x0806 || type == 0x86DD || type == 0x8100);
      return pg::eth_frame(e, type, bytes(payload_len()));
    }
    if (kind < 6) {
      pg::Ipv4 ip(arr<4>(), arr<4>());
      ip.dscp = static_cast<uint8_t>(below(64));
      ip.ecn = static_cast<uint8_t>(below(4));
      ip.ttl = u8();
      ip.id = u16();
      ip.df = chance(50);
      ip.options = bytes(4 * below(11));
      ip.mf = chance(15);
      if (chance(15)) ip.frag_offset = static_cast<uint16_t>(1 + below(0x1FFF));
      return pg::ip_frame(e, ip, l4(), bytes(payload_len()));
    }
    pg::Ipv6 ip(arr<16>(), arr<16>());
    ip.traffic_class = u8();
    ip.flow_label = static_cast<uint32_t>(rng());
    ip.hop_limit = u8();
    return pg::ip_frame(e, ip, l4(), bytes(payload_len()));
  }

  // A valid frame with its headers damaged where it matters most.
  Bytes mutated_frame() {
    Bytes f = valid_frame();
    const ref::PktMeta m = ref::parse(f);
    const unsigned n = 1 + below(2);
    for (unsigned k = 0; k < n && !f.empty(); ++k) {
      const size_t l3 = m.l3_offset;
      const size_t l4 = m.l4_offset;
      auto poke8 = [&](size_t off, uint8_t v) {
        if (off < f.size()) f[off] = v;
      };
      auto poke16 = [&](size_t off, uint16_t v) {
        poke8(off, static_cast<uint8_t>(v >> 8));
        poke8(off + 1, static_cast<uint8_t>(v));
      };
      auto near_len = [&]() -> uint16_t {
        const uint16_t picks[] = {0, 1, 7, 8, 19, 20, 40, static_cast<uint16_t>(f.size() - l3),
                                  static_cast<uint16_t>(f.size() - l3 - 20), static_cast<uint16_t>(f.size() - l3 - 40),
                                  0xFFFF, u16(), static_cast<uint16_t>(below(200))};
        return static_cast<uint16_t>(picks[below(std::size(picks))] + below(3) - 1);
      };
      switch (below(9)) {
        case 0: f.resize(below(static_cast<uint32_t>(f.size()) + 1)); break;
        case 1: poke8(below(std::min<uint32_t>(static_cast<uint32_t>(f.size()), 100)), u8()); break;
        case 2: if (l3) poke8(l3, static_cast<uint8_t>(below(16) << 4 | below(16))); break;  // version / IHL
        case 3: if (l3) poke8(l3, static_cast<uint8_t>((m.is_ipv6 ? 0x60 : 0x40) | below(16))); break;
        case 4: if (l3) poke16(l3 + (m.is_ipv6 ? 4 : 2), near_len()); break;  // IP length
        case 5: if (l4) poke8(l4 + 12, static_cast<uint8_t>(below(16) << 4)); break;  // TCP data offset
        case 6: if (l4) poke16(l4 + 4, near_len()); break;  // UDP length
        case 7: if (m.is_ipv4) poke16(l3 + 6, static_cast<uint16_t>(chance(50) ? 0x2000 : below(0x4000))); break;
        default: f.resize(below(std::min<uint32_t>(static_cast<uint32_t>(f.size()), static_cast<uint32_t>(l4 + 24)) + 1)); break;
      }
    }
    return f;
  }

  // Random bytes, often with a real ethertype and IP version so the deeper
  // checks see garbage too.
  Bytes garbage_frame() {
    Bytes f = bytes(chance(90) ? below(160) : below(400));
    if (f.size() >= 14 && chance(70)) {
      static constexpr uint16_t kTypes[] = {0x0800, 0x86DD, 0x0806, 0x8100};
      size_t l3 = 14;
      uint16_t type = kTypes[below(4)];
      pg::store16(f, 12, type);
      if (type == 0x8100 && f.size() >= 18) {
        type = kTypes[below(3)];
        pg::store16(f, 16, type);
        l3 = 18;
      }
      if (f.size() > l3 + 9 && chance(70)) {
        if (type == 0x0800) {
          f[l3] = static_cast<uint8_t>(0x40 | (5 + below(11)));
          if (chance(50)) f[l3 + 6] &= 0xC0;  // often a first fragment
          if (chance(70)) f[l3 + 9] = std::array<uint8_t, 3>{1, 6, 17}[below(3)];
        } else if (type == 0x86DD) {
          f[l3] = static_cast<uint8_t>(0x60 | (f[l3] & 0xF));
          if (chance(70)) f[l3 + 6] = std::array<uint8_t, 3>{58, 6, 17}[below(3)];
        }
      }
    }
    return f;
  }
};

void run_random(ParserSim& sim, Gen& g, size_t count, const std::function<Bytes(Gen&)>& make,
                std::vector<ref::PktMeta>* metas_out, std::vector<Bytes>* frames_out = nullptr) {
  std::vector<Bytes> frames;
  for (size_t i = 0; i < count; ++i) frames.push_back(make(g));
  // Mostly back to back, sometimes with idle cycles between frames.
  std::vector<unsigned> gaps;
  for (size_t i = 0; i < count; ++i) gaps.push_back(g.chance(70) ? 0 : g.below(4));
  *metas_out = run_and_check(sim, frames, [&](size_t i) { return gaps[i]; });
  if (frames_out) *frames_out = std::move(frames);
}

TEST_F(PktParser, RandomValidFrames) {
  const uint64_t seed = seed_from_env(0x5eed0001);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (PKT_PARSER_SEED)");
  Gen g(seed);
  std::vector<ref::PktMeta> metas;
  std::vector<Bytes> frames;
  run_random(sim_, g, 4000, [](Gen& x) { return x.valid_frame(); }, &metas, &frames);
  ASSERT_EQ(metas.size(), frames.size());
  std::set<std::string> kinds;
  for (size_t i = 0; i < metas.size(); ++i) {
    EXPECT_FALSE(metas[i].malformed) << "frame " << i << ": " << ref::to_string(metas[i]);
    kinds.insert(std::string(metas[i].is_ipv4 ? "v4" : metas[i].is_ipv6 ? "v6" : metas[i].is_arp ? "arp" : "l2") +
                 (metas[i].is_tcp ? "tcp" : metas[i].is_udp ? "udp" : metas[i].is_icmp ? "icmp" : "") +
                 (metas[i].ip_frag_later ? "later" : "") + (metas[i].has_vlan ? "vlan" : ""));
  }
  // Every protocol combination actually occurred.
  for (const char* k : {"v4tcp", "v4udp", "v4icmp", "v4", "v4later", "v6tcp", "v6udp", "v6icmp", "v6", "arp", "l2",
                        "v4tcpvlan", "v6udpvlan", "arpvlan"}) {
    EXPECT_TRUE(kinds.count(k)) << k;
  }
}

TEST_F(PktParser, RandomMutatedFrames) {
  const uint64_t seed = seed_from_env(0x5eed0002);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (PKT_PARSER_SEED)");
  Gen g(seed);
  std::vector<ref::PktMeta> metas;
  run_random(sim_, g, 6000, [](Gen& x) { return x.mutated_frame(); }, &metas);
  std::set<Err> seen;
  for (const auto& m : metas) seen.insert(m.err);
  for (unsigned e = 0; e <= 13; ++e) {
    EXPECT_TRUE(seen.count(static_cast<Err>(e))) << "never produced " << ref::to_string(static_cast<Err>(e));
  }
}

TEST_F(PktParser, RandomGarbage) {
  const uint64_t seed = seed_from_env(0x5eed0003);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (PKT_PARSER_SEED)");
  Gen g(seed);
  std::vector<ref::PktMeta> metas;
  run_random(sim_, g, 6000, [](Gen& x) { return x.garbage_frame(); }, &metas);
  size_t malformed = 0;
  for (const auto& m : metas) malformed += m.malformed;
  EXPECT_GT(malformed, 0u);
  EXPECT_LT(malformed, metas.size());
}

// ---------------------------------------------------------------------------
// Throughput, latency and ordering

TEST_F(PktParser, BackToBackSingleBeatFrames) {
  Gen g(0x5eed0004);
  std::vector<Bytes> frames;
  for (size_t i = 0; i < 3000; ++i) {
    Bytes f = i % 3 == 2 ? g.garbage_frame() : g.valid_frame();
    f.resize(std::min<size_t>(f.size(), kBeatBytes));
    frames.push_back(f);
  }
  // One beat per frame in every cycle: run_and_check verifies one metadata
  // per frame, each exactly ParserLatency cycles after its beat, in order.
  const uint64_t start = sim_.cycle();
  const auto metas = run_and_check(sim_, frames);
  EXPECT_EQ(metas.size(), frames.size());
  EXPECT_EQ(sim_.outputs().front().cycle, start + kParserLatency);
  EXPECT_EQ(sim_.outputs().back().cycle, start + frames.size() - 1 + kParserLatency);
}

TEST_F(PktParser, BackToBackMultiBeatFrames) {
  Gen g(0x5eed0005);
  std::vector<Bytes> frames;
  for (size_t i = 0; i < 1500; ++i) {
    // Lengths around beat boundaries (1, 2, 3 beats) and long frames.
    const size_t beats = 1 + g.below(i % 4 == 0 ? 30 : 3);
    size_t len = (beats - 1) * kBeatBytes + 1 + g.below(kBeatBytes);
    Bytes f = g.valid_frame();
    if (g.chance(50)) {
      f.resize(std::max(f.size(), len), 0xEE);  // trailing bytes past the IP packet
    } else {
      f.resize(len, 0xEE);  // may cut headers: malformed is fine too
    }
    frames.push_back(f);
  }
  const auto metas = run_and_check(sim_, frames);
  EXPECT_EQ(metas.size(), frames.size());
}

TEST_F(PktParser, ResetDropsFramesInFlight) {
  const Bytes a = pg::ip_frame(eth(), ip4(), pg::Udp(1, 0), pg::pattern(200));  // 4 beats
  const Bytes b = pg::ip_frame(eth(), ip6(), pg::Tcp(2, 0));

  // Reset in the middle of a frame, and right after a last beat.
  Rng rng(1);
  const auto beats = norman::parser_test::to_beats(a, rng);
  sim_.beat(beats[0]);
  sim_.beat(beats[1]);
  sim_.assert_reset();
  sim_.idle(2);
  sim_.release_reset();
  sim_.send(b);
  sim_.assert_reset();
  sim_.idle(3);
  sim_.release_reset();
  EXPECT_TRUE(sim_.outputs().empty());

  // The parser starts clean: frames after the reset parse normally.
  const auto metas = run_and_check(sim_, {b, a});
  ASSERT_EQ(metas.size(), 2u);
  EXPECT_EQ(metas[0].src_port, 2);
  EXPECT_EQ(metas[1].src_port, 1);
  EXPECT_EQ(metas[1].frame_len, a.size());
}

}  // namespace
