// A PCIe link model between the core's DMA ports and host memory.
//
// Bandwidth: one token bucket per direction, in bytes per cycle. Device-to-
// host carries memory-write TLPs (payload + overhead) and read-request TLPs
// (overhead only); host-to-device carries completions (payload + overhead).
// When a direction's bucket is in debt, the matching ready (dma_wr_ready,
// dma_rd_req_ready, completion valid) goes low: back-pressure, so the core
// sees the link as the limit. Writes are split into TLPs at MPS-aligned
// boundaries (which also respects 4 KiB), reads into requests at
// MRRS-aligned boundaries and completions at MPS-aligned boundaries.
//
// Latency: a posted write becomes visible write_latency cycles after its last
// beat; it is applied in address order with a release fence before its final
// 4 bytes. A read's first completion beat is offered read_latency cycles
// after the request, in request order, packed from lane 0, 64 bytes per beat.
// A read is served only after every write accepted before it is visible
// (PCIe ordering: reads do not pass posted writes).
//
// DMA to IOVAs that are not mapped is refused by HostMemory (counted there):
// such a write is dropped, such a read completes with all-ones data.
//
// No Verilator dependency: the caller samples the core's ports each cycle,
// reports the transfers (valid && ready) and then calls tick().
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "host_memory.hpp"

namespace norman::nsim {

struct PcieConfig {
  // Gen3 x16: 8 GT/s x 16 lanes x 128/130 = 15.75 GB/s per direction,
  // 63 bytes per cycle at 250 MHz.
  double d2h_bytes_per_cycle = 63.0;
  double h2d_bytes_per_cycle = 63.0;
  std::uint32_t tlp_overhead = 24;     // framing + header + LCRC + DLLP share, per TLP
  std::uint32_t mps = 256;             // max payload size (power of two, 64..4096)
  std::uint32_t mrrs = 512;            // max read request size (power of two, 64..4096)
  std::uint64_t read_latency = 250;    // cycles: request to first completion beat (~1 us)
  std::uint64_t write_latency = 125;   // cycles: last beat to visible in host memory (~0.5 us)
  // Non-posted requests in flight: 8-bit tags (Extended Tag Field, which
  // Gen3 endpoints enable), as the core's DMA read tags (DmaTagW = 8). At
  // 250 cycles of latency, 100 GbE of 64 B frames needs about 170 reads in
  // flight (0.67 reads per cycle: one per frame, one per 8 descriptors).
  std::uint32_t max_reads_outstanding = 256;
  std::uint32_t max_writes_pending = 512;  // writes in flight to memory
  double burst_bytes = 512.0;          // token bucket depth per direction
};

struct PcieStats {
  std::uint64_t wr_reqs = 0;
  std::uint64_t wr_bytes = 0;
  std::uint64_t wr_tlps = 0;
  std::uint64_t wr_faults = 0;        // writes dropped by the IOMMU
  std::uint64_t rd_reqs = 0;
  std::uint64_t rd_bytes = 0;
  std::uint64_t rd_req_tlps = 0;
  std::uint64_t cpl_tlps = 0;
  std::uint64_t rd_faults = 0;        // reads answered with all ones
  std::uint64_t protocol_errors = 0;  // beats that broke the DMA conventions
  std::uint64_t d2h_bytes = 0;        // link bytes incl. overhead
  std::uint64_t h2d_bytes = 0;
  std::uint64_t wr_stall_cycles = 0;  // the core had a write beat but ready was low
  std::uint64_t rd_stall_cycles = 0;
};

class PcieModel {
 public:
  static constexpr std::uint32_t kBeatBytes = 64;

  PcieModel(const PcieConfig& cfg, HostMemory& mem);

  // What the model offers during the current cycle.
  [[nodiscard]] bool wr_ready() const { return wr_ready_; }
  [[nodiscard]] bool rd_req_ready() const { return rd_ready_; }
  [[nodiscard]] bool cpl_valid() const { return cpl_valid_; }
  [[nodiscard]] const std::uint8_t* cpl_data() const { return cpl_beat_.data(); }
  [[nodiscard]] std::uint8_t cpl_tag() const;
  [[nodiscard]] bool cpl_last() const;

  // Transfers of the current cycle (call only when the handshake happened).
  // data is one 64-byte beat, address-aligned (host byte A in lane A mod 64).
  void wr_beat(std::uint64_t addr, std::uint32_t len, const std::uint8_t* data, bool last);
  void rd_req(std::uint64_t addr, std::uint32_t len, std::uint8_t tag);
  void cpl_taken();
  // The core had valid requests this cycle (for stall accounting).
  void note_valid(bool wr_valid, bool rd_valid) {
    stats_.wr_stall_cycles += (wr_valid && !wr_ready_) ? 1 : 0;
    stats_.rd_stall_cycles += (rd_valid && !rd_ready_) ? 1 : 0;
  }

  // Ends the cycle: refills the buckets, makes due writes visible, prepares
  // the next completion beat.
  void tick();

  // The device was reset: transfers in flight are dropped (a write not yet
  // visible is never applied, a read never completes), as after a
  // function-level reset. Statistics are kept.
  void reset();

  // Nothing assembling, in flight or waiting to complete.
  [[nodiscard]] bool idle() const { return !wr_open_ && writes_.empty() && reads_.empty(); }
  [[nodiscard]] std::uint64_t now() const { return now_; }
  [[nodiscard]] const PcieStats& stats() const { return stats_; }
  [[nodiscard]] const PcieConfig& config() const { return cfg_; }

  // TLPs a transfer of [addr, addr + len) splits into at `boundary`-aligned addresses.
  static std::uint64_t tlp_count(std::uint64_t addr, std::uint64_t len, std::uint32_t boundary);

 private:
  struct PendingWrite {
    std::uint64_t due;
    std::uint64_t seq;
    std::uint64_t addr;
    std::vector<std::uint8_t> data;
  };
  struct PendingRead {
    std::uint64_t due;
    std::uint64_t writes_before;  // writes accepted before this read (by seq)
    std::uint64_t addr;
    std::uint32_t len;
    std::uint8_t tag;
    bool fetched = false;
    std::uint32_t next_beat = 0;
    std::vector<std::uint8_t> data;
  };

  void apply_writes_until(std::uint64_t seq_limit, std::uint64_t due_limit);
  void update_ready();
  void prepare_cpl();

  PcieConfig cfg_;
  HostMemory& mem_;
  std::uint64_t now_ = 0;
  double d2h_tokens_;
  double h2d_tokens_;

  // The write being assembled.
  bool wr_open_ = false;
  std::uint64_t wr_addr_ = 0;
  std::uint32_t wr_len_ = 0;
  std::uint32_t wr_beats_seen_ = 0;
  std::uint32_t wr_beats_expected_ = 0;
  bool wr_broken_ = false;
  std::vector<std::uint8_t> wr_buf_;

  std::uint64_t write_seq_ = 0;  // writes accepted so far
  std::deque<PendingWrite> writes_;
  std::deque<PendingRead> reads_;

  bool wr_ready_ = true;
  bool rd_ready_ = true;
  bool cpl_valid_ = false;
  std::array<std::uint8_t, kBeatBytes> cpl_beat_{};

  PcieStats stats_;
};

}  // namespace norman::nsim
