// Does the card run the register map this software was built for?
// (The same rule normand applies at attach: kernel/device/nic_device.cpp.)
#pragma once

#include <optional>
#include <string>

#include "pci_sysfs.hpp"

namespace norman::nflash {

// Empty when MAGIC and BUILD_ID equal the generated norman/regmap.hpp
// constants; otherwise why not, with both values.
std::optional<std::string> identity_mismatch(const Identity& id);

}  // namespace norman::nflash
