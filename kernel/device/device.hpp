// The device normand owns, whatever carries it: nsim (nsim_backend) or a
// PCIe card through vfio-pci (pci/pci_device). Everything normand does to a
// NIC goes through this interface: registers and commands (NicDevice), host
// memory the NIC may DMA to, per-application doorbell access, and interrupt
// vectors delivered to eventfds.
//
// The PCIe backend maps the same calls onto: BAR 0 mapped into normand
// (registers), sealed memfds mapped into the IOMMU (alloc_dma), MSI-X
// vectors bound to eventfds (bind_irq), and, for doorbells, the same
// shared-memory MMIO ring nsim hands out, relayed to the BAR by normand
// after the page check (no fd that maps a single BAR page exists without a
// kernel module; docs/pcie.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "nic_device.hpp"
#include "unique_fd.hpp"

namespace norman::device {

using UniqueFd = norman::nsim::UniqueFd;

// Host memory the NIC reaches at `iova`, mapped into normand at `data`, and
// shareable with one application by passing `fd` (a sealed memfd).
struct DmaBuffer {
  UniqueFd fd;
  std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::uint64_t iova = 0;
};

// An application's doorbell access: a transport handle (`fd`) the
// application attaches, through which only granted pages are writable.
struct DoorbellGrant {
  std::uint32_t id = 0;
  UniqueFd fd;
};

class Device {
 public:
  virtual ~Device() = default;

  // "nsim at /run/norman/nsim.sock (2 ports, 250 MHz)" and the like.
  [[nodiscard]] virtual std::string describe() const = 0;
  // How applications attach a DoorbellGrant's fd ("nsim-mmio", later "pcie-bar").
  [[nodiscard]] virtual std::string doorbell_transport() const = 0;
  [[nodiscard]] virtual unsigned num_ports() const = 0;

  // The command interface on the privileged register transport. Single
  // thread: normand calls it from its io_context only.
  virtual NicDevice& nic() = 0;

  // `bytes` (a multiple of 4096) of zeroed host memory registered with the
  // NIC at a fresh IOVA. free_dma() unregisters it; the memory itself lives
  // on while anyone (e.g. the application) still holds the fd or a mapping.
  virtual DmaBuffer alloc_dma(std::size_t bytes, const std::string& name) = 0;
  virtual void free_dma(DmaBuffer& buf) = 0;
  // Bytes currently registered through alloc_dma.
  [[nodiscard]] virtual std::uint64_t dma_bytes() const = 0;

  virtual DoorbellGrant open_doorbells() = 0;
  virtual void grant_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) = 0;
  virtual void revoke_doorbells(std::uint32_t id, std::span<const std::uint64_t> pages) = 0;
  virtual void close_doorbells(std::uint32_t id) = 0;

  // Interrupt vector -> eventfd (the device keeps its own reference).
  virtual void bind_irq(std::uint32_t vector, int eventfd) = 0;
  virtual void unbind_irq(std::uint32_t vector) = 0;

  // A descriptor that becomes readable when the device is gone for good
  // (the PCIe backend: the kernel asks for the device back on unbind or
  // hot-unplug, or it reported an error), or -1 when the backend has none
  // (nsim's loss shows as its process exiting). Owned by the device.
  [[nodiscard]] virtual int loss_fd() const { return -1; }
};

}  // namespace norman::device
