// Loopback traffic whose names need no DNS (127.0.0.1 is localhost in
// /etc/hosts, ports from /etc/services), for comparing ndump without -n.
#pragma once

#include "frames.hpp"

namespace norman::ndump::test {

inline std::vector<Packet> loopback_traffic() {
  const Mac a{2, 0, 0, 0, 0, 0xa}, b{2, 0, 0, 0, 0, 0xb};
  const Ip4 lo{127, 0, 0, 1};
  std::vector<Packet> v;
  auto add = [&](Bytes d) { v.push_back(Packet{std::move(d), 0}); };
  // Named ports (http-alt, ssh, postgresql, https) with no payload, which
  // tcpdump decodes no further, and an unnamed one.
  for (int port : {8080, 22, 5432, 443, 40123})
    add(ether(b, a, 0x0800,
              ipv4(lo, lo, 6,
                   tcp4(lo, lo, 50000, static_cast<std::uint16_t>(port), 1, 0, tcpf::syn, 1000,
                        syn_options(1, 0), {}))));
  for (int port : {5432, 40124})
    add(ether(b, a, 0x0800,
              ipv4(lo, lo, 17, udp4(lo, lo, 50001, static_cast<std::uint16_t>(port), {1, 2, 3}))));
  add(ether(b, a, 0x0800, ipv4(lo, lo, 1, icmp(8, 0, 0x00010001, Bytes(8)))));
  Bytes quoted = ipv4(lo, lo, 17, udp4(lo, lo, 50001, 5432, {1}));
  quoted.resize(28);
  add(ether(a, b, 0x0800, ipv4(lo, lo, 1, icmp(3, 3, 0, quoted))));
  // Later fragments name the protocol (tcpdump from its IANA list, ndump
  // from /etc/protocols: the same names for these).
  add(ether(b, a, 0x0800, ipv4(lo, lo, 17, Bytes(4), {.frag_offset = 8})));
  add(ether(b, a, 0x0800, ipv4(lo, lo, 6, Bytes(4), {.frag_offset = 16})));
  return v;
}

}  // namespace norman::ndump::test
