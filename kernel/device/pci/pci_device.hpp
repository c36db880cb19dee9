// The PCIe backend of the Device interface: a Norman NIC taken through
// vfio-pci (vfio_attach.hpp). Registers are BAR 0 mapped into normand; DMA
// buffers are sealed memfds pinned and mapped into the IOMMU at IOVAs from
// an IovaAllocator; interrupt vectors are MSI-X vectors signalling eventfds.
//
// Doorbells: an application never gets a BAR mapping (nor any VFIO fd: the
// device fd would give it every register, config space, reset and the
// interrupt setup). Without a kernel module there is no fd that maps one BAR
// page, so normand relays: each application gets the same sealed
// shared-memory MMIO ring nsim hands out (transport "nsim-mmio", the ring
// format of nsim_proto.hpp), and a relay thread of normand checks each
// access against the application's granted doorbell pages (MmioHub, the same
// code nsim runs) and performs it on the BAR. docs/pcie.md says what this
// costs and what a kernel module would change.
//
// Not yet run against a card: see docs/pcie.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "device.hpp"
#include "device_spec.hpp"
#include "iova_allocator.hpp"
#include "mmio_hub.hpp"
#include "vfio_attach.hpp"

namespace norman::device {

class PciDevice final : public Device {
 public:
  // Attaches through vfio-pci, resets the function (when it supports FLR),
  // enables memory decoding and bus mastering, maps BAR 0 and checks the
  // NIC's identity (MAGIC, BUILD_ID). Throws VfioError or std::runtime_error
  // naming the step that failed.
  explicit PciDevice(const PciAddress& addr, const VfioPaths& paths = {},
                     VfioSys& sys = real_vfio_sys());
  ~PciDevice() override;
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  [[nodiscard]] std::string describe() const override;
  // The ring format nsim's app channels use; normand serves it here.
  [[nodiscard]] std::string doorbell_transport() const override { return "nsim-mmio"; }
  [[nodiscard]] unsigned num_ports() const override { return num_ports_; }
  NicDevice& nic() override { return nic_; }

  DmaBuffer alloc_dma(std::size_t bytes, const std::string& name) override;
  void free_dma(DmaBuffer& buf) override;
  [[nodiscard]] std::uint64_t dma_bytes() const override { return dma_bytes_; }

  DoorbellGrant open_doorbells() override;
  void grant_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) override;
  void revoke_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) override;
  void close_doorbells(std::uint32_t id) override;

  void bind_irq(std::uint32_t vector, int eventfd) override;
  void unbind_irq(std::uint32_t vector) override;
  // Signalled by VFIO's request interrupt (the kernel wants the device
  // back: unbind, hot-unplug; it waits until normand lets go) and its error
  // interrupt (an uncorrectable PCIe error), where the device offers them.
  [[nodiscard]] int loss_fd() const override { return loss_.get(); }

  // Bytes of BAR 0 the register map needs: registers, then the connection
  // and notification-queue doorbell pages.
  static std::uint64_t required_bar0_bytes();

 private:
  // 64-bit accesses to the mapped BAR. Out-of-range or misaligned
  // addresses are refused (std::out_of_range), never performed.
  class BarIo final : public RegisterIo {
   public:
    BarIo() = default;
    void set(volatile std::uint8_t* base, std::uint64_t size) {
      base_ = base;
      size_ = size;
    }
    std::uint64_t read64(std::uint32_t addr) override;
    void write64(std::uint32_t addr, std::uint64_t v) override;
    std::uint64_t read64_unchecked(std::uint64_t addr) const {
      return *reinterpret_cast<volatile const std::uint64_t*>(base_ + addr);
    }
    // As Linux's writel(): memory written before (rings, descriptors, by
    // any thread that published it to this one) reaches the device first.
    void write64_unchecked(std::uint64_t addr, std::uint64_t v) const {
#if defined(__aarch64__)
      asm volatile("dmb oshst" ::: "memory");
#elif defined(__x86_64__)
      asm volatile("" ::: "memory");  // UC stores are not reordered with earlier stores
#else
      std::atomic_thread_fence(std::memory_order_seq_cst);  // unverified: see docs/pcie.md
#endif
      *reinterpret_cast<volatile std::uint64_t*>(base_ + addr) = v;
    }

   private:
    void check(std::uint32_t addr) const;
    volatile std::uint8_t* base_ = nullptr;
    std::uint64_t size_ = 0;
  };

  void enable_bus_master();
  void watch_loss();
  void set_irqs(std::uint32_t index, std::uint32_t start, std::uint32_t count,
                const std::int32_t* fds);
  void relay_loop();
  void release();

  VfioSys& sys_;
  VfioAttachment vfio_;
  void* bar_ = nullptr;
  BarIo io_;
  NicDevice nic_;
  unsigned num_ports_ = 0;
  std::uint64_t clock_hz_ = 0;
  IovaAllocator iova_;
  std::uint64_t dma_bytes_ = 0;
  // MSI-X vector -> the eventfd it signals (our duplicate).
  std::vector<UniqueFd> irq_fds_;
  bool msix_enabled_ = false;
  UniqueFd loss_;                         // eventfd for the request and error interrupts
  std::vector<std::uint32_t> loss_irqs_;  // the indexes bound to it

  // Application doorbell channels, polled by the relay thread.
  std::mutex hub_mu_;
  norman::nsim::MmioHub hub_;
  std::atomic<bool> stop_{false};
  std::thread relay_;
};

}  // namespace norman::device
