// A kernel without a card: a fake sysfs tree (devices, drivers, IOMMU
// groups) in a temporary directory, and a VfioSys that plays /dev/vfio and
// one Norman NIC behind it (BAR 0 is anonymous memory with the identity
// registers filled in), recording what the backend asked of it.
#pragma once

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "norman/regmap.hpp"
#include "vfio_sys.hpp"

namespace norman::device::testing {

namespace fs = std::filesystem;

// A temporary sysfs root and /dev/vfio, removed at destruction.
class FakeTree {
 public:
  FakeTree() {
    char tmpl[] = "/tmp/norman-fake-vfio-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    fs::create_directories(sysfs() + "/bus/pci/devices");
    fs::create_directories(sysfs() + "/bus/pci/drivers");
    fs::create_directories(dev_vfio());
  }
  ~FakeTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  [[nodiscard]] std::string sysfs() const { return root_ + "/sys"; }
  [[nodiscard]] std::string dev_vfio() const { return root_ + "/dev/vfio"; }
  [[nodiscard]] VfioPaths paths() const { return {sysfs(), dev_vfio()}; }

  // A device; driver "" means none, group < 0 means no IOMMU group.
  void add_device(const std::string& bdf, const std::string& driver, int group) {
    const fs::path dev = fs::path(sysfs()) / "bus/pci/devices" / bdf;
    fs::create_directories(dev);
    if (!driver.empty()) {
      fs::create_directories(fs::path(sysfs()) / "bus/pci/drivers" / driver);
      fs::create_symlink("../../../bus/pci/drivers/" + driver, dev / "driver");
    }
    if (group >= 0) {
      const fs::path g = fs::path(sysfs()) / "kernel/iommu_groups" / std::to_string(group);
      // As in sysfs: the group lists its members as links to the devices.
      fs::create_directories(g / "devices");
      fs::create_symlink("../../../../bus/pci/devices/" + bdf, g / "devices" / bdf);
      fs::create_symlink("../../../kernel/iommu_groups/" + std::to_string(group),
                         dev / "iommu_group");
      if (driver == "vfio-pci") touch(dev_vfio() + "/" + std::to_string(group));
    }
  }
  // Loads vfio: /dev/vfio/vfio appears.
  void load_vfio() { touch(dev_vfio() + "/vfio"); }
  static void touch(const std::string& path) {
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }

 private:
  std::string root_;
};

struct DmaMapping {
  std::uint64_t vaddr, iova, size;
};

struct IrqSet {
  std::uint32_t index, flags, start, count;
  std::vector<std::int32_t> fds;
};

// /dev/vfio and the device behind it.
class FakeVfio final : public VfioSys {
 public:
  // Knobs.
  int api_version = VFIO_API_VERSION;
  bool type1v2 = true;
  bool viable = true;
  std::set<std::string> busy;  // paths open() refuses with EBUSY
  std::string device_in_group = "0000:03:00.0";
  std::uint64_t bar0_size = 1ULL << 30;
  std::uint32_t msix = 64;
  bool identity_ok = true;
  bool loss_irqs = true;  // offers the request and error interrupts
  int map_dma_errno = 0;  // MAP_DMA fails with this
  // VFIO_IOMMU_GET_INFO's IOVA ranges (inclusive ends); empty: no caps.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> iova_ranges;

  // What happened.
  std::map<std::uint64_t, DmaMapping> mappings;  // by IOVA
  std::vector<IrqSet> irq_sets;
  [[nodiscard]] std::vector<IrqSet> irq_sets_of(std::uint32_t index) const {
    std::vector<IrqSet> out;
    for (const auto& s : irq_sets) {
      if (s.index == index) out.push_back(s);
    }
    return out;
  }
  unsigned resets = 0;
  std::array<std::uint8_t, 256> config{};
  volatile std::uint8_t* bar = nullptr;

  ~FakeVfio() override {
    if (bar != nullptr) ::munmap(const_cast<std::uint8_t*>(bar), bar0_size);
  }

  [[nodiscard]] std::uint64_t bar64(std::uint64_t off) const {
    return *reinterpret_cast<volatile const std::uint64_t*>(bar + off);
  }

  unsigned opens = 0;
  unsigned opens_without_cloexec = 0;

  int open(const std::string& path, int flags) override {
    ++opens;
    if ((flags & O_CLOEXEC) == 0) ++opens_without_cloexec;
    if (busy.count(path) != 0) {
      errno = EBUSY;
      return -1;
    }
    if (!fs::exists(path)) {
      errno = ENOENT;
      return -1;
    }
    const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    role_[fd] = fs::path(path).filename() == "vfio" ? Role::kContainer : Role::kGroup;
    return fd;
  }

  int ioctl(int fd, unsigned long req, void* arg) override {
    switch (req) {
      case VFIO_GET_API_VERSION:
        return api_version;
      case VFIO_CHECK_EXTENSION:
        return reinterpret_cast<std::uintptr_t>(arg) == VFIO_TYPE1v2_IOMMU && type1v2 ? 1 : 0;
      case VFIO_GROUP_GET_STATUS:
        static_cast<vfio_group_status*>(arg)->flags = viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
        return 0;
      case VFIO_GROUP_SET_CONTAINER:
      case VFIO_SET_IOMMU:
        return 0;
      case VFIO_GROUP_GET_DEVICE_FD: {
        if (static_cast<const char*>(arg) != device_in_group) {
          errno = ENODEV;
          return -1;
        }
        const int dfd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        role_[dfd] = Role::kDevice;
        return dfd;
      }
      case VFIO_DEVICE_GET_INFO: {
        auto* i = static_cast<vfio_device_info*>(arg);
        i->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
        i->num_regions = VFIO_PCI_NUM_REGIONS;
        i->num_irqs = VFIO_PCI_NUM_IRQS;
        return 0;
      }
      case VFIO_DEVICE_GET_REGION_INFO: {
        auto* r = static_cast<vfio_region_info*>(arg);
        r->offset = std::uint64_t{r->index} << 40;
        if (r->index == VFIO_PCI_BAR0_REGION_INDEX) {
          r->size = bar0_size;
          r->flags =
              VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
        } else {
          r->size = 256;
          r->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        }
        return 0;
      }
      case VFIO_DEVICE_GET_IRQ_INFO: {
        auto* i = static_cast<vfio_irq_info*>(arg);
        i->count = i->index == VFIO_PCI_MSIX_IRQ_INDEX ? msix
                   : i->index == VFIO_PCI_REQ_IRQ_INDEX || i->index == VFIO_PCI_ERR_IRQ_INDEX
                       ? (loss_irqs ? 1 : 0)
                       : 0;
        i->flags = VFIO_IRQ_INFO_EVENTFD;
        return 0;
      }
      case VFIO_DEVICE_RESET:
        ++resets;
        return 0;
      case VFIO_IOMMU_GET_INFO:
        return iommu_info(static_cast<vfio_iommu_type1_info*>(arg));
      case VFIO_IOMMU_MAP_DMA: {
        if (map_dma_errno != 0) {
          errno = map_dma_errno;
          return -1;
        }
        const auto* m = static_cast<const vfio_iommu_type1_dma_map*>(arg);
        mappings[m->iova] = {m->vaddr, m->iova, m->size};
        return 0;
      }
      case VFIO_IOMMU_UNMAP_DMA: {
        const auto* u = static_cast<const vfio_iommu_type1_dma_unmap*>(arg);
        if (mappings.erase(u->iova) == 0) {
          errno = EINVAL;
          return -1;
        }
        return 0;
      }
      case VFIO_DEVICE_SET_IRQS: {
        const auto* s = static_cast<const vfio_irq_set*>(arg);
        IrqSet rec{s->index, s->flags, s->start, s->count, {}};
        if ((s->flags & VFIO_IRQ_SET_DATA_EVENTFD) != 0) {
          const auto* fds = reinterpret_cast<const std::int32_t*>(s->data);
          rec.fds.assign(fds, fds + s->count);
        }
        irq_sets.push_back(rec);
        return 0;
      }
      default:
        break;
    }
    (void)fd;
    errno = ENOTTY;
    return -1;
  }

  void* mmap(std::size_t len, int prot, int fd, off_t offset) override {
    if (role_[fd] != Role::kDevice || offset != 0 || len != bar0_size) {
      errno = EINVAL;
      return MAP_FAILED;
    }
    void* p = ::mmap(nullptr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return p;
    bar = static_cast<volatile std::uint8_t*>(p);
    auto put = [&](std::uint64_t off, std::uint64_t v) {
      *reinterpret_cast<volatile std::uint64_t*>(bar + off) = v;
    };
    put(regmap::kRegIdMagic, identity_ok ? regmap::kMagic : 0x1234);
    put(regmap::kRegIdBuildId, regmap::kBuildId);
    put(regmap::kRegIdNumPorts, 2);
    put(regmap::kRegIdClockHz, 250000000);
    return p;
  }
  int munmap(void* addr, std::size_t len) override {
    // The test still reads the BAR afterwards: keep the memory, just
    // forget that the backend holds it.
    (void)addr;
    (void)len;
    ++bar_unmaps;
    return 0;
  }
  unsigned bar_unmaps = 0;

  ssize_t pread(int fd, void* buf, std::size_t len, off_t offset) override {
    return config_io(fd, buf, len, offset, false);
  }
  ssize_t pwrite(int fd, const void* buf, std::size_t len, off_t offset) override {
    return config_io(fd, const_cast<void*>(buf), len, offset, true);
  }

 private:
  enum class Role { kNone, kContainer, kGroup, kDevice };

  ssize_t config_io(int fd, void* buf, std::size_t len, off_t offset, bool write) {
    const std::uint64_t base = std::uint64_t{VFIO_PCI_CONFIG_REGION_INDEX} << 40;
    const auto off = static_cast<std::uint64_t>(offset);
    if (role_[fd] != Role::kDevice || off < base || off - base + len > config.size()) {
      errno = EINVAL;
      return -1;
    }
    if (write) {
      std::memcpy(config.data() + (off - base), buf, len);
    } else {
      std::memcpy(buf, config.data() + (off - base), len);
    }
    return static_cast<ssize_t>(len);
  }

  int iommu_info(vfio_iommu_type1_info* info) {
    if (iova_ranges.empty()) {
      info->flags = 0;
      return 0;
    }
    const std::uint32_t need =
        sizeof(vfio_iommu_type1_info) + sizeof(vfio_iommu_type1_info_cap_iova_range) +
        static_cast<std::uint32_t>(iova_ranges.size() * sizeof(vfio_iova_range));
    info->flags = VFIO_IOMMU_INFO_CAPS | VFIO_IOMMU_INFO_PGSIZES;
    info->iova_pgsizes = 4096;
    if (info->argsz < need) {
      info->argsz = need;
      info->cap_offset = 0;
      return 0;
    }
    info->cap_offset = sizeof(vfio_iommu_type1_info);
    auto* cap = reinterpret_cast<vfio_iommu_type1_info_cap_iova_range*>(
        reinterpret_cast<std::uint8_t*>(info) + info->cap_offset);
    cap->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
    cap->header.version = 1;
    cap->header.next = 0;
    cap->nr_iovas = static_cast<std::uint32_t>(iova_ranges.size());
    for (std::size_t i = 0; i < iova_ranges.size(); ++i) {
      cap->iova_ranges[i].start = iova_ranges[i].first;
      cap->iova_ranges[i].end = iova_ranges[i].second;
    }
    return 0;
  }

  std::map<int, Role> role_;
};

}  // namespace norman::device::testing
