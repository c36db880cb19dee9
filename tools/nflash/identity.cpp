#include "identity.hpp"

#include <sstream>

#include "norman/regmap.hpp"

namespace rm = norman::regmap;

namespace norman::nflash {

std::optional<std::string> identity_mismatch(const Identity& id) {
  std::ostringstream os;
  os << std::hex;
  if (id.magic == ~0ULL && id.build_id == ~0ULL) {
    os << "the ID block reads all ones: the device does not answer (link down, no image "
          "loaded, or the wrong BAR)";
    return os.str();
  }
  if (id.magic != rm::kMagic) {
    os << "MAGIC 0x" << id.magic << " (want 0x" << rm::kMagic
       << "): not a Norman NIC image, or the wrong --bar/--bar-offset";
    return os.str();
  }
  if (id.build_id != rm::kBuildId) {
    os << "BUILD_ID 0x" << id.build_id << " (want 0x" << rm::kBuildId
       << "): the bitstream and this software were built from different register maps; "
          "rebuild one from the other's hw/regmap/norman.json";
    return os.str();
  }
  return std::nullopt;
}

}  // namespace norman::nflash
