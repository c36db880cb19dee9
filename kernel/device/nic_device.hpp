// The NIC as the control plane sees it: register reads and writes through
// some transport (nsim's MMIO channel, or a PCIe BAR mapped through
// vfio-pci), and the command interface built on top of them. Every number
// comes from the generated register map.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "norman/regmap.hpp"

namespace norman::device {

// A register transport. Implementations: nsim's MmioChannel (sim backend),
// BAR 0 mapped through vfio-pci (pci/pci_device.hpp).
class RegisterIo {
 public:
  virtual ~RegisterIo() = default;
  virtual std::uint64_t read64(std::uint32_t addr) = 0;
  virtual void write64(std::uint32_t addr, std::uint64_t value) = 0;
};

// A command the NIC refused: carries the NIC's status code.
class CommandError : public std::runtime_error {
 public:
  CommandError(const std::string& what, regmap::Status status)
      : std::runtime_error(what), status_(status) {}
  [[nodiscard]] regmap::Status status() const { return status_; }

 private:
  regmap::Status status_;
};

struct FlowKey {
  std::uint8_t proto = 17;
  bool is_ipv6 = false;
  std::array<std::uint8_t, 16> local_ip{};  // IPv4: first 4 bytes, network order
  std::array<std::uint8_t, 16> remote_ip{};
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
};

struct Owner {
  std::uint32_t pid = 0, uid = 0, gid = 0;
  std::uint16_t cmd_id = 0, cgroup = 0;
};

struct ConnConfig {
  std::uint16_t conn_id = 0;
  std::uint16_t nq_id = 0;
  std::uint8_t port = 0;
  bool raw = false;
  bool notify_tx = false;
  bool broadcast = false;  // may send to 255.255.255.255 and the port's broadcast address
  std::uint64_t rx_base = 0;
  unsigned rx_log2 = 0;
  std::uint64_t tx_desc_base = 0;
  std::uint64_t tx_data_base = 0;
  unsigned tx_log2 = 0;
  Owner owner;
  // What the connection's frames must carry (unless raw).
  std::array<std::uint8_t, 6> src_mac{};
  std::uint8_t proto = 17;
  bool is_ipv6 = false;
  std::uint16_t src_port = 0;
  std::array<std::uint8_t, 16> src_ip{};
};

struct NqConfig {
  std::uint16_t nq_id = 0;
  std::uint16_t vector = 0;
  unsigned log2 = 0;
  std::uint64_t base = 0;
};

class NicDevice {
 public:
  explicit NicDevice(RegisterIo& io) : io_(io) {}

  // Checks MAGIC and BUILD_ID; throws std::runtime_error naming both values
  // on a mismatch (software and NIC built from different register maps).
  void check_identity();

  void flow_insert(const FlowKey& key, std::uint16_t conn_id, bool listen);
  void flow_delete(const FlowKey& key, bool listen);
  std::uint16_t flow_lookup(const FlowKey& key, bool listen);
  // Both drain the connection's TX work in flight before they complete, so
  // its rings may be freed afterwards; CommandError with Status::kBusy if it
  // did not drain in time (the context is then invalid: call again later).
  void conn_set(const ConnConfig& c);
  void conn_clear(std::uint16_t conn_id);
  // CONN_TX_STATE: the accepted producer and the completed consumer index;
  // TX is in flight exactly when they differ.
  struct TxState {
    std::uint16_t prod = 0;
    std::uint16_t cons = 0;
    [[nodiscard]] bool idle() const { return prod == cons; }
  };
  TxState conn_tx_state(std::uint16_t conn_id);
  // CTRL.PORT_MAC / PORT_BCAST: the port's MAC and promiscuous mode (RX
  // accepts only its MAC, broadcast and multicast unless promiscuous), and
  // its IPv4 directed broadcast address (0: none).
  void set_port_mac(unsigned port, const std::array<std::uint8_t, 6>& mac, bool promisc);
  void set_port_promisc(unsigned port, bool promisc);
  void set_port_broadcast(unsigned port, std::uint32_t ipv4_host_order);
  void nq_set(const NqConfig& q);
  void nq_clear(std::uint16_t nq_id);

  // Filter overlay (nfw). filter_write takes FILTER_WRITE's arguments as
  // norman::filter::encode_write builds them and writes the SHADOW bank;
  // filter_commit makes it active and returns once the old bank is idle
  // (result: the new epoch).
  void filter_write(const std::uint64_t* args, std::size_t count);
  std::uint64_t filter_commit();
  void filter_counter_clear(std::uint16_t slot);
  struct FilterHits {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
  };
  // lookup_port 0: INPUT (receive), 1: OUTPUT (transmit).
  FilterHits filter_counter(std::uint16_t slot, unsigned lookup_port);
  std::uint64_t filter_capacity() { return io_.read64(regmap::kRegFilterEntries); }
  std::uint64_t filter_epoch() { return io_.read64(regmap::kRegFilterEpoch); }
  // Exact tables: posted register writes (no command round trip), so a
  // large table streams at the link's write rate. EXACT_DATA words equal to
  // what was last written are skipped: consecutive entries of a table
  // usually differ in a word or two.
  std::uint64_t filter_exact_geometry() { return io_.read64(regmap::kRegFilterExact); }
  void filter_exact_data(const std::array<std::uint64_t, regmap::kRegFilterExactDataCount>& words);
  void filter_exact_write(std::uint64_t word) { io_.write64(regmap::kRegFilterExactWrite, word); }
  void filter_exact_mask(unsigned table) { io_.write64(regmap::kRegFilterExactMask, table); }

  std::uint64_t counter(regmap::Counter c);
  void write_doorbell(std::uint32_t page_base, std::uint32_t offset, std::uint64_t value) {
    io_.write64(page_base + offset, value);
  }
  RegisterIo& io() { return io_; }

 private:
  std::array<std::uint64_t, regmap::kRegFilterExactDataCount> exact_data_{};
  bool exact_data_known_ = false;
  // Writes the arguments, starts the command, waits for it; returns STATUS.
  // Only the first nargs arguments are written (the rest keep old values).
  std::uint64_t run(regmap::Op op, const std::array<std::uint64_t, 16>& args, const char* what,
                    unsigned nargs = 16);
  static void set_key(std::array<std::uint64_t, 16>& args, const FlowKey& key);

  RegisterIo& io_;
};

}  // namespace norman::device
