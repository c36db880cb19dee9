// nic0: the Linux TAP netdev through which the host kernel sees the traffic
// no bypass connection claimed (and sends its own, e.g. ARP and ICMP replies).
#pragma once

#include <string>

#include "net_types.hpp"
#include "unique_fd.hpp"

namespace norman::normand {

struct TapConfig {
  std::string name = "nic0";
  Mac mac{0x02, 0, 0, 0, 0, 0x02};  // the NIC port's MAC address
  Ipv4 ip{10, 11, 0, 2};
  unsigned prefix_len = 24;
  unsigned mtu = 1500;
};

class TapDevice {
 public:
  // Creates the (non-persistent) TAP device, sets its MAC, MTU and IPv4
  // address and brings it up; the fd is non-blocking, frames without a
  // packet-information header. Throws std::system_error naming the step
  // that failed (EEXIST if an interface of that name already exists).
  // The device disappears when the TapDevice is destroyed.
  static TapDevice create(const TapConfig& cfg);

  TapDevice(TapDevice&&) noexcept = default;
  TapDevice& operator=(TapDevice&&) noexcept = default;
  ~TapDevice() = default;

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] int ifindex() const { return ifindex_; }
  [[nodiscard]] const TapConfig& config() const { return cfg_; }

 private:
  TapDevice() = default;
  nsim::UniqueFd fd_;
  int ifindex_ = 0;
  TapConfig cfg_;
};

}  // namespace norman::normand
