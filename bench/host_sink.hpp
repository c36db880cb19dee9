// Host side of the dataplane benchmark: consumes the core's DMA writes beat
// by beat, checks every RX slot write (address, trailer LEN/SEQ, slot index)
// and every notification entry, and decides when the host rings RX_CONS and
// NQ CONS doorbells (in batches, after a modeled host delay).
//
// Writes are reassembled from the address-aligned beats (docs/hw-interfaces.md,
// "DMA conventions"); when a HostMemory is given they are also applied to it.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "host_memory.hpp"

namespace norman::bench {

struct SinkConfig {
  std::uint64_t nq_base = 0;
  std::uint32_t nq_log2 = 15;
  std::uint32_t nq_batch = 1024;         // NQ CONS doorbell every nq_batch entries
  std::uint64_t ring_base = 0;           // conn c's ring at ring_base + c * ring_bytes()
  std::uint32_t rx_log2 = 12;
  std::uint32_t batch = 2048;            // RX_CONS doorbell when this many slots are unreturned
  std::uint64_t doorbell_delay = 0;      // cycles from write acceptance to the doorbell reaching the core
  [[nodiscard]] std::uint64_t ring_bytes() const { return std::uint64_t{2048} << rx_log2; }
};

struct Doorbell {
  std::uint64_t due;
  std::uint32_t addr;
  std::uint64_t value;
};

// A completed RX slot write.
struct Delivery {
  bool valid = false;
  std::uint32_t conn = 0;
  std::uint32_t len = 0;       // frame bytes (trailer LEN)
  std::uint64_t frame_id = 0;  // from the frame's payload (offset 42, little-endian)
  const std::uint8_t* frame = nullptr;  // the frame's bytes as written
};

class HostSink {
 public:
  static constexpr unsigned kMaxConns = 65536;
  static constexpr std::uint32_t kIdOffset = 42;  // Eth + IPv4 + UDP headers

  explicit HostSink(const SinkConfig& cfg, nsim::HostMemory* mem = nullptr);

  // One accepted DMA write beat. Returns a Delivery when it completes an RX slot write.
  Delivery beat(std::uint64_t cycle, std::uint64_t addr, std::uint32_t len, const std::uint8_t* data, bool last);

  // Doorbells due at or before `cycle` (oldest first); the caller issues one per cycle.
  std::deque<Doorbell>& doorbells() { return doorbells_; }

  // Whether HostMemory gets the writes (the PCIe model applies them itself).
  void set_apply(bool apply) { apply_ = apply && mem_ != nullptr; }
  void set_delay(std::uint64_t cycles) { cfg_.doorbell_delay = cycles; }

  [[nodiscard]] std::uint64_t writes() const { return writes_; }
  [[nodiscard]] std::uint64_t slot_writes() const { return slot_writes_; }
  [[nodiscard]] std::uint64_t nq_entries() const { return nq_seen_; }
  [[nodiscard]] std::uint64_t rx_doorbells() const { return rx_doorbells_; }
  [[nodiscard]] std::uint64_t nq_doorbells() const { return nq_doorbells_; }
  [[nodiscard]] std::uint64_t trailers_checked() const { return slot_writes_; }
  [[nodiscard]] std::uint64_t errors() const { return errors_; }
  [[nodiscard]] const std::vector<std::string>& messages() const { return messages_; }
  [[nodiscard]] std::uint32_t seen(std::uint32_t conn) const { return seen_[conn]; }
  [[nodiscard]] const SinkConfig& config() const { return cfg_; }
  void error(const std::string& msg);

 private:
  void finish_write(std::uint64_t cycle, Delivery& d);

  SinkConfig cfg_;
  nsim::HostMemory* mem_;
  bool apply_ = false;

  // The write being reassembled.
  bool open_ = false;
  std::uint64_t w_addr_ = 0;
  std::uint32_t w_len_ = 0;
  std::uint32_t w_beat_ = 0;
  std::vector<std::uint8_t> buf_;

  std::vector<std::uint32_t> seen_;      // slots written per connection (free-running)
  std::vector<std::uint32_t> returned_;  // last RX_CONS value sent per connection
  std::uint64_t nq_seen_ = 0;
  std::uint64_t nq_returned_ = 0;

  std::deque<Doorbell> doorbells_;
  std::uint64_t writes_ = 0;
  std::uint64_t slot_writes_ = 0;
  std::uint64_t rx_doorbells_ = 0;
  std::uint64_t nq_doorbells_ = 0;
  std::uint64_t errors_ = 0;
  std::vector<std::string> messages_;
};

}  // namespace norman::bench
