// nic_tx_bench: TX dataplane benchmark of the verilated nic_core.
//
// The host side keeps every connection's TX descriptor ring full: it writes
// PENDING descriptors, rings TX_PROD doorbells (one CSR write per cycle, after
// a modeled host delay), and learns completions from the descriptor
// write-backs on the DMA write port. The core fetches descriptors and frames
// by DMA read through the PCIe link model and sends the frames on eth_tx,
// where a MAC model takes them back to back or at 100GbE line rate. Measured:
// packets per cycle from the host's TX rings to the wire, and the simulator's
// own speed (cycles per second, idle and under this traffic). Prints one JSON
// document on stdout; progress goes to stderr. See bench/README.md.
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core_model.hpp"
#include "csr_access.hpp"
#include "host_memory.hpp"
#include "norman/regmap.hpp"
#include "pcie_model.hpp"
#include "pktgen.hpp"
#include "sched_driver.hpp"

namespace {

namespace rm = norman::regmap;
namespace pg = norman::pktgen;
using norman::nsim::CoreModel;
using norman::nsim::HostMemory;
using norman::nsim::PcieConfig;
using norman::nsim::PcieModel;
using json = nlohmann::ordered_json;
using WallClock = std::chrono::steady_clock;

// CPU time of this thread: on a shared machine the wall clock also counts
// the time other processes held the CPU, so speeds are given per CPU second too.
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr double kClockHz = static_cast<double>(rm::kClockHz);
constexpr double kLineRateBps = 100e9;
constexpr double kLineBytesPerCycle = kLineRateBps / 8.0 / kClockHz;  // 50 bytes per cycle
constexpr unsigned kFcsBytes = 4;
constexpr unsigned kPreambleIfgBytes = 20;
constexpr std::uint64_t kDescBase =
    0x30'0000'0000ULL;  // conn c's ring at kDescBase + c * ring bytes
constexpr std::uint64_t kDataBase = 0x40'0000'0000ULL;  // one data area shared by every connection
constexpr std::uint64_t kRxBase = 0x50'0000'0000ULL;    // unmapped: no frame is received
constexpr std::uint16_t kSrcPort = 5000;
constexpr std::uint16_t kDstPort = 4000;
constexpr std::uint64_t kSrcMac = 0x020000000001ULL;
constexpr std::uint32_t kSrcIp = 0x0A000001;  // 10.0.0.1

struct Options {
  std::vector<unsigned> sizes{64, 1518};
  std::vector<unsigned> conns{1, 1024, 65536};
  std::vector<std::string> pacing{"b2b", "line"};
  std::vector<std::string> pcie{"ideal", "gen3x16"};
  unsigned ports = 1;
  std::uint64_t frames = 0;  // measured frames per point (0: beat budget / beats per frame)
  std::uint64_t beat_budget = 20000;
  int tx_log2 = -1;
  std::uint64_t mmio_latency = 125;
  std::uint64_t idle_cycles = 20000;
  bool quick = false;
  std::vector<std::string> sched{"off"};
};

// The ring size by connection count: deep for a few connections, shallow
// when 64K rings must fit in memory (64K x 16 descriptors = 8 MiB).
unsigned default_log2(unsigned conns) {
  // One connection at 64 B line rate keeps ~350 descriptors in the NIC and
  // ~300 more in the host's completion-to-doorbell loop; half-ring doorbells
  // then need more than 1,024 slots.
  if (conns == 1) return 12;
  if (conns <= 16) return 10;
  if (conns <= 4096) return 6;
  return 4;
}

// One UDP frame from the connections' common source (every connection has
// the same source context, so the same bytes pass the spoof check for all).
pg::Bytes make_frame(unsigned wire_bytes) {
  pg::Eth eth(pg::mac("02:00:00:00:00:02"), pg::mac("02:00:00:00:00:01"));
  pg::Ipv4 ip(pg::ipv4("10.0.0.1"), pg::ipv4("10.1.0.1"));
  pg::Udp udp(kSrcPort, kDstPort);
  std::size_t hdr = pg::kEthHeaderBytes + pg::kIpv4HeaderBytes + pg::kUdpHeaderBytes;
  return pg::ip_frame(eth, ip, udp, pg::pattern(wire_bytes - kFcsBytes - hdr));
}

struct PointCfg {
  unsigned wire_bytes;
  bool line_rate;
  bool gen3;
  std::uint64_t warmup;
  std::uint64_t measured;
};

class TxBench {
 public:
  TxBench(const Options& opt, unsigned conns) : opt_(opt), conns_(conns) {
    log2_ = opt.tx_log2 >= 0 ? static_cast<unsigned>(opt.tx_log2) : default_log2(conns);
    ring_ = 1U << log2_;
    batch_ = std::max(1U, ring_ / 2);
    ring_bytes_ = std::uint64_t{rm::tx_desc::kDescBytes} << log2_;
    int fd = ::memfd_create("nic_tx_bench", MFD_ALLOW_SEALING);
    const std::uint64_t desc_bytes = (ring_bytes_ * conns + 4095) / 4096 * 4096;
    const std::uint64_t data_bytes = std::uint64_t{rm::tx_desc::kSlotBytes} << log2_;
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(desc_bytes + data_bytes)) != 0 ||
        ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
      throw std::runtime_error("memfd setup failed");
    }
    std::string why;
    if (mem_.map(fd, kDescBase, desc_bytes, 0, why) != 0 ||
        mem_.map(fd, kDataBase, data_bytes, desc_bytes, why) != 0) {
      throw std::runtime_error("host memory map failed: " + why);
    }
    ::close(fd);
    prod_.assign(conns, 0);
    done_.assign(conns, 0);
    rung_.assign(conns, 0);
    core_.reset();
  }

  // ---------------------------------------------------------------- CSR
  void cmd(rm::Op op, const char* what) {
    rm::Status s = csr_.cmd(op, what);
    if (s != rm::Status::kOk)
      throw std::runtime_error(std::string(what) + ": " + std::string(rm::status_name(s)));
  }

  // Contexts 0..conns-1 with TX rings, all with the same source (UDP from
  // 10.0.0.1:5000, MAC 02:00:00:00:00:01), spread over the ports.
  void configure() {
    auto t0 = WallClock::now();
    const std::uint64_t c0 = core_.cycles();
    if (csr_.read(rm::kRegIdMagic) != rm::kMagic || csr_.read(rm::kRegIdBuildId) != rm::kBuildId) {
      throw std::runtime_error("ID block mismatch");
    }
    namespace cf = rm::conn;
    std::array<std::uint64_t, 11> a{};
    auto put = [&](const rm::Field& f, std::uint64_t v) { f.set(a[f.arg], v); };
    put(cf::kRxBase, kRxBase);
    put(cf::kRxLog2, 0);
    put(cf::kTxLog2, log2_);
    put(cf::kTxDataBase, kDataBase);
    put(cf::kSrcMac, kSrcMac);
    put(cf::kProto, pg::ipproto::kUdp);
    put(cf::kSrcPort, kSrcPort);
    put(cf::kSrcIpLo, kSrcIp);
    for (unsigned i = 1; i < a.size(); ++i) csr_.arg(i, a[i]);
    for (std::uint32_t c = 0; c < conns_; ++c) {
      std::uint64_t w0 = a[0];
      cf::kConnId.set(w0, c);
      cf::kPort.set(w0, c % opt_.ports);
      csr_.arg(0, w0);
      csr_.arg(cf::kTxDescBase.arg, kDescBase + c * ring_bytes_);
      cmd(rm::Op::kConnSet, "CONN_SET");
    }
    setup_cycles_ = core_.cycles() - c0;
    setup_wall_s_ = std::chrono::duration<double>(WallClock::now() - t0).count();
  }

  // The TX scheduler (SCHED block): "on" programs one class at 100 Gbit/s
  // (rate = ceil, every connection in it as the default class) and enables
  // it, so a point measures what scheduling costs the engine; "off"
  // disables it (the default after reset).
  void set_sched(bool on) {
    struct Csr : norman::device::RegisterIo {
      explicit Csr(norman::bench::CsrAccess& c) : c_(c) {}
      std::uint64_t read64(std::uint32_t a) override { return c_.read(a); }
      void write64(std::uint32_t a, std::uint64_t v) override { c_.write(a, v); }
      norman::bench::CsrAccess& c_;
    } csr(csr_);
    norman::qos::SchedDriver drv(csr);
    if (on && !sched_programmed_) {
      norman::qos::HtbClassSpec root, leaf;
      root.id = 1;
      root.rate = root.ceil = static_cast<std::uint64_t>(kLineRateBps / 8);
      root.burst = root.cburst = 64 * 1024;
      leaf = root;
      leaf.id = 10;
      leaf.parent = 1;
      leaf.quantum = 8 * 1514;
      norman::qos::HtbModel m({root, leaf}, drv.params(10));
      (void)drv.program(m);
      sched_programmed_ = true;
    }
    drv.enable(on);
    sched_on_ = on;
  }

  // The simulator's speed with nothing in flight (every cycle stepped).
  json idle_speed(std::uint64_t cycles) {
    auto t0 = WallClock::now();
    double c0 = cpu_seconds();
    for (std::uint64_t i = 0; i < cycles; ++i) step_quiet();
    double cpu = cpu_seconds() - c0;
    double wall = std::chrono::duration<double>(WallClock::now() - t0).count();
    return json{{"cycles", cycles},
                {"wall_s", wall},
                {"cpu_s", cpu},
                {"cycles_per_s", static_cast<double>(cycles) / wall},
                {"cycles_per_cpu_s", static_cast<double>(cycles) / cpu}};
  }

  json setup_info() const {
    return json{{"conns", conns_},
                {"tx_ring_log2", log2_},
                {"doorbell_batch", batch_},
                {"setup_cycles", setup_cycles_},
                {"setup_wall_s", setup_wall_s_}};
  }

  json run_point(const PointCfg& pc);

 private:
  struct HostEvent {
    std::uint64_t due;
    std::uint32_t conn;
    std::uint32_t count;  // descriptors completed
  };

  // Writes descriptors until the ring is full or the connection's share of
  // the point's frames is posted.
  void post(std::uint32_t c) {
    std::uint32_t& left = left_[c];
    std::uint64_t d = 0;
    rm::tx_desc::kLen.set(d, frame_len_);
    rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusPending);
    while (left > 0 && prod_[c] - done_[c] < ring_) {
      std::uint32_t idx = prod_[c] & (ring_ - 1);
      rm::tx_desc::kSeq.set(d, (prod_[c] + 1) & 0xFFFF);
      std::uint8_t b[8];
      std::memcpy(b, &d, 8);
      if (!mem_.dma_write(kDescBase + c * ring_bytes_ + idx * rm::tx_desc::kDescBytes, b, 8)) {
        throw std::runtime_error("descriptor write outside host memory");
      }
      ++prod_[c];
      --left;
    }
  }
  // TX_PROD when a batch is posted, or when the NIC has nothing else of this
  // connection (so a short tail is not held back).
  void maybe_ring(std::uint32_t c, std::uint64_t now, std::uint64_t delay) {
    if (prod_[c] != rung_[c] && (prod_[c] - rung_[c] >= batch_ || rung_[c] == done_[c])) {
      doorbells_.push_back({now + delay, c, prod_[c]});
      rung_[c] = prod_[c];
    }
  }
  void step_quiet() {
    for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) {
      in_.rx_valid[p] = false;
      in_.tx_ready[p] = true;
    }
    in_.dma_wr_ready = true;
    in_.dma_rd_req_ready = false;
    in_.cpl_valid = false;
    core_.step(in_, out_);
    if (out_.dma_wr_valid || out_.dma_rd_req_valid) {
      errors_.push_back("DMA outside a measured point");
    }
  }

  struct Doorbell {
    std::uint64_t due;
    std::uint32_t conn;
    std::uint32_t value;
  };

  const Options& opt_;
  unsigned conns_;
  unsigned log2_ = 4;
  std::uint32_t ring_ = 16;
  std::uint32_t batch_ = 8;
  std::uint64_t ring_bytes_ = 0;
  std::uint32_t frame_len_ = 0;
  HostMemory mem_;
  CoreModel core_;
  CoreModel::In in_{};
  CoreModel::Out out_{};
  norman::bench::CsrAccess csr_{in_, out_, [this] { step_quiet(); }};
  std::vector<std::uint32_t> prod_, done_, rung_;  // free-running, per connection
  std::vector<std::uint32_t> left_;                // frames still to post, per connection
  std::deque<Doorbell> doorbells_;
  std::vector<std::string> errors_;
  std::vector<std::uint32_t> base_idx_;  // the NIC's indices after the previous point
  std::uint64_t wr_addr_ = 0;            // the DMA write being received
  std::uint32_t wr_len_ = 0;
  std::uint32_t wr_beat_ = 0;
  std::uint64_t setup_cycles_ = 0;
  double setup_wall_s_ = 0;
  bool sched_programmed_ = false;
  bool sched_on_ = false;
};

json TxBench::run_point(const PointCfg& pc) {
  const pg::Bytes frame = make_frame(pc.wire_bytes);
  frame_len_ = static_cast<std::uint32_t>(frame.size());
  const unsigned beats = (frame_len_ + 63) / 64;
  const std::uint64_t total = pc.warmup + pc.measured;
  const double wire_cycles =
      static_cast<double>(pc.wire_bytes + kPreambleIfgBytes) / kLineBytesPerCycle;
  for (std::uint32_t i = 0; i < ring_; ++i) {
    if (!mem_.dma_write(kDataBase + std::uint64_t{i} * rm::tx_desc::kSlotBytes, frame.data(),
                        frame.size())) {
      throw std::runtime_error("frame write outside host memory");
    }
  }
  // gen3x16: the PCIe model's defaults. ideal: no bandwidth limit and short
  // latencies, so only the core limits.
  PcieConfig pcfg;
  if (!pc.gen3) {
    pcfg.d2h_bytes_per_cycle = 1e6;
    pcfg.h2d_bytes_per_cycle = 1e6;
    pcfg.burst_bytes = 1e7;
    pcfg.tlp_overhead = 0;
    pcfg.read_latency = 8;
    pcfg.write_latency = 1;
    pcfg.max_reads_outstanding = 256;
  }
  PcieModel pcie(pcfg, mem_);
  // A completion is seen by the host once the write-back is visible; its
  // doorbell reaches the core after an MMIO write crosses the link.
  const std::uint64_t see_delay = pcfg.write_latency + 1;
  const std::uint64_t db_delay = pc.gen3 ? opt_.mmio_latency : 1;
  std::deque<HostEvent> events;

  csr_.write(rm::kRegCountersClear, 1);
  doorbells_.clear();
  std::fill(prod_.begin(), prod_.end(), 0);
  std::fill(done_.begin(), done_.end(), 0);
  std::fill(rung_.begin(), rung_.end(), 0);
  // CONN_SET reset the indices; every point after the first starts where the
  // previous left off, so carry the NIC's indices over.
  for (std::uint32_t c = 0; c < conns_; ++c) {
    prod_[c] = done_[c] = rung_[c] = base_idx_.empty() ? 0 : base_idx_[c];
  }

  // Every connection sends its share: total / conns, the first total % conns one more.
  left_.assign(conns_, static_cast<std::uint32_t>(total / conns_));
  for (std::uint64_t c = 0; c < total % conns_; ++c) ++left_[c];
  const std::uint64_t t_begin = core_.cycles();
  for (std::uint32_t c = 0; c < conns_; ++c) {
    post(c);
    maybe_ring(c, t_begin, db_delay);
  }

  struct Port {
    bool in_frame = false;
    double next_free = 0;
    std::vector<std::uint8_t> buf;
  };
  std::vector<Port> ports(CoreModel::kNumPorts);
  for (auto& p : ports) p.next_free = static_cast<double>(t_begin);
  std::uint64_t sent = 0, completed = 0, bad_frames = 0, bad_status = 0, mac_stall = 0,
                db_cycles = 0;
  std::uint64_t at_start_cycle = 0, at_end_cycle = 0, at_start_sent = 0;
  bool started = pc.warmup == 0, ended = false;
  if (started) at_start_cycle = t_begin;
  std::uint64_t rd_beats = 0, wr_beats = 0;

  auto wall0 = WallClock::now();
  const double cpu0 = cpu_seconds();
  const std::uint64_t max_cycles = t_begin + 100000 + total * (beats + 8) * 40;
  unsigned quiet = 0;
  while (true) {
    const std::uint64_t now = core_.cycles();
    if (now > max_cycles) throw std::runtime_error("point did not finish (core stuck?)");
    // Host: completions that became visible; repost and ring.
    while (!events.empty() && events.front().due <= now) {
      HostEvent e = events.front();
      events.pop_front();
      done_[e.conn] += e.count;
      post(e.conn);
      maybe_ring(e.conn, now, db_delay);
    }
    for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) {
      in_.rx_valid[p] = false;
      Port& pt = ports[p];
      // A frame may start in the cycle in which the wire becomes free (the
      // MAC's FIFO absorbs the fraction of a cycle), so 64 B frames leave at
      // 1/1.68 per cycle rather than every second cycle.
      in_.tx_ready[p] =
          !pc.line_rate || pt.in_frame || static_cast<double>(now) + 1.0 > pt.next_free + 1e-9;
    }
    bool db = !doorbells_.empty() && doorbells_.front().due <= now;
    in_.csr_valid = db;
    if (db) {
      in_.csr_write = true;
      in_.csr_addr = static_cast<std::uint32_t>(
          rm::kConnDbBase + doorbells_.front().conn * rm::kPageBytes + rm::kDbConnTxProd);
      in_.csr_wdata = doorbells_.front().value & 0xFFFF;
      doorbells_.pop_front();
      ++db_cycles;
    }
    in_.dma_wr_ready = pcie.wr_ready();
    in_.dma_rd_req_ready = pcie.rd_req_ready();
    in_.cpl_valid = pcie.cpl_valid();
    in_.cpl_data = pcie.cpl_data();
    in_.cpl_tag = pcie.cpl_tag();
    in_.cpl_last = pcie.cpl_last();

    core_.step(in_, out_);

    if (db && !out_.csr_ready) throw std::runtime_error("doorbell not accepted in one cycle");
    // Wire.
    for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) {
      Port& pt = ports[p];
      if (!out_.tx_valid[p]) continue;
      if (!in_.tx_ready[p]) {
        ++mac_stall;
        continue;
      }
      if (!pt.in_frame) {
        pt.in_frame = true;
        pt.buf.clear();
        pt.next_free = std::max(pt.next_free, static_cast<double>(now)) + wire_cycles;
      }
      unsigned n = static_cast<unsigned>(__builtin_popcountll(out_.tx_keep[p]));
      pt.buf.insert(pt.buf.end(), out_.tx_data[p].begin(), out_.tx_data[p].begin() + n);
      if (out_.tx_last[p]) {
        pt.in_frame = false;
        if (pt.buf != frame) ++bad_frames;
        ++sent;
        if (!started && sent == pc.warmup) {
          started = true;
          at_start_cycle = now + 1;
          at_start_sent = sent;
        }
        if (!ended && sent == total) {
          ended = true;
          at_end_cycle = now + 1;
        }
      }
    }
    // Descriptor write-backs: address-aligned beats, 8-byte descriptors.
    if (out_.dma_wr_valid && in_.dma_wr_ready) {
      ++wr_beats;
      pcie.wr_beat(out_.dma_wr_addr, out_.dma_wr_len, out_.dma_wr_data.data(), out_.dma_wr_last);
      if (wr_beat_ == 0) {
        wr_addr_ = out_.dma_wr_addr;
        wr_len_ = out_.dma_wr_len;
      }
      const std::uint64_t blk = (wr_addr_ & ~std::uint64_t{63}) + 64ULL * wr_beat_;
      const std::uint64_t lo = std::max(blk, wr_addr_), hi = std::min(blk + 64, wr_addr_ + wr_len_);
      if (lo < kDescBase || hi > kDescBase + ring_bytes_ * conns_ || (lo % 8) != 0 ||
          (hi % 8) != 0) {
        errors_.push_back("DMA write outside the descriptor rings");
      } else {
        const auto c = static_cast<std::uint32_t>((lo - kDescBase) / ring_bytes_);
        std::uint32_t n = 0;
        for (std::uint64_t a = lo; a < hi; a += 8) {
          std::uint64_t d = 0;
          std::memcpy(&d, out_.dma_wr_data.data() + (a & 63), 8);
          if (rm::tx_desc::kStatus.get(d) != rm::tx_desc::kStatusSent) ++bad_status;
          if ((a - kDescBase) / ring_bytes_ != c) errors_.push_back("write-back spans two rings");
          ++n;
        }
        completed += n;
        events.push_back({now + see_delay, c, n});
      }
      wr_beat_ = out_.dma_wr_last ? 0 : wr_beat_ + 1;
    }
    if (out_.dma_rd_req_valid && in_.dma_rd_req_ready) {
      pcie.rd_req(out_.dma_rd_req_addr, out_.dma_rd_req_len, out_.dma_rd_req_tag);
    }
    if (in_.cpl_valid && out_.cpl_ready) {
      pcie.cpl_taken();
      ++rd_beats;
    }
    pcie.note_valid(out_.dma_wr_valid, out_.dma_rd_req_valid);
    pcie.tick();
    quiet = (out_.idle && doorbells_.empty() && events.empty() && pcie.idle()) ? quiet + 1 : 0;
    if (completed >= total && quiet >= 16) break;
    if (quiet >= 4096) {
      errors_.push_back("only " + std::to_string(completed) + " of " + std::to_string(total) +
                        " descriptors completed");
      break;
    }
  }
  const double wall = std::chrono::duration<double>(WallClock::now() - wall0).count();
  const double cpu = cpu_seconds() - cpu0;
  const std::uint64_t loop_cycles = core_.cycles() - t_begin;
  base_idx_ = done_;
  if (!ended) at_end_cycle = core_.cycles();

  std::uint64_t tx_sent = csr_.counter(rm::Counter::kTxSent);
  std::uint64_t tx_fetched = csr_.counter(rm::Counter::kTxFetched);
  std::uint64_t tx_doorbells = csr_.counter(rm::Counter::kTxDoorbells);
  std::uint64_t prod_invalid = csr_.counter(rm::Counter::kTxProdInvalid);

  const double frames = static_cast<double>(sent - at_start_sent);
  const double cyc = static_cast<double>(at_end_cycle - at_start_cycle);
  const double ppc = cyc > 0 ? frames / cyc : 0.0;
  const double pps = ppc * kClockHz;
  const double line_ppc = static_cast<double>(opt_.ports) / wire_cycles;
  const double st = static_cast<double>(loop_cycles);
  json checks = {{"frames_sent", sent},
                 {"descriptors_completed", completed},
                 {"bad_frames", bad_frames},
                 {"bad_status", bad_status},
                 {"tx_sent_counter", tx_sent},
                 {"tx_fetched_counter", tx_fetched},
                 {"tx_prod_invalid", prod_invalid},
                 {"errors", errors_}};
  bool ok = sent == total && completed == total && bad_frames == 0 && bad_status == 0 &&
            tx_sent == total && tx_fetched == total && prod_invalid == 0 && errors_.empty();
  checks["ok"] = ok;
  errors_.clear();
  const double h2d_util =
      static_cast<double>(pcie.stats().h2d_bytes) / st / pcfg.h2d_bytes_per_cycle;
  const double port_ppc =
      static_cast<double>(opt_.ports) / static_cast<double>(beats);  // one beat per cycle
  std::string limited_by;
  if (pc.line_rate && ppc >= 0.99 * line_ppc) {
    limited_by = "offered_load: 100GbE line rate sent in full";
  } else if (ppc >= 0.99 * port_ppc) {
    limited_by = "eth_tx: one 64-byte beat per cycle per port";
  } else if (pc.gen3 && h2d_util > 0.9) {
    limited_by = "pcie: host-to-device completions";
  } else {
    limited_by = "core";
  }
  return json{
      {"frame_bytes", pc.wire_bytes},
      {"beats_per_frame", beats},
      {"conns", conns_},
      {"ports", opt_.ports},
      {"pacing", pc.line_rate ? "line_rate_100g" : "back_to_back"},
      {"pcie", pc.gen3 ? "gen3x16" : "ideal"},
      {"sched", sched_on_ ? "on: one class at 100 Gbit/s" : "off"},
      {"frames_warmup", pc.warmup},
      {"frames_measured", static_cast<std::uint64_t>(frames)},
      {"cycles_measured", static_cast<std::uint64_t>(cyc)},
      {"packets_per_cycle", ppc},
      {"mpps", pps / 1e6},
      {"gbps_wire", pps * (pc.wire_bytes + kPreambleIfgBytes) * 8 / 1e9},
      {"line_rate_pct", 100.0 * ppc / line_ppc},
      {"dma_read_beats_per_cycle", static_cast<double>(rd_beats) / st},
      {"dma_write_beats_per_cycle", static_cast<double>(wr_beats) / st},
      {"doorbells_per_frame",
       static_cast<double>(tx_doorbells) / static_cast<double>(std::max<std::uint64_t>(sent, 1))},
      {"doorbell_cycles", db_cycles},
      {"mac_stall_cycles", mac_stall},
      {"pcie_link",
       {{"h2d_bytes_per_cycle", static_cast<double>(pcie.stats().h2d_bytes) / st},
        {"h2d_utilization", h2d_util},
        {"d2h_bytes_per_cycle", static_cast<double>(pcie.stats().d2h_bytes) / st},
        {"rd_stall_cycles", pcie.stats().rd_stall_cycles}}},
      {"limited_by", limited_by},
      {"sim",
       {{"cycles", loop_cycles},
        {"wall_s", wall},
        {"cpu_s", cpu},
        {"cycles_per_s", st / wall},
        {"cycles_per_cpu_s", st / cpu}}},
      {"checks", checks},
  };
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{
      "nic_tx_bench: TX dataplane benchmark of the verilated Norman NIC core (JSON on stdout)"};
  app.add_option("--sizes", opt.sizes, "wire frame sizes in bytes incl. 4-byte FCS")
      ->delimiter(',');
  app.add_option("--conns", opt.conns, "connections with a full TX ring (1..65536)")
      ->delimiter(',');
  app.add_option("--pacing", opt.pacing, "b2b (MAC always ready) and/or line (100GbE per port)")
      ->delimiter(',');
  app.add_option("--pcie", opt.pcie, "ideal (no link limit) and/or gen3x16 (PCIe model)")
      ->delimiter(',');
  app.add_option("--ports", opt.ports, "ports the connections are spread over (1 or 2)");
  app.add_option("--frames", opt.frames,
                 "measured frames per point (0: beat budget / beats per frame)");
  app.add_option("--beat-budget", opt.beat_budget, "auto --frames: wire beats per point");
  app.add_option("--tx-log2", opt.tx_log2, "TX ring log2 (default: by connection count)");
  app.add_option("--mmio-latency", opt.mmio_latency,
                 "gen3x16: cycles for a doorbell write to reach the core");
  app.add_option("--idle-cycles", opt.idle_cycles,
                 "idle cycles stepped to measure the simulator's idle speed");
  app.add_option("--sched", opt.sched,
                 "off (default) and/or on (the TX scheduler enabled, one class at 100 Gbit/s)")
      ->delimiter(',');
  app.add_flag("--quick", opt.quick,
               "short CI run: 64,1518 B x 1,64 conns, line pacing, small frame counts");
  CLI11_PARSE(app, argc, argv);
  if (opt.quick) {
    if (app.count("--conns") == 0) opt.conns = {1, 64};
    if (app.count("--beat-budget") == 0) opt.beat_budget = 3000;
    if (app.count("--pacing") == 0) opt.pacing = {"line"};
    if (app.count("--idle-cycles") == 0) opt.idle_cycles = 2000;
  }
  for (unsigned s : opt.sizes) {
    if (s < 64 || s - kFcsBytes > rm::tx_desc::kSlotBytes) {
      std::cerr << "frame size " << s << " out of range 64.." << rm::tx_desc::kSlotBytes + kFcsBytes
                << "\n";
      return 2;
    }
  }
  for (unsigned c : opt.conns) {
    if (c < 1 || c > rm::kNumConns) {
      std::cerr << "--conns must be 1.." << rm::kNumConns << "\n";
      return 2;
    }
  }
  if (opt.ports < 1 || opt.ports > CoreModel::kNumPorts) {
    std::cerr << "--ports must be 1.." << CoreModel::kNumPorts << "\n";
    return 2;
  }
  if (opt.tx_log2 > static_cast<int>(rm::kMaxRingLog2)) {
    std::cerr << "--tx-log2 must be <= " << rm::kMaxRingLog2 << "\n";
    return 2;
  }
  for (const auto& p : opt.pacing) {
    if (p != "b2b" && p != "line") {
      std::cerr << "--pacing: b2b or line\n";
      return 2;
    }
  }
  for (const auto& p : opt.sched) {
    if (p != "off" && p != "on") {
      std::cerr << "--sched: off or on\n";
      return 2;
    }
  }
  for (const auto& p : opt.pcie) {
    if (p != "ideal" && p != "gen3x16") {
      std::cerr << "--pcie: ideal or gen3x16\n";
      return 2;
    }
  }

  PcieConfig pcfg;
  json doc;
  doc["benchmark"] = "nic_tx_bench (TX dataplane: host TX rings -> DMA read -> nic_core -> eth_tx)";
  doc["assumptions"] = {
      {"clock_hz", kClockHz},
      {"beat_bytes", rm::kDataBytes},
      {"frame_bytes_meaning",
       "wire frame size incl. the 4-byte FCS the MAC appends; descriptors carry len-4 bytes"},
      {"preamble_ifg_bytes", kPreambleIfgBytes},
      {"line_rate_bps", kLineRateBps},
      {"line_rate_bytes_per_cycle", kLineBytesPerCycle},
      {"packets_per_cycle",
       "frames whose last beat left eth_tx per cycle, between the warm-up's last frame and the "
       "point's last frame"},
      {"back_to_back", "eth_tx_tready = 1 every cycle (only the core and PCIe limit)"},
      {"line_rate_100g",
       "the MAC takes a frame, then drops tready until the cycle in which its wire time (frame + "
       "20 B at 50 B/cycle) ends"},
      {"host",
       {{"rings",
         "every connection sends an equal share of the point's frames (at least 2) and keeps its "
         "TX ring full until then; one data area shared by all (same frame bytes)"},
        {"tx_prod",
         "a TX_PROD doorbell per connection once half a ring is posted, or when the NIC holds "
         "nothing else of it; at most one doorbell (CSR write) per cycle"},
        {"completions", "seen when the descriptor write-back is visible in host memory"},
        {"doorbell_delay_cycles_ideal", 1},
        {"doorbell_delay_cycles_gen3x16", opt.mmio_latency}}},
      {"pcie_gen3x16",
       {{"h2d_bytes_per_cycle", pcfg.h2d_bytes_per_cycle},
        {"d2h_bytes_per_cycle", pcfg.d2h_bytes_per_cycle},
        {"tlp_overhead_bytes", pcfg.tlp_overhead},
        {"mps", pcfg.mps},
        {"mrrs", pcfg.mrrs},
        {"read_latency_cycles", pcfg.read_latency},
        {"write_latency_cycles", pcfg.write_latency},
        {"max_reads_outstanding", pcfg.max_reads_outstanding},
        {"note",
         "8 GT/s x16 x 128/130 = 15.75 GB/s = 63 B/cycle at 250 MHz per direction; every "
         "TLP costs payload + 24 B; reads complete 250 cycles (1 us) after the request; up to 256 "
         "reads outstanding (8-bit tags)"}}},
      {"tx_engine",
       {{"max_batches", 64},
        {"max_reads", 256},
        {"note",
         "hw/rtl/core/tx_engine.sv defaults: batches of up to 8 descriptors, several per "
         "connection in flight, connections served round robin by batch"}}},
      {"pcie_ideal", "no bandwidth limit, reads complete after 8 cycles, writes visible after 1"},
  };
  doc["results"] = json::array();
  json setups = json::array();
  bool all_ok = true;
  double idle_cps = 0, idle_cpu_cps = 0;
  std::uint64_t sim_cycles = 0;
  double sim_wall = 0, sim_cpu = 0;
  try {
    for (unsigned conns : opt.conns) {
      TxBench b(opt, conns);
      std::cerr << "[nic_tx_bench] configuring " << conns << " connection(s)...\n";
      b.configure();
      json idle = b.idle_speed(opt.idle_cycles);
      idle_cps = std::max(idle_cps, idle["cycles_per_s"].get<double>());
      idle_cpu_cps = std::max(idle_cpu_cps, idle["cycles_per_cpu_s"].get<double>());
      json su = b.setup_info();
      su["idle_speed"] = idle;
      setups.push_back(su);
      for (const std::string& sched : opt.sched) {
        b.set_sched(sched == "on");
        for (const std::string& pcie : opt.pcie) {
          for (unsigned size : opt.sizes) {
            for (const std::string& pacing : opt.pacing) {
              const unsigned beats = (size - kFcsBytes + 63) / 64;
              // Every connection sends at least twice.
              std::uint64_t measured =
                  opt.frames != 0
                      ? opt.frames
                      : std::max<std::uint64_t>({500, opt.beat_budget / beats, 2ULL * conns});
              std::uint64_t warmup = std::max<std::uint64_t>(100, measured / 10);
              PointCfg pc{size, pacing == "line", pcie == "gen3x16", warmup, measured};
              json r = b.run_point(pc);
              bool ok = r["checks"]["ok"].get<bool>();
              all_ok = all_ok && ok;
              sim_cycles += r["sim"]["cycles"].get<std::uint64_t>();
              sim_wall += r["sim"]["wall_s"].get<double>();
              sim_cpu += r["sim"]["cpu_s"].get<double>();
              std::cerr << "[nic_tx_bench] " << size << "B conns=" << conns << " " << pacing << " "
                        << pcie << (sched == "on" ? " sched" : "") << ": "
                        << r["packets_per_cycle"].get<double>() << " pkt/cycle, "
                        << r["line_rate_pct"].get<double>() << "% line, limited_by "
                        << r["limited_by"].get<std::string>() << (ok ? "" : "  CHECKS FAILED")
                        << " (" << r["sim"]["cycles_per_cpu_s"].get<double>() / 1e6
                        << " Mcycles per CPU s)\n";
              doc["results"].push_back(r);
            }
          }
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "[nic_tx_bench] error: " << e.what() << "\n";
    doc["error"] = e.what();
    all_ok = false;
  }
  doc["setups"] = setups;
  doc["summary"] = {
      {"points", doc["results"].size()},
      {"all_checks_ok", all_ok},
      {"sim_speed",
       {{"idle_cycles_per_s", idle_cps},
        {"idle_cycles_per_cpu_s", idle_cpu_cps},
        {"traffic_cycles", sim_cycles},
        {"traffic_wall_s", sim_wall},
        {"traffic_cpu_s", sim_cpu},
        {"traffic_cycles_per_s", sim_wall > 0 ? static_cast<double>(sim_cycles) / sim_wall : 0.0},
        {"traffic_cycles_per_cpu_s", sim_cpu > 0 ? static_cast<double>(sim_cycles) / sim_cpu : 0.0},
        {"note",
         "one thread, the model stepped every cycle; per CPU second is the figure to compare "
         "on a shared machine (wall clock also counts other processes' time)"}}},
  };
  std::cout << doc.dump(2) << std::endl;
  return all_ok ? 0 : 1;
}
