// Neighbor resolution for bypass connections, done by the host kernel on
// nic0 (rtnetlink through libmnl): applications never send ARP themselves.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <system_error>

#include "net_types.hpp"

namespace norman::normand {

class NeighborTable {
 public:
  // ifindex of nic0, its address and prefix (to tell on-link peers).
  NeighborTable(boost::asio::io_context& io, int ifindex, Ipv4 local_ip, unsigned prefix_len);
  // Pending async_resolve handlers run with operation_canceled.
  ~NeighborTable();
  // Owns a netlink socket through impl_: not copyable.
  NeighborTable(const NeighborTable&) = delete;
  NeighborTable& operator=(const NeighborTable&) = delete;

  // The kernel's entry for ip on nic0 if it is usable (REACHABLE, STALE,
  // DELAY, PROBE, PERMANENT, NOARP), else nullopt.
  std::optional<Mac> lookup(const Ipv4& ip);

  // Asks the kernel to resolve ip (RTM_NEWNEIGH with NTF_USE: the kernel
  // sends ARP requests on nic0).
  void solicit(const Ipv4& ip);

  // lookup(); if absent, solicit() and poll until resolved or `timeout`.
  // The handler runs on the io_context with: {} and the MAC; ENETUNREACH
  // for an address outside nic0's subnet (no routing through gateways yet);
  // EHOSTUNREACH when nobody answered in time.
  void async_resolve(const Ipv4& ip, std::chrono::milliseconds timeout,
                     std::function<void(std::error_code, Mac)> handler);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace norman::normand
