// A varied capture for the differential tests: ARP, ICMP echo and errors,
// UDP, a whole TCP conversation with options, SACK, FIN and RST,
// fragments, 802.1Q and QinQ, IPv6, bad checksums, bad lengths, unknown
// ethertypes, 802.3 frames and frames cut by the snap length.
#pragma once

#include "frames.hpp"

namespace norman::ndump::test {

inline std::vector<Packet> varied_traffic() {
  const Mac a{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}, b{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b},
      bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero{};
  const Ip4 ipa{10, 0, 0, 1}, ipb{10, 0, 0, 2}, ipr{192, 168, 1, 254};
  const Ip6 i6a{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
      i6b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  std::vector<Packet> v;
  auto add = [&](Bytes d, std::uint32_t caplen = 0) { v.push_back(Packet{std::move(d), caplen}); };
  Bytes payload100(100);
  for (std::size_t i = 0; i < payload100.size(); ++i) payload100[i] = static_cast<std::uint8_t>(i);
  Bytes ping(56, 0x42);

  // ARP request, reply, and a request that names the target's MAC.
  add(ether(bcast, a, 0x0806, arp(1, a, ipa, zero, ipb)));
  add(ether(a, b, 0x0806, arp(2, b, ipb, a, ipa)));
  add(ether(b, a, 0x0806, arp(1, a, ipa, b, ipb)));
  // ICMP echo request and reply (DF), a wrong ICMP checksum.
  add(ether(b, a, 0x0800,
            ipv4(ipa, ipb, 1, icmp(8, 0, 0x00010001, ping), {.id = 100, .df = true})));
  add(ether(a, b, 0x0800, ipv4(ipb, ipa, 1, icmp(0, 0, 0x00010001, ping), {.id = 200})));
  add(ether(b, a, 0x0800, ipv4(ipa, ipb, 1, icmp(8, 0, 0x00010002, ping, true), {.id = 101})));
  // UDP both ways, to a port tcpdump decodes no further.
  Bytes u = udp4(ipa, ipb, 40000, 9999, payload100);
  add(ether(b, a, 0x0800, ipv4(ipa, ipb, 17, u, {.id = 7, .tos = 0x10})));
  add(ether(a, b, 0x0800, ipv4(ipb, ipa, 17, udp4(ipb, ipa, 9999, 40000, {1, 2, 3}), {.id = 8})));
  // ICMP errors quoting the UDP datagram: port, host unreachable,
  // need-frag, time exceeded.
  Bytes quoted = ipv4(ipa, ipb, 17, u, {.id = 7});
  quoted.resize(28);
  add(ether(a, b, 0x0800, ipv4(ipb, ipa, 1, icmp(3, 3, 0, quoted), {.id = 9, .tos = 0xc0})));
  add(ether(a, b, 0x0800, ipv4(ipr, ipa, 1, icmp(3, 1, 0, quoted), {.id = 10})));
  add(ether(a, b, 0x0800, ipv4(ipr, ipa, 1, icmp(3, 4, 1400, quoted), {.id = 11})));
  add(ether(a, b, 0x0800, ipv4(ipr, ipa, 1, icmp(11, 0, 0, quoted), {.id = 12, .ttl = 1})));
  add(ether(a, b, 0x0800, ipv4(ipr, ipa, 1, icmp(3, 13, 0, quoted), {.id = 13})));
  // A TCP conversation: handshake with Linux's options, data both ways, a
  // SACK, FIN both ways, then a reset connection.
  const std::uint32_t ca = 1000000, cb = 3000000000u;
  add(ether(b, a, 0x0800,
            ipv4(ipa, ipb, 6,
                 tcp4(ipa, ipb, 45678, 8081, ca, 0, tcpf::syn, 64240, syn_options(111, 0), {}),
                 {.id = 20, .df = true})));
  add(ether(a, b, 0x0800,
            ipv4(ipb, ipa, 6,
                 tcp4(ipb, ipa, 8081, 45678, cb, ca + 1, tcpf::syn | tcpf::ack, 65160,
                      syn_options(222, 111), {}),
                 {.id = 0, .df = true})));
  const Bytes ts{1, 1, 8, 10, 0, 0, 0, 112, 0, 0, 0, 222};
  add(ether(b, a, 0x0800,
            ipv4(ipa, ipb, 6, tcp4(ipa, ipb, 45678, 8081, ca + 1, cb + 1, tcpf::ack, 502, ts, {}),
                 {.id = 21, .df = true})));
  add(ether(
      b, a, 0x0800,
      ipv4(ipa, ipb, 6,
           tcp4(ipa, ipb, 45678, 8081, ca + 1, cb + 1, tcpf::psh | tcpf::ack, 502, ts, payload100),
           {.id = 22, .df = true})));
  add(ether(a, b, 0x0800,
            ipv4(ipb, ipa, 6, tcp4(ipb, ipa, 8081, 45678, cb + 1, ca + 101, tcpf::ack, 509, ts, {}),
                 {.id = 1, .df = true})));
  const Bytes sack{1, 1, 5, 10, 0, 0x0f, 0x42, 0xad, 0, 0x0f, 0x43, 0x11};  // ca+1+... block
  add(ether(
      a, b, 0x0800,
      ipv4(ipb, ipa, 6, tcp4(ipb, ipa, 8081, 45678, cb + 1, ca + 101, tcpf::ack, 509, sack, {}),
           {.id = 2, .df = true})));
  add(ether(a, b, 0x0800,
            ipv4(ipb, ipa, 6,
                 tcp4(ipb, ipa, 8081, 45678, cb + 1, ca + 101, tcpf::psh | tcpf::ack | tcpf::fin,
                      509, ts, Bytes(20, 0x61)),
                 {.id = 3, .df = true})));
  add(ether(b, a, 0x0800,
            ipv4(ipa, ipb, 6,
                 tcp4(ipa, ipb, 45678, 8081, ca + 101, cb + 22, tcpf::fin | tcpf::ack, 502, ts, {}),
                 {.id = 23, .df = true})));
  add(ether(
      a, b, 0x0800,
      ipv4(ipb, ipa, 6, tcp4(ipb, ipa, 8081, 45678, cb + 22, ca + 102, tcpf::ack, 509, ts, {}),
           {.id = 4, .df = true})));
  add(ether(
      b, a, 0x0800,
      ipv4(ipa, ipb, 6, tcp4(ipa, ipb, 45679, 8081, 77, 0, tcpf::syn, 64240, syn_options(5, 0), {}),
           {.id = 24})));
  add(ether(a, b, 0x0800,
            ipv4(ipb, ipa, 6, tcp4(ipb, ipa, 8081, 45679, 0, 78, tcpf::rst | tcpf::ack, 0, {}, {}),
                 {.id = 5})));
  add(ether(
      b, a, 0x0800,
      ipv4(ipa, ipb, 6, tcp4(ipa, ipb, 45680, 8082, 99, 0, tcpf::rst, 0, {}, {}), {.id = 25})));
  // URG, ECE/CWR, and a wrong TCP checksum; a header length past the data.
  add(ether(b, a, 0x0800,
            ipv4(ipa, ipb, 6,
                 tcp4(ipa, ipb, 45681, 8083, 5, 0, tcpf::syn | tcpf::ece | tcpf::cwr, 1024,
                      {2, 4, 0x23, 0x28}, {}, true),
                 {.id = 26})));
  {
    Bytes t = tcp_raw(45682, 8084, 1, 2, tcpf::ack | tcpf::urg | tcpf::psh, 100, {}, {9, 9}, 2);
    add(ether(b, a, 0x0800, ipv4(ipa, ipb, 6, t, {.id = 27})));
  }
  {
    Bytes t = tcp_raw(45683, 8085, 1, 0, tcpf::syn, 100, {}, {});
    t[12] = 0xf0;  // 60-byte header in a 20-byte segment
    add(ether(b, a, 0x0800, ipv4(ipa, ipb, 6, t, {.id = 28})));
    Bytes s = tcp_raw(45684, 8086, 1, 0, tcpf::syn, 100, {}, {});
    s[12] = 0x30;  // 12 bytes: too short
    add(ether(b, a, 0x0800, ipv4(ipa, ipb, 6, s, {.id = 29})));
    Bytes o = tcp_raw(45685, 8087, 1, 0, tcpf::syn, 100, {2, 9, 1, 1}, {});  // bad option length
    add(ether(b, a, 0x0800, ipv4(ipa, ipb, 6, o, {.id = 30})));
  }
  // Fragments of one UDP datagram: the first (MF), then the rest.
  {
    Bytes big = udp4(ipa, ipb, 40001, 9998, Bytes(1600, 0x55));
    Bytes first(big.begin(), big.begin() + 1480), rest(big.begin() + 1480, big.end());
    add(ether(b, a, 0x0800, ipv4(ipa, ipb, 17, first, {.id = 40, .mf = true})));
    add(ether(b, a, 0x0800, ipv4(ipa, ipb, 17, rest, {.id = 40, .frag_offset = 1480})));
  }
  // 802.1Q and QinQ tagged UDP, a tag with DEI and priority.
  add(ether(
      b, a, 0x8100,
      vlan_tag(100, 0x0800, ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40002, 9997, {7}), {.id = 50}))));
  add(ether(b, a, 0x88a8,
            vlan_tag(0x3000 | 200, 0x8100,
                     vlan_tag(0xa000 | 300, 0x0800,
                              ipv4(ipa, ipb, 1, icmp(8, 0, 0x00050006, ping), {.id = 51})))));
  // IPv6 UDP and TCP (other IPv6 traffic is summarised, see docs/ndump.md).
  add(ether(b, a, 0x86dd, ipv6(i6a, i6b, 17, udp6(i6a, i6b, 40003, 9996, payload100))));
  add(ether(b, a, 0x86dd,
            ipv6(i6a, i6b, 6,
                 tcp6(i6a, i6b, 45690, 8090, 1, 0, tcpf::syn, 1000, syn_options(1, 0), {}))));
  // A bad IP header checksum, a bad UDP length, TTL 0 and a reserved flag.
  add(ether(
      b, a, 0x0800,
      ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40004, 9995, {1}), {.id = 60, .bad_checksum = true})));
  add(ether(b, a, 0x0800, ipv4(ipa, ipb, 17, udp_raw(40005, 9994, {1, 2}, 200), {.id = 61})));
  add(ether(b, a, 0x0800,
            ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40006, 9993, {1}, true), {.id = 62, .ttl = 0})));
  add(ether(b, a, 0x0800, ipv4(ipa, ipb, 253, Bytes(8, 0), {.id = 63})));  // experimental protocol
  // IP options: record route, router alert, NOP/EOL, a bad length, an
  // unknown option, and loose source route (whose last hop is the UDP
  // pseudo-header's destination). Time stamp options are not decoded
  // (docs/ndump.md).
  for (const Bytes& opts :
       {Bytes{7, 11, 8, 10, 0, 0, 1, 0, 0, 0, 0}, Bytes{148, 4, 0, 0}, Bytes{148, 4, 0, 5, 1, 0},
        Bytes{1, 1, 1, 0}, Bytes{7, 40}, Bytes{99, 4, 1, 2}, Bytes{131, 7, 4, 192, 168, 1, 1}})
    add(ether(b, a, 0x0800,
              ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40008, 9991, {1}), {.id = 80}, opts)));
  // An ethertype tcpdump does not decode either (hex dump).
  add(ether(b, a, 0x88b5, Bytes{'h', 'e', 'l', 'l', 'o', 0, 1, 2, 3}));
  // Cut by the snap length inside every header.
  {
    Bytes f =
        ether(b, a, 0x0800,
              ipv4(ipa, ipb, 6, tcp4(ipa, ipb, 45691, 8091, 1, 1, tcpf::ack, 100, ts, payload100),
                   {.id = 70}));
    for (std::uint32_t cut : {10u, 14u, 20u, 34u, 36u, 40u, 50u, 60u, 70u}) add(f, cut);
    Bytes g = ether(b, a, 0x0800,
                    ipv4(ipa, ipb, 17, udp4(ipa, ipb, 40007, 9992, payload100), {.id = 71}));
    for (std::uint32_t cut : {36u, 38u, 40u, 42u}) add(g, cut);
    Bytes h = ether(bcast, a, 0x0806, arp(1, a, ipa, zero, ipb));
    for (std::uint32_t cut : {20u, 30u, 41u}) add(h, cut);
    Bytes i = ether(a, b, 0x0800, ipv4(ipb, ipa, 1, icmp(3, 3, 0, quoted), {.id = 9}));
    for (std::uint32_t cut : {36u, 40u, 50u, 60u}) add(i, cut);
  }
  return v;
}

}  // namespace norman::ndump::test
