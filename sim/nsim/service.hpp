// The control plane's view of nsim: handles one control request at a time
// (HELLO, MAP_DMA, ..., SHUTDOWN) against the device state. No sockets here
// (see control_server), no Verilator, no DPDK: unit-testable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "host_memory.hpp"
#include "irq_table.hpp"
#include "mmio_hub.hpp"
#include "nsim_proto.hpp"
#include "unique_fd.hpp"
#include "wire.hpp"

namespace norman::nsim {

struct Reply {
  proto::MsgHeader hdr{};
  std::vector<std::uint8_t> payload;
  UniqueFd fd;  // attached as SCM_RIGHTS if valid
};

class NsimService {
 public:
  struct Info {
    std::uint32_t num_ports = 2;
    std::uint64_t clock_hz = 250000000;
  };
  // fill_stats: completes the counters the service does not own (cycles,
  // ports, DMA); may be empty.
  NsimService(Info info, HostMemory& mem, MmioHub& hub, IrqTable& irqs,
              std::function<void(proto::StatsRsp&)> fill_stats,
              std::function<std::uint64_t()> cycles);

  // client: an id of the control connection the request came on (0: none,
  // for tests). What a connection creates belongs to it, as a VFIO
  // container's mappings belong to its file: client_closed() unmaps its DMA
  // regions, closes its MMIO channels (privileged and app) and unregisters
  // its interrupt vectors. A control plane that dies (SIGKILL) thus leaves
  // nothing behind that a new one would collide with.
  Reply handle(wire::Message& req, std::uint64_t client = 0);
  void client_closed(std::uint64_t client);

  // Called from client_closed() when the last connection that opened a
  // privileged channel (the NIC's driver) is gone: the device should reset
  // itself (a function-level reset), so that no context, flow or filter of
  // the dead driver's session survives into the next one.
  void on_driver_gone(std::function<void()> fn) { driver_gone_ = std::move(fn); }

  [[nodiscard]] bool shutdown_requested() const { return shutdown_; }

 private:
  Info info_;
  HostMemory& mem_;
  MmioHub& hub_;
  IrqTable& irqs_;
  std::function<void(proto::StatsRsp&)> fill_stats_;
  std::function<std::uint64_t()> cycles_;
  bool shutdown_ = false;
  // What each control connection created (client ids; 0 is never recorded).
  std::map<std::uint32_t, std::uint64_t> channel_owner_;  // channel id -> client
  std::set<std::uint64_t> drivers_;  // connections that opened a privileged channel
  std::map<std::uint64_t, std::uint64_t> dma_owner_;  // iova -> client
  std::map<std::uint32_t, std::uint64_t> irq_owner_;  // vector -> client
  std::function<void()> driver_gone_;
};

}  // namespace norman::nsim
