#include "nic_harness.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace norman::test {

namespace {
constexpr unsigned kBeatBytes = nsim::CoreModel::kBeatBytes;

std::uint64_t keep_mask(std::size_t n) {
  return n >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1);
}

std::string hex(std::uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}
}  // namespace

Ip128 ip128(const std::array<std::uint8_t, 4>& v4) {
  Ip128 r;
  r.lo = (std::uint64_t{v4[0]} << 24) | (std::uint64_t{v4[1]} << 16) | (std::uint64_t{v4[2]} << 8) | v4[3];
  return r;
}

Ip128 ip128(const std::array<std::uint8_t, 16>& v6) {
  Ip128 r;
  for (unsigned i = 0; i < 8; ++i) {
    r.hi = (r.hi << 8) | v6[i];
    r.lo = (r.lo << 8) | v6[8 + i];
  }
  return r;
}

std::uint64_t mac48(const std::array<std::uint8_t, 6>& mac) {
  std::uint64_t v = 0;
  for (auto b : mac) v = (v << 8) | b;
  return v;
}

// ================================================================ construction

NicHarness::NicHarness() : NicHarness(Options{}) {}

NicHarness::NicHarness(const Options& opt)
    : opt_(opt), model_(opt.trace_path), rng_(opt.seed), mem_(opt.mem_bytes, 0), alloc_next_(opt.mem_base) {
  model_.reset();
  run(4);
}

bool NicHarness::chance(unsigned pct) {
  if (pct >= 100) return true;
  if (pct == 0) return false;
  return (rng_() % 100) < pct;
}

void NicHarness::error(std::string msg) {
  if (errors_.size() < 100) errors_.push_back("cycle " + std::to_string(cycles()) + ": " + std::move(msg));
}

// ================================================================ clock

void NicHarness::drive_inputs() {
  // Ethernet RX: MACs cannot be back-pressured; frames go out beat by beat.
  for (unsigned p = 0; p < kNumPorts; ++p) {
    in_.rx_valid[p] = false;
    in_.rx_last[p] = false;
    in_.rx_user[p] = false;
    if (rx_q_[p].empty() || !chance(100 - opt_.rx_gap_pct)) continue;
    const RxFrameQ& f = rx_q_[p].front();
    const std::size_t off = rx_off_[p];
    const std::size_t n = std::min<std::size_t>(kBeatBytes, f.data.size() - off);
    rx_beat_[p].fill(0);
    std::memcpy(rx_beat_[p].data(), f.data.data() + off, n);
    in_.rx_valid[p] = true;
    in_.rx_data[p] = rx_beat_[p].data();
    in_.rx_keep[p] = keep_mask(n);
    in_.rx_last[p] = off + n >= f.data.size();
    in_.rx_user[p] = in_.rx_last[p] ? f.mac_error : f.junk_tuser;  // sampled with tlast
  }
  for (unsigned p = 0; p < kNumPorts; ++p) in_.tx_ready[p] = chance(opt_.tx_ready_pct);

  in_.dma_wr_ready = chance(opt_.wr_ready_pct);
  in_.dma_rd_req_ready = chance(opt_.rd_req_ready_pct);
  in_.irq_ready = chance(opt_.irq_ready_pct);

  // Completions: once shown, a beat stays until taken.
  const bool held = in_.cpl_valid;
  if (!held) {
    in_.cpl_valid = false;
    if (!rd_q_.empty() && rd_q_.front().ready_at <= cycles() && chance(opt_.cpl_valid_pct)) {
      ReadReq& r = rd_q_.front();
      const std::uint32_t n = std::min<std::uint32_t>(kBeatBytes, r.len - r.sent);
      cpl_beat_.fill(0);
      if (in_mem(r.addr + r.sent, n)) {
        std::memcpy(cpl_beat_.data(), mem_.data() + (r.addr + r.sent - opt_.mem_base), n);
      }
      in_.cpl_valid = true;
      in_.cpl_data = cpl_beat_.data();
      in_.cpl_tag = r.tag;
      in_.cpl_last = r.sent + n >= r.len;
    }
  }
}

void NicHarness::sample_outputs() {
  // CSR.
  if (in_.csr_valid && out_.csr_ready) {
    in_.csr_valid = false;
    csr_pending_ = false;
  }
  if (out_.csr_rsp_valid) csr_rsps_.push_back(out_.csr_rsp_data);

  // RX injection.
  for (unsigned p = 0; p < kNumPorts; ++p) {
    if (!in_.rx_valid[p]) continue;
    if (!out_.rx_ready[p]) {
      error("eth_rx_tready low on port " + std::to_string(p));
      continue;
    }
    if (in_.rx_last[p]) {
      rx_q_[p].pop_front();
      rx_off_[p] = 0;
    } else {
      rx_off_[p] += kBeatBytes;
    }
  }

  // TX capture.
  for (unsigned p = 0; p < kNumPorts; ++p) {
    if (tx_prev_stalled_[p] && (!out_.tx_valid[p] || out_.tx_data[p] != tx_prev_data_[p])) {
      error("eth_tx port " + std::to_string(p) + ": beat changed or withdrawn while stalled");
    }
    tx_prev_stalled_[p] = out_.tx_valid[p] && !in_.tx_ready[p];
    if (out_.tx_valid[p]) tx_prev_data_[p] = out_.tx_data[p];
    if (!(out_.tx_valid[p] && in_.tx_ready[p])) continue;
    const std::uint64_t keep = out_.tx_keep[p];
    const auto n = static_cast<std::size_t>(__builtin_popcountll(keep));
    if (keep != keep_mask(n) || n == 0) error("eth_tx port " + std::to_string(p) + ": bad keep " + hex(keep));
    if (n != kBeatBytes && !out_.tx_last[p]) error("eth_tx port " + std::to_string(p) + ": partial beat without last");
    tx_cur_[p].insert(tx_cur_[p].end(), out_.tx_data[p].begin(), out_.tx_data[p].begin() + static_cast<long>(n));
    if (out_.tx_last[p]) {
      tx_frames_[p].push_back(std::move(tx_cur_[p]));
      tx_cur_[p].clear();
    }
  }

  // DMA write.
  if (wr_prev_stalled_ && (!out_.dma_wr_valid || out_.dma_wr_addr != wr_prev_addr_)) {
    error("dma_wr: request changed or withdrawn while stalled");
  }
  wr_prev_stalled_ = out_.dma_wr_valid && !in_.dma_wr_ready;
  wr_prev_addr_ = out_.dma_wr_addr;
  if (out_.dma_wr_valid && in_.dma_wr_ready) {
    if (!wr_in_req_) {
      wr_in_req_ = true;
      wr_addr_ = out_.dma_wr_addr;
      wr_len_ = out_.dma_wr_len;
      wr_beat_ = 0;
      ++dma_wr_reqs_;
      if (wr_len_ == 0) error("dma_wr: zero length at " + hex(wr_addr_));
      if (!in_mem(wr_addr_, wr_len_)) error("dma_wr: out of host memory: " + hex(wr_addr_) + " len " + std::to_string(wr_len_));
    } else if (out_.dma_wr_addr != wr_addr_ || out_.dma_wr_len != wr_len_) {
      error("dma_wr: addr/len not held across the beats of a request");
    }
    const std::uint64_t block = (wr_addr_ & ~std::uint64_t{kBeatBytes - 1}) + std::uint64_t{wr_beat_} * kBeatBytes;
    for (unsigned lane = 0; lane < kBeatBytes; ++lane) {
      const std::uint64_t a = block + lane;
      if (a >= wr_addr_ && a < wr_addr_ + wr_len_ && in_mem(a, 1)) mem_[a - opt_.mem_base] = out_.dma_wr_data[lane];
    }
    const std::uint32_t beats = static_cast<std::uint32_t>(((wr_addr_ % kBeatBytes) + wr_len_ + kBeatBytes - 1) / kBeatBytes);
    const bool should_last = wr_beat_ + 1 >= beats;
    if (out_.dma_wr_last != should_last) {
      error("dma_wr: last on beat " + std::to_string(wr_beat_) + " of " + std::to_string(beats) + " (addr " +
            hex(wr_addr_) + " len " + std::to_string(wr_len_) + ")");
    }
    ++wr_beat_;
    if (out_.dma_wr_last) wr_in_req_ = false;
  }

  // DMA read requests.
  if (rd_req_prev_stalled_ && (!out_.dma_rd_req_valid || out_.dma_rd_req_addr != rd_req_prev_addr_)) {
    error("dma_rd: request changed or withdrawn while stalled");
  }
  rd_req_prev_stalled_ = out_.dma_rd_req_valid && !in_.dma_rd_req_ready;
  rd_req_prev_addr_ = out_.dma_rd_req_addr;
  if (out_.dma_rd_req_valid && in_.dma_rd_req_ready) {
    ReadReq r{out_.dma_rd_req_addr, out_.dma_rd_req_len, out_.dma_rd_req_tag, cycles() + opt_.rd_latency, 0};
    ++dma_rd_reqs_;
    if (r.len == 0) error("dma_rd: zero length at " + hex(r.addr));
    if (!in_mem(r.addr, r.len)) error("dma_rd: out of host memory: " + hex(r.addr) + " len " + std::to_string(r.len));
    rd_q_.push_back(r);
  }
  // Completions.
  if (in_.cpl_valid && out_.cpl_ready) {
    ReadReq& r = rd_q_.front();
    r.sent += std::min<std::uint32_t>(kBeatBytes, r.len - r.sent);
    if (r.sent >= r.len) rd_q_.pop_front();
    in_.cpl_valid = false;
  }

  // IRQs.
  if (out_.irq_valid && in_.irq_ready) irqs_.push_back(out_.irq_vector);
}

void NicHarness::step() {
  drive_inputs();
  model_.step(in_, out_);
  sample_outputs();
}

void NicHarness::run(std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) step();
}

bool NicHarness::wait_idle(std::uint64_t max_cycles) {
  unsigned quiet = 0;
  for (std::uint64_t i = 0; i < max_cycles; ++i) {
    step();
    const bool rx_empty = std::all_of(rx_q_.begin(), rx_q_.end(), [](const auto& q) { return q.empty(); });
    const bool tx_empty = std::all_of(tx_cur_.begin(), tx_cur_.end(), [](const auto& b) { return b.empty(); });
    if (out_.idle && rx_empty && tx_empty && rd_q_.empty() && !wr_in_req_ && !in_.cpl_valid && !out_.irq_valid) {
      if (++quiet >= 32) return true;
    } else {
      quiet = 0;
    }
  }
  error("wait_idle: timeout");
  return false;
}

// ================================================================ memory

bool NicHarness::in_mem(std::uint64_t addr, std::size_t len) const {
  return addr >= opt_.mem_base && addr - opt_.mem_base + len <= mem_.size() && addr + len >= addr;
}

std::uint64_t NicHarness::alloc(std::size_t bytes, std::size_t align) {
  const std::uint64_t a = (alloc_next_ + align - 1) & ~static_cast<std::uint64_t>(align - 1);
  if (!in_mem(a, bytes)) throw std::runtime_error("NicHarness::alloc: out of host memory");
  alloc_next_ = a + bytes;
  return a;
}

void NicHarness::mem_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  if (!in_mem(addr, data.size())) throw std::out_of_range("NicHarness::mem_write " + hex(addr));
  std::memcpy(mem_.data() + (addr - opt_.mem_base), data.data(), data.size());
}

void NicHarness::mem_read(std::uint64_t addr, std::span<std::uint8_t> out) const {
  if (!in_mem(addr, out.size())) throw std::out_of_range("NicHarness::mem_read " + hex(addr));
  std::memcpy(out.data(), mem_.data() + (addr - opt_.mem_base), out.size());
}

Bytes NicHarness::mem_read(std::uint64_t addr, std::size_t len) const {
  Bytes b(len);
  mem_read(addr, b);
  return b;
}

void NicHarness::mem_write64(std::uint64_t addr, std::uint64_t v) {
  std::array<std::uint8_t, 8> b{};
  for (unsigned i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
  mem_write(addr, b);
}

std::uint64_t NicHarness::mem_read64(std::uint64_t addr) const {
  std::array<std::uint8_t, 8> b{};
  mem_read(addr, b);
  std::uint64_t v = 0;
  for (unsigned i = 0; i < 8; ++i) v |= std::uint64_t{b[i]} << (8 * i);
  return v;
}

std::uint32_t NicHarness::mem_read32(std::uint64_t addr) const {
  std::array<std::uint8_t, 4> b{};
  mem_read(addr, b);
  std::uint32_t v = 0;
  for (unsigned i = 0; i < 4; ++i) v |= std::uint32_t{b[i]} << (8 * i);
  return v;
}

void NicHarness::mem_fill(std::uint64_t addr, std::size_t len, std::uint8_t v) {
  if (!in_mem(addr, len)) throw std::out_of_range("NicHarness::mem_fill " + hex(addr));
  std::memset(mem_.data() + (addr - opt_.mem_base), v, len);
}

// ================================================================ CSR

void NicHarness::csr_write(std::uint32_t addr, std::uint64_t value) {
  in_.csr_valid = true;
  in_.csr_write = true;
  in_.csr_addr = addr;
  in_.csr_wdata = value;
  csr_pending_ = true;
  // Posted exact-table writes wait on the bus for the filter's reset sweep
  // (one cycle per slot and exact location) and for a commit's drain.
  for (unsigned i = 0; csr_pending_; ++i) {
    if (i > 100000) throw std::runtime_error("csr_write: request never accepted");
    step();
  }
}

void NicHarness::filter_exact_write(
    const std::array<std::uint64_t, rm::kRegFilterExactDataCount>& data, std::uint64_t word) {
  for (unsigned i = 0; i < data.size(); ++i) {
    csr_write(rm::kRegFilterExactData + i * rm::kRegFilterExactDataStride, data[i]);
  }
  csr_write(rm::kRegFilterExactWrite, word);
}

void NicHarness::filter_exact_mask(
    const std::array<std::uint64_t, rm::kRegFilterExactDataCount>& data, unsigned table) {
  for (unsigned i = 0; i < data.size(); ++i) {
    csr_write(rm::kRegFilterExactData + i * rm::kRegFilterExactDataStride, data[i]);
  }
  csr_write(rm::kRegFilterExactMask, table);
}

std::uint64_t NicHarness::csr_read(std::uint32_t addr) {
  csr_rsps_.clear();
  in_.csr_valid = true;
  in_.csr_write = false;
  in_.csr_addr = addr;
  in_.csr_wdata = 0;
  csr_pending_ = true;
  for (unsigned i = 0; csr_pending_ || csr_rsps_.empty(); ++i) {
    if (i > 10000) throw std::runtime_error("csr_read: no response");
    step();
  }
  const std::uint64_t v = csr_rsps_.front();
  csr_rsps_.pop_front();
  if (!csr_rsps_.empty()) error("csr_read: more than one response");
  return v;
}

// ================================================================ commands

CmdResult NicHarness::read_status() {
  CmdResult r;
  r.raw = csr_read(rm::kRegCmdStatus);
  r.status = static_cast<rm::Status>(rm::kCmdStatusCode.get(r.raw));
  r.result = static_cast<std::uint32_t>(rm::kCmdStatusResult.get(r.raw));
  return r;
}

CmdResult NicHarness::command(rm::Op op, const std::map<unsigned, std::uint64_t>& args) {
  for (const auto& [idx, v] : args) write_arg(idx, v);
  write_op(op);
  // The first filter command after reset waits for the counters' sweep; a
  // CONN_SET/CONN_CLEAR that cannot drain TX answers BUSY after
  // CONN_DRAIN_CYCLES (each poll takes a few cycles).
  for (unsigned i = 0; i < 1000000; ++i) {
    CmdResult r = read_status();
    if (((r.raw >> rm::kCmdStatusBusyBit) & 1U) == 0) return r;
  }
  throw std::runtime_error("command: STATUS stays busy");
}

namespace {
void put(std::map<unsigned, std::uint64_t>& args, const rm::Field& f, std::uint64_t v) {
  f.set(args[f.arg], v);
}

std::map<unsigned, std::uint64_t> flow_args(const FlowKey& k, bool listen) {
  std::map<unsigned, std::uint64_t> a;
  put(a, rm::flow::kProto, k.proto);
  put(a, rm::flow::kIsIpv6, k.is_ipv6 ? 1 : 0);
  put(a, rm::flow::kListen, listen ? 1 : 0);
  put(a, rm::flow::kLocalPort, k.local_port);
  put(a, rm::flow::kRemotePort, k.remote_port);
  put(a, rm::flow::kLocalIpLo, k.local_ip.lo);
  put(a, rm::flow::kLocalIpHi, k.local_ip.hi);
  put(a, rm::flow::kRemoteIpLo, k.remote_ip.lo);
  put(a, rm::flow::kRemoteIpHi, k.remote_ip.hi);
  return a;
}
}  // namespace

rm::Status NicHarness::flow_insert(const FlowKey& key, std::uint16_t conn, bool listen) {
  auto a = flow_args(key, listen);
  put(a, rm::flow::kConnId, conn);
  return command(rm::Op::kFlowInsert, a).status;
}

rm::Status NicHarness::flow_delete(const FlowKey& key, bool listen) {
  return command(rm::Op::kFlowDelete, flow_args(key, listen)).status;
}

CmdResult NicHarness::flow_lookup(const FlowKey& key, bool listen) {
  return command(rm::Op::kFlowLookup, flow_args(key, listen));
}

rm::Status NicHarness::conn_set(const ConnConfig& c) {
  namespace cf = rm::conn;
  std::map<unsigned, std::uint64_t> a;
  put(a, cf::kConnId, c.conn_id);
  put(a, cf::kNqId, c.nq_id);
  put(a, cf::kPort, c.port);
  put(a, cf::kRaw, c.raw ? 1 : 0);
  put(a, cf::kNotifyTx, c.notify_tx ? 1 : 0);
  put(a, cf::kBroadcast, c.broadcast ? 1 : 0);
  put(a, cf::kRxBase, c.rx_base);
  put(a, cf::kRxLog2, c.rx_log2);
  put(a, cf::kTxLog2, c.tx_log2);
  put(a, cf::kTxDescBase, c.tx_desc_base);
  put(a, cf::kTxDataBase, c.tx_data_base);
  put(a, cf::kPid, c.pid);
  put(a, cf::kUid, c.uid);
  put(a, cf::kGid, c.gid);
  put(a, cf::kCmdId, c.cmd_id);
  put(a, cf::kCgroup, c.cgroup);
  put(a, cf::kSrcMac, c.src_mac);
  put(a, cf::kProto, c.proto);
  put(a, cf::kIsIpv6, c.is_ipv6 ? 1 : 0);
  put(a, cf::kSrcPort, c.src_port);
  put(a, cf::kSrcIpLo, c.src_ip.lo);
  put(a, cf::kSrcIpHi, c.src_ip.hi);
  return command(rm::Op::kConnSet, a).status;
}

rm::Status NicHarness::conn_clear(std::uint16_t conn) {
  std::map<unsigned, std::uint64_t> a;
  put(a, rm::conn::kConnId, conn);
  return command(rm::Op::kConnClear, a).status;
}

rm::Status NicHarness::nq_set(std::uint16_t nq, std::uint64_t base, unsigned log2, std::uint16_t vector) {
  std::map<unsigned, std::uint64_t> a;
  put(a, rm::nq::kNqId, nq);
  put(a, rm::nq::kVector, vector);
  put(a, rm::nq::kLog2, log2);
  put(a, rm::nq::kBase, base);
  return command(rm::Op::kNqSet, a).status;
}

rm::Status NicHarness::nq_clear(std::uint16_t nq) {
  std::map<unsigned, std::uint64_t> a;
  put(a, rm::nq::kNqId, nq);
  return command(rm::Op::kNqClear, a).status;
}

std::pair<std::uint16_t, std::uint16_t> NicHarness::conn_query(std::uint16_t conn) {
  std::map<unsigned, std::uint64_t> a;
  put(a, rm::conn::kConnId, conn);
  const CmdResult r = command(rm::Op::kConnQuery, a);
  return {static_cast<std::uint16_t>(r.result >> 16), static_cast<std::uint16_t>(r.result & 0xFFFF)};
}

ConnHandle NicHarness::open_conn(ConnConfig cfg, unsigned rx_log2, unsigned tx_log2) {
  const std::size_t rx_bytes = (std::size_t{1} << rx_log2) * rm::rx_slot::kSlotBytes;
  const std::size_t txd_bytes = (std::size_t{1} << tx_log2) * rm::tx_desc::kDescBytes;
  const std::size_t txs_bytes = (std::size_t{1} << tx_log2) * rm::tx_desc::kSlotBytes;
  cfg.rx_base = alloc(rx_bytes);
  cfg.rx_log2 = static_cast<std::uint8_t>(rx_log2);
  cfg.tx_desc_base = alloc(txd_bytes);
  cfg.tx_data_base = alloc(txs_bytes);
  cfg.tx_log2 = static_cast<std::uint8_t>(tx_log2);
  const rm::Status s = conn_set(cfg);
  if (s != rm::Status::kOk) throw std::runtime_error("open_conn: CONN_SET failed: " + std::string(rm::status_name(s)));
  ConnHandle h;
  h.cfg = cfg;
  h.rx = RxRing{cfg.conn_id, cfg.rx_base, rx_log2, 0};
  h.tx = TxRing{cfg.conn_id, cfg.tx_desc_base, cfg.tx_data_base, tx_log2, 0};
  return h;
}

NqRing NicHarness::open_nq(std::uint16_t nq, unsigned log2, std::uint16_t vector) {
  const std::uint64_t base = alloc((std::size_t{1} << log2) * rm::notify::kEntryBytes);
  const rm::Status s = nq_set(nq, base, log2, vector);
  if (s != rm::Status::kOk) throw std::runtime_error("open_nq: NQ_SET failed: " + std::string(rm::status_name(s)));
  return NqRing{nq, base, log2, 0};
}

// ================================================================ Ethernet

void NicHarness::inject(unsigned port, const Bytes& frame, bool mac_error, bool junk_tuser) {
  if (port >= kNumPorts) throw std::out_of_range("inject: port");
  if (frame.empty()) throw std::invalid_argument("inject: empty frame");
  rx_q_[port].push_back(RxFrameQ{frame, mac_error, junk_tuser});
}

std::vector<Bytes> NicHarness::take_tx(unsigned port) {
  std::vector<Bytes> v(tx_frames_[port].begin(), tx_frames_[port].end());
  tx_frames_[port].clear();
  return v;
}

// ================================================================ rings

std::optional<RxFrame> NicHarness::rx_peek(const RxRing& ring) const {
  const std::uint64_t slot =
      ring.base + std::uint64_t{ring.cons & ((1U << ring.log2) - 1)} * rm::rx_slot::kSlotBytes;
  const std::uint32_t trailer = mem_read32(slot + rm::rx_slot::kTrailerOffset);
  if (rm::rx_slot::kSeq.get(trailer) != ((ring.cons + 1) & 0xFFFF)) return std::nullopt;
  RxFrame f;
  f.len = static_cast<std::uint32_t>(rm::rx_slot::kLen.get(trailer));
  f.flags = static_cast<std::uint32_t>(rm::rx_slot::kFlags.get(trailer));
  f.seq = static_cast<std::uint16_t>(rm::rx_slot::kSeq.get(trailer));
  if (f.len <= rm::rx_slot::kMaxLen) f.data = mem_read(slot + rm::rx_slot::kTrailerOffset - f.len, f.len);
  return f;
}

std::optional<RxFrame> NicHarness::rx_pop(RxRing& ring) {
  auto f = rx_peek(ring);
  if (f) ++ring.cons;
  return f;
}

std::vector<RxFrame> NicHarness::rx_drain(RxRing& ring) {
  std::vector<RxFrame> v;
  while (auto f = rx_pop(ring)) v.push_back(std::move(*f));
  if (!v.empty()) rx_doorbell(ring);
  return v;
}

void NicHarness::rx_doorbell(const RxRing& ring) {
  csr_write(conn_db(ring.conn, rm::kDbConnRxCons), ring.cons & 0xFFFF);
}

std::optional<Notification> NicHarness::nq_peek(const NqRing& q) const {
  const std::uint64_t e = mem_read64(q.base + std::uint64_t{q.cons & ((1U << q.log2) - 1)} * rm::notify::kEntryBytes);
  if (rm::notify::kSeq.get(e) != ((q.cons + 1) & 0xFFFF)) return std::nullopt;
  Notification n;
  n.conn = static_cast<std::uint32_t>(rm::notify::kConnId.get(e));
  n.kind = static_cast<std::uint16_t>(rm::notify::kKind.get(e));
  n.seq = static_cast<std::uint16_t>(rm::notify::kSeq.get(e));
  return n;
}

std::optional<Notification> NicHarness::nq_pop(NqRing& q) {
  auto n = nq_peek(q);
  if (n) ++q.cons;
  return n;
}

std::vector<Notification> NicHarness::nq_drain(NqRing& q) {
  std::vector<Notification> v;
  while (auto n = nq_pop(q)) v.push_back(*n);
  if (!v.empty()) nq_doorbell(q);
  return v;
}

void NicHarness::nq_doorbell(const NqRing& q) { csr_write(nq_db(q.id, rm::kDbNqCons), q.cons & 0xFFFF); }
void NicHarness::nq_arm(const NqRing& q) { csr_write(nq_db(q.id, rm::kDbNqArm), 1); }

std::uint32_t NicHarness::tx_post(TxRing& ring, const Bytes& frame, std::optional<std::uint16_t> len) {
  const std::uint32_t idx = ring.prod & ((1U << ring.log2) - 1);
  const std::uint64_t slot = ring.data_base + std::uint64_t{idx} * rm::tx_desc::kSlotBytes;
  mem_write(slot, std::span<const std::uint8_t>(frame.data(), std::min<std::size_t>(frame.size(), rm::tx_desc::kSlotBytes)));
  std::uint64_t d = 0;
  rm::tx_desc::kLen.set(d, len.value_or(static_cast<std::uint16_t>(frame.size())));
  rm::tx_desc::kFlags.set(d, 0);
  rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusPending);
  rm::tx_desc::kSeq.set(d, (ring.prod + 1) & 0xFFFF);
  mem_write64(ring.desc_base + std::uint64_t{idx} * rm::tx_desc::kDescBytes, d);
  return ring.prod++;
}

void NicHarness::tx_doorbell(const TxRing& ring) {
  csr_write(conn_db(ring.conn, rm::kDbConnTxProd), ring.prod & 0xFFFF);
}

std::uint64_t NicHarness::tx_desc(const TxRing& ring, std::uint32_t idx) const {
  return mem_read64(ring.desc_base + std::uint64_t{idx & ((1U << ring.log2) - 1)} * rm::tx_desc::kDescBytes);
}

std::uint32_t NicHarness::tx_status(const TxRing& ring, std::uint32_t idx) const {
  return static_cast<std::uint32_t>(rm::tx_desc::kStatus.get(tx_desc(ring, idx)));
}

// ================================================================ counters

std::uint64_t NicHarness::counter(rm::Counter c) {
  return csr_read(rm::kRegCountersValue + static_cast<std::uint32_t>(c) * rm::kRegCountersValueStride);
}

std::array<std::uint64_t, rm::kNumCounters> NicHarness::counters() {
  std::array<std::uint64_t, rm::kNumCounters> v{};
  for (unsigned i = 0; i < rm::kNumCounters; ++i) v[i] = counter(static_cast<rm::Counter>(i));
  return v;
}

std::map<std::string, std::uint64_t> NicHarness::counters_by_name() {
  const auto v = counters();
  std::map<std::string, std::uint64_t> m;
  for (unsigned i = 0; i < rm::kNumCounters; ++i) m[std::string(rm::kCounterNames[i])] = v[i];
  return m;
}

void NicHarness::clear_counters() { csr_write(rm::kRegCountersClear, 1); }

std::string NicHarness::format_counters(const std::array<std::uint64_t, rm::kNumCounters>& c) {
  std::ostringstream s;
  for (unsigned i = 0; i < rm::kNumCounters; ++i) {
    if (c[i] != 0) s << "  " << rm::kCounterNames[i] << " = " << c[i] << "\n";
  }
  return s.str();
}

std::string NicHarness::check_balance() {
  const auto c = counters();
  auto at = [&](rm::Counter k) { return c[static_cast<unsigned>(k)]; };
  std::uint64_t rx = 0;
  for (auto k : rm::kRxFates) rx += at(k);
  std::uint64_t tx = 0;
  for (auto k : rm::kTxFates) tx += at(k);
  std::string msg;
  if (rx != at(rm::Counter::kRxFrames)) {
    msg += "RX_FRAMES " + std::to_string(at(rm::Counter::kRxFrames)) + " != sum of RX fates " + std::to_string(rx) + "\n";
  }
  if (tx != at(rm::Counter::kTxFetched)) {
    msg += "TX_FETCHED " + std::to_string(at(rm::Counter::kTxFetched)) + " != sum of TX fates " + std::to_string(tx) + "\n";
  }
  if (!msg.empty()) msg += format_counters(c);
  return msg;
}

}  // namespace norman::test
