// The control plane's view of nsim: handles one control request at a time
// (HELLO, MAP_DMA, ..., SHUTDOWN) against the device state. No sockets here
// (see control_server), no Verilator, no DPDK: unit-testable.
#pragma once

#include <cstdint>
#include <functional>
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

  // client: an id of the control connection the request came on. Privileged
  // channels belong to it and are closed by client_closed().
  Reply handle(wire::Message& req, std::uint64_t client = 0);
  void client_closed(std::uint64_t client);

  [[nodiscard]] bool shutdown_requested() const { return shutdown_; }

 private:
  Info info_;
  HostMemory& mem_;
  MmioHub& hub_;
  IrqTable& irqs_;
  std::function<void(proto::StatsRsp&)> fill_stats_;
  std::function<std::uint64_t()> cycles_;
  bool shutdown_ = false;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> owned_;  // (client, privileged channel)
};

}  // namespace norman::nsim
