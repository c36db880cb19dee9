// Destinations a kernel-bypass socket may not send to, with the errno Linux
// gives: the NIC drops such frames from every non-raw connection anyway
// (TX_DROP_MARTIAN, TX_DROP_BROADCAST); failing early tells the application.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

#include "norman/net.hpp"
#include "norman/runtime.hpp"
#include "runtime_core.hpp"

namespace norman::detail {

// 0.0.0.0/8 and 127.0.0.0/8 never leave a host.
inline bool never_leaves_host(Ipv4 ip) {
  const auto o = ip.octets();
  return o[0] == 0 || o[0] == 127;
}

// 255.255.255.255, or the directed broadcast address of nic0's subnet.
inline bool is_broadcast(Ipv4 ip, const NicInfo& nic) {
  if (ip.be == 0xFFFFFFFFU) return true;
  if (nic.prefix_len == 0 || nic.prefix_len >= 31) return false;
  const std::uint32_t mask = ~std::uint32_t{0} << (32 - nic.prefix_len);
  const std::uint32_t host = __builtin_bswap32(ip.be), net = __builtin_bswap32(nic.ip.be);
  return (host & mask) == (net & mask) && (host | mask) == 0xFFFFFFFFU;
}

// Throws EINVAL for a loopback or 0/8 destination and EACCES for a
// broadcast one without permission (as Linux does without SO_BROADCAST).
inline void check_reachable(Ipv4 ip, bool broadcast_ok, const NicInfo& nic, const char* what) {
  if (never_leaves_host(ip)) {
    throw_errno(EINVAL, std::string(what) + " " + ip.to_string() +
                            ": kernel-bypass sockets cannot reach 0.0.0.0/8 or 127.0.0.0/8");
  }
  if (!broadcast_ok && is_broadcast(ip, nic)) {
    throw_errno(EACCES, std::string(what) + " " + ip.to_string() +
                            ": a broadcast address needs UdpOptions::broadcast (SO_BROADCAST)");
  }
}

}  // namespace norman::detail
