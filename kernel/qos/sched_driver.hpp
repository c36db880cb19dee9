// Driver of the NIC's TX scheduler overlay (the SCHED register block,
// docs/qos.md): programs a class tree given as qos::HtbClassSpec into both
// configuration banks, maps connections to leaves, changes classes
// atomically (shadow bank, commit, shadow again) and reads per-class
// counters without stopping traffic. Register access goes through
// device::RegisterIo (nsim's MMIO channel, a PCIe BAR, or a test harness).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "htb_layout.hpp"
#include "htb_model.hpp"
#include "nic_device.hpp"

namespace norman::qos {

struct SchedGeometry {
  unsigned classes = 0;  // per tree depth
  unsigned leaves = 0;
  unsigned depths = 0;
  unsigned frac_bits = 0;
};

struct SchedClassStats {
  std::uint64_t bytes = 0, packets = 0;
  std::int64_t tokens = 0, ctokens = 0;  // 2^-frac_bits bytes
};

class SchedDriver {
 public:
  // Reads the geometry; throws std::runtime_error if the block is missing.
  explicit SchedDriver(device::RegisterIo& csr);

  [[nodiscard]] const SchedGeometry& geometry() const { return geo_; }
  // Model parameters matching the hardware (sweep period, depth).
  [[nodiscard]] HtbParams params(std::optional<std::uint32_t> default_class = std::nullopt) const;

  // Writes the tree into both configuration banks (active from the first
  // commit on), fills every class's buckets, clears its counters, and sets
  // the default leaf (htb default; leaf 0 when the tree has none). Returns
  // where each class and leaf lives. Throws std::invalid_argument for a tree
  // the hardware cannot hold, std::runtime_error if the NIC stops answering.
  HtbLayout program(HtbModel& model);

  // Changes the configuration of classes already laid out (rates, bursts;
  // leaves' prio and quantum) in one commit; tokens and counters are kept.
  void update(HtbModel& model, const HtbLayout& current);

  void enable(bool on);
  void map(std::uint16_t conn, unsigned leaf);
  void unmap(std::uint16_t conn);
  SchedClassStats stats(const HwClass& cls);
  [[nodiscard]] std::uint64_t held();
  [[nodiscard]] std::uint64_t grants();
  [[nodiscard]] std::uint64_t refused();

 private:
  void wait_idle();  // STATUS.BUSY and MAP_CLEARING low
  void write_class(const HwClass& c);
  void write_leaf(const HwLeaf& l);
  void write_banks(const HtbLayout& lay);
  void commit();
  device::RegisterIo& csr_;
  SchedGeometry geo_;
};

}  // namespace norman::qos
