// The fallback path: frames that match no bypass connection arrive in the
// NIC's fallback connection (conn 0) and are written into nic0 for the host
// kernel; frames the kernel sends on nic0 go out through conn 0's TX ring
// (raw: the NIC does not check their headers, they come from the kernel).
//
// Reserved for the bridge: connection 0, notification queue 0, interrupt
// vector 0. normand allocates everything else from 1.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <vector>

#include "device.hpp"
#include "tap_device.hpp"

namespace norman::normand {

struct FallbackStats {
  std::uint64_t to_kernel_frames = 0;  // fallback ring -> nic0
  std::uint64_t to_kernel_bytes = 0;
  std::uint64_t to_kernel_malformed =
      0;  // of those, flagged MALFORMED by the NIC (the kernel drops and counts them)
  std::uint64_t from_kernel_frames = 0;  // nic0 -> NIC TX
  std::uint64_t from_kernel_bytes = 0;
  // Every frame lost on the way has a reason:
  std::uint64_t drop_tap_write = 0;     // the kernel refused or had no room (EAGAIN/ENOBUFS...)
  std::uint64_t drop_tx_ring_full = 0;  // kernel sent faster than the NIC drained conn 0's TX ring
  std::uint64_t drop_too_big = 0;       // kernel frame larger than a TX slot / the NIC's maximum
  std::uint64_t tx_failed = 0;  // NIC completed the descriptor with a status other than SENT
  // Frames the filter REJECTed on INPUT (REJECT flag): never given to the kernel.
  std::uint64_t rejects_answered = 0;  // an ICMP error or TCP reset went out
  std::uint64_t rejects_unanswered =
      0;  // no answer is due (e.g. a reset to a reset) or the rule is gone
};

class FallbackBridge {
 public:
  // Allocates conn 0's rings and NQ 0 with dev.alloc_dma, configures them
  // on the NIC (conn 0 raw on NIC port `port`, NQ 0 on vector 0 with an
  // eventfd bound through dev.bind_irq). It does not touch CTRL.ENABLE:
  // normand enables RX and TX once the filter policy is installed.
  FallbackBridge(boost::asio::io_context& io, device::Device& dev, TapDevice& tap, unsigned port);
  // Clears conn 0 and NQ 0 on the NIC and frees their memory. Run it on
  // io's thread or with io stopped (it uses dev.nic(), like the handlers).
  ~FallbackBridge();
  FallbackBridge(const FallbackBridge&) = delete;
  FallbackBridge& operator=(const FallbackBridge&) = delete;

  // Starts moving frames (asynchronously, on io): interrupt-driven from the
  // NIC side (no polling while idle), readiness-driven from the TAP side.
  void start();

  // Answers to frames the filter REJECTed on INPUT: given the frame, the
  // reply to send (nullopt: none). Set before start(); runs on io's thread.
  using RejectHandler =
      std::function<std::optional<std::vector<std::uint8_t>>(std::span<const std::uint8_t>)>;
  void on_reject(RejectHandler fn);

  // Safe from any thread (the counters are atomics).
  [[nodiscard]] FallbackStats stats() const;
  [[nodiscard]] nlohmann::json status() const;  // stats as JSON for normand's status op

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace norman::normand
