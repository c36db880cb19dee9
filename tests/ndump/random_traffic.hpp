// Seeded random frames within the layers ndump decodes, for the randomized
// differential comparison with tcpdump: random ICMP types and codes, TCP
// flags, options (valid, malformed and cut), IP tos/ttl/flags/lengths, UDP
// lengths, ARP operations, and random snap lengths.
#pragma once

#include <random>

#include "frames.hpp"

namespace norman::ndump::test {

inline std::vector<Packet> random_traffic(unsigned seed, int count) {
  std::mt19937 gen(seed);
  auto rng = [&] { return static_cast<std::uint32_t>(gen()); };
  auto r = [&](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  auto r8 = [&] { return static_cast<std::uint8_t>(rng()); };
  auto r16 = [&] { return static_cast<std::uint16_t>(rng()); };
  const Mac a{2, 0, 0, 0, 0, 0xa}, b{2, 0, 0, 0, 0, 0xb};
  const Ip4 s{10, 0, 0, 1}, d{10, 0, 0, 2};
  // Ports tcpdump decodes no further.
  auto port = [&] { return static_cast<std::uint16_t>(30000 + r(9000)); };
  std::vector<Packet> v;
  for (int i = 0; i < count; ++i) {
    Bytes l3;
    std::uint16_t type = 0x0800;
    Ip4Opts io{.id = r16(), .ttl = r8(), .tos = r8(), .df = r(2) == 1};
    if (r(8) == 0) io.mf = true;
    switch (r(5)) {
      case 0: {  // ICMP: any type and code, with a quoted datagram
        Bytes quoted = ipv4(d, s, r(2) ? 17 : 6, udp_raw(port(), port(), Bytes(8)), {});
        quoted.resize(28);
        std::uint8_t t = static_cast<std::uint8_t>(r(2) ? r(19) : (r(2) ? 3 : 11));
        l3 =
            ipv4(s, d, 1, icmp(t, static_cast<std::uint8_t>(r(17)), rng(), quoted, r(10) == 0), io);
        break;
      }
      case 1: {  // UDP, sometimes with a wrong length or checksum
        Bytes u = udp4(s, d, port(), port(), Bytes(r(200)), r(8) == 0);
        if (r(8) == 0) set16(u, 4, r16());
        l3 = ipv4(s, d, 17, u, io);
        break;
      }
      case 2:
      case 3: {  // TCP with random flags and options
        Bytes opts;
        int nopt = static_cast<int>(r(5));
        for (int k = 0; k < nopt; ++k) {
          switch (r(7)) {
            case 0:
              opts.insert(opts.end(), {2, 4, r8(), r8()});
              break;
            case 1:
              opts.insert(opts.end(), {3, 3, static_cast<std::uint8_t>(r(15))});
              break;
            case 2:
              opts.insert(opts.end(), {4, 2});
              break;
            case 3: {
              Bytes ts{8, 10};
              for (int q = 0; q < 8; ++q) ts.push_back(r8());
              opts.insert(opts.end(), ts.begin(), ts.end());
              break;
            }
            case 4:
              opts.insert(opts.end(), {1});
              break;
            case 5: {  // sack with one or two blocks
              int blocks = 1 + static_cast<int>(r(2));
              opts.push_back(5);
              opts.push_back(static_cast<std::uint8_t>(2 + 8 * blocks));
              for (int q = 0; q < 8 * blocks; ++q) opts.push_back(r8());
              break;
            }
            default: {  // any kind but MPTCP (30), which ndump prints as hex
              std::uint8_t kind = r8();
              if (kind == 30) kind = 31;
              opts.insert(opts.end(), {kind, static_cast<std::uint8_t>(r(6)), r8(), r8()});
            }
          }
        }
        if (opts.size() > 40) opts.resize(40);
        Bytes t = tcp4(s, d, port(), port(), rng(), rng(), r8(), r16(), opts,
                       Bytes(r(3) ? 0 : r(100)), r(10) == 0);
        l3 = r(2) ? ipv4(s, d, 6, t, io) : ipv4(d, s, 6, t, io);
        break;
      }
      default: {  // ARP with random operation
        type = 0x0806;
        l3 = arp(static_cast<std::uint16_t>(r(11)), a, s, r(2) ? b : Mac{}, d);
      }
    }
    Bytes f = ether(r(2) ? a : b, r(2) ? b : a, type, l3);
    std::uint32_t caplen = r(4) == 0 ? 14 + r(static_cast<std::uint32_t>(f.size()) - 13) : 0;
    v.push_back({std::move(f), caplen});
  }
  return v;
}

}  // namespace norman::ndump::test
