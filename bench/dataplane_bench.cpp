// nic_bench: RX dataplane benchmark of the verilated nic_core.
//
// Configures the core through CSR commands (fallback conn 0, N bypass
// connections with RX rings, UDP flow entries, one notification queue),
// injects UDP frames on the Ethernet RX port(s) and consumes the DMA writes
// on the host side, optionally through the PCIe link model. Prints one JSON
// document on stdout; progress goes to stderr. See bench/README.md.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core_model.hpp"
#include "csr_access.hpp"
#include "host_memory.hpp"
#include "host_sink.hpp"
#include "norman/regmap.hpp"
#include "pcie_model.hpp"
#include "pktgen.hpp"

namespace {

namespace rm = norman::regmap;
namespace pg = norman::pktgen;
using norman::bench::Delivery;
using norman::bench::HostSink;
using norman::bench::SinkConfig;
using norman::nsim::CoreModel;
using norman::nsim::HostMemory;
using norman::nsim::PcieConfig;
using norman::nsim::PcieModel;
using json = nlohmann::ordered_json;

constexpr double kClockHz = static_cast<double>(rm::kClockHz);
constexpr double kLineRateBps = 100e9;
constexpr double kLineBytesPerCycle = kLineRateBps / 8.0 / kClockHz;  // 50 bytes per cycle
constexpr unsigned kFcsBytes = 4;
constexpr unsigned kPreambleIfgBytes = 20;  // 7 preamble + 1 SFD + 12 IFG
constexpr std::uint64_t kNqBase = 0x10'0000'0000ULL;
constexpr std::uint64_t kRingBase = 0x20'0000'0000ULL;
constexpr std::uint32_t kNqLog2 = 15;
constexpr std::uint32_t kMaxBypassConns = rm::kNumConns - 1;  // conn 0 is the fallback
constexpr std::uint16_t kLocalPort = 5000;
constexpr std::uint16_t kRemotePort = 4000;
constexpr std::uint32_t kLocalIp = 0x0A000001;   // 10.0.0.1
constexpr std::uint32_t kRemoteNet = 0x0A010000;  // 10.1.0.0/16: target k sends from 10.1.(k>>8).(k&255)

std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// ------------------------------------------------------------------ frames
// One UDP/IPv4 template per size; frame `id` to target k patches the source
// IP (and the IP checksum) and writes id at payload offset 0 (frame byte 42).
class FrameFactory {
 public:
  explicit FrameFactory(unsigned wire_bytes) : nic_len_(wire_bytes - kFcsBytes) {
    pg::Eth eth(pg::mac("02:00:00:00:00:02"), pg::mac("02:00:00:00:00:01"));
    pg::Ipv4 ip(pg::ipv4("10.1.0.0"), pg::ipv4("10.0.0.1"));
    pg::Udp udp(kRemotePort, kLocalPort);
    udp.checksum = 0;  // IPv4 UDP without checksum: the id/IP patches need no L4 fix-up
    std::size_t hdr = pg::kEthHeaderBytes + pg::kIpv4HeaderBytes + pg::kUdpHeaderBytes;
    if (nic_len_ < hdr + 8) throw std::invalid_argument("frame too small for the benchmark's frame id");
    tmpl_ = pg::ip_frame(eth, ip, udp, pg::pattern(nic_len_ - hdr));
    if (tmpl_.size() != nic_len_) throw std::logic_error("template size mismatch");
    beats_ = static_cast<unsigned>((nic_len_ + 63) / 64);
    tmpl_.resize(static_cast<std::size_t>(beats_) * 64, 0);
  }
  [[nodiscard]] unsigned nic_len() const { return nic_len_; }
  [[nodiscard]] unsigned beats() const { return beats_; }
  [[nodiscard]] std::uint64_t last_keep() const {
    unsigned tail = nic_len_ - (beats_ - 1) * 64;
    return tail == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << tail) - 1);
  }
  // Writes the frame into buf (beats() * 64 bytes).
  void build(std::uint64_t id, std::uint32_t target, std::uint8_t* buf) const {
    std::memcpy(buf, tmpl_.data(), tmpl_.size());
    std::uint32_t src = kRemoteNet | (target & 0xFFFF);
    buf[26] = static_cast<std::uint8_t>(src >> 24);
    buf[27] = static_cast<std::uint8_t>(src >> 16);
    buf[28] = static_cast<std::uint8_t>(src >> 8);
    buf[29] = static_cast<std::uint8_t>(src);
    buf[24] = 0;
    buf[25] = 0;
    std::uint32_t sum = 0;
    for (unsigned i = 14; i < 34; i += 2) sum += static_cast<std::uint32_t>(buf[i] << 8 | buf[i + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    std::uint16_t c = static_cast<std::uint16_t>(~sum);
    buf[24] = static_cast<std::uint8_t>(c >> 8);
    buf[25] = static_cast<std::uint8_t>(c);
    std::memcpy(buf + HostSink::kIdOffset, &id, 8);
  }

 private:
  unsigned nic_len_;
  unsigned beats_ = 1;
  pg::Bytes tmpl_;
};

// ------------------------------------------------------------------ options
struct Options {
  std::vector<unsigned> sizes{64, 128, 256, 512, 1024, 1518};
  std::vector<unsigned> conns{1, 1024, 65536};
  std::vector<std::string> pacing{"b2b", "line"};
  std::vector<std::string> pcie{"ideal", "gen3x16"};
  std::vector<unsigned> ports{1};
  std::string pattern = "random";
  std::uint64_t frames = 0;        // measured frames per point (0: auto)
  std::uint64_t beat_budget = 300000;
  std::uint64_t warmup = 0;        // frames (0: auto)
  unsigned window_frames = 48;
  unsigned window_beats = 160;
  int rx_log2 = -1;
  unsigned batch = 0;
  unsigned payload_check_every = 64;
  std::uint64_t mmio_latency = 125;
  std::uint64_t mem_limit_mib = 64;
  bool quick = false;
};

// ------------------------------------------------------------------ harness
struct PointStats {
  std::uint64_t cycles = 0;
  std::uint64_t wr_beats = 0;
  std::uint64_t wr_stall = 0;      // the core had a write beat, the host port was not ready
  std::uint64_t inject_stall = 0;  // a port could start a frame but the in-flight window was full
  std::uint64_t injected = 0;
  std::uint64_t delivered = 0;
  std::uint64_t slot_writes = 0;
  std::uint64_t nq_entries = 0;
  std::uint64_t doorbells = 0;
  std::uint64_t d2h_bytes = 0;
};

class Bench {
 public:
  Bench(const Options& opt, unsigned active) : opt_(opt), active_(active) {
    bypass_ = std::min<unsigned>(active, kMaxBypassConns);
    // Ring size: enough slots for the batch plus what arrives during a doorbell round trip.
    if (opt.rx_log2 >= 0) {
      rx_log2_ = static_cast<std::uint32_t>(opt.rx_log2);
    } else if (active <= 16) {
      rx_log2_ = 12;
    } else if (active <= 4096) {
      rx_log2_ = 7;
    } else {
      rx_log2_ = 4;
    }
    batch_ = opt.batch != 0 ? opt.batch : (1U << rx_log2_) / 2;
    SinkConfig sc;
    sc.nq_base = kNqBase;
    sc.nq_log2 = kNqLog2;
    sc.nq_batch = 1U << (kNqLog2 - 2);
    sc.ring_base = kRingBase;
    sc.rx_log2 = rx_log2_;
    sc.batch = batch_;
    ring_mem_bytes_ = static_cast<std::uint64_t>(bypass_ + 1) * sc.ring_bytes();
    if (ring_mem_bytes_ <= opt.mem_limit_mib << 20) {
      map_memory(sc);
    }
    sink_ = std::make_unique<HostSink>(sc, mem_mapped_ ? &mem_ : nullptr);
    core_.reset();
  }

  json setup_info() const {
    return json{{"active_targets", active_},
                {"bypass_conns", bypass_},
                {"fallback_targets", active_ - bypass_},
                {"rx_ring_log2", rx_log2_},
                {"rx_cons_batch", batch_},
                {"nq_log2", kNqLog2},
                {"host_memory_applied", mem_mapped_},
                {"ring_memory_bytes", ring_mem_bytes_},
                {"setup_cycles", setup_cycles_},
                {"setup_wall_s", setup_wall_s_}};
  }

  // ---------------------------------------------------------------- setup
  void configure() {
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t c0 = core_.cycles();
    if (csr_.read(rm::kRegIdMagic) != rm::kMagic || csr_.read(rm::kRegIdBuildId) != rm::kBuildId) {
      throw std::runtime_error("ID block mismatch");
    }
    // Notification queue 0.
    std::uint64_t a0 = 0;
    rm::nq::kNqId.set(a0, 0);
    rm::nq::kVector.set(a0, 0);
    rm::nq::kLog2.set(a0, kNqLog2);
    csr_.arg(0, a0);
    csr_.arg(1, kNqBase);
    expect_ok(csr_.cmd(rm::Op::kNqSet), "NQ_SET");
    // Connection contexts: fallback 0 and 1..bypass. TX fields stay zero.
    for (unsigned i = 2; i <= 10; ++i) csr_.arg(i, 0);
    std::uint64_t a2 = 0;
    rm::conn::kRxLog2.set(a2, rx_log2_);
    csr_.arg(rm::conn::kRxLog2.arg, a2);
    for (std::uint32_t c = 0; c <= bypass_; ++c) {
      std::uint64_t w0 = 0;
      rm::conn::kConnId.set(w0, c);
      rm::conn::kNqId.set(w0, 0);
      rm::conn::kPort.set(w0, 0);
      csr_.arg(rm::conn::kConnId.arg, w0);
      csr_.arg(rm::conn::kRxBase.arg, kRingBase + std::uint64_t{c} * sink_->config().ring_bytes());
      expect_ok(csr_.cmd(rm::Op::kConnSet), "CONN_SET");
    }
    // Flow entries: target k (remote 10.1.(k>>8).(k&255):4000 -> 10.0.0.1:5000) -> conn k + 1.
    std::uint64_t w1 = 0;
    rm::flow::kLocalPort.set(w1, kLocalPort);
    rm::flow::kRemotePort.set(w1, kRemotePort);
    csr_.arg(rm::flow::kLocalPort.arg, w1);
    csr_.arg(rm::flow::kLocalIpLo.arg, kLocalIp);
    csr_.arg(rm::flow::kLocalIpHi.arg, 0);
    csr_.arg(rm::flow::kRemoteIpHi.arg, 0);
    for (std::uint32_t k = 0; k < bypass_; ++k) {
      std::uint64_t w0 = 0;
      rm::flow::kProto.set(w0, pg::ipproto::kUdp);
      rm::flow::kIsIpv6.set(w0, 0);
      rm::flow::kListen.set(w0, 0);
      rm::flow::kConnId.set(w0, k + 1);
      csr_.arg(rm::flow::kProto.arg, w0);
      csr_.arg(rm::flow::kRemoteIpLo.arg, kRemoteNet | k);
      expect_ok(csr_.cmd(rm::Op::kFlowInsert), "FLOW_INSERT");
    }
    setup_cycles_ = core_.cycles() - c0;
    setup_wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // Conn that receives target k's frames.
  [[nodiscard]] std::uint32_t conn_of(std::uint32_t k) const { return k < bypass_ ? k + 1 : 0; }
  [[nodiscard]] std::uint32_t target_of(std::uint64_t id) const {
    if (opt_.pattern == "random") return static_cast<std::uint32_t>(mix64(id) % active_);
    return static_cast<std::uint32_t>(id % active_);
  }

  // ---------------------------------------------------------------- a point
  struct PointCfg {
    unsigned wire_bytes;
    unsigned ports;
    bool line_rate;
    bool gen3;
    std::uint64_t warmup;
    std::uint64_t measured;
    bool measure;  // false: priming run, no results
  };

  json run_point(const PointCfg& pc) {
    FrameFactory ff(pc.wire_bytes);
    const unsigned beats = ff.beats();
    const std::uint64_t keep_last = ff.last_keep();
    const std::uint64_t total = pc.warmup + pc.measured;
    const double wire_cycles = static_cast<double>(pc.wire_bytes + kPreambleIfgBytes) / kLineBytesPerCycle;

    std::unique_ptr<PcieModel> pcie;
    PcieConfig pcfg;
    if (pc.gen3) pcie = std::make_unique<PcieModel>(pcfg, mem_);
    sink_->set_apply(!pc.gen3);
    auto& dbq = sink_->doorbells();
    // Doorbells reach the core after the write becomes visible and an MMIO write crosses the link.
    sink_cfg_delay(pc.gen3 ? pcfg.write_latency + opt_.mmio_latency : 1);

    csr_.write(rm::kRegCountersClear, 1);
    step_idle();

    struct Port {
      bool active = false;
      unsigned beat = 0;
      double next_time = 0;
      std::vector<std::uint8_t> buf;
    };
    std::vector<Port> ports(pc.ports);
    for (auto& p : ports) p.buf.resize(static_cast<std::size_t>(beats) * 64);

    std::vector<std::uint64_t> inj_cycle(total);
    std::vector<std::uint32_t> lat;
    lat.reserve(pc.measured);
    std::vector<std::uint8_t> expect(static_cast<std::size_t>(beats) * 64);

    std::uint64_t next_id = 0, injected_beats = 0, delivered = 0, delivered_beats = 0;
    std::uint64_t payload_checked = 0;
    PointStats s, at_start, at_end;
    bool started = false, ended = false;
    auto snap = [&](PointStats& x) {
      x = s;
      x.cycles = core_.cycles();
      x.delivered = delivered;
      x.slot_writes = sink_->slot_writes();
      x.nq_entries = sink_->nq_entries();
      x.doorbells = sink_->rx_doorbells() + sink_->nq_doorbells();
      x.d2h_bytes = pcie ? pcie->stats().d2h_bytes : 0;
    };
    const std::uint64_t c_begin = core_.cycles();
    for (auto& p : ports) p.next_time = static_cast<double>(c_begin);
    if (pc.warmup == 0) {
      snap(at_start);
      started = true;
    }
    std::uint64_t first_inject_cycle = 0, last_inject_cycle = 0;
    std::uint64_t meas_inject_first = 0;
    bool meas_inject_seen = false;

    unsigned idle_streak = 0;
    auto wall0 = std::chrono::steady_clock::now();
    const std::uint64_t max_cycles = c_begin + 1000 + total * (beats + 8) * 40;
    while (true) {
      const std::uint64_t now = core_.cycles();
      if (now > max_cycles) throw std::runtime_error("point did not finish (core stuck?)");
      // Ethernet RX inputs.
      for (unsigned p = 0; p < pc.ports; ++p) {
        Port& pt = ports[p];
        in_.rx_valid[p] = false;
        if (!pt.active && next_id < total) {
          bool time_ok = !pc.line_rate || static_cast<double>(now) + 1e-9 >= std::ceil(pt.next_time - 1e-9);
          if (time_ok) {
            std::uint64_t inflight_f = s.injected - delivered;
            std::uint64_t inflight_b = injected_beats - delivered_beats;
            if (inflight_f + 1 <= opt_.window_frames && inflight_b + beats <= opt_.window_beats) {
              std::uint64_t id = next_id++;
              ff.build(id, target_of(id), pt.buf.data());
              inj_cycle[id] = now;
              if (id == 0) first_inject_cycle = now;
              if (id == pc.warmup) {
                meas_inject_first = now;
                meas_inject_seen = true;
              }
              last_inject_cycle = now;
              pt.active = true;
              pt.beat = 0;
              ++s.injected;
              injected_beats += beats;
              if (pc.line_rate) pt.next_time += wire_cycles;  // ideal start of the next frame
            } else {
              ++s.inject_stall;
              if (pc.line_rate) pt.next_time = std::max(pt.next_time, static_cast<double>(now));
            }
          }
        }
        if (pt.active) {
          in_.rx_valid[p] = true;
          in_.rx_data[p] = pt.buf.data() + static_cast<std::size_t>(pt.beat) * 64;
          bool last = pt.beat + 1 == beats;
          in_.rx_last[p] = last;
          in_.rx_keep[p] = last ? keep_last : ~std::uint64_t{0};
          in_.rx_user[p] = false;
        }
      }
      // CSR: one doorbell per cycle when due.
      bool db = !dbq.empty() && dbq.front().due <= now;
      in_.csr_valid = db;
      if (db) {
        in_.csr_write = true;
        in_.csr_addr = dbq.front().addr;
        in_.csr_wdata = dbq.front().value;
        dbq.pop_front();
      }
      // DMA.
      if (pcie) {
        in_.dma_wr_ready = pcie->wr_ready();
        in_.dma_rd_req_ready = pcie->rd_req_ready();
        in_.cpl_valid = pcie->cpl_valid();
        in_.cpl_data = pcie->cpl_data();
        in_.cpl_tag = pcie->cpl_tag();
        in_.cpl_last = pcie->cpl_last();
      } else {
        in_.dma_wr_ready = true;
        in_.dma_rd_req_ready = true;
        in_.cpl_valid = false;
      }

      core_.step(in_, out_);

      for (unsigned p = 0; p < pc.ports; ++p) {
        Port& pt = ports[p];
        if (in_.rx_valid[p]) {
          if (!out_.rx_ready[p]) sink_->error("eth_rx_tready low (the MAC cannot be back-pressured)");
          if (++pt.beat == beats) pt.active = false;
        }
      }
      if (out_.dma_wr_valid) {
        if (in_.dma_wr_ready) {
          ++s.wr_beats;
          if (pcie) pcie->wr_beat(out_.dma_wr_addr, out_.dma_wr_len, out_.dma_wr_data.data(), out_.dma_wr_last);
          Delivery d = sink_->beat(now, out_.dma_wr_addr, out_.dma_wr_len, out_.dma_wr_data.data(),
                                   out_.dma_wr_last);
          if (d.valid) {
            if (d.frame_id >= total || d.len != ff.nic_len() || conn_of(target_of(d.frame_id)) != d.conn) {
              sink_->error("delivered frame id " + std::to_string(d.frame_id) + " to conn " +
                           std::to_string(d.conn) + " len " + std::to_string(d.len) + ": unexpected");
            } else {
              if (opt_.payload_check_every != 0 && d.frame_id % opt_.payload_check_every == 0) {
                ff.build(d.frame_id, target_of(d.frame_id), expect.data());
                if (std::memcmp(expect.data(), d.frame, d.len) != 0) {
                  sink_->error("payload mismatch for frame " + std::to_string(d.frame_id));
                }
                ++payload_checked;
              }
              if (d.frame_id >= pc.warmup) lat.push_back(static_cast<std::uint32_t>(now - inj_cycle[d.frame_id]));
            }
            ++delivered;
            delivered_beats += beats;
            if (!started && delivered == pc.warmup) {
              snap(at_start);
              started = true;
            }
            if (!ended && delivered == total) {
              snap(at_end);
              ended = true;
            }
          }
        } else {
          ++s.wr_stall;
        }
      }
      if (pcie) {
        if (out_.dma_rd_req_valid && in_.dma_rd_req_ready) {
          pcie->rd_req(out_.dma_rd_req_addr, out_.dma_rd_req_len, out_.dma_rd_req_tag);
        }
        if (in_.cpl_valid && out_.cpl_ready) pcie->cpl_taken();
        pcie->note_valid(out_.dma_wr_valid, out_.dma_rd_req_valid);
        pcie->tick();
      }
      // Done when everything is delivered and nothing moved for a while (a doorbell
      // presented this cycle shows in idle_o only from the next one).
      idle_streak = (out_.idle && dbq.empty() && !in_.csr_valid && (!pcie || pcie->idle())) ? idle_streak + 1 : 0;
      if (ended && idle_streak >= 16) break;
      // Frames lost inside the core (counted drops): stop and let the checks report it.
      if (!ended && next_id == total && idle_streak >= 4096) {
        sink_->error("only " + std::to_string(delivered) + " of " + std::to_string(total) + " frames delivered");
        snap(at_end);
        if (!started) snap(at_start);
        break;
      }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const std::uint64_t loop_cycles = core_.cycles() - c_begin;
    for (int i = 0; i < 4; ++i) step_idle();

    // NIC counters for this point.
    json cnt = json::object();
    std::array<std::uint64_t, rm::kNumCounters> cv{};
    for (unsigned i = 0; i < rm::kNumCounters; ++i) {
      cv[i] = csr_.counter(static_cast<rm::Counter>(i));
      cnt[std::string(rm::kCounterNames[i])] = cv[i];
    }
    auto C = [&](rm::Counter c) { return cv[static_cast<unsigned>(c)]; };
    std::uint64_t fates = 0;
    for (rm::Counter c : rm::kRxFates) fates += C(c);
    std::uint64_t delivered_cnt = C(rm::Counter::kRxDeliveredConn) + C(rm::Counter::kRxDeliveredFallback);

    std::uint64_t expect_fallback = 0;
    for (std::uint64_t id = 0; id < total; ++id) expect_fallback += conn_of(target_of(id)) == 0 ? 1 : 0;

    json checks = {
        {"rx_frames_eq_injected", C(rm::Counter::kRxFrames) == total},
        {"fates_balance", fates == C(rm::Counter::kRxFrames)},
        {"all_delivered", delivered_cnt == total && delivered == total},
        {"fallback_as_expected", C(rm::Counter::kRxDeliveredFallback) == expect_fallback},
        {"rx_bytes", C(rm::Counter::kRxBytes) == total * ff.nic_len()},
        {"rx_drop_ring_full_zero", C(rm::Counter::kRxDropRingFull) == 0},
        {"rx_drop_overflow_zero", C(rm::Counter::kRxDropOverflow) == 0},
        {"notify_written_eq_host", C(rm::Counter::kNotifyWritten) == sink_->nq_entries() - nq_base_},
        {"notify_drop_zero", C(rm::Counter::kNotifyDropNqFull) == 0},
        {"dma_wr_reqs_eq_host", C(rm::Counter::kDmaWrReqs) == sink_->writes() - wr_base_},
        {"no_invalid_doorbell_csr_cmd", C(rm::Counter::kDoorbellInvalid) == 0 && C(rm::Counter::kCsrInvalid) == 0 &&
                                            C(rm::Counter::kCmdRejected) == 0},
        {"host_errors", sink_->errors()},
        {"trailers_checked", sink_->slot_writes() - slot_base_},
        {"payloads_checked", payload_checked},
    };
    bool ok = true;
    for (auto& [k, v] : checks.items()) {
      if (v.is_boolean() && !v.get<bool>()) ok = false;
    }
    ok = ok && sink_->errors() == 0;
    if (pcie && pcie->stats().protocol_errors != 0) ok = false;
    checks["ok"] = ok;
    if (!ok) {
      json msgs = json::array();
      for (auto& m : sink_->messages()) msgs.push_back(m);
      checks["messages"] = msgs;
    }
    nq_base_ = sink_->nq_entries();
    wr_base_ = sink_->writes();
    slot_base_ = sink_->slot_writes();

    if (!pc.measure) return json{{"ok", ok}, {"checks", checks}};

    // ---------------------------------------------------------------- figures
    const double cyc = static_cast<double>(at_end.cycles - at_start.cycles);
    const double frames = static_cast<double>(at_end.delivered - at_start.delivered);
    const double ppc = frames / cyc;
    const double pps = ppc * kClockHz;
    const double line_pps = kLineRateBps * pc.ports / ((pc.wire_bytes + kPreambleIfgBytes) * 8.0);
    const double offered_ppc =
        pc.line_rate ? pc.ports / wire_cycles : static_cast<double>(pc.ports) / static_cast<double>(beats);
    const double wr_beats = static_cast<double>(at_end.wr_beats - at_start.wr_beats);
    const double wr_stall = static_cast<double>(at_end.wr_stall - at_start.wr_stall);
    const double inj_stall = static_cast<double>(at_end.inject_stall - at_start.inject_stall);
    const double nq_per = static_cast<double>(at_end.nq_entries - at_start.nq_entries) / frames;
    const double db_per = static_cast<double>(at_end.doorbells - at_start.doorbells) / frames;
    const double achieved_vs_offered = ppc / offered_ppc;

    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) -> std::uint64_t {
      if (lat.empty()) return 0;
      std::size_t i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(lat.size()))) - 1;
      return lat[std::min(i, lat.size() - 1)];
    };

    json link = nullptr;
    if (pcie) {
      const double d2h = static_cast<double>(at_end.d2h_bytes - at_start.d2h_bytes);
      link = {{"d2h_bytes_per_cycle", d2h / cyc},
              {"d2h_utilization", d2h / cyc / pcfg.d2h_bytes_per_cycle},
              {"d2h_bytes_per_frame", d2h / frames},
              {"ceiling_packets_per_cycle", pcfg.d2h_bytes_per_cycle / (d2h / frames)}};
    }
    // Which resource limits: if the offered load is delivered there is no
    // bottleneck; otherwise the one that pushed back.
    std::string limited_by;
    std::string detail;
    if (achieved_vs_offered >= 0.995) {
      limited_by = "offered_load";
      detail = pc.line_rate ? "100GbE line rate delivered in full" : "one beat per cycle per port delivered in full";
    } else if (pcie && wr_stall / cyc > 0.05) {
      limited_by = "pcie";
      detail = "PCIe d2h bandwidth: dma_wr_ready low on " + std::to_string(std::lround(100 * wr_stall / cyc)) +
               "% of cycles";
    } else if (wr_beats / cyc > 0.97) {
      limited_by = "core";
      detail = "DMA write port (one 64-byte beat per cycle) busy every cycle";
    } else if (db_per + nq_per > 0.005 && ppc * (1.0 + db_per + nq_per) > 0.97 * offered_ppc) {
      limited_by = "core";
      std::ostringstream os;
      os.precision(3);
      os << "host interaction: " << db_per << " RX_CONS/NQ doorbells per frame (each takes an rx_dma_engine "
         << "s0 slot ahead of descriptors) and " << nq_per << " notification writes per frame (each takes a "
         << "DMA write beat)";
      detail = os.str();
    } else if (pc.ports > 1) {
      limited_by = "core";
      detail = "rx_ingress merges the ports into one beat stream (<= 1 beat per cycle)";
    } else {
      limited_by = "core";
      detail = "core accepted fewer frames than offered";
    }

    json r = {
        {"frame_bytes", pc.wire_bytes},
        {"nic_frame_bytes", ff.nic_len()},
        {"beats_per_frame", beats},
        {"active_conns", active_},
        {"ports", pc.ports},
        {"pacing", pc.line_rate ? "line_rate_100g" : "back_to_back"},
        {"pcie", pc.gen3 ? "gen3x16" : "ideal"},
        {"pattern", opt_.pattern},
        {"frames_warmup", pc.warmup},
        {"frames_measured", static_cast<std::uint64_t>(frames)},
        {"cycles_measured", static_cast<std::uint64_t>(cyc)},
        {"offered_packets_per_cycle", offered_ppc},
        {"packets_per_cycle", ppc},
        {"mpps", pps / 1e6},
        {"gbps_frame", pps * pc.wire_bytes * 8 / 1e9},
        {"gbps_wire", pps * (pc.wire_bytes + kPreambleIfgBytes) * 8 / 1e9},
        {"line_rate_pct", 100.0 * pps / line_pps},
        {"latency_cycles", {{"min", lat.empty() ? 0 : lat.front()},
                            {"median", pct(0.5)},
                            {"p99", pct(0.99)},
                            {"max", lat.empty() ? 0 : lat.back()},
                            {"samples", lat.size()}}},
        {"latency_ns_median", static_cast<double>(pct(0.5)) * 1e9 / kClockHz},
        {"dma_wr_beats_per_cycle", wr_beats / cyc},
        {"dma_wr_stall_fraction", wr_stall / cyc},
        {"inject_window_stall_fraction", inj_stall / cyc},
        {"notifications_per_frame", nq_per},
        {"doorbells_per_frame", db_per},
        {"pcie_link", link},
        {"limited_by", limited_by},
        {"limit_detail", detail},
        {"sim", {{"cycles", loop_cycles},
                 {"wall_s", wall},
                 {"cycles_per_s", static_cast<double>(loop_cycles) / wall}}},
        {"counters", cnt},
        {"checks", checks},
    };
    (void)first_inject_cycle;
    (void)last_inject_cycle;
    (void)meas_inject_first;
    (void)meas_inject_seen;
    return r;
  }

 private:
  void expect_ok(rm::Status st, const char* what) {
    if (st != rm::Status::kOk) {
      throw std::runtime_error(std::string(what) + " failed: " + std::string(rm::status_name(st)));
    }
  }
  void step_idle() {
    for (unsigned p = 0; p < CoreModel::kNumPorts; ++p) in_.rx_valid[p] = false;
    in_.dma_wr_ready = true;
    in_.dma_rd_req_ready = true;
    in_.cpl_valid = false;
    core_.step(in_, out_);
    if (out_.dma_wr_valid) sink_->error("unexpected DMA write outside a measured point");
  }
  void sink_cfg_delay(std::uint64_t d) { sink_->set_delay(d); }
  void map_memory(const SinkConfig& sc) {
    std::string why;
    std::uint64_t nq_bytes = std::uint64_t{8} << sc.nq_log2;
    std::uint64_t ring_bytes = (ring_mem_bytes_ + 4095) / 4096 * 4096;
    std::uint64_t total = nq_bytes + ring_bytes;
    int fd = ::memfd_create("nic_bench", MFD_ALLOW_SEALING);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(total)) != 0 || ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
      throw std::runtime_error("memfd setup failed");
    }
    if (mem_.map(fd, kNqBase, nq_bytes, 0, why) != 0 || mem_.map(fd, kRingBase, ring_bytes, nq_bytes, why) != 0) {
      throw std::runtime_error("host memory map failed: " + why);
    }
    ::close(fd);  // the mappings keep the memory
    mem_mapped_ = true;
  }

  const Options& opt_;
  unsigned active_;
  unsigned bypass_;
  std::uint32_t rx_log2_ = 12;
  std::uint32_t batch_ = 0;
  std::uint64_t ring_mem_bytes_ = 0;
  bool mem_mapped_ = false;
  HostMemory mem_;
  std::unique_ptr<HostSink> sink_;
  CoreModel core_;
  CoreModel::In in_{};
  CoreModel::Out out_{};
  norman::bench::CsrAccess csr_{in_, out_, [this] { step_idle(); }};
  std::uint64_t setup_cycles_ = 0;
  double setup_wall_s_ = 0;
  std::uint64_t nq_base_ = 0, wr_base_ = 0, slot_base_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"nic_bench: RX dataplane benchmark of the verilated Norman NIC core (JSON on stdout)"};
  app.add_option("--sizes", opt.sizes, "wire frame sizes in bytes incl. 4-byte FCS")->delimiter(',');
  app.add_option("--conns", opt.conns, "active connections (ring targets); 65536 = 65535 bypass + fallback")
      ->delimiter(',');
  app.add_option("--pacing", opt.pacing, "b2b (back-to-back beats) and/or line (100GbE pacing)")->delimiter(',');
  app.add_option("--pcie", opt.pcie, "ideal (dma_wr_ready = 1) and/or gen3x16 (PCIe model)")->delimiter(',');
  app.add_option("--ports", opt.ports, "RX ports carrying traffic (1 or 2)")->delimiter(',');
  app.add_option("--pattern", opt.pattern, "rr (round-robin) or random target per frame");
  app.add_option("--frames", opt.frames, "measured frames per point (0: beat budget / beats per frame)");
  app.add_option("--beat-budget", opt.beat_budget, "auto --frames: input beats per point");
  app.add_option("--warmup", opt.warmup, "warm-up frames per point (0: auto)");
  app.add_option("--window-frames", opt.window_frames, "max frames in flight (injected, not yet written)");
  app.add_option("--window-beats", opt.window_beats, "max beats in flight");
  app.add_option("--rx-log2", opt.rx_log2, "RX ring log2 (default: by connection count)");
  app.add_option("--batch", opt.batch, "RX_CONS doorbell batch (default: half the ring)");
  app.add_option("--payload-check-every", opt.payload_check_every, "compare every Nth frame byte by byte (0: off)");
  app.add_option("--mmio-latency", opt.mmio_latency, "gen3x16: cycles for a doorbell write to reach the core");
  app.add_option("--mem-limit-mib", opt.mem_limit_mib, "map real host memory for rings up to this size");
  app.add_flag("--quick", opt.quick, "short CI run: 64,1518 B x 1,1024 conns, small frame counts");
  CLI11_PARSE(app, argc, argv);
  if (opt.quick) {
    if (app.count("--sizes") == 0) opt.sizes = {64, 1518};
    if (app.count("--conns") == 0) opt.conns = {1, 1024};
    if (app.count("--beat-budget") == 0) opt.beat_budget = 24000;
  }
  for (unsigned s : opt.sizes) {
    if (s < 64 || s - kFcsBytes > rm::kMaxFrameBytes) {
      std::cerr << "frame size " << s << " out of range 64.." << rm::kMaxFrameBytes + kFcsBytes << "\n";
      return 2;
    }
  }
  for (unsigned c : opt.conns) {
    if (c < 1 || c > rm::kNumConns) {
      std::cerr << "--conns must be 1.." << rm::kNumConns << "\n";
      return 2;
    }
  }
  for (unsigned p : opt.ports) {
    if (p < 1 || p > CoreModel::kNumPorts) {
      std::cerr << "--ports must be 1.." << CoreModel::kNumPorts << "\n";
      return 2;
    }
  }
  if (opt.pattern != "rr" && opt.pattern != "random") {
    std::cerr << "--pattern must be rr or random\n";
    return 2;
  }

  PcieConfig pcfg;
  json doc;
  doc["benchmark"] = "nic_bench (RX dataplane: eth_rx -> nic_core -> DMA write -> host)";
  doc["assumptions"] = {
      {"clock_hz", kClockHz},
      {"beat_bytes", rm::kDataBytes},
      {"frame_bytes_meaning", "wire frame size incl. the 4-byte FCS; the MAC strips the FCS, the NIC sees len-4 bytes"},
      {"preamble_ifg_bytes", kPreambleIfgBytes},
      {"line_rate_bps", kLineRateBps},
      {"line_rate_bytes_per_cycle", kLineBytesPerCycle},
      {"line_rate_64B_cycles_per_frame", (64.0 + kPreambleIfgBytes) / kLineBytesPerCycle},
      {"gbps_frame", "delivered frames/s x frame_bytes (incl. FCS) x 8"},
      {"gbps_wire", "delivered frames/s x (frame_bytes + 20) x 8; line_rate_pct = gbps_wire / (100 x ports)"},
      {"latency", "cycles from a frame's first beat on eth_rx to the accepted last beat of its RX slot DMA write"},
      {"back_to_back", "a port starts a new frame in the cycle after the previous frame's last beat, subject to an "
                       "in-flight window (the MAC cannot be back-pressured: the window stands in for the flow "
                       "control that keeps rx_ingress from dropping)"},
      {"in_flight_window", {{"frames", opt.window_frames}, {"beats", opt.window_beats}}},
      {"host", {{"rx_cons", "RX_CONS doorbell per connection once `batch` slots are unreturned"},
                {"nq_cons", "NQ CONS doorbell every 8192 entries"},
                {"doorbell_delay_cycles_ideal", 1},
                {"doorbell_delay_cycles_gen3x16", pcfg.write_latency + opt.mmio_latency}}},
      {"pcie_gen3x16", {{"d2h_bytes_per_cycle", pcfg.d2h_bytes_per_cycle},
                        {"h2d_bytes_per_cycle", pcfg.h2d_bytes_per_cycle},
                        {"tlp_overhead_bytes", pcfg.tlp_overhead},
                        {"mps", pcfg.mps},
                        {"mrrs", pcfg.mrrs},
                        {"read_latency_cycles", pcfg.read_latency},
                        {"write_latency_cycles", pcfg.write_latency},
                        {"max_writes_pending", pcfg.max_writes_pending},
                        {"burst_bytes", pcfg.burst_bytes},
                        {"note", "8 GT/s x16 x 128/130 = 15.75 GB/s = 63 B/cycle; every TLP costs payload + 24 B"}}},
      {"pcie_ideal", "dma_wr_ready = 1 every cycle (only the core limits)"},
  };
  doc["results"] = json::array();
  bool all_ok = true;
  std::uint64_t sim_cycles = 0;
  double sim_wall = 0;
  json setups = json::array();
  auto t_all = std::chrono::steady_clock::now();

  try {
    for (unsigned conns : opt.conns) {
      Bench b(opt, conns);
      std::cerr << "[nic_bench] configuring " << conns << " connection(s)...\n";
      b.configure();
      // Prime: one frame per target so every connection has had its first notification.
      Bench::PointCfg prime{64, 1, false, false, 0, std::max<std::uint64_t>(conns, 64), false};
      json pr = b.run_point(prime);
      if (!pr["ok"].get<bool>()) {
        std::cerr << "[nic_bench] priming failed: " << pr.dump() << "\n";
        all_ok = false;
      }
      setups.push_back(b.setup_info());
      for (unsigned ports : opt.ports) {
        for (const std::string& pcie : opt.pcie) {
          for (unsigned size : opt.sizes) {
            for (const std::string& pacing : opt.pacing) {
              FrameFactory ff(size);
              std::uint64_t measured =
                  opt.frames != 0 ? opt.frames : std::max<std::uint64_t>(2000, opt.beat_budget / ff.beats());
              std::uint64_t warmup = opt.warmup != 0 ? opt.warmup : std::max<std::uint64_t>(500, measured / 10);
              Bench::PointCfg pc{size, ports, pacing == "line", pcie == "gen3x16", warmup, measured, true};
              if (pacing != "line" && pacing != "b2b") throw std::invalid_argument("--pacing: b2b or line");
              if (pcie != "ideal" && pcie != "gen3x16") throw std::invalid_argument("--pcie: ideal or gen3x16");
              json r = b.run_point(pc);
              bool ok = r["checks"]["ok"].get<bool>();
              all_ok = all_ok && ok;
              sim_cycles += r["sim"]["cycles"].get<std::uint64_t>();
              sim_wall += r["sim"]["wall_s"].get<double>();
              std::cerr << "[nic_bench] " << size << "B conns=" << conns << " ports=" << ports << " " << pacing
                        << " " << pcie << ": " << r["packets_per_cycle"].get<double>() << " pkt/cycle, "
                        << r["mpps"].get<double>() << " Mpps, " << r["line_rate_pct"].get<double>()
                        << "% line, lat p50 " << r["latency_cycles"]["median"] << " limited_by "
                        << r["limited_by"].get<std::string>() << (ok ? "" : "  CHECKS FAILED") << " ("
                        << r["sim"]["cycles_per_s"].get<double>() / 1e6 << " Mcycles/s)\n";
              doc["results"].push_back(r);
            }
          }
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "[nic_bench] error: " << e.what() << "\n";
    doc["error"] = e.what();
    all_ok = false;
  }
  doc["setups"] = setups;
  doc["summary"] = {
      {"points", doc["results"].size()},
      {"all_checks_ok", all_ok},
      {"sim_cycles_in_points", sim_cycles},
      {"sim_wall_s_in_points", sim_wall},
      {"sim_cycles_per_s", sim_wall > 0 ? static_cast<double>(sim_cycles) / sim_wall : 0.0},
      {"total_wall_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count()},
  };
  std::cout << doc.dump(2) << std::endl;
  return all_ok ? 0 : 1;
}
