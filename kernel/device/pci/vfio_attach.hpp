// Taking a PCIe function through vfio-pci, step by step, with an error that
// names the step and the fix when one fails:
//   sysfs: the device exists, is bound to vfio-pci, sits in an IOMMU group;
//   /dev/vfio/vfio: a container speaking this API with the type1v2 IOMMU;
//   /dev/vfio/<group>: not in use by another process, viable (every device
//   of the group bound to vfio-pci or to nothing), set on the container;
//   the device fd, its BAR 0 (mappable, large enough), its config space and
//   its MSI-X vector count.
// Nothing here maps memory or touches the device's registers (pci_device.cpp
// does, once attached).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "device_spec.hpp"
#include "unique_fd.hpp"
#include "vfio_sys.hpp"

namespace norman::device {

// An attach step that failed; what() names the device, the step and a fix.
class VfioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct VfioRegion {
  std::uint64_t offset = 0;  // of the region in the device fd
  std::uint64_t size = 0;
  std::uint32_t flags = 0;  // VFIO_REGION_INFO_FLAG_*
};

struct VfioAttachment {
  PciAddress addr;
  unsigned group = 0;
  norman::nsim::UniqueFd container;
  norman::nsim::UniqueFd group_fd;
  norman::nsim::UniqueFd device;
  std::uint32_t device_flags = 0;  // VFIO_DEVICE_FLAGS_*
  VfioRegion bar0;
  VfioRegion config;
  std::uint32_t msix_vectors = 0;
};

// min_bar0_bytes: the register space the software expects (BAR 0 maps
// CSR address 0 up, as nsim's PCIe model does).
VfioAttachment vfio_attach(const PciAddress& addr, std::uint64_t min_bar0_bytes,
                           const VfioPaths& paths = {}, VfioSys& sys = real_vfio_sys());

}  // namespace norman::device
