// Ethernet ports as DPDK ethdevs (virtual devices from --vdev devargs, e.g.
// net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap / net_tap0,iface=ntap0 /
// net_memif0,role=server,socket=/tmp/x.sock / net_null0). All DPDK use is in
// eth_ports.cpp; this interface has no DPDK types.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace norman::nsim {

struct EthPortsConfig {
  std::vector<std::string> ports;       // devargs per nsim port, in port order
  std::string file_prefix;              // unique per nsim instance
  std::string log_level = "warning";   // DPDK EAL --log-level
  std::vector<std::string> extra_eal;   // appended to the EAL arguments
  unsigned mem_mb = 128;
};

struct EthPortCounters {
  std::uint64_t rx_drops = 0;  // imissed + ierrors + rx_nombuf
  std::uint64_t tx_errors = 0; // oerrors
  std::uint64_t tx_drops = 0;  // refused by the driver (ring full) or no mbuf / too big
};

class EthPorts {
 public:
  // Initializes the EAL (once per process) and starts every port.
  // Throws std::runtime_error with DPDK's reason.
  explicit EthPorts(const EthPortsConfig& cfg);
  ~EthPorts();  // stops and closes the ports (pcap files are flushed), cleans up the EAL
  EthPorts(const EthPorts&) = delete;
  EthPorts& operator=(const EthPorts&) = delete;

  [[nodiscard]] unsigned size() const;
  [[nodiscard]] const std::string& name(unsigned port) const;

  // Receives up to `max` frames (without FCS) from `port`, appending them to
  // `out`. Returns the number received.
  unsigned rx(unsigned port, unsigned max, std::vector<std::vector<std::uint8_t>>& out);
  // Queues a frame for transmission; false (and counted) if it could not be
  // queued (no mbuf, too big). Queued frames leave in batches and at flush();
  // frames the driver refuses are dropped and counted.
  bool tx(unsigned port, const std::uint8_t* data, std::size_t len);
  void flush();
  [[nodiscard]] EthPortCounters counters(unsigned port) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace norman::nsim
