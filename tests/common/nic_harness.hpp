// Host-side harness around the verilated nic_core (nsim::CoreModel): a host
// memory that serves the core's DMA per docs/hw-interfaces.md, CSR access and
// the command interface, Ethernet frame injection and capture per port, IRQ
// capture, and the host's side of the RX, TX and notification rings.
//
// Every host-visible number comes from the generated norman/regmap.hpp.
// The harness does not depend on GoogleTest: protocol violations it notices
// (bad DMA beats, unstable valid/ready, out-of-range addresses) are recorded
// in errors() for the caller to check.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core_model.hpp"
#include "norman/regmap.hpp"

namespace norman::test {

namespace rm = norman::regmap;
using Bytes = std::vector<std::uint8_t>;

// A 128-bit address as the core sees it: IPv4 in the low 32 bits, IPv6 with
// its first byte in bit 127.
struct Ip128 {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  bool operator==(const Ip128&) const = default;
};
Ip128 ip128(const std::array<std::uint8_t, 4>& v4);
Ip128 ip128(const std::array<std::uint8_t, 16>& v6);
std::uint64_t mac48(const std::array<std::uint8_t, 6>& mac);

// Flow table key, oriented from the host: local = our address.
struct FlowKey {
  std::uint8_t proto = 0;
  bool is_ipv6 = false;
  Ip128 local_ip{};
  Ip128 remote_ip{};
  std::uint16_t local_port = 0;
  std::uint16_t remote_port = 0;
};

// Every field of a CONN_SET.
struct ConnConfig {
  std::uint16_t conn_id = 0;
  std::uint16_t nq_id = 0;
  std::uint8_t port = 0;
  bool raw = false;
  bool notify_tx = false;
  bool broadcast = false;
  std::uint64_t rx_base = 0;
  std::uint8_t rx_log2 = 0;
  std::uint8_t tx_log2 = 0;
  std::uint64_t tx_desc_base = 0;
  std::uint64_t tx_data_base = 0;
  std::uint32_t pid = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint16_t cmd_id = 0;
  std::uint16_t cgroup = 0;
  std::uint64_t src_mac = 0;
  std::uint8_t proto = 0;
  bool is_ipv6 = false;
  std::uint16_t src_port = 0;
  Ip128 src_ip{};
};

struct CmdResult {
  rm::Status status = rm::Status::kOk;
  std::uint32_t result = 0;
  std::uint64_t raw = 0;  // the whole STATUS register
  [[nodiscard]] std::uint16_t bucket() const { return static_cast<std::uint16_t>(rm::kCmdStatusBucket.get(raw)); }
};

// Host's view of a connection's RX ring.
struct RxRing {
  std::uint16_t conn = 0;
  std::uint64_t base = 0;
  unsigned log2 = 0;
  std::uint32_t cons = 0;  // free-running
};
struct RxFrame {
  std::uint32_t len = 0;
  std::uint32_t flags = 0;
  std::uint16_t seq = 0;
  Bytes data;
};

// Host's view of a connection's TX rings.
struct TxRing {
  std::uint16_t conn = 0;
  std::uint64_t desc_base = 0;
  std::uint64_t data_base = 0;
  unsigned log2 = 0;
  std::uint32_t prod = 0;  // free-running
};

// Host's view of a notification queue.
struct NqRing {
  std::uint16_t id = 0;
  std::uint64_t base = 0;
  unsigned log2 = 0;
  std::uint32_t cons = 0;  // free-running
};
struct Notification {
  std::uint32_t conn = 0;
  std::uint16_t kind = 0;
  std::uint16_t seq = 0;
};

// A connection set up by NicHarness::open_conn: context + rings.
struct ConnHandle {
  ConnConfig cfg;
  RxRing rx;
  TxRing tx;
};

class NicHarness {
 public:
  static constexpr unsigned kNumPorts = nsim::CoreModel::kNumPorts;
  static constexpr unsigned kBeat = nsim::CoreModel::kBeatBytes;

  struct Options {
    std::uint64_t mem_base = 0x1'0000'0000ULL;  // host memory window (above 4 GiB on purpose)
    std::size_t mem_bytes = 32u << 20;
    unsigned rd_latency = 8;          // cycles from read request to first completion beat
    unsigned wr_ready_pct = 100;      // DMA write back-pressure: P(ready) per cycle
    unsigned rd_req_ready_pct = 100;  // DMA read request back-pressure
    unsigned cpl_valid_pct = 100;     // completion beat gaps
    unsigned tx_ready_pct = 100;      // MAC TX back-pressure
    unsigned irq_ready_pct = 100;
    unsigned rx_gap_pct = 0;          // idle cycles inside injected frames
    std::uint64_t seed = 1;
    std::string trace_path;           // FST waveform (needs a TRACE build)
  };

  NicHarness();
  explicit NicHarness(const Options& opt);

  // ------------------------------------------------------------ clock
  void step();
  void run(std::uint64_t cycles);
  // Runs until the core reports idle, no injected frame is pending and no DMA
  // read is outstanding, for a few cycles in a row. False on timeout.
  bool wait_idle(std::uint64_t max_cycles = 200000);
  [[nodiscard]] std::uint64_t cycles() const { return model_.cycles(); }
  Options& options() { return opt_; }

  // ------------------------------------------------------------ host memory
  // Bump allocator inside the memory window.
  std::uint64_t alloc(std::size_t bytes, std::size_t align = 4096);
  void mem_write(std::uint64_t addr, std::span<const std::uint8_t> data);
  void mem_read(std::uint64_t addr, std::span<std::uint8_t> out) const;
  Bytes mem_read(std::uint64_t addr, std::size_t len) const;
  void mem_write64(std::uint64_t addr, std::uint64_t v);
  std::uint64_t mem_read64(std::uint64_t addr) const;
  std::uint32_t mem_read32(std::uint64_t addr) const;
  void mem_fill(std::uint64_t addr, std::size_t len, std::uint8_t v);

  // ------------------------------------------------------------ CSR
  std::uint64_t csr_read(std::uint32_t addr);
  void csr_write(std::uint32_t addr, std::uint64_t value);

  // ------------------------------------------------------------ commands
  // Writes the ARGs (only those given), OP, then polls STATUS until not busy.
  CmdResult command(rm::Op op, const std::map<unsigned, std::uint64_t>& args);
  // Writes OP only (for tests of the busy rule); does not wait.
  void write_op(rm::Op op) { csr_write(rm::kRegCmdOp, static_cast<std::uint64_t>(op)); }
  void write_arg(unsigned idx, std::uint64_t v) { csr_write(rm::kRegCmdArg + idx * rm::kRegCmdArgStride, v); }
  CmdResult read_status();

  // Filter exact tables: the EXACT_DATA words, then a posted EXACT_WRITE
  // (word as the register map has it) or EXACT_MASK of a table.
  void filter_exact_write(const std::array<std::uint64_t, rm::kRegFilterExactDataCount>& data,
                          std::uint64_t word);
  void filter_exact_mask(const std::array<std::uint64_t, rm::kRegFilterExactDataCount>& data,
                         unsigned table);

  rm::Status flow_insert(const FlowKey& key, std::uint16_t conn, bool listen = false);
  rm::Status flow_delete(const FlowKey& key, bool listen = false);
  CmdResult flow_lookup(const FlowKey& key, bool listen = false);
  rm::Status conn_set(const ConnConfig& cfg);
  rm::Status conn_clear(std::uint16_t conn);
  rm::Status nq_set(std::uint16_t nq, std::uint64_t base, unsigned log2, std::uint16_t vector);
  rm::Status nq_clear(std::uint16_t nq);
  // {tx_cons, rx_prod}.
  std::pair<std::uint16_t, std::uint16_t> conn_query(std::uint16_t conn);

  // Allocates RX (and TX) rings and sets the connection. The config's ring
  // fields are filled in; the rest is taken from cfg.
  ConnHandle open_conn(ConnConfig cfg, unsigned rx_log2, unsigned tx_log2 = 4);
  // Allocates and configures a notification queue.
  NqRing open_nq(std::uint16_t nq, unsigned log2, std::uint16_t vector);

  // ------------------------------------------------------------ Ethernet
  // mac_error drives tuser with tlast. junk_tuser drives tuser high on every
  // beat but the last (the MAC's tuser is only meaningful with tlast).
  void inject(unsigned port, const Bytes& frame, bool mac_error = false, bool junk_tuser = false);
  [[nodiscard]] std::size_t rx_pending(unsigned port) const { return rx_q_[port].size(); }
  // Frames sent by the core on a port (removed by take_tx).
  std::deque<Bytes>& tx_frames(unsigned port) { return tx_frames_[port]; }
  std::vector<Bytes> take_tx(unsigned port);

  // ------------------------------------------------------------ IRQ
  std::vector<std::uint32_t>& irqs() { return irqs_; }

  // ------------------------------------------------------------ rings
  // The frame in the ring's next slot, if its trailer's SEQ says it is ready.
  std::optional<RxFrame> rx_peek(const RxRing& ring) const;
  // rx_peek, and advance the host's consumer index (no doorbell).
  std::optional<RxFrame> rx_pop(RxRing& ring);
  // Pops everything ready, then writes the RX_CONS doorbell.
  std::vector<RxFrame> rx_drain(RxRing& ring);
  void rx_doorbell(const RxRing& ring);

  std::optional<Notification> nq_peek(const NqRing& q) const;
  std::optional<Notification> nq_pop(NqRing& q);
  std::vector<Notification> nq_drain(NqRing& q);  // pops all and writes CONS
  void nq_doorbell(const NqRing& q);
  void nq_arm(const NqRing& q);

  // Writes the frame into the next data slot and its descriptor (STATUS
  // PENDING); len overrides the descriptor's LEN. Returns the descriptor index.
  std::uint32_t tx_post(TxRing& ring, const Bytes& frame, std::optional<std::uint16_t> len = std::nullopt);
  void tx_doorbell(const TxRing& ring);
  std::uint64_t tx_desc(const TxRing& ring, std::uint32_t idx) const;
  std::uint32_t tx_status(const TxRing& ring, std::uint32_t idx) const;

  // ------------------------------------------------------------ doorbell addresses
  static std::uint32_t conn_db(std::uint16_t conn, std::uint32_t reg) {
    return static_cast<std::uint32_t>(rm::kConnDbBase + conn * rm::kPageBytes + reg);
  }
  static std::uint32_t nq_db(std::uint16_t nq, std::uint32_t reg) {
    return static_cast<std::uint32_t>(rm::kNqDbBase + nq * rm::kPageBytes + reg);
  }

  // ------------------------------------------------------------ counters
  std::uint64_t counter(rm::Counter c);
  std::array<std::uint64_t, rm::kNumCounters> counters();
  std::map<std::string, std::uint64_t> counters_by_name();
  void clear_counters();
  // Empty if RX_FRAMES == sum of the RX fates and TX_FETCHED == sum of the TX
  // fates; otherwise a description of the mismatch.
  std::string check_balance();
  static std::string format_counters(const std::array<std::uint64_t, rm::kNumCounters>& c);

  // ------------------------------------------------------------ diagnostics
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] std::uint64_t dma_writes() const { return dma_wr_reqs_; }
  [[nodiscard]] std::uint64_t dma_reads() const { return dma_rd_reqs_; }

 private:
  struct RxFrameQ {
    Bytes data;
    bool mac_error = false;
    bool junk_tuser = false;
  };
  struct ReadReq {
    std::uint64_t addr;
    std::uint32_t len;
    std::uint8_t tag;
    std::uint64_t ready_at;
    std::uint32_t sent = 0;  // bytes completed
  };

  bool chance(unsigned pct);
  void error(std::string msg);
  bool in_mem(std::uint64_t addr, std::size_t len) const;
  void drive_inputs();
  void sample_outputs();

  Options opt_;
  nsim::CoreModel model_;
  nsim::CoreModel::In in_{};
  nsim::CoreModel::Out out_{};
  std::mt19937_64 rng_;
  std::vector<std::uint8_t> mem_;
  std::uint64_t alloc_next_ = 0;

  // CSR request presented this cycle (held until accepted).
  bool csr_pending_ = false;
  std::uint32_t csr_rsp_expected_ = 0;
  std::deque<std::uint64_t> csr_rsps_;

  // RX injection.
  std::array<std::deque<RxFrameQ>, kNumPorts> rx_q_;
  std::array<std::size_t, kNumPorts> rx_off_{};
  std::array<std::array<std::uint8_t, kBeat>, kNumPorts> rx_beat_{};

  // TX capture.
  std::array<Bytes, kNumPorts> tx_cur_;
  std::array<std::deque<Bytes>, kNumPorts> tx_frames_;
  std::array<bool, kNumPorts> tx_prev_stalled_{};
  std::array<nsim::CoreModel::Beat, kNumPorts> tx_prev_data_{};

  // DMA write.
  bool wr_in_req_ = false;
  std::uint64_t wr_addr_ = 0;
  std::uint32_t wr_len_ = 0;
  std::uint32_t wr_beat_ = 0;
  bool wr_prev_stalled_ = false;
  std::uint64_t wr_prev_addr_ = 0;
  std::uint64_t dma_wr_reqs_ = 0;

  // DMA read.
  std::deque<ReadReq> rd_q_;
  std::array<std::uint8_t, kBeat> cpl_beat_{};
  bool rd_req_prev_stalled_ = false;
  std::uint64_t rd_req_prev_addr_ = 0;
  std::uint64_t dma_rd_reqs_ = 0;

  std::vector<std::uint32_t> irqs_;
  std::vector<std::string> errors_;
};

}  // namespace norman::test
