#include "pci_device.hpp"

#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <stdexcept>
#include <system_error>

#include "nsim_client.hpp"  // nsim::DmaRegion: the sealed memfd both backends hand out

namespace norman::device {

namespace rm = norman::regmap;
using norman::nsim::UniqueFd;

namespace {

// IOVAs handed out: [4 GiB, 4 GiB + 256 GiB), as in the nsim backend, less
// what the IOMMU reports unusable. Below 4 GiB sit the platform's MSI window
// and, on many machines, reserved regions; zero is never a valid IOVA.
constexpr std::uint64_t kIovaBase = 1ULL << 32;
constexpr std::uint64_t kIovaSpan = 256ULL << 30;

// The relay spins this many empty polls before it naps (a doorbell then
// waits at most one nap).
constexpr unsigned kSpinPolls = 4096;
constexpr auto kNap = std::chrono::microseconds(20);

unsigned addr_bits(std::uint64_t size) {
  unsigned b = 0;
  while (b < 63 && (1ULL << b) < size) ++b;
  return b;
}

std::string errstr(int err) { return std::strerror(err); }

std::string irq_name(std::uint32_t index) {
  switch (index) {
    case VFIO_PCI_MSIX_IRQ_INDEX:
      return "MSI-X";
    case VFIO_PCI_REQ_IRQ_INDEX:
      return "request interrupt";
    case VFIO_PCI_ERR_IRQ_INDEX:
      return "error interrupt";
    default:
      return "interrupt index " + std::to_string(index);
  }
}

// The IOMMU's usable IOVA ranges (start, length), or {} when the kernel
// does not report them (then the whole window is assumed usable).
std::vector<std::pair<std::uint64_t, std::uint64_t>> iommu_ranges(VfioSys& sys, int container) {
  // 64-bit words: the capability structs hold 64-bit fields.
  std::vector<std::uint64_t> words((sizeof(vfio_iommu_type1_info) + 7) / 8);
  auto* info = reinterpret_cast<vfio_iommu_type1_info*>(words.data());
  info->argsz = sizeof(vfio_iommu_type1_info);
  if (sys.ioctl(container, VFIO_IOMMU_GET_INFO, info) != 0) return {};
  const std::size_t need = info->argsz;
  if (need > words.size() * 8 && need < (1U << 20)) {
    words.assign((need + 7) / 8, 0);
    info = reinterpret_cast<vfio_iommu_type1_info*>(words.data());
    info->argsz = static_cast<std::uint32_t>(need);
    if (sys.ioctl(container, VFIO_IOMMU_GET_INFO, info) != 0) return {};
  }
  const std::span<const std::uint8_t> buf(reinterpret_cast<const std::uint8_t*>(words.data()),
                                          words.size() * 8);
  if ((info->flags & VFIO_IOMMU_INFO_CAPS) == 0) return {};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  std::uint32_t off = info->cap_offset;
  for (unsigned hops = 0; off != 0 && hops < 64; ++hops) {
    if (off + sizeof(vfio_info_cap_header) > buf.size()) break;
    const auto* hdr = reinterpret_cast<const vfio_info_cap_header*>(buf.data() + off);
    if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
        off + sizeof(vfio_iommu_type1_info_cap_iova_range) <= buf.size()) {
      const auto* cap = reinterpret_cast<const vfio_iommu_type1_info_cap_iova_range*>(hdr);
      for (std::uint32_t i = 0; i < cap->nr_iovas; ++i) {
        const std::size_t at = off + sizeof(*cap) + (i + 1) * sizeof(vfio_iova_range);
        if (at > buf.size()) break;
        const auto& r = cap->iova_ranges[i];
        if (r.end >= r.start) out.emplace_back(r.start, r.end - r.start + 1);
      }
      // An empty list would mean "no IOVA usable": keep it (alloc fails
      // clearly) rather than pretend the window is free.
      if (out.empty()) out.emplace_back(0, 0);
    }
    off = hdr->next;
  }
  return out;
}

}  // namespace

std::uint64_t PciDevice::required_bar0_bytes() {
  return rm::kNqDbBase + rm::kNumNqs * rm::kPageBytes;
}

void PciDevice::BarIo::check(std::uint32_t addr) const {
  if (addr % 8 != 0 || std::uint64_t{addr} + 8 > size_) {
    throw std::out_of_range("register address " + std::to_string(addr) +
                            " is misaligned or outside BAR 0");
  }
}

std::uint64_t PciDevice::BarIo::read64(std::uint32_t addr) {
  check(addr);
  return read64_unchecked(addr);
}

void PciDevice::BarIo::write64(std::uint32_t addr, std::uint64_t v) {
  check(addr);
  write64_unchecked(addr, v);
}

PciDevice::PciDevice(const PciAddress& addr, const VfioPaths& paths, VfioSys& sys)
    : sys_(sys),
      vfio_(vfio_attach(addr, required_bar0_bytes(), paths, sys)),
      nic_(io_),
      iova_(kIovaBase, kIovaSpan),
      hub_(addr_bits(vfio_.bar0.size)) {
  const std::string who = "PCI device " + addr.str() + ": ";
  try {
    // A clean start, as nsim gives a new driver: whatever a dead normand
    // left running (rings pointing at freed IOVAs) stops here.
    if ((vfio_.device_flags & VFIO_DEVICE_FLAGS_RESET) != 0 &&
        sys_.ioctl(vfio_.device.get(), VFIO_DEVICE_RESET, nullptr) != 0) {
      throw std::runtime_error(who + "VFIO_DEVICE_RESET: " + errstr(errno));
    }
    enable_bus_master();
    bar_ = sys_.mmap(vfio_.bar0.size, PROT_READ | PROT_WRITE, vfio_.device.get(),
                     static_cast<off_t>(vfio_.bar0.offset));
    if (bar_ == MAP_FAILED) {
      bar_ = nullptr;
      throw std::runtime_error(who + "mmap of BAR 0: " + errstr(errno));
    }
    io_.set(static_cast<volatile std::uint8_t*>(bar_), vfio_.bar0.size);
    try {
      nic_.check_identity();
    } catch (const std::exception& e) {
      throw std::runtime_error(who + e.what());
    }
    num_ports_ = static_cast<unsigned>(io_.read64(rm::kRegIdNumPorts));
    clock_hz_ = io_.read64(rm::kRegIdClockHz);
    // Nothing reported: the whole window is taken as usable.
    if (auto r = iommu_ranges(sys_, vfio_.container.get()); !r.empty()) iova_.restrict_to(r);
    irq_fds_.resize(vfio_.msix_vectors);
    watch_loss();
    relay_ = std::thread([this] { relay_loop(); });
  } catch (...) {
    release();
    throw;
  }
}

PciDevice::~PciDevice() { release(); }

void PciDevice::release() {
  stop_.store(true, std::memory_order_relaxed);
  if (relay_.joinable()) relay_.join();
  for (const std::uint32_t index : loss_irqs_) {
    vfio_irq_set off{};
    off.argsz = sizeof off;
    off.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    off.index = index;
    (void)sys_.ioctl(vfio_.device.get(), VFIO_DEVICE_SET_IRQS, &off);
  }
  loss_irqs_.clear();
  if (msix_enabled_) {
    vfio_irq_set off{};
    off.argsz = sizeof off;
    off.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    off.index = VFIO_PCI_MSIX_IRQ_INDEX;
    (void)sys_.ioctl(vfio_.device.get(), VFIO_DEVICE_SET_IRQS, &off);
    msix_enabled_ = false;
  }
  if (bar_ != nullptr) {
    // Stop the NIC before its DMA mappings go away with the container.
    io_.write64_unchecked(rm::kRegCtrlEnable, 0);
    (void)sys_.munmap(bar_, vfio_.bar0.size);
    bar_ = nullptr;
  }
  // Closing the device, group and container fds (in that order, members'
  // reverse declaration order does the rest) unmaps every IOVA.
}

void PciDevice::enable_bus_master() {
  std::uint16_t cmd = 0;
  const auto at = static_cast<off_t>(vfio_.config.offset + PCI_COMMAND);
  if (sys_.pread(vfio_.device.get(), &cmd, sizeof cmd, at) != sizeof cmd) {
    throw std::runtime_error("PCI device " + vfio_.addr.str() +
                             ": cannot read the PCI command register: " + errstr(errno));
  }
  cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
  if (sys_.pwrite(vfio_.device.get(), &cmd, sizeof cmd, at) != sizeof cmd) {
    throw std::runtime_error("PCI device " + vfio_.addr.str() +
                             ": cannot enable bus mastering: " + errstr(errno));
  }
}

void PciDevice::watch_loss() {
  loss_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!loss_) throw std::system_error(errno, std::generic_category(), "eventfd");
  for (const std::uint32_t index : {VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX}) {
    vfio_irq_info info{};
    info.argsz = sizeof info;
    info.index = index;
    if (sys_.ioctl(vfio_.device.get(), VFIO_DEVICE_GET_IRQ_INFO, &info) != 0 || info.count == 0 ||
        (info.flags & VFIO_IRQ_INFO_EVENTFD) == 0) {
      continue;  // not offered (no AER, an old kernel): that loss shows as failing commands
    }
    const std::int32_t fd = loss_.get();
    set_irqs(index, 0, 1, &fd);
    loss_irqs_.push_back(index);
  }
}

std::string PciDevice::describe() const {
  return "PCIe " + vfio_.addr.str() + " through vfio-pci (IOMMU group " +
         std::to_string(vfio_.group) + ", BAR 0 " + std::to_string(vfio_.bar0.size >> 20) +
         " MiB, " + std::to_string(vfio_.msix_vectors) + " MSI-X vectors, " +
         std::to_string(num_ports_) + " ports, " + std::to_string(clock_hz_ / 1000000) +
         " MHz core clock)";
}

DmaBuffer PciDevice::alloc_dma(std::size_t bytes, const std::string& name) {
  if (bytes == 0 || bytes % rm::kPageBytes != 0) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "PCI device: DMA size must be a multiple of 4096");
  }
  auto region = norman::nsim::DmaRegion::create(bytes, name);
  DmaBuffer buf;
  // Close-on-exec like every descriptor normand holds (plain dup() drops it).
  buf.fd.reset(::fcntl(region.fd(), F_DUPFD_CLOEXEC, 0));
  if (!buf.fd) throw std::system_error(errno, std::generic_category(), "PCI device: dup");
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, buf.fd.get(), 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "PCI device: mmap");
  buf.data = static_cast<std::uint8_t*>(p);
  buf.size = bytes;
  try {
    buf.iova = iova_.alloc(bytes);
  } catch (...) {
    ::munmap(p, bytes);
    throw;
  }
  // type1 pins the pages behind normand's mapping; the application maps the
  // same memfd pages, so both see what the NIC writes. The memfd is sealed
  // against shrinking, so no one can pull a pinned page out from under it.
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof map;
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = reinterpret_cast<std::uintptr_t>(p);
  map.iova = buf.iova;
  map.size = bytes;
  if (sys_.ioctl(vfio_.container.get(), VFIO_IOMMU_MAP_DMA, &map) != 0) {
    const int err = errno;
    iova_.free(buf.iova);
    ::munmap(p, bytes);
    throw std::system_error(err, std::generic_category(),
                            "PCI device: VFIO_IOMMU_MAP_DMA of " + std::to_string(bytes) +
                                " bytes (RLIMIT_MEMLOCK, or vfio_iommu_type1 dma_entry_limit)");
  }
  dma_bytes_ += bytes;
  return buf;
}

void PciDevice::free_dma(DmaBuffer& buf) {
  if (buf.size == 0) return;
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof unmap;
  unmap.iova = buf.iova;
  unmap.size = buf.size;
  if (sys_.ioctl(vfio_.container.get(), VFIO_IOMMU_UNMAP_DMA, &unmap) == 0) {
    iova_.free(buf.iova);
  }
  // else: the IOVA stays allocated (never reused while the IOMMU may still
  // translate it); the pages stay pinned until the container closes.
  dma_bytes_ -= buf.size;
  ::munmap(buf.data, buf.size);
  buf.fd.reset();
  buf.data = nullptr;
  buf.size = 0;
  buf.iova = 0;
}

DoorbellGrant PciDevice::open_doorbells() {
  norman::nsim::MmioHub::Opened o;
  std::string why;
  int err = 0;
  {
    std::lock_guard lock(hub_mu_);
    err = hub_.open(norman::nsim::proto::ChannelKind::kApp, {}, o, why);
  }
  if (err != 0) throw std::system_error(err, std::generic_category(), "doorbell channel: " + why);
  return {o.id, std::move(o.fd)};
}

void PciDevice::grant_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) {
  std::string why;
  int err = 0;
  {
    std::lock_guard lock(hub_mu_);
    err = hub_.grant(id, pages, why);
  }
  if (err != 0) throw std::system_error(err, std::generic_category(), "grant doorbells: " + why);
}

void PciDevice::revoke_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) {
  std::string why;
  int err = 0;
  {
    // Under the lock: once this returns, the relay performs no access it
    // pulled before the revoke (it holds the lock from pull to BAR access).
    std::lock_guard lock(hub_mu_);
    err = hub_.revoke(id, pages, why);
  }
  if (err != 0) throw std::system_error(err, std::generic_category(), "revoke doorbells: " + why);
}

void PciDevice::close_doorbells(std::uint32_t id) {
  std::lock_guard lock(hub_mu_);
  (void)hub_.close(id);
}

void PciDevice::relay_loop() {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  unsigned idle = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    bool any = false;
    {
      std::lock_guard lock(hub_mu_);
      const auto now = static_cast<std::uint64_t>((clock::now() - t0).count());
      any = hub_.poll(now);
      // Every access is done before the lock is dropped: a revoke or close
      // that follows cannot be overtaken by an access pulled before it.
      while (hub_.csr_pending()) {
        const norman::nsim::CsrRequest r = hub_.csr_front();
        hub_.csr_accepted(now);
        if (r.write) {
          io_.write64_unchecked(r.addr, r.data);  // the hub checked the page
        } else {
          hub_.csr_response(io_.read64_unchecked(r.addr));
        }
      }
    }
    if (any) {
      idle = 0;
    } else if (++idle > kSpinPolls) {
      std::this_thread::sleep_for(kNap);
    } else {
      std::this_thread::yield();
    }
  }
}

void PciDevice::set_irqs(std::uint32_t index, std::uint32_t start, std::uint32_t count,
                         const std::int32_t* fds) {
  std::vector<std::uint8_t> buf(sizeof(vfio_irq_set) + count * sizeof(std::int32_t));
  auto* s = reinterpret_cast<vfio_irq_set*>(buf.data());
  s->argsz = static_cast<std::uint32_t>(buf.size());
  s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  s->index = index;
  s->start = start;
  s->count = count;
  std::memcpy(buf.data() + sizeof(vfio_irq_set), fds, count * sizeof(std::int32_t));
  if (sys_.ioctl(vfio_.device.get(), VFIO_DEVICE_SET_IRQS, s) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "VFIO_DEVICE_SET_IRQS (" + irq_name(index) + " " +
                                std::to_string(start) + "+" + std::to_string(count) + ")");
  }
}

void PciDevice::bind_irq(std::uint32_t vector, int eventfd) {
  if (vector >= irq_fds_.size()) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "MSI-X vector " + std::to_string(vector) + ": the device has " +
                                std::to_string(irq_fds_.size()));
  }
  UniqueFd dup(::fcntl(eventfd, F_DUPFD_CLOEXEC, 0));
  if (!dup) throw std::system_error(errno, std::generic_category(), "dup of an eventfd");
  if (!msix_enabled_) {
    // Enable every vector at once: before Linux 6.5 (dynamic MSI-X) the
    // vector count is fixed when MSI-X is enabled. -1: no eventfd yet.
    std::vector<std::int32_t> fds(irq_fds_.size(), -1);
    fds[vector] = dup.get();
    set_irqs(VFIO_PCI_MSIX_IRQ_INDEX, 0, static_cast<std::uint32_t>(fds.size()), fds.data());
    msix_enabled_ = true;
  } else {
    const std::int32_t fd = dup.get();
    set_irqs(VFIO_PCI_MSIX_IRQ_INDEX, vector, 1, &fd);
  }
  irq_fds_[vector] = std::move(dup);
}

void PciDevice::unbind_irq(std::uint32_t vector) {
  if (vector >= irq_fds_.size() || !irq_fds_[vector]) return;
  if (msix_enabled_) {
    const std::int32_t none = -1;
    set_irqs(VFIO_PCI_MSIX_IRQ_INDEX, vector, 1, &none);
  }
  irq_fds_[vector].reset();
}

}  // namespace norman::device
