#include "capture_hw.hpp"

#include <ctime>
#include <stdexcept>

#include "norman/regmap.hpp"

namespace norman::normand {

namespace rm = norman::regmap;

namespace {

std::int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The generated register map's absolute address of a CAPTURE register and
// its stride (0: not per session).
struct RegAddr {
  std::uint32_t addr;
  unsigned stride;
};

RegAddr reg_addr(CapReg r) {
  switch (r) {
    case CapReg::kSessions:
      return {rm::kRegCaptureSessions, 0};
    case CapReg::kBase:
      return {rm::kRegCaptureBase, rm::kRegCaptureBaseStride};
    case CapReg::kCfg:
      return {rm::kRegCaptureCfg, rm::kRegCaptureCfgStride};
    case CapReg::kSnap:
      return {rm::kRegCaptureSnap, rm::kRegCaptureSnapStride};
    case CapReg::kCons:
      return {rm::kRegCaptureCons, rm::kRegCaptureConsStride};
    case CapReg::kMatched:
      return {rm::kRegCaptureMatched, rm::kRegCaptureMatchedStride};
    case CapReg::kCaptured:
      return {rm::kRegCaptureCaptured, rm::kRegCaptureCapturedStride};
    case CapReg::kDropped:
      return {rm::kRegCaptureDropped, rm::kRegCaptureDroppedStride};
    case CapReg::kProgAddr:
      return {rm::kRegCaptureProgAddr, 0};
    case CapReg::kProgInsn:
      return {rm::kRegCaptureProgInsn, 0};
    case CapReg::kOwnerSet:
      return {rm::kRegCaptureOwnerSet, 0};
    case CapReg::kOwnerSweep:
      return {rm::kRegCaptureOwnerSweep, 0};
    case CapReg::kStatus:
      return {rm::kRegCaptureStatus, 0};
  }
  throw std::logic_error("capture: unknown register");
}

}  // namespace

std::optional<std::uint32_t> find_capture_block(device::RegisterIo& io) {
  std::uint32_t addr = 0;
  // Headers are at increasing addresses (the generator lays them out so);
  // anything else is a broken chain, not a place to look further.
  for (unsigned n = 0; n < 64; ++n) {
    const std::uint64_t hdr = io.read64(addr);
    if (rm::kBlockHeaderType.get(hdr) == rm::kBlockHeaderType.get(rm::kBlkCaptureHeader)) {
      return addr;
    }
    const auto next = static_cast<std::uint32_t>(rm::kBlockHeaderNext.get(hdr));
    if (next == 0 || next <= addr || next >= rm::kCsrSpaceBytes) return std::nullopt;
    addr = next;
  }
  return std::nullopt;
}

std::unique_ptr<NicCaptureHw> NicCaptureHw::discover(device::Device& dev) {
  const auto base = find_capture_block(dev.nic().io());
  if (!base) return nullptr;
  return std::make_unique<NicCaptureHw>(dev, *base);
}

std::uint32_t NicCaptureHw::addr(CapReg r, unsigned index) const {
  const RegAddr a = reg_addr(r);
  // Offsets within the block are the register map's; the block itself is
  // where the chain said.
  return base_ + (a.addr - rm::kBlkCaptureBase) + index * a.stride;
}

std::uint64_t NicCaptureHw::read(CapReg r, unsigned index) {
  return dev_.nic().io().read64(addr(r, index));
}

void NicCaptureHw::write(CapReg r, unsigned index, std::uint64_t value) {
  dev_.nic().io().write64(addr(r, index), value);
}

capture::ClockSample NicCaptureHw::clock_sample() {
  capture::ClockSample s;
  s.before_ns = realtime_ns();
  s.cycles = dev_.nic().io().read64(rm::kRegCtrlCycles);
  s.after_ns = realtime_ns();
  return s;
}

device::DmaBuffer NicCaptureHw::alloc_ring(std::size_t bytes) {
  return dev_.alloc_dma(bytes, "norman-capture");
}

void NicCaptureHw::free_ring(device::DmaBuffer& buf) { dev_.free_dma(buf); }

}  // namespace norman::normand
