#include "vfio_attach.hpp"

#include <fcntl.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace norman::device {

namespace fs = std::filesystem;
using norman::nsim::UniqueFd;

namespace {

constexpr const char* kBindHint =
    "bind it to vfio-pci: modprobe vfio-pci; echo vfio-pci > "
    "/sys/bus/pci/devices/%/driver_override; echo % > /sys/bus/pci/devices/%/driver/unbind "
    "(if bound); echo % > /sys/bus/pci/drivers_probe (docs/pcie.md)";

std::string bind_hint(const std::string& bdf) {
  std::string s = kBindHint;
  for (auto p = s.find('%'); p != std::string::npos; p = s.find('%', p + bdf.size())) {
    s.replace(p, 1, bdf);
  }
  return s;
}

// The last component of a sysfs symlink's target ("vfio-pci", "7"), or "".
std::string link_name(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  if (ec) return {};
  return target.filename().string();
}

std::string errstr(int err) { return std::strerror(err); }

// "0000:03:00.1 (ixgbe), 0000:03:00.0 (vfio-pci)": the group's members.
std::string group_members(const VfioPaths& paths, unsigned group) {
  std::string out;
  std::error_code ec;
  const fs::path dir =
      fs::path(paths.sysfs) / "kernel/iommu_groups" / std::to_string(group) / "devices";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string drv = link_name(e.path() / "driver");
    if (!out.empty()) out += ", ";
    out += e.path().filename().string() + " (" + (drv.empty() ? "no driver" : drv) + ")";
  }
  return out.empty() ? "unknown" : out;
}

}  // namespace

VfioAttachment vfio_attach(const PciAddress& addr, std::uint64_t min_bar0_bytes,
                           const VfioPaths& paths, VfioSys& sys) {
  const std::string bdf = addr.str();
  const std::string who = "PCI device " + bdf + ": ";
  auto fail = [&](const std::string& why) -> VfioError { return VfioError(who + why); };

  // 1. sysfs: the device, its driver, its IOMMU group.
  const fs::path dev = fs::path(paths.sysfs) / "bus/pci/devices" / bdf;
  std::error_code ec;
  if (!fs::exists(dev, ec)) {
    throw fail("no such device (" + dev.string() + " does not exist; lspci -D lists the devices)");
  }
  const std::string driver = link_name(dev / "driver");
  if (driver.empty()) throw fail("bound to no driver; " + bind_hint(bdf));
  if (driver != "vfio-pci") throw fail("bound to " + driver + ", not vfio-pci; " + bind_hint(bdf));
  const std::string group_name = link_name(dev / "iommu_group");
  if (group_name.empty()) {
    throw fail(
        "has no IOMMU group: the IOMMU is off (boot with intel_iommu=on or amd_iommu=on); "
        "normand does not use vfio's no-IOMMU mode, which would let the NIC reach all memory");
  }
  VfioAttachment a;
  a.addr = addr;
  try {
    std::size_t pos = 0;
    const unsigned long g = std::stoul(group_name, &pos);
    if (pos != group_name.size() || g > 0xffffffffUL) throw std::invalid_argument("");
    a.group = static_cast<unsigned>(g);
  } catch (const std::exception&) {
    throw fail("its iommu_group link names \"" + group_name + "\", not a group number");
  }

  // 2. The container.
  const std::string ctl = paths.dev_vfio + "/vfio";
  a.container.reset(sys.open(ctl, O_RDWR | O_CLOEXEC));
  if (!a.container) {
    const int err = errno;
    if (err == ENOENT) {
      throw fail(ctl +
                 " does not exist: vfio is not loaded (modprobe vfio-pci) or /dev/vfio "
                 "is not visible here (a container needs it passed in)");
    }
    throw fail("cannot open " + ctl + ": " + errstr(err) + " (normand needs root)");
  }
  const int api = sys.ioctl(a.container.get(), VFIO_GET_API_VERSION, nullptr);
  if (api != VFIO_API_VERSION) {
    throw fail(ctl + " speaks VFIO API " + std::to_string(api) + ", normand was built for " +
               std::to_string(VFIO_API_VERSION));
  }
  if (sys.ioctl(a.container.get(), VFIO_CHECK_EXTENSION,
                reinterpret_cast<void*>(static_cast<std::uintptr_t>(VFIO_TYPE1v2_IOMMU))) <= 0) {
    throw fail("the kernel's VFIO has no type1v2 IOMMU backend (VFIO_TYPE1v2_IOMMU)");
  }

  // 3. The group.
  const std::string grp = paths.dev_vfio + "/" + group_name;
  a.group_fd.reset(sys.open(grp, O_RDWR | O_CLOEXEC));
  if (!a.group_fd) {
    const int err = errno;
    if (err == EBUSY) {
      throw fail("IOMMU group " + group_name +
                 " is in use by another process (another normand, a VM, a DPDK application)");
    }
    if (err == ENOENT) {
      throw fail(grp + " does not exist although sysfs puts the device in IOMMU group " +
                 group_name + " (is /dev/vfio from this kernel?)");
    }
    throw fail("cannot open " + grp + ": " + errstr(err));
  }
  vfio_group_status status{};
  status.argsz = sizeof status;
  if (sys.ioctl(a.group_fd.get(), VFIO_GROUP_GET_STATUS, &status) != 0) {
    throw fail("VFIO_GROUP_GET_STATUS on " + grp + ": " + errstr(errno));
  }
  if ((status.flags & VFIO_GROUP_FLAGS_VIABLE) == 0) {
    throw fail("IOMMU group " + group_name +
               " is not viable: every device in it must be bound to vfio-pci or to no driver; "
               "it holds " +
               group_members(paths, a.group));
  }
  int cfd = a.container.get();
  if (sys.ioctl(a.group_fd.get(), VFIO_GROUP_SET_CONTAINER, &cfd) != 0) {
    throw fail("VFIO_GROUP_SET_CONTAINER: " + errstr(errno));
  }
  if (sys.ioctl(a.container.get(), VFIO_SET_IOMMU,
                reinterpret_cast<void*>(static_cast<std::uintptr_t>(VFIO_TYPE1v2_IOMMU))) != 0) {
    throw fail("VFIO_SET_IOMMU (type1v2): " + errstr(errno));
  }

  // 4. The device.
  std::string name = bdf;
  a.device.reset(sys.ioctl(a.group_fd.get(), VFIO_GROUP_GET_DEVICE_FD, name.data()));
  if (!a.device) {
    const int err = errno;
    throw fail("IOMMU group " + group_name + " would not give out the device (" + errstr(err) +
               "): the group does not hold it, or its vfio-pci binding is gone");
  }
  vfio_device_info info{};
  info.argsz = sizeof info;
  if (sys.ioctl(a.device.get(), VFIO_DEVICE_GET_INFO, &info) != 0) {
    throw fail("VFIO_DEVICE_GET_INFO: " + errstr(errno));
  }
  if ((info.flags & VFIO_DEVICE_FLAGS_PCI) == 0 ||
      info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
      info.num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX) {
    throw fail("vfio does not present it as a PCI device (flags 0x" + std::to_string(info.flags) +
               ", " + std::to_string(info.num_regions) + " regions)");
  }
  a.device_flags = info.flags;
  auto region = [&](std::uint32_t index, const char* what) {
    vfio_region_info r{};
    r.argsz = sizeof r;
    r.index = index;
    if (sys.ioctl(a.device.get(), VFIO_DEVICE_GET_REGION_INFO, &r) != 0) {
      throw fail(std::string("VFIO_DEVICE_GET_REGION_INFO (") + what + "): " + errstr(errno));
    }
    return VfioRegion{r.offset, r.size, r.flags};
  };
  a.bar0 = region(VFIO_PCI_BAR0_REGION_INDEX, "BAR 0");
  constexpr std::uint32_t kRw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  if ((a.bar0.flags & (kRw | VFIO_REGION_INFO_FLAG_MMAP)) != (kRw | VFIO_REGION_INFO_FLAG_MMAP)) {
    throw fail("BAR 0 cannot be mapped read-write (region flags " + std::to_string(a.bar0.flags) +
               "): not a Norman NIC, or an I/O-port BAR");
  }
  if (a.bar0.size < min_bar0_bytes) {
    throw fail("BAR 0 has " + std::to_string(a.bar0.size) + " bytes, the register map needs " +
               std::to_string(min_bar0_bytes) + ": not a Norman NIC, or another bitstream");
  }
  a.config = region(VFIO_PCI_CONFIG_REGION_INDEX, "config space");
  vfio_irq_info irq{};
  irq.argsz = sizeof irq;
  irq.index = VFIO_PCI_MSIX_IRQ_INDEX;
  if (sys.ioctl(a.device.get(), VFIO_DEVICE_GET_IRQ_INFO, &irq) != 0) {
    throw fail("VFIO_DEVICE_GET_IRQ_INFO (MSI-X): " + errstr(errno));
  }
  if ((irq.flags & VFIO_IRQ_INFO_EVENTFD) == 0 || irq.count == 0) {
    throw fail("has no MSI-X vectors that signal an eventfd");
  }
  a.msix_vectors = irq.count;
  return a;
}

}  // namespace norman::device
