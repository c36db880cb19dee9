// nsim: the Norman NIC core (verilated) as a process the control plane and
// applications talk to as they would to a PCIe card. See sim/README.md.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control_server.hpp"
#include "core_model.hpp"
#include "eth_ports.hpp"
#include "host_memory.hpp"
#include "irq_table.hpp"
#include "mmio_hub.hpp"
#include "norman/regmap.hpp"
#include "pcie_model.hpp"
#include "service.hpp"

namespace {

using norman::nsim::CoreModel;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  std::string socket = "/run/norman/nsim.sock";
  std::vector<std::string> ports;
  std::string trace;
  std::uint64_t max_cycles = 0;
  std::uint64_t exit_idle_ms = 0;
  bool stats_json = false;
  norman::nsim::PcieConfig pcie;
  double line_gbps = 100.0;
  std::uint64_t csr_timeout = 100000;
  std::string dpdk_log_level = "warning";
  std::vector<std::string> eal_args;
  long idle_sleep_us = 50;
  long idle_sleep_max_us = 1000;
  bool busy = false;
  std::size_t rx_queue_frames = 256;
  unsigned mmio_poll = 64;
  unsigned eth_poll = 128;
  unsigned ctrl_poll = 4096;
  bool rx_after_enable = false;
};

constexpr std::size_t kMaxFrameBytes = 16383;  // larger frames are not injected (counted)

// Frames from one DPDK port on their way into eth_rx, paced at line rate.
struct RxPort {
  std::deque<std::vector<std::uint8_t>> queue;
  std::vector<std::uint8_t> cur;
  std::size_t off = 0;
  bool active = false;
  double next_start = 0;  // in byte-times since cycle 0
  std::uint64_t frames = 0, bytes = 0, too_big = 0;
  std::uint64_t backpressure_polls = 0;  // polls skipped: the queue ahead of the core was full
  std::array<std::uint8_t, 64> beat{};
};

// Beats from eth_tx collected into frames.
struct TxPort {
  std::vector<std::uint8_t> buf;
  bool broken = false;
  std::uint64_t frames = 0, bytes = 0, drops = 0, bad_beats = 0;
};

class Nsim {
 public:
  explicit Nsim(const Options& o)
      : opt_(o),
        pcie_(o.pcie, mem_),
        hub_(32, o.csr_timeout),
        line_bytes_per_cycle_(o.line_gbps * 1e9 / 8.0 / static_cast<double>(norman::regmap::kClockHz)),
        rx_held_(o.rx_after_enable) {
    if (o.ports.size() > CoreModel::kNumPorts) {
      throw std::runtime_error("nsim: the model has " + std::to_string(CoreModel::kNumPorts) + " ports, got " +
                               std::to_string(o.ports.size()) + " --port options");
    }
    if (!o.ports.empty()) {
      norman::nsim::EthPortsConfig ec;
      ec.ports = o.ports;
      ec.file_prefix = "nsim-" + std::to_string(::getpid());
      ec.log_level = o.dpdk_log_level;
      ec.extra_eal = o.eal_args;
      eth_ = std::make_unique<norman::nsim::EthPorts>(ec);
    }
    core_ = std::make_unique<CoreModel>(o.trace);
    core_->reset();
    norman::nsim::NsimService::Info info{CoreModel::kNumPorts, norman::regmap::kClockHz};
    service_ = std::make_unique<norman::nsim::NsimService>(
        info, mem_, hub_, irqs_, [this](norman::nsim::proto::StatsRsp& s) { fill_stats(s); },
        [this] { return core_->cycles(); });
    service_->on_driver_gone([this] { reset_device(); });
    server_ = std::make_unique<norman::nsim::ControlServer>(o.socket, *service_);
  }

  void run();
  void print_json(double wall_s, double cpu_s) const;
  ~Nsim() {
    server_.reset();  // unlinks the socket
    core_->finish();
    eth_.reset();     // stops the ports: pcap files are flushed
  }

 private:
  void fill_stats(norman::nsim::proto::StatsRsp& s) const;
  bool poll_eth();
  bool idle() const;
  void step();
  void reset_device();

  Options opt_;
  norman::nsim::HostMemory mem_;
  norman::nsim::PcieModel pcie_;
  norman::nsim::MmioHub hub_;
  norman::nsim::IrqTable irqs_;
  std::unique_ptr<norman::nsim::EthPorts> eth_;
  std::unique_ptr<CoreModel> core_;
  std::unique_ptr<norman::nsim::NsimService> service_;
  std::unique_ptr<norman::nsim::ControlServer> server_;
  std::array<RxPort, CoreModel::kNumPorts> rx_{};
  std::array<TxPort, CoreModel::kNumPorts> tx_{};
  double line_bytes_per_cycle_;
  CoreModel::In in_{};
  CoreModel::Out out_{};
  std::uint64_t idle_sleeps_ = 0;
  std::uint64_t empty_ = 0;  // consecutive idle iterations without input
  // Consecutive stepped cycles in which the core reported idle. The core's
  // outputs are sampled before the clock edge, so the cycle that hands it a
  // doorbell still reads idle; only a run of idle cycles means it is.
  std::uint32_t idle_streak_ = 0;
  static constexpr std::uint32_t kIdleStreak = 16;
  double idle_wall_s_ = 0;
  std::uint64_t idle_cycles_ = 0;  // stepped cycles in which the core reported idle
  std::vector<std::vector<std::uint8_t>> rx_scratch_;
  // --rx-after-enable: DPDK RX is not polled until a CSR write setting
  // CTRL.ENABLE bit 0 has reached the core (only privileged channels can).
  bool rx_held_ = false;
  std::uint64_t resets_ = 0;
};

void Nsim::fill_stats(norman::nsim::proto::StatsRsp& s) const {
  const norman::nsim::PcieStats& p = pcie_.stats();
  s.cycles = core_->cycles();
  s.idle_sleeps = idle_sleeps_;
  s.dma_wr_reqs = p.wr_reqs;
  s.dma_wr_bytes = p.wr_bytes;
  s.dma_rd_reqs = p.rd_reqs;
  s.dma_rd_bytes = p.rd_bytes;
  s.num_ports = CoreModel::kNumPorts;
  for (unsigned i = 0; i < CoreModel::kNumPorts && i < norman::nsim::proto::kMaxStatsPorts; ++i) {
    auto& ps = s.ports[i];
    ps.rx_frames = rx_[i].frames;
    ps.rx_bytes = rx_[i].bytes;
    ps.rx_drops_too_big = rx_[i].too_big;
    ps.rx_backpressure_polls = rx_[i].backpressure_polls;
    ps.tx_frames = tx_[i].frames;
    ps.tx_bytes = tx_[i].bytes;
    ps.tx_drops = tx_[i].drops + tx_[i].bad_beats;
    if (eth_ && i < eth_->size()) {
      norman::nsim::EthPortCounters c = eth_->counters(i);
      ps.rx_drops_dpdk = c.rx_drops;
      ps.tx_drops += c.tx_drops + c.tx_errors;
    }
  }
}

bool Nsim::poll_eth() {
  if (!eth_) {
    return false;
  }
  bool any = false;
  for (unsigned p = 0; p < eth_->size() && !rx_held_; ++p) {
    RxPort& r = rx_[p];
    if (r.queue.size() >= opt_.rx_queue_frames) {
      // Back-pressure: frames wait in the ethdev (a file replay simply waits;
      // a live port's overflow is counted by DPDK as rx_drops_dpdk).
      ++r.backpressure_polls;
      continue;
    }
    rx_scratch_.clear();
    unsigned n = eth_->rx(p, static_cast<unsigned>(opt_.rx_queue_frames - r.queue.size()), rx_scratch_);
    for (auto& f : rx_scratch_) {
      if (f.empty() || f.size() > kMaxFrameBytes) {
        ++r.too_big;
        continue;
      }
      r.queue.push_back(std::move(f));
    }
    any = any || n > 0;
  }
  eth_->flush();
  return any;
}

bool Nsim::idle() const {
  if (!out_.idle || idle_streak_ < kIdleStreak || !pcie_.idle() || !hub_.idle()) {
    return false;
  }
  for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) {
    if (rx_[p].active || !rx_[p].queue.empty() || !tx_[p].buf.empty()) {
      return false;
    }
  }
  return true;
}

void Nsim::step() {
  const std::uint64_t now = core_->cycles();
  // Ethernet RX: start a frame when the line is free, present its next beat.
  for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) {
    RxPort& r = rx_[p];
    if (!r.active && !r.queue.empty()) {
      double t = static_cast<double>(now) * line_bytes_per_cycle_;
      if (t >= r.next_start) {
        r.cur = std::move(r.queue.front());
        r.queue.pop_front();
        r.off = 0;
        r.active = true;
        std::size_t wire = std::max<std::size_t>(r.cur.size() + 4, 64) + 20;  // FCS, min frame, preamble + IFG
        r.next_start = std::max(r.next_start, t) + static_cast<double>(wire);
      }
    }
    in_.rx_valid[p] = r.active;
    if (r.active) {
      std::size_t n = std::min<std::size_t>(64, r.cur.size() - r.off);
      std::memcpy(r.beat.data(), r.cur.data() + r.off, n);
      if (n < 64) {
        std::memset(r.beat.data() + n, 0, 64 - n);
      }
      in_.rx_data[p] = r.beat.data();
      in_.rx_keep[p] = n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1);
      in_.rx_last[p] = r.off + n >= r.cur.size();
      in_.rx_user[p] = false;
    }
    in_.tx_ready[p] = true;
  }
  // CSR.
  in_.csr_valid = hub_.csr_pending();
  if (in_.csr_valid) {
    const norman::nsim::CsrRequest& c = hub_.csr_front();
    in_.csr_write = c.write;
    in_.csr_addr = c.addr;
    in_.csr_wdata = c.data;
  }
  // DMA.
  in_.dma_wr_ready = pcie_.wr_ready();
  in_.dma_rd_req_ready = pcie_.rd_req_ready();
  in_.cpl_valid = pcie_.cpl_valid();
  if (in_.cpl_valid) {
    in_.cpl_data = pcie_.cpl_data();
    in_.cpl_tag = pcie_.cpl_tag();
    in_.cpl_last = pcie_.cpl_last();
  }
  in_.irq_ready = true;

  core_->step(in_, out_);
  idle_streak_ = out_.idle ? idle_streak_ + 1 : 0;
  idle_cycles_ += out_.idle ? 1 : 0;

  // Transfers of this cycle.
  for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) {
    RxPort& r = rx_[p];
    if (in_.rx_valid[p] && out_.rx_ready[p]) {
      r.off += 64;
      if (in_.rx_last[p]) {
        r.active = false;
        ++r.frames;
        r.bytes += r.cur.size();
      }
    }
    TxPort& t = tx_[p];
    if (out_.tx_valid[p]) {
      std::uint64_t keep = out_.tx_keep[p];
      unsigned n = static_cast<unsigned>(__builtin_popcountll(keep));
      bool contiguous = n == 64 ? keep == ~std::uint64_t{0} : keep == ((std::uint64_t{1} << n) - 1);
      if (!contiguous || (!out_.tx_last[p] && n != 64) || t.buf.size() + n > kMaxFrameBytes) {
        t.broken = true;
      } else {
        t.buf.insert(t.buf.end(), out_.tx_data[p].begin(), out_.tx_data[p].begin() + n);
      }
      if (out_.tx_last[p]) {
        if (t.broken || t.buf.empty()) {
          ++t.bad_beats;
        } else if (eth_ && p < eth_->size()) {
          if (eth_->tx(p, t.buf.data(), t.buf.size())) {
            ++t.frames;
            t.bytes += t.buf.size();
          }
        } else {
          ++t.drops;  // no ethdev behind this port
        }
        t.buf.clear();
        t.broken = false;
      }
    }
  }
  if (in_.csr_valid && out_.csr_ready) {
    if (rx_held_ && in_.csr_write && in_.csr_addr == norman::regmap::kRegCtrlEnable && (in_.csr_wdata & 1) != 0) {
      rx_held_ = false;  // --rx-after-enable: frames flow from now on
    }
    hub_.csr_accepted(now);
  }
  if (out_.csr_rsp_valid) {
    hub_.csr_response(out_.csr_rsp_data);
  }
  pcie_.note_valid(out_.dma_wr_valid, out_.dma_rd_req_valid);
  if (out_.dma_wr_valid && in_.dma_wr_ready) {
    pcie_.wr_beat(out_.dma_wr_addr, out_.dma_wr_len, out_.dma_wr_data.data(), out_.dma_wr_last);
  }
  if (out_.dma_rd_req_valid && in_.dma_rd_req_ready) {
    pcie_.rd_req(out_.dma_rd_req_addr, out_.dma_rd_req_len, out_.dma_rd_req_tag);
  }
  if (in_.cpl_valid && out_.cpl_ready) {
    pcie_.cpl_taken();
  }
  if (out_.irq_valid && in_.irq_ready) {
    irqs_.fire(out_.irq_vector);
  }
  pcie_.tick();
}

// The NIC's driver (the last control connection that opened a privileged
// channel) is gone, e.g. normand was killed: reset the device as a
// function-level reset would. Its DMA mappings, channels and vectors are
// already released (NsimService::client_closed); the core forgets every
// connection, flow, queue and filter entry and its counters, so the next
// control plane starts from a known state instead of colliding with the
// dead one's. Transfers in flight are dropped; a frame that was entering
// the core starts again from its first beat and meets the reset core (which
// has no connection yet: RX_DROP_NO_QUEUE), so no frame is lost uncounted.
void Nsim::reset_device() {
  core_->reset();
  pcie_.reset();
  hub_.core_reset();
  for (RxPort& r : rx_) {
    r.off = 0;
  }
  for (TxPort& t : tx_) {
    t.buf.clear();
    t.broken = false;
  }
  in_ = CoreModel::In{};
  out_ = CoreModel::Out{};
  idle_streak_ = 0;
  rx_held_ = opt_.rx_after_enable;
  ++resets_;
  std::fprintf(stderr, "nsim: the control plane closed its connection: device reset (%llu so far)\n",
               static_cast<unsigned long long>(resets_));
}

void Nsim::run() {
  auto idle_since = Clock::now();
  bool was_idle = false;
  std::uint64_t mmio_mask = opt_.mmio_poll - 1;
  std::uint64_t eth_mask = opt_.eth_poll - 1;
  std::uint64_t ctrl_mask = opt_.ctrl_poll - 1;
  auto last_ctrl = Clock::now();
  while (g_stop == 0 && !service_->shutdown_requested()) {
    if (opt_.max_cycles != 0 && core_->cycles() >= opt_.max_cycles) {
      break;
    }
    if (!opt_.busy && idle()) {
      // Nothing in flight: look for input, sleep briefly in ppoll() on the
      // control socket instead of stepping the model.
      auto t0 = Clock::now();
      if (!was_idle) {
        was_idle = true;
        idle_since = t0;
      }
      bool any = hub_.poll(core_->cycles());
      any = poll_eth() || any;
      if (!any) {
        // Back off from idle_sleep_us to idle_sleep_max_us while nothing
        // happens (simulated time is frozen while idle, so this only costs
        // wall-clock latency, never simulated time).
        long sleep_us = std::min(opt_.idle_sleep_max_us, opt_.idle_sleep_us << std::min<std::uint64_t>(empty_ / 100, 16));
        any = server_->poll(sleep_us);
        ++idle_sleeps_;
        ++empty_;
      }
      if (any) {
        empty_ = 0;
      }
      auto t1 = Clock::now();
      idle_wall_s_ += std::chrono::duration<double>(t1 - t0).count();
      if (any) {
        was_idle = false;
      } else if (opt_.exit_idle_ms != 0 &&
                 t1 - idle_since >= std::chrono::milliseconds(static_cast<std::int64_t>(opt_.exit_idle_ms))) {
        break;
      }
      if (any) {
        idle_streak_ = 0;  // new input: the core must show a fresh idle run
        step();            // guarantee progress for whatever arrived
      }
      continue;
    }
    was_idle = false;
    step();
    std::uint64_t c = core_->cycles();
    if ((c & mmio_mask) == 0) {
      hub_.poll(c);
      hub_.tick(c);
    }
    if ((c & eth_mask) == 0) {
      poll_eth();
    }
    // The control socket every ctrl_poll cycles, and at least every
    // millisecond of wall time when the model runs slowly.
    if ((c & ctrl_mask) == 0) {
      server_->poll(0);
      last_ctrl = Clock::now();
    } else if ((c & eth_mask) == 0) {
      auto t = Clock::now();
      if (t - last_ctrl >= std::chrono::milliseconds(1)) {
        server_->poll(0);
        last_ctrl = t;
      }
    }
  }
}

void Nsim::print_json(double wall_s, double cpu_s) const {
  norman::nsim::proto::StatsRsp s{};
  fill_stats(s);
  const norman::nsim::MmioHubStats& h = hub_.stats();
  const norman::nsim::PcieStats& p = pcie_.stats();
  double busy = wall_s - idle_wall_s_;
  std::printf(
      "{\"cycles\":%llu,\"wall_s\":%.3f,\"busy_s\":%.3f,\"cycles_per_s\":%.0f,\"cpu_s\":%.3f,"
      "\"cycles_per_cpu_s\":%.0f,\"idle_cycles_stepped\":%llu,\"idle_sleeps\":%llu,"
      "\"mmio_reads\":%llu,\"mmio_writes\":%llu,\"mmio_refused\":%llu,\"mmio_timeouts\":%llu,"
      "\"iommu_faults\":%llu,\"dma_wr_reqs\":%llu,\"dma_wr_bytes\":%llu,\"dma_rd_reqs\":%llu,"
      "\"dma_rd_bytes\":%llu,\"dma_protocol_errors\":%llu,\"dma_wr_stall_cycles\":%llu,\"dma_rd_stall_cycles\":%llu,"
      "\"irqs\":%llu,\"irqs_unregistered\":%llu,\"ports\":[",
      static_cast<unsigned long long>(s.cycles), wall_s, busy,
      busy > 0 ? static_cast<double>(s.cycles) / busy : 0.0, cpu_s,
      cpu_s > 0 ? static_cast<double>(s.cycles) / cpu_s : 0.0, static_cast<unsigned long long>(idle_cycles_),
      static_cast<unsigned long long>(s.idle_sleeps),
      static_cast<unsigned long long>(h.reads), static_cast<unsigned long long>(h.writes),
      static_cast<unsigned long long>(h.refused_reads + h.refused_writes),
      static_cast<unsigned long long>(h.timeouts), static_cast<unsigned long long>(mem_.faults()),
      static_cast<unsigned long long>(p.wr_reqs), static_cast<unsigned long long>(p.wr_bytes),
      static_cast<unsigned long long>(p.rd_reqs), static_cast<unsigned long long>(p.rd_bytes),
      static_cast<unsigned long long>(p.protocol_errors), static_cast<unsigned long long>(p.wr_stall_cycles),
      static_cast<unsigned long long>(p.rd_stall_cycles), static_cast<unsigned long long>(irqs_.delivered()),
      static_cast<unsigned long long>(irqs_.unregistered()));
  for (unsigned i = 0; i < s.num_ports; ++i) {
    const auto& ps = s.ports[i];
    std::printf("%s{\"rx_frames\":%llu,\"rx_bytes\":%llu,\"rx_drops_dpdk\":%llu,\"rx_drops_too_big\":%llu,"
                "\"rx_backpressure_polls\":%llu,\"tx_frames\":%llu,\"tx_bytes\":%llu,\"tx_drops\":%llu}",
                i == 0 ? "" : ",", static_cast<unsigned long long>(ps.rx_frames),
                static_cast<unsigned long long>(ps.rx_bytes), static_cast<unsigned long long>(ps.rx_drops_dpdk),
                static_cast<unsigned long long>(ps.rx_drops_too_big),
                static_cast<unsigned long long>(ps.rx_backpressure_polls), static_cast<unsigned long long>(ps.tx_frames),
                static_cast<unsigned long long>(ps.tx_bytes), static_cast<unsigned long long>(ps.tx_drops));
  }
  std::printf("]}\n");
  std::fflush(stdout);
}

// CPU time of the process: on a shared machine the wall clock also counts
// time other processes held the CPU.
double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool pow2(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"nsim: the Norman NIC core as a simulated PCIe device"};
  app.add_option("--socket", o.socket, "control socket path (its directory is created)")->capture_default_str();
  app.add_option("--port", o.ports,
                 "DPDK vdev devargs of the next Ethernet port, e.g. net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap "
                 "(repeat; ports not given stay idle)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--trace", o.trace, "write an FST waveform to this file");
  app.add_option("--max-cycles", o.max_cycles, "stop after this many simulated cycles (0: no limit)");
  app.add_option("--exit-when-idle-after-ms", o.exit_idle_ms,
                 "exit once nothing happened for this long (file replay runs; 0: never)");
  app.add_flag("--stats-json", o.stats_json, "print a one-line JSON summary on exit");
  app.add_option("--pcie-d2h-bytes-per-cycle", o.pcie.d2h_bytes_per_cycle, "device-to-host link budget")
      ->capture_default_str();
  app.add_option("--pcie-h2d-bytes-per-cycle", o.pcie.h2d_bytes_per_cycle, "host-to-device link budget")
      ->capture_default_str();
  app.add_option("--pcie-tlp-overhead", o.pcie.tlp_overhead, "bytes of overhead per TLP")->capture_default_str();
  app.add_option("--pcie-mps", o.pcie.mps, "max payload size")->capture_default_str();
  app.add_option("--pcie-mrrs", o.pcie.mrrs, "max read request size")->capture_default_str();
  app.add_option("--pcie-read-latency", o.pcie.read_latency, "cycles from read request to first completion")
      ->capture_default_str();
  app.add_option("--pcie-write-latency", o.pcie.write_latency, "cycles until a posted write is visible")
      ->capture_default_str();
  app.add_option("--line-rate-gbps", o.line_gbps, "Ethernet line rate per port for RX pacing")
      ->capture_default_str();
  app.add_option("--csr-timeout-cycles", o.csr_timeout, "answer a CSR read with all ones after this many cycles")
      ->capture_default_str();
  app.add_option("--idle-sleep-us", o.idle_sleep_us, "first sleep per idle iteration")->capture_default_str();
  app.add_option("--idle-sleep-max-us", o.idle_sleep_max_us, "longest sleep per idle iteration (backoff)")
      ->capture_default_str();
  app.add_flag("--busy", o.busy, "step the model every cycle even when idle (speed measurements)");
  app.add_option("--rx-queue-frames", o.rx_queue_frames, "frames buffered per port ahead of the core")
      ->capture_default_str();
  app.add_option("--mmio-poll-cycles", o.mmio_poll, "poll MMIO channels every N cycles (power of two)")
      ->capture_default_str();
  app.add_option("--eth-poll-cycles", o.eth_poll, "poll DPDK ports every N cycles (power of two)")
      ->capture_default_str();
  app.add_option("--ctrl-poll-cycles", o.ctrl_poll, "poll the control socket every N cycles (power of two)")
      ->capture_default_str();
  app.add_flag("--rx-after-enable", o.rx_after_enable,
               "do not receive from the DPDK ports until a control-plane client writes CTRL.ENABLE with the RX "
               "bit set (file replays start only once the NIC is configured)");
  app.add_option("--dpdk-log-level", o.dpdk_log_level, "DPDK EAL --log-level")->capture_default_str();
  app.add_option("--eal-arg", o.eal_args, "extra DPDK EAL argument (repeat)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  CLI11_PARSE(app, argc, argv);
  if (!pow2(o.mmio_poll) || !pow2(o.eth_poll) || !pow2(o.ctrl_poll)) {
    std::fprintf(stderr, "nsim: poll intervals must be powers of two\n");
    return 2;
  }
  if (o.idle_sleep_us <= 0 || o.idle_sleep_max_us < o.idle_sleep_us) {
    std::fprintf(stderr, "nsim: need 0 < --idle-sleep-us <= --idle-sleep-max-us\n");
    return 2;
  }
  if (o.line_gbps <= 0 || o.rx_queue_frames == 0) {
    std::fprintf(stderr, "nsim: --line-rate-gbps and --rx-queue-frames must be positive\n");
    return 2;
  }

  std::signal(SIGPIPE, SIG_IGN);
  // Every MMIO channel and interrupt route holds a descriptor (up to 1024
  // channels and 1024 vectors): take what the hard limit allows.
  if (rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
  try {
    auto t0 = Clock::now();
    Nsim sim(o);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::fprintf(stderr, "nsim: serving %s (%zu port(s), build id 0x%016llx)\n", o.socket.c_str(), o.ports.size(),
                 static_cast<unsigned long long>(norman::regmap::kBuildId));
    sim.run();
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    if (o.stats_json) {
      sim.print_json(wall, cpu_seconds());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
