// What `normand --device` names: the simulator (nsim, reached through
// --nsim-socket) or a PCIe function bound to vfio-pci ("pci:0000:03:00.0",
// the address as lspci -D and sysfs print it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace norman::device {

struct PciAddress {
  std::uint32_t domain = 0;  // 16 bits (sysfs prints 4 hex digits)
  std::uint32_t bus = 0;     // 8 bits
  std::uint32_t dev = 0;     // 5 bits
  std::uint32_t fn = 0;      // 3 bits
  // "0000:03:00.0": lower-case hex, the name of the device in sysfs.
  [[nodiscard]] std::string str() const;
  friend bool operator==(const PciAddress&, const PciAddress&) = default;
};

struct DeviceSpec {
  enum class Kind { kNsim, kPci };
  Kind kind = Kind::kNsim;
  PciAddress pci;  // kind == kPci
};

// "nsim", or "pci:" followed by DOMAIN:BUS:DEV.FN (domain optional, then
// 0000). Throws std::invalid_argument with a message that says what is
// wrong and what a valid spec looks like.
DeviceSpec parse_device_spec(std::string_view spec);

}  // namespace norman::device
