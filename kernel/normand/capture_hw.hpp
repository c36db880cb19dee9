// The NIC's CAPTURE register block as normand's capture service uses it
// (hw/regmap/norman.json, block CAPTURE and formats CAPTURE_REC /
// CAPTURE_CFG): register access by name and session, the ring memory the
// NIC writes, and clock samples of CTRL.CYCLES. An interface so that the
// service's logic is tested without the overlay (tests/capture).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "clock_fit.hpp"
#include "device.hpp"

namespace norman::normand {

enum class CapReg {
  kSessions,
  kBase,
  kCfg,
  kSnap,
  kCons,
  kMatched,
  kCaptured,
  kDropped,
  kProgAddr,
  kProgInsn,
  kOwnerSet,
  kOwnerSweep,
  kStatus,
};

class CaptureHw {
 public:
  virtual ~CaptureHw() = default;
  // `index`: the session for the per-session registers, else 0.
  virtual std::uint64_t read(CapReg r, unsigned index) = 0;
  virtual void write(CapReg r, unsigned index, std::uint64_t value) = 0;
  // (CLOCK_REALTIME before, CTRL.CYCLES, CLOCK_REALTIME after).
  virtual capture::ClockSample clock_sample() = 0;
  // Zeroed host memory the NIC may write at buf.iova; buf.fd is its memfd.
  virtual device::DmaBuffer alloc_ring(std::size_t bytes) = 0;
  virtual void free_ring(device::DmaBuffer& buf) = 0;
  [[nodiscard]] virtual unsigned num_ports() const = 0;
};

// Where the CAPTURE block is, found as every block is: by walking the block
// chain from address 0 (each header's NEXT) to the header of TYPE
// CAPTURE. nullopt if the chain does not list it (a NIC built without the
// overlay) or the chain is broken (a loop, an address outside the CSR space).
std::optional<std::uint32_t> find_capture_block(device::RegisterIo& io);

// CaptureHw over a real NIC (nsim or PCIe), with the block at `base`.
class NicCaptureHw : public CaptureHw {
 public:
  NicCaptureHw(device::Device& dev, std::uint32_t base) : dev_(dev), base_(base) {}
  // The NIC's capture overlay, or nullptr if the NIC has none.
  static std::unique_ptr<NicCaptureHw> discover(device::Device& dev);

  std::uint64_t read(CapReg r, unsigned index) override;
  void write(CapReg r, unsigned index, std::uint64_t value) override;
  capture::ClockSample clock_sample() override;
  device::DmaBuffer alloc_ring(std::size_t bytes) override;
  void free_ring(device::DmaBuffer& buf) override;
  [[nodiscard]] unsigned num_ports() const override { return dev_.num_ports(); }

 private:
  [[nodiscard]] std::uint32_t addr(CapReg r, unsigned index) const;

  device::Device& dev_;
  std::uint32_t base_;
};

}  // namespace norman::normand
