// Random IPv4 traffic for differential tests of the filter table: frames
// Linux delivers to its INPUT chain unchanged (valid IPv4 header and
// checksum, no options, no fragments, complete L4 headers), drawn from small
// pools of addresses and ports so that random rules hit them often.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace norman::filter::difftest {

struct Pools {
  std::vector<std::uint32_t> src;  // host byte order
  std::vector<std::uint32_t> dst;
  std::vector<std::uint16_t> ports;
};

// The pools the rule generator and the trace share: sources in 10.1/16,
// 172.16/12 and 192.168/16; destinations in 10.99/16 (local on the Linux side).
Pools default_pools();

struct Frame {
  std::vector<std::uint8_t> bytes;
};

// A random frame to dst_mac. Protocols: TCP (random flags), UDP, ICMP
// (random type/code), and a few others (GRE, SCTP, 99) without L4 parsing.
Frame random_frame(std::mt19937& rng, const Pools& pools, const std::uint8_t (&dst_mac)[6],
                   const std::uint8_t (&src_mac)[6]);

}  // namespace norman::filter::difftest
