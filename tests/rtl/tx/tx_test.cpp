// TX path tests: tx_engine + tx_check (tests/rtl/tx/tx_tb.sv) against a C++
// host: a memory that serves DMA reads in order after a configurable latency
// and applies DMA writes, MACs that collect frames, and a notification sink.
#include <gtest/gtest.h>
#include <verilated.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "Vtx_tb.h"
#include "norman/regmap.hpp"
#include "pcie_model.hpp"

namespace {

namespace rm = norman::regmap;
using Bytes = std::vector<std::uint8_t>;
using rm::Counter;

constexpr unsigned kNumPorts = 2;
constexpr std::size_t kMemBytes = 64u << 20;
constexpr std::uint32_t kSlot = rm::tx_desc::kSlotBytes;

struct Conn {
  std::uint16_t id = 1;
  std::uint64_t desc_base = 0x100000;
  std::uint64_t data_base = 0x200000;
  unsigned log2 = 6;
  std::uint8_t port = 0;
  bool raw = false;
  bool notify = false;
  bool broadcast = false;
  std::uint16_t nq = 0;
  std::uint64_t mac = 0x020000000001;
  std::uint8_t proto = 17;
  bool v6 = false;
  std::uint16_t sport = 1000;
  std::array<std::uint8_t, 16> ip{};  // IPv4: first 4 bytes
  std::uint16_t prod = 0;
};

struct Expect {
  std::uint16_t conn;
  std::uint16_t idx;
  std::uint32_t status;
  Bytes frame;
  unsigned port;
  std::uint16_t len;  // as written in the descriptor
};

// Frame builder: Ethernet + IPv4/IPv6 + UDP/TCP (lengths consistent, so a
// well-formed frame parses clean), padded with a pattern to `len` bytes.
struct FrameSpec {
  std::uint64_t src_mac = 0x020000000001;
  std::uint64_t dst_mac = 0x02000000FFFF;
  bool v6 = false;
  bool arp = false;
  std::uint8_t proto = 17;
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t sport = 1000;
  std::size_t len = 64;
  std::uint8_t seed = 0;
  std::array<std::uint8_t, 4> dst4{10, 11, 12, 13};
  std::uint8_t ttl = 64;
  std::uint8_t dst6_last = 0xFF;  // IPv6 destination: F0..FE, then this byte
  bool dst6_zero = false;         // IPv6 destination :: (then dst6_last ends it)
};

void put16(Bytes& b, std::size_t off, std::uint32_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

Bytes make_frame(const FrameSpec& s) {
  Bytes f(s.len);
  for (std::size_t i = 0; i < s.len; i++) f[i] = static_cast<std::uint8_t>(i * 7 + s.seed);
  if (s.len < 14) return f;
  for (unsigned i = 0; i < 6; i++) {
    f[i] = static_cast<std::uint8_t>(s.dst_mac >> (40 - 8 * i));
    f[6 + i] = static_cast<std::uint8_t>(s.src_mac >> (40 - 8 * i));
  }
  if (s.arp) {
    put16(f, 12, 0x0806);
    return f;
  }
  std::size_t l4 = 0;
  if (!s.v6) {
    put16(f, 12, 0x0800);
    if (s.len < 34) return f;
    f[14] = 0x45;
    f[15] = 0;
    put16(f, 16, static_cast<std::uint32_t>(s.len - 14));
    put16(f, 18, 0x1234);
    put16(f, 20, 0);
    f[22] = s.ttl;
    f[23] = s.proto;
    put16(f, 24, 0);
    for (unsigned i = 0; i < 4; i++) f[26 + i] = s.ip[i];
    for (unsigned i = 0; i < 4; i++) f[30 + i] = s.dst4[i];
    l4 = 34;
  } else {
    put16(f, 12, 0x86DD);
    if (s.len < 54) return f;
    f[14] = 0x60;
    f[15] = f[16] = f[17] = 0;
    put16(f, 18, static_cast<std::uint32_t>(s.len - 54));
    f[20] = s.proto;
    f[21] = s.ttl;
    for (unsigned i = 0; i < 16; i++) f[22 + i] = s.ip[i];
    for (unsigned i = 0; i < 15; i++) f[38 + i] = s.dst6_zero ? 0 : static_cast<std::uint8_t>(0xF0 + i);
    f[53] = s.dst6_last;
    l4 = 54;
  }
  if (s.proto == 17 && s.len >= l4 + 8) {
    put16(f, l4, s.sport);
    put16(f, l4 + 2, 80);
    put16(f, l4 + 4, static_cast<std::uint32_t>(s.len - l4));
    put16(f, l4 + 6, 0);
  } else if (s.proto == 6 && s.len >= l4 + 20) {
    put16(f, l4, s.sport);
    put16(f, l4 + 2, 80);
    f[l4 + 12] = 0x50;
    f[l4 + 13] = 0x18;
  }
  return f;
}

// The frame with a tag (TPID, VLAN id) inserted after the MAC addresses.
Bytes tagged(const Bytes& f, std::uint16_t tpid, std::uint16_t vid) {
  Bytes t(f.begin(), f.begin() + 12);
  t.push_back(static_cast<std::uint8_t>(tpid >> 8));
  t.push_back(static_cast<std::uint8_t>(tpid));
  t.push_back(static_cast<std::uint8_t>(vid >> 8));
  t.push_back(static_cast<std::uint8_t>(vid));
  t.insert(t.end(), f.begin() + 12, f.end());
  return t;
}

FrameSpec spec_for(const Conn& c, std::size_t len, std::uint8_t seed = 0) {
  FrameSpec s;
  s.src_mac = c.mac;
  s.v6 = c.v6;
  s.proto = c.proto;
  s.ip = c.ip;
  s.sport = c.sport;
  s.len = len;
  s.seed = seed;
  return s;
}

class TxHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    vctx_ = std::make_unique<VerilatedContext>();
    top_ = std::make_unique<Vtx_tb>(vctx_.get());
    mem_.assign(kMemBytes, 0);
    top_->clk_i = 0;
    top_->rst_ni = 0;
    top_->eval();
    for (int i = 0; i < 4; i++) tick();
    top_->rst_ni = 1;
    tick();
  }

  void TearDown() override {
    // Every fetched descriptor ends in exactly one fate.
    std::uint64_t fates = 0;
    for (const auto f : rm::kTxFates) fates += cnt(f);
    EXPECT_EQ(cnt(Counter::kTxFetched), fates);
    std::uint64_t sent_bytes = 0;
    for (const auto& fr : frames_) sent_bytes += fr.second.size();
    EXPECT_EQ(tx_bytes_, sent_bytes);
    EXPECT_EQ(cnt(Counter::kTxSent), frames_.size());
    top_->final();
  }

  // CONN_QUERY: the engine answers one cycle after the connection is
  // presented (its state lives in block RAM with a registered read).
  void query(const Conn& c) {
    top_->query_conn_i = c.id;
    tick();
  }

  std::uint64_t cnt(Counter c) const { return counts_[static_cast<unsigned>(c)]; }

  void write_ctx(const Conn& c, bool valid = true) {
    top_->ctx_we_i = 1;
    top_->ctx_conn_i = c.id;
    top_->ctx_valid_i = valid;
    top_->ctx_nq_id_i = c.nq;
    top_->ctx_port_i = c.port;
    top_->ctx_raw_i = c.raw;
    top_->ctx_notify_tx_i = c.notify;
    top_->ctx_broadcast_i = c.broadcast;
    top_->ctx_tx_desc_base_i = c.desc_base;
    top_->ctx_tx_data_base_i = c.data_base;
    top_->ctx_tx_log2_i = static_cast<std::uint8_t>(c.log2);
    top_->ctx_src_mac_i = c.mac;
    top_->ctx_proto_i = c.proto;
    top_->ctx_is_ipv6_i = c.v6;
    top_->ctx_src_port_i = c.sport;
    // src_ip[127:0]: IPv4 in the low 32 bits, first address byte most significant.
    std::array<std::uint32_t, 4> w{};
    if (c.v6) {
      for (unsigned i = 0; i < 16; i++) w[3 - i / 4] |= std::uint32_t{c.ip[i]} << (24 - 8 * (i % 4));
    } else {
      for (unsigned i = 0; i < 4; i++) w[0] |= std::uint32_t{c.ip[i]} << (24 - 8 * i);
    }
    for (unsigned i = 0; i < 4; i++) top_->ctx_src_ip_i[i] = w[i];
    tick();
    top_->ctx_we_i = 0;
  }

  // Place a descriptor (and its frame) at the connection's producer index.
  void post(Conn& c, const Bytes& frame, std::uint32_t expect_status,
            int desc_len = -1) {
    const std::uint32_t mask = (1u << c.log2) - 1;
    const std::uint32_t slot = c.prod & mask;
    const std::uint16_t len = desc_len >= 0 ? static_cast<std::uint16_t>(desc_len)
                                            : static_cast<std::uint16_t>(frame.size());
    const std::uint64_t d = c.desc_base + slot * 8u;
    wr16(d + 0, len);
    wr16(d + 2, 0xA5);  // FLAGS: must survive the write-back
    wr16(d + 4, rm::tx_desc::kStatusPending);
    wr16(d + 6, static_cast<std::uint16_t>(c.prod + 1));
    for (std::size_t i = 0; i < frame.size(); i++) mem_[c.data_base + slot * kSlot + i] = frame[i];
    expects_.push_back({c.id, c.prod, expect_status, frame, c.port, len});
    c.prod = static_cast<std::uint16_t>(c.prod + 1);
  }

  void doorbell(const Conn& c) { doorbell_raw(c.id, c.prod); }
  void doorbell_raw(std::uint16_t conn, std::uint16_t prod) {
    top_->db_valid_i = 1;
    top_->db_conn_i = conn;
    top_->db_prod_i = prod;
    tick();
    top_->db_valid_i = 0;
  }

  std::uint16_t rd16(std::uint64_t a) const {
    return static_cast<std::uint16_t>(mem_[a] | (mem_[a + 1] << 8));
  }
  void wr16(std::uint64_t a, std::uint16_t v) {
    mem_[a] = static_cast<std::uint8_t>(v);
    mem_[a + 1] = static_cast<std::uint8_t>(v >> 8);
  }

  // Run until the design and the host model are quiet.
  std::uint64_t run_idle(std::uint64_t max_cycles = 200000) {
    const std::uint64_t start = cycle_;
    unsigned quiet = 0;
    while (cycle_ - start < max_cycles) {
      tick();
      const bool busy = !top_->idle_o || !rd_q_.empty();
      quiet = busy ? 0 : quiet + 1;
      if (quiet >= 8) return cycle_ - start;
    }
    ADD_FAILURE() << "not idle after " << max_cycles << " cycles";
    return cycle_ - start;
  }

  // Frames on the wire: every expected SENT frame, byte exact, on its
  // connection's port, in per-connection order (the order across
  // connections depends on scheduling), and nothing else.
  void check_all() {
    std::map<std::uint16_t, std::deque<const Expect*>> want;
    for (const auto& e : expects_) {
      if (e.status == rm::tx_desc::kStatusSent) want[e.conn].push_back(&e);
    }
    for (std::size_t i = 0; i < frames_.size(); i++) {
      const auto& fr = frames_[i];
      bool found = false;
      for (auto& [conn, q] : want) {
        if (!q.empty() && q.front()->frame == fr.second) {
          EXPECT_EQ(fr.first, q.front()->port) << "conn " << conn << " idx " << q.front()->idx;
          q.pop_front();
          found = true;
          break;
        }
      }
      EXPECT_TRUE(found) << "frame " << i << " (" << fr.second.size()
                         << " bytes) on port " << fr.first << " is not the next of any connection";
    }
    for (const auto& [conn, q] : want) {
      EXPECT_TRUE(q.empty()) << "conn " << conn << ": " << q.size() << " frames not sent";
    }
  }

  void check_desc(const Conn& c, const Expect& e) {
    const std::uint64_t d = c.desc_base + (e.idx & ((1u << c.log2) - 1)) * 8u;
    EXPECT_EQ(rd16(d + 4), e.status) << "conn " << c.id << " idx " << e.idx;
    EXPECT_EQ(rd16(d + 0), e.len);
    EXPECT_EQ(rd16(d + 2), 0xA5);
    EXPECT_EQ(rd16(d + 6), static_cast<std::uint16_t>(e.idx + 1));
  }
  void check_descs(const Conn& c) {
    for (const auto& e : expects_) {
      // Older descriptors have been overwritten by later laps of the ring.
      if (e.conn == c.id && static_cast<std::uint16_t>(c.prod - e.idx) <= (1u << c.log2)) {
        check_desc(c, e);
      }
    }
  }

  std::uint64_t count_status(std::uint32_t st) const {
    std::uint64_t n = 0;
    for (const auto& e : expects_) n += e.status == st;
    return n;
  }

  // ---------------------------------------------------------------- model
  void tick() {
    top_->clk_i = 0;
    top_->eval();
    drive();
    top_->eval();
    sample();
    top_->clk_i = 1;
    top_->eval();
    cycle_++;
  }

  void drive() {
    auto coin = [this] { return dma_ready_pct_ >= 100 || rng_() % 100 < dma_ready_pct_; };
    top_->dma_rd_req_ready_i =
        coin() && (!gen3_ || (rd_q_.size() < pcie_.max_reads_outstanding && d2h_tokens_ > 0));
    top_->dma_wr_ready_i = coin() && (!gen3_ || d2h_tokens_ > 0);
    top_->notify_ready_i = coin();
    std::uint8_t tr = 0;
    for (unsigned p = 0; p < kNumPorts; p++) {
      if (tready_pct_ >= 100 || rng_() % 100 < tready_pct_) tr = static_cast<std::uint8_t>(tr | (1u << p));
    }
    top_->eth_tx_tready_i = tr;
    top_->dma_rd_cpl_valid_i = 0;
    if (!rd_q_.empty() && rd_q_.front().ready_at <= cycle_ && coin() &&
        (!gen3_ || h2d_tokens_ > 0)) {
      const RdReq& r = rd_q_.front();
      top_->dma_rd_cpl_valid_i = 1;
      top_->dma_rd_cpl_tag_i = r.tag;
      top_->dma_rd_cpl_last_i = r.sent + 64 >= r.len;
      for (unsigned w = 0; w < 16; w++) {
        std::uint32_t v = 0;
        for (unsigned b = 0; b < 4; b++) {
          const std::uint32_t off = r.sent + w * 4 + b;
          const std::uint8_t byte = off < r.len ? mem_[r.addr + off] : 0;
          v |= std::uint32_t{byte} << (8 * b);
        }
        top_->dma_rd_cpl_data_i[w] = v;
      }
    }
  }

  void sample() {
    if (top_->dma_rd_req_valid_o && top_->dma_rd_req_ready_i) {
      rd_q_.push_back({top_->dma_rd_req_addr_o, top_->dma_rd_req_len_o, top_->dma_rd_req_tag_o,
                       cycle_ + rd_latency_, 0});
      rd_log_.push_back({top_->dma_rd_req_addr_o, top_->dma_rd_req_len_o});
      EXPECT_GT(top_->dma_rd_req_len_o, 0u);
      const std::uint64_t a = top_->dma_rd_req_addr_o;
      const std::uint64_t l = top_->dma_rd_req_len_o;
      d2h_tokens_ -= static_cast<double>(pcie_.tlp_overhead * tlp_starts(a, a, a + l, pcie_.mrrs));
    }
    if (top_->dma_rd_cpl_valid_i && top_->dma_rd_cpl_ready_o) {
      RdReq& r = rd_q_.front();
      const std::uint64_t lo = r.addr + r.sent;
      const std::uint64_t hi = r.addr + std::min<std::uint64_t>(r.len, r.sent + 64u);
      h2d_tokens_ -= static_cast<double>(hi - lo +
                                         pcie_.tlp_overhead * tlp_starts(r.addr, lo, hi, pcie_.mps));
      r.sent += 64;
      if (r.sent >= r.len) rd_q_.pop_front();
    }
    if (top_->dma_wr_valid_o && top_->dma_wr_ready_i) {
      const std::uint64_t addr = top_->dma_wr_addr_o;
      const std::uint32_t len = top_->dma_wr_len_o;
      const std::uint64_t block = (addr & ~std::uint64_t{63}) + 64u * wr_beat_;
      for (unsigned lane = 0; lane < 64; lane++) {
        const std::uint64_t a = block + lane;
        if (a >= addr && a < addr + len) {
          mem_[a] = static_cast<std::uint8_t>(top_->dma_wr_data_o[lane / 4] >> (8 * (lane % 4)));
        }
      }
      const std::uint64_t lo = std::max(block, addr), hi = std::min(block + 64u, addr + len);
      d2h_tokens_ -= static_cast<double>(hi - lo +
                                         pcie_.tlp_overhead * tlp_starts(addr, lo, hi, pcie_.mps));
      const std::uint32_t beats = static_cast<std::uint32_t>(((addr % 64) + len + 63) / 64);
      const bool last = wr_beat_ + 1 == beats;
      EXPECT_EQ(static_cast<bool>(top_->dma_wr_last_o), last) << "write " << addr << "+" << len;
      wr_beat_ = last ? 0 : wr_beat_ + 1;
      if (last) wr_log_.push_back({addr, len});
    }
    for (unsigned p = 0; p < kNumPorts; p++) {
      if (((top_->eth_tx_tvalid_o >> p) & 1u) && ((top_->eth_tx_tready_i >> p) & 1u)) {
        const std::uint64_t keep = (std::uint64_t{top_->eth_tx_tkeep_o[2 * p + 1]} << 32) |
                                   top_->eth_tx_tkeep_o[2 * p];
        bool contiguous = true, seen_zero = false;
        for (unsigned lane = 0; lane < 64; lane++) {
          const bool k = (keep >> lane) & 1u;
          if (!k) seen_zero = true;
          if (k && seen_zero) contiguous = false;
          if (k) {
            cur_[p].push_back(static_cast<std::uint8_t>(
                top_->eth_tx_tdata_o[p * 16 + lane / 4] >> (8 * (lane % 4))));
          }
        }
        EXPECT_TRUE(contiguous);
        const bool last = (top_->eth_tx_tlast_o >> p) & 1u;
        if (!last) {
          EXPECT_EQ(keep, ~std::uint64_t{0});
        }
        if (last) {
          frame_cycles_.push_back(cycle_);
          frames_.push_back({p, cur_[p]});
          cur_[p].clear();
        }
      }
    }
    if (top_->notify_valid_o && top_->notify_ready_i) {
      notes_.push_back({top_->notify_nq_id_o, top_->notify_conn_o, top_->notify_kind_o});
    }
    for (unsigned i = 0; i < rm::kNumCounters; i++) {
      if ((top_->cnt_o >> i) & 1u) counts_[i]++;
    }
    if (top_->tx_bytes_valid_o) tx_bytes_ += top_->tx_bytes_o;
    // The link's token buckets refill every cycle (nsim's PcieModel).
    d2h_tokens_ = std::min(d2h_tokens_ + pcie_.d2h_bytes_per_cycle, pcie_.burst_bytes);
    h2d_tokens_ = std::min(h2d_tokens_ + pcie_.h2d_bytes_per_cycle, pcie_.burst_bytes);
  }

  // TLPs of a transfer starting at `start` that begin inside [lo, hi): the
  // start itself and every `boundary`-aligned address after it (as nsim's
  // PcieModel splits requests, completions and writes).
  static std::uint64_t tlp_starts(std::uint64_t start, std::uint64_t lo, std::uint64_t hi,
                                  std::uint32_t boundary) {
    std::uint64_t n = (lo <= start && start < hi) ? 1 : 0;
    const std::uint64_t from = std::max(lo, start + 1);
    if (from < hi) {
      const std::uint64_t first = (from + boundary - 1) / boundary * boundary;
      if (first < hi) n += (hi - 1 - first) / boundary + 1;
    }
    return n;
  }

  // The gen3x16 link of nsim's PCIe model (its default configuration):
  // bandwidth per direction with TLP overheads, read latency and the limit on
  // outstanding reads.
  void use_gen3x16() {
    gen3_ = true;
    rd_latency_ = pcie_.read_latency;
    d2h_tokens_ = h2d_tokens_ = pcie_.burst_bytes;
  }

  struct RdReq {
    std::uint64_t addr;
    std::uint32_t len;
    std::uint8_t tag;
    std::uint64_t ready_at;
    std::uint32_t sent;
  };
  struct Note {
    std::uint32_t nq, conn, kind;
  };

  std::unique_ptr<VerilatedContext> vctx_;
  std::unique_ptr<Vtx_tb> top_;
  Bytes mem_;
  std::uint64_t cycle_ = 0;
  std::uint64_t rd_latency_ = 20;
  bool gen3_ = false;
  norman::nsim::PcieConfig pcie_;
  double d2h_tokens_ = 0, h2d_tokens_ = 0;
  std::vector<std::uint64_t> frame_cycles_;  // the cycle each frame's last beat left
  unsigned tready_pct_ = 100;
  unsigned dma_ready_pct_ = 100;  // read request, write and notification ready
  std::mt19937 rng_{12345};
  std::deque<RdReq> rd_q_;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> rd_log_, wr_log_;
  std::uint32_t wr_beat_ = 0;
  std::array<Bytes, kNumPorts> cur_;
  std::vector<std::pair<unsigned, Bytes>> frames_;
  std::vector<Note> notes_;
  std::array<std::uint64_t, rm::kNumCounters> counts_{};
  std::uint64_t tx_bytes_ = 0;
  std::vector<Expect> expects_;
};

Conn udp4_conn(std::uint16_t id, unsigned slot_region) {
  Conn c;
  c.id = id;
  c.desc_base = 0x100000 + slot_region * 0x1000 + 0x18;  // not block aligned: 2-beat write-backs
  c.data_base = 0x1000000 + std::uint64_t{slot_region} * 0x100000;
  c.mac = 0x020000000000 | id;
  c.ip = {192, 168, 1, static_cast<std::uint8_t>(id)};
  c.sport = static_cast<std::uint16_t>(4000 + id);
  return c;
}

constexpr std::uint32_t kSent = rm::tx_desc::kStatusSent;
constexpr std::uint32_t kSpoof = rm::tx_desc::kStatusDropSpoof;
constexpr std::uint32_t kBadLen = rm::tx_desc::kStatusDropBadLen;

TEST_F(TxHarness, ManyLengthsGoOutByteExact) {
  Conn c = udp4_conn(7, 0);
  c.log2 = 5;
  write_ctx(c);
  std::vector<std::size_t> lens;
  for (std::size_t l = 42; l <= 200; l++) lens.push_back(l);
  for (std::size_t l = 1400; l <= 1518; l += 3) lens.push_back(l);
  lens.push_back(1518);
  for (std::size_t l = 201; l < 1400; l += 37) lens.push_back(l);
  std::size_t i = 0;
  while (i < lens.size()) {
    // At most a ring's worth outstanding.
    for (unsigned k = 0; k < 24 && i < lens.size(); k++, i++) {
      post(c, make_frame(spec_for(c, lens[i], static_cast<std::uint8_t>(i))), kSent);
    }
    doorbell(c);
    run_idle();
  }
  check_all();
  check_descs(c);
  EXPECT_EQ(cnt(Counter::kTxSent), lens.size());
  EXPECT_EQ(cnt(Counter::kTxFetched), lens.size());
  EXPECT_EQ(cnt(Counter::kTxDropSpoof), 0u);
  query(c);
  EXPECT_EQ(top_->query_cons_o, c.prod);
}

TEST_F(TxHarness, RawConnectionShortAndArpFrames) {
  Conn c = udp4_conn(3, 1);
  c.raw = true;
  c.port = 1;
  write_ctx(c);
  for (std::size_t l = 14; l < 42; l++) {
    FrameSpec s = spec_for(c, l, static_cast<std::uint8_t>(l));
    s.src_mac = 0x0BADBADBAD00 + l;  // raw: anything goes
    post(c, make_frame(s), kSent);
  }
  FrameSpec arp = spec_for(c, 60);
  arp.arp = true;
  post(c, make_frame(arp), kSent);
  doorbell(c);
  run_idle();
  check_all();
  check_descs(c);
  EXPECT_EQ(cnt(Counter::kTxSent), 29u);
}

TEST_F(TxHarness, SpoofedHeadersDropped) {
  Conn c = udp4_conn(9, 2);
  write_ctx(c);
  Conn t = udp4_conn(10, 3);  // TCP over IPv6
  t.v6 = true;
  t.proto = 6;
  for (unsigned i = 0; i < 16; i++) t.ip[i] = static_cast<std::uint8_t>(0x20 + i);
  t.port = 1;
  write_ctx(t);

  post(c, make_frame(spec_for(c, 100)), kSent);
  FrameSpec s = spec_for(c, 100);
  s.src_mac ^= 1;
  post(c, make_frame(s), kSpoof);
  s = spec_for(c, 100);
  s.ip[3] ^= 1;
  post(c, make_frame(s), kSpoof);
  s = spec_for(c, 100);
  s.sport ^= 1;
  post(c, make_frame(s), kSpoof);
  s = spec_for(c, 100);
  s.proto = 6;  // TCP on a UDP connection
  post(c, make_frame(s), kSpoof);
  s = spec_for(c, 100);
  s.v6 = true;
  post(c, make_frame(s), kSpoof);
  s = spec_for(c, 100);
  s.arp = true;
  post(c, make_frame(s), kSpoof);
  post(c, make_frame(spec_for(c, 40)), kSpoof);  // truncated UDP header: malformed
  post(c, make_frame(spec_for(c, 64)), kSent);
  doorbell(c);

  post(t, make_frame(spec_for(t, 120)), kSent);
  s = spec_for(t, 120);
  s.ip[15] ^= 0x80;
  post(t, make_frame(s), kSpoof);
  s = spec_for(t, 120);
  s.v6 = false;
  s.ip = {1, 2, 3, 4};
  post(t, make_frame(s), kSpoof);
  s = spec_for(t, 120);
  s.sport = 1;
  post(t, make_frame(s), kSpoof);
  post(t, make_frame(spec_for(t, 74)), kSent);
  doorbell(t);
  run_idle();
  check_all();
  check_descs(c);
  check_descs(t);
  EXPECT_EQ(cnt(Counter::kTxDropSpoof), count_status(kSpoof));
  EXPECT_EQ(cnt(Counter::kTxDropSpoof), 10u);
  EXPECT_EQ(cnt(Counter::kTxSent), 4u);
}

TEST_F(TxHarness, PortOutOfRangeIsDropped) {
  Conn c = udp4_conn(11, 4);
  c.port = 5;  // tb has 2 ports
  c.raw = true;
  write_ctx(c);
  post(c, make_frame(spec_for(c, 80)), kSpoof);
  doorbell(c);
  run_idle();
  check_all();
  check_descs(c);
  EXPECT_EQ(cnt(Counter::kTxDropSpoof), 1u);
}

TEST_F(TxHarness, BadLengthsCompleteWithoutDataRead) {
  Conn c = udp4_conn(12, 5);
  c.log2 = 4;
  write_ctx(c);
  const int bad[] = {0, 13, 1519, 4000, 65535};
  std::vector<std::uint16_t> bad_idx;
  for (int b : bad) {
    post(c, make_frame(spec_for(c, 64)), kSent);
    bad_idx.push_back(c.prod);
    post(c, make_frame(spec_for(c, 64)), kBadLen, b);
  }
  post(c, make_frame(spec_for(c, 64)), kSent);
  doorbell(c);
  run_idle();
  check_all();
  check_descs(c);
  EXPECT_EQ(cnt(Counter::kTxDropBadLen), 5u);
  EXPECT_EQ(cnt(Counter::kTxSent), 6u);
  for (std::uint16_t idx : bad_idx) {
    const std::uint64_t slot = c.data_base + (idx & 15u) * kSlot;
    for (const auto& r : rd_log_) EXPECT_NE(r.first, slot) << "read a bad descriptor's data";
  }
}

TEST_F(TxHarness, RingWrapsAndBatchesStayInsideRing) {
  Conn c = udp4_conn(13, 6);
  c.log2 = 2;  // 4 descriptors
  c.notify = true;
  c.nq = 77;
  write_ctx(c);
  for (unsigned round = 0; round < 7; round++) {
    const unsigned n = 1 + round % 4;
    for (unsigned k = 0; k < n; k++) post(c, make_frame(spec_for(c, 60 + round * 10 + k)), kSent);
    doorbell(c);
    run_idle();
    for (const auto& e : expects_) {
      if (e.idx + 4 >= c.prod) check_desc(c, e);  // still in the ring
    }
  }
  check_all();
  for (const auto& r : rd_log_) {
    if (r.first >= c.desc_base && r.first < c.desc_base + 32) {
      EXPECT_LE(r.first + r.second, c.desc_base + 32) << "descriptor read crosses the ring end";
    }
  }
  for (const auto& w : wr_log_) {
    EXPECT_GE(w.first, c.desc_base);
    EXPECT_LE(w.first + w.second, c.desc_base + 32);
  }
  query(c);
  EXPECT_EQ(top_->query_cons_o, c.prod);
  // One TX_DONE per batch, all for this connection's queue.
  EXPECT_EQ(notes_.size(), wr_log_.size());
  EXPECT_GE(notes_.size(), 7u);
  for (const auto& n : notes_) {
    EXPECT_EQ(n.nq, 77u);
    EXPECT_EQ(n.conn, c.id);
    EXPECT_EQ(n.kind, rm::notify::kKindsTxDone);
  }
}

TEST_F(TxHarness, InterleavedConnectionsWithBackPressure) {
  tready_pct_ = 60;
  dma_ready_pct_ = 70;
  rd_latency_ = 100;
  std::vector<Conn> cs;
  for (unsigned i = 0; i < 5; i++) {
    Conn c = udp4_conn(static_cast<std::uint16_t>(100 + i * 1000), 10 + i);
    c.port = static_cast<std::uint8_t>(i % 2);
    c.notify = (i % 2) == 0;
    c.nq = static_cast<std::uint16_t>(i);
    c.log2 = 5;
    write_ctx(c);
    cs.push_back(c);
  }
  for (unsigned round = 0; round < 6; round++) {
    for (auto& c : cs) {
      for (unsigned k = 0; k < 3 + (c.id + round) % 5; k++) {
        const std::size_t len = 42 + ((c.id * 31 + round * 97 + k * 13) % 1400);
        post(c, make_frame(spec_for(c, len, static_cast<std::uint8_t>(k + round))), kSent);
      }
      doorbell(c);
      for (unsigned w = 0; w < 7; w++) tick();
    }
  }
  run_idle();
  // Per port the order of frames across connections is not fixed; compare
  // per connection, in order (frames carry their connection's source MAC).
  for (const auto& c : cs) {
    std::vector<const Bytes*> got, want;
    for (const auto& fr : frames_) {
      std::uint64_t mac = 0;
      for (unsigned b = 0; b < 6; b++) mac = (mac << 8) | fr.second[6 + b];
      if (mac == c.mac) {
        EXPECT_EQ(fr.first, c.port);
        got.push_back(&fr.second);
      }
    }
    for (const auto& e : expects_) {
      if (e.conn == c.id) want.push_back(&e.frame);
    }
    ASSERT_EQ(got.size(), want.size()) << "conn " << c.id;
    for (std::size_t i = 0; i < got.size(); i++) EXPECT_EQ(*got[i], *want[i]);
    check_descs(c);
    std::size_t notes = 0;
    for (const auto& n : notes_) notes += n.conn == c.id;
    if (c.notify) {
      EXPECT_GT(notes, 0u);
    } else {
      EXPECT_EQ(notes, 0u);
    }
    query(c);
    EXPECT_EQ(top_->query_cons_o, c.prod);
  }
  EXPECT_EQ(cnt(Counter::kTxSent), expects_.size());
  EXPECT_EQ(cnt(Counter::kTxDoorbells), 30u);
}

TEST_F(TxHarness, DoorbellToInvalidConnection) {
  doorbell_raw(4242, 5);
  run_idle();
  EXPECT_EQ(cnt(Counter::kTxDoorbells), 1u);
  EXPECT_EQ(cnt(Counter::kDoorbellInvalid), 1u);
  EXPECT_TRUE(rd_log_.empty());
  // A cleared context is invalid too.
  Conn c = udp4_conn(21, 7);
  write_ctx(c, false);
  post(c, make_frame(spec_for(c, 64)), kSent);
  doorbell(c);
  run_idle();
  EXPECT_EQ(cnt(Counter::kDoorbellInvalid), 2u);
  EXPECT_TRUE(rd_log_.empty());
  expects_.clear();
}

TEST_F(TxHarness, DoorbellWithNothingNewThenWork) {
  Conn c = udp4_conn(22, 8);
  c.notify = true;
  write_ctx(c);
  doorbell(c);  // prod == cons: queued, found empty, unqueued
  run_idle();
  EXPECT_TRUE(rd_log_.empty());
  EXPECT_TRUE(notes_.empty());
  for (unsigned i = 0; i < 3; i++) post(c, make_frame(spec_for(c, 90 + i)), kSent);
  doorbell(c);
  doorbell(c);  // a repeated doorbell must not queue the connection twice
  run_idle();
  check_all();
  check_descs(c);
  EXPECT_EQ(cnt(Counter::kTxFetched), 3u);
  EXPECT_EQ(notes_.size(), 1u);
  EXPECT_EQ(wr_log_.size(), 1u);
  EXPECT_EQ(cnt(Counter::kTxDoorbells), 3u);
}

TEST_F(TxHarness, ThroughputWithLongReadLatency) {
  rd_latency_ = 250;
  // One connection: batches of 8 in sequence.
  Conn c = udp4_conn(30, 20);
  c.log2 = 8;
  write_ctx(c);
  const unsigned n = 200;
  for (unsigned i = 0; i < n; i++) post(c, make_frame(spec_for(c, 64)), kSent);
  doorbell(c);
  const std::uint64_t one = run_idle();
  EXPECT_EQ(cnt(Counter::kTxSent), n);
  const double cpf1 = static_cast<double>(one) / n;
  std::printf("single connection: %u frames in %llu cycles (%.1f cycles/frame)\n", n,
              static_cast<unsigned long long>(one), cpf1);
  EXPECT_LT(cpf1, 100.0);

  // Eight connections share the read latency.
  std::vector<Conn> cs;
  for (unsigned i = 0; i < 8; i++) {
    Conn x = udp4_conn(static_cast<std::uint16_t>(40 + i), 21 + i);
    x.log2 = 8;
    write_ctx(x);
    cs.push_back(x);
  }
  for (auto& x : cs) {
    for (unsigned i = 0; i < 64; i++) post(x, make_frame(spec_for(x, 64)), kSent);
  }
  for (auto& x : cs) doorbell(x);
  const std::uint64_t many = run_idle();
  const double cpfn = static_cast<double>(many) / (8.0 * 64.0);
  std::printf("eight connections: %u frames in %llu cycles (%.1f cycles/frame)\n", 8 * 64,
              static_cast<unsigned long long>(many), cpfn);
  EXPECT_LT(cpfn, 25.0);
  EXPECT_EQ(cnt(Counter::kTxSent), n + 8 * 64);
  check_all();
}

}  // namespace

namespace {

constexpr std::uint32_t kVlan = rm::tx_desc::kStatusDropVlan;
constexpr std::uint32_t kMartian = rm::tx_desc::kStatusDropMartian;
constexpr std::uint32_t kBcast = rm::tx_desc::kStatusDropBroadcast;
constexpr std::uint32_t kClosed = rm::tx_desc::kStatusDropClosed;

class TxGuardTest : public TxHarness {
 protected:
  std::uint16_t cons_of(const Conn& c) {
    query(c);
    return top_->query_cons_o;
  }
  std::uint16_t prod_of(const Conn& c) {
    query(c);
    return top_->query_prod_o;
  }
  // CONN_SET's invalidating write (indices kept) and drain, as csr_regs
  // issues them; returns the cycles until the engine let go of c (100,000:
  // never). drain_valid_i stays high for the caller to observe the aftermath.
  unsigned invalidate_and_drain(const Conn& c) {
    top_->ctx_keep_idx_i = 1;
    write_ctx(c, false);
    top_->ctx_keep_idx_i = 0;
    top_->drain_valid_i = 1;
    top_->drain_conn_i = c.id;
    top_->query_conn_i = c.id;
    unsigned waited = 0;
    for (; waited < 100000; waited++) {
      tick();
      if (waited > 4 && !top_->query_busy_o) break;
    }
    return waited;
  }
};

// A producer index more than a ring ahead of cons, behind the accepted one,
// or all ones is refused and counted; the ring is never re-sent.
TEST_F(TxGuardTest, BogusProducerIndicesAreRefused) {
  Conn c = udp4_conn(50, 30);
  c.log2 = 3;  // 8 descriptors
  write_ctx(c);
  for (unsigned i = 0; i < 5; i++) post(c, make_frame(spec_for(c, 80 + i)), kSent);
  doorbell(c);
  run_idle();
  EXPECT_EQ(cnt(Counter::kTxSent), 5u);
  EXPECT_EQ(cons_of(c), 5u);

  doorbell_raw(c.id, static_cast<std::uint16_t>(5 + 9));  // a ring and one ahead
  doorbell_raw(c.id, 0xFFFF);                              // 2^64 - 1, low 16 bits
  doorbell_raw(c.id, 4);                                   // behind cons
  run_idle();
  EXPECT_EQ(cnt(Counter::kTxProdInvalid), 3u);
  EXPECT_EQ(cnt(Counter::kTxFetched), 5u) << "a refused doorbell re-sent stale descriptors";
  EXPECT_EQ(prod_of(c), 5u);

  // Exactly a ring ahead is fine; going back from there is not.
  for (unsigned i = 0; i < 8; i++) post(c, make_frame(spec_for(c, 100 + i)), kSent);
  tready_pct_ = 0;  // hold the frames so that prod stays ahead
  doorbell(c);
  for (unsigned i = 0; i < 300; i++) tick();
  doorbell_raw(c.id, static_cast<std::uint16_t>(c.prod - 2));  // backwards
  EXPECT_EQ(prod_of(c), c.prod);
  tready_pct_ = 100;
  run_idle();
  EXPECT_EQ(cnt(Counter::kTxProdInvalid), 4u);
  EXPECT_EQ(cnt(Counter::kTxSent), 13u);
  EXPECT_EQ(cnt(Counter::kTxDoorbells), 6u);
  check_all();
  check_descs(c);
}

// The per-connection state lives in block RAM with a registered read: a
// doorbell in the cycle after another of the same connection must still see
// the producer index that one stored (forwarded, not read stale), so going
// back is refused and the ring is sent once.
TEST_F(TxGuardTest, BackToBackDoorbellsSeeEachOther) {
  Conn c = udp4_conn(52, 32);
  c.log2 = 4;
  write_ctx(c);
  for (unsigned i = 0; i < 6; i++) post(c, make_frame(spec_for(c, 90 + i)), kSent);
  doorbell_raw(c.id, 6);
  doorbell_raw(c.id, 3);  // behind the producer index stored the cycle before
  doorbell_raw(c.id, 6);
  doorbell_raw(c.id, 6);
  run_idle();
  EXPECT_EQ(cnt(Counter::kTxProdInvalid), 1u);
  EXPECT_EQ(cnt(Counter::kTxDoorbells), 4u);
  EXPECT_EQ(cnt(Counter::kTxSent), 6u);
  EXPECT_EQ(cnt(Counter::kTxFetched), 6u);
  EXPECT_EQ(prod_of(c), 6u);
  EXPECT_EQ(cons_of(c), 6u);
  check_all();
  check_descs(c);
}

// A connection reset (CONN_SET) that meets a doorbell of another connection
// waits for the state RAM's write port while doorbells keep it busy, yet
// every read sees it at once and nothing of either connection is lost.
TEST_F(TxGuardTest, ResetRacingDoorbellsOfAnotherConnection) {
  Conn a = udp4_conn(53, 33);
  Conn b = udp4_conn(54, 34);
  a.log2 = 4;
  b.log2 = 4;
  write_ctx(a);
  write_ctx(b);
  for (unsigned i = 0; i < 3; i++) post(b, make_frame(spec_for(b, 70 + i)), kSent);
  doorbell(b);
  run_idle();
  EXPECT_EQ(cons_of(b), 3u);

  for (unsigned i = 0; i < 8; i++) post(a, make_frame(spec_for(a, 100 + i)), kSent);
  // Doorbells of a on every cycle; b is reset in the cycle the first one
  // stores its producer index, and its state is read meanwhile.
  top_->query_conn_i = b.id;
  top_->db_valid_i = 1;
  top_->db_conn_i = a.id;
  top_->db_prod_i = 1;
  tick();
  EXPECT_EQ(top_->query_prod_o, 3u);
  Conn nb = b;
  nb.prod = 0;
  nb.data_base += 0x80000;
  top_->db_prod_i = 2;
  write_ctx(nb);  // ticks with the doorbell
  for (std::uint16_t p = 3; p <= 8; p++) {
    top_->db_prod_i = p;
    tick();
    EXPECT_EQ(top_->query_prod_o, 0u) << "a read missed the waiting reset";
    EXPECT_EQ(top_->query_cons_o, 0u);
  }
  top_->db_valid_i = 0;
  run_idle();
  EXPECT_EQ(cons_of(a), 8u);
  EXPECT_EQ(prod_of(nb), 0u);
  EXPECT_EQ(cons_of(nb), 0u);
  for (unsigned i = 0; i < 2; i++) post(nb, make_frame(spec_for(nb, 64 + i)), kSent);
  doorbell(nb);
  run_idle();
  EXPECT_EQ(cons_of(nb), 2u);
  EXPECT_EQ(cnt(Counter::kTxProdInvalid), 0u);
  EXPECT_EQ(cnt(Counter::kTxSent), 13u);
  check_all();
}

// Non-raw connections may not tag, send to martians, with TTL 0, or to a
// broadcast address without BROADCAST; raw ones may.
TEST_F(TxGuardTest, TagsMartiansTtlZeroAndBroadcast) {
  top_->port_bcast_i = 0xC0A801FFu;  // 192.168.1.255 on port 0 (port p: bits 32p+31:32p)
  Conn c = udp4_conn(60, 31);
  c.log2 = 5;
  write_ctx(c);
  const Bytes good = make_frame(spec_for(c, 100));
  post(c, good, kSent);
  post(c, tagged(good, 0x8100, 42), kVlan);
  post(c, tagged(good, 0x88a8, 42), kVlan);
  post(c, tagged(good, 0x9100, 42), kVlan);
  post(c, tagged(tagged(good, 0x8100, 7), 0x88a8, 42), kVlan);
  FrameSpec s = spec_for(c, 100);
  s.dst4 = {127, 0, 0, 1};
  post(c, make_frame(s), kMartian);
  s.dst4 = {127, 200, 3, 4};
  post(c, make_frame(s), kMartian);
  s.dst4 = {0, 0, 0, 0};
  post(c, make_frame(s), kMartian);
  s = spec_for(c, 100);
  s.ttl = 0;
  post(c, make_frame(s), kMartian);
  s = spec_for(c, 100);
  s.dst4 = {255, 255, 255, 255};
  post(c, make_frame(s), kBcast);
  s.dst4 = {192, 168, 1, 255};
  post(c, make_frame(s), kBcast);
  s.dst4 = {192, 168, 2, 255};  // another subnet's broadcast: an ordinary address here
  post(c, make_frame(s), kSent);
  s.dst4 = {224, 0, 0, 251};  // multicast needs no permission
  post(c, make_frame(s), kSent);
  doorbell(c);
  run_idle();

  // With BROADCAST the broadcast frames go; raw connections are not checked.
  Conn b = udp4_conn(61, 32);
  b.broadcast = true;
  write_ctx(b);
  s = spec_for(b, 90);
  s.dst4 = {255, 255, 255, 255};
  post(b, make_frame(s), kSent);
  s.dst4 = {192, 168, 1, 255};
  post(b, make_frame(s), kSent);
  doorbell(b);
  Conn r = udp4_conn(62, 33);
  r.raw = true;
  write_ctx(r);
  post(r, tagged(make_frame(spec_for(r, 90)), 0x8100, 42), kSent);
  s = spec_for(r, 90);
  s.dst4 = {127, 0, 0, 1};
  s.ttl = 0;
  post(r, make_frame(s), kSent);
  doorbell(r);

  // IPv6: ::1, :: and hop limit 0.
  Conn v = udp4_conn(63, 34);
  v.v6 = true;
  for (unsigned i = 0; i < 16; i++) v.ip[i] = static_cast<std::uint8_t>(0x20 + i);
  write_ctx(v);
  s = spec_for(v, 120);
  post(v, make_frame(s), kSent);
  s.dst6_zero = true;
  s.dst6_last = 1;
  post(v, make_frame(s), kMartian);
  s.dst6_last = 0;
  post(v, make_frame(s), kMartian);
  s = spec_for(v, 120);
  s.ttl = 0;
  post(v, make_frame(s), kMartian);
  doorbell(v);
  run_idle();

  check_all();
  check_descs(c);
  check_descs(b);
  check_descs(r);
  check_descs(v);
  EXPECT_EQ(cnt(Counter::kTxDropVlan), count_status(kVlan));
  EXPECT_EQ(cnt(Counter::kTxDropVlan), 4u);
  EXPECT_EQ(cnt(Counter::kTxDropMartian), 7u);
  EXPECT_EQ(cnt(Counter::kTxDropBroadcast), 2u);
  EXPECT_EQ(cnt(Counter::kTxDropSpoof), 0u);
}

// CONN_SET/CONN_CLEAR with frames in flight, as csr_regs runs it: invalidate,
// drain (frames reaching the check are completed DROP_CLOSED), wait until the
// engine holds nothing of the connection, then reset. No frame of the old
// context goes out after the drain began, nothing is written after it ends,
// and the new context starts clean.
TEST_F(TxGuardTest, ClearWithFramesInFlightDrains) {
  rd_latency_ = 200;
  Conn c = udp4_conn(70, 35);
  c.log2 = 5;
  c.notify = true;
  write_ctx(c);
  for (unsigned i = 0; i < 24; i++) post(c, make_frame(spec_for(c, 200 + i)), kSent);
  doorbell(c);
  for (unsigned i = 0; i < 260; i++) tick();  // the first batch's descriptors are in
  const std::size_t sent_before = frames_.size();
  EXPECT_TRUE(top_->query_busy_o || prod_of(c) != cons_of(c));

  const unsigned waited = invalidate_and_drain(c);
  EXPECT_LT(waited, 100000u) << "the engine never let go of the connection";
  const std::size_t wr_after = wr_log_.size();
  const std::size_t frames_after = frames_.size();
  top_->drain_valid_i = 0;
  run_idle();
  EXPECT_EQ(wr_log_.size(), wr_after) << "written back after the drain ended";
  EXPECT_EQ(frames_.size(), frames_after);
  EXPECT_GE(cnt(Counter::kTxDropClosed), 1u);
  EXPECT_EQ(cnt(Counter::kTxFetched), cnt(Counter::kTxSent) + cnt(Counter::kTxDropClosed));
  EXPECT_EQ(frames_.size(), cnt(Counter::kTxSent));
  EXPECT_LE(sent_before, frames_.size());
  // Everything fetched was written back with its fate; nothing else was sent.
  std::uint64_t closed = 0;
  for (const auto& e : expects_) {
    const std::uint16_t st = rd16(c.desc_base + (e.idx & 31u) * 8u + 4);
    closed += st == kClosed;
    EXPECT_TRUE(st == kSent || st == kClosed || st == rm::tx_desc::kStatusPending) << e.idx;
  }
  EXPECT_EQ(closed, cnt(Counter::kTxDropClosed));
  expects_.clear();

  // The connection is set again: fresh indices, and it sends.
  Conn n = c;
  n.prod = 0;
  n.data_base += 0x80000;
  write_ctx(n);
  for (unsigned i = 0; i < 3; i++) post(n, make_frame(spec_for(n, 64 + i)), kSent);
  doorbell(n);
  run_idle();
  EXPECT_EQ(cons_of(n), 3u);
  EXPECT_EQ(frames_.size(), frames_after + 3);
}

}  // namespace

namespace {

// 100 GbE at 250 MHz: 50 bytes per cycle; a 64 B frame (60 B from the host
// plus the 4-byte FCS the MAC appends) takes 64 + 20 B of preamble and IFG.
constexpr double kLine64 = 50.0 / (64.0 + 20.0);  // 0.595 frames per cycle

class TxMultiBatchTest : public TxGuardTest {
 protected:
  // Frames per cycle from the first frame's last beat to the last one's.
  double rate_of(std::size_t first, std::size_t last) const {
    return static_cast<double>(last - first) /
           static_cast<double>(frame_cycles_[last] - frame_cycles_[first]);
  }
  // The connection's write-backs cover its ring in order, each starting
  // where the previous one ended, from descriptor `from` on.
  void expect_writebacks_in_order(const Conn& c, std::uint16_t from) {
    std::uint16_t next = from;
    const std::uint64_t ring_bytes = 8u << c.log2;
    for (const auto& w : wr_log_) {
      if (w.first < c.desc_base || w.first >= c.desc_base + ring_bytes) continue;
      const auto slot = static_cast<std::uint32_t>((w.first - c.desc_base) / 8);
      EXPECT_EQ(slot, next & ((1u << c.log2) - 1)) << "write-back out of order";
      next = static_cast<std::uint16_t>(next + w.second / 8);
    }
  }
};

// One backlogged connection alone reaches 100 GbE line rate with 64 B frames
// through the gen3x16 link (1 us reads, 63 B/cycle with TLP overheads, 256
// reads outstanding): several of its batches are in flight at once. Frames
// leave in order, none is lost, descriptors are written back in order.
TEST_F(TxMultiBatchTest, OneConnectionReachesLineRateAt64Bytes) {
  use_gen3x16();
  Conn c = udp4_conn(80, 40);
  c.log2 = 12;
  write_ctx(c);
  const unsigned n = 3000;
  for (unsigned i = 0; i < n; i++) {
    FrameSpec s = spec_for(c, 60);
    s.seed = static_cast<std::uint8_t>(i);  // distinct frames: the order is checked
    s.dst4 = {10, 11, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    post(c, make_frame(s), kSent);
  }
  doorbell(c);
  run_idle();
  ASSERT_EQ(frames_.size(), n);
  check_all();  // every frame, byte exact, in order
  check_descs(c);
  expect_writebacks_in_order(c, 0);
  EXPECT_EQ(cnt(Counter::kTxSent), n);
  query(c);
  EXPECT_EQ(top_->query_cons_o, c.prod);
  // Steady state: skip the first round trip's ramp.
  const double rate = rate_of(n / 10, n - 1);
  std::printf("one connection, 64 B, gen3x16: %.3f frames/cycle (%.1f %% of 100 GbE)\n", rate,
              100.0 * rate / kLine64);
  EXPECT_GE(rate, 0.95 * kLine64);
}

// Backlogged connections share the engine batch by batch (round robin),
// and a connection that starts later waits for the batches already in
// flight, not for the others' backlogs.
TEST_F(TxMultiBatchTest, BacklogsShareByBatchAndLateComersAreServed) {
  use_gen3x16();
  std::vector<Conn> cs;
  for (unsigned i = 0; i < 4; i++) {
    Conn c = udp4_conn(static_cast<std::uint16_t>(81 + i), 41 + i);
    c.log2 = 9;  // 512 slots of 2 KiB: the connection's 1 MiB data region
    write_ctx(c);
    cs.push_back(c);
  }
  Conn& late = cs[3];
  const unsigned n = 500;
  for (unsigned k = 0; k < 3; k++) {
    for (unsigned i = 0; i < n; i++) post(cs[k], make_frame(spec_for(cs[k], 60)), kSent);
  }
  for (unsigned k = 0; k < 3; k++) doorbell(cs[k]);
  for (unsigned i = 0; i < 700; i++) tick();
  const std::uint64_t late_start = cycle_;
  const std::size_t sent_at_late = frames_.size();
  for (unsigned i = 0; i < 8; i++) post(late, make_frame(spec_for(late, 60)), kSent);
  doorbell(late);
  run_idle();
  check_all();
  // Runs of one connection on the wire are at most a batch or two long
  // while several are backlogged.
  std::size_t run = 0, longest = 0;
  std::uint64_t late_done = 0;
  auto mac_of = [](const Bytes& f) {
    std::uint64_t mac = 0;
    for (unsigned k = 0; k < 6; k++) mac = (mac << 8) | f[6 + k];
    return mac;
  };
  for (std::size_t i = 0; i < frames_.size(); i++) {
    const std::uint64_t mac = mac_of(frames_[i].second);
    run = (i > 0 && mac == mac_of(frames_[i - 1].second)) ? run + 1 : 1;
    if (i + 200 < frames_.size()) longest = std::max(longest, run);  // not the tails
    if (mac == late.mac) late_done = frame_cycles_[i];
  }
  EXPECT_LE(longest, 16u);
  ASSERT_GT(late_done, late_start);
  const std::uint64_t backlog_done = frame_cycles_.back();
  std::printf("late connection done %llu cycles after its doorbell (%zu of %u frames sent "
              "then); the backlogs %llu cycles after it; longest run %zu\n",
              static_cast<unsigned long long>(late_done - late_start), sent_at_late, 3 * n,
              static_cast<unsigned long long>(backlog_done - late_start), longest);
  // The batches in flight (up to 64 x 8 descriptors) and a read round trip.
  EXPECT_LT(late_done - late_start, 1500u);
  EXPECT_LT(late_done + 500, backlog_done);
}

// CONN_CLEAR while several batches of the connection are in flight (at
// every stage: descriptor reads, frame reads, tx_check, write-back): the
// drain waits for all of them; nothing of the old context is sent or
// written afterwards; what was fetched is written back in order with its
// fate; the connection then starts clean.
TEST_F(TxMultiBatchTest, ClearWithSeveralBatchesInFlightDrains) {
  use_gen3x16();
  Conn c = udp4_conn(84, 44);
  c.log2 = 10;
  c.notify = true;
  write_ctx(c);
  for (unsigned i = 0; i < 600; i++) post(c, make_frame(spec_for(c, 60 + i % 200)), kSent);
  doorbell(c);
  // Run until frames are leaving and more batches are fetched than written back.
  std::size_t desc_reads = 0;
  for (unsigned i = 0; i < 5000 && frames_.size() < 40; i++) tick();
  for (const auto& r : rd_log_) {
    desc_reads += r.first >= c.desc_base && r.first < c.desc_base + (8u << c.log2);
  }
  ASSERT_GE(frames_.size(), 40u);
  EXPECT_GE(desc_reads, wr_log_.size() + 8) << "fewer than 8 batches in flight";
  EXPECT_TRUE(top_->query_busy_o || prod_of(c) != cons_of(c));

  const unsigned waited = invalidate_and_drain(c);
  ASSERT_LT(waited, 100000u) << "the engine never let go of the connection";
  const std::size_t wr_after = wr_log_.size(), frames_after = frames_.size();
  const std::size_t notes_after = notes_.size();
  top_->drain_valid_i = 0;
  run_idle();
  EXPECT_EQ(wr_log_.size(), wr_after) << "written back after the drain ended";
  EXPECT_EQ(frames_.size(), frames_after) << "sent after the drain ended";
  EXPECT_EQ(notes_.size(), notes_after) << "TX_DONE after the drain ended";
  EXPECT_GE(cnt(Counter::kTxDropClosed), 1u);
  EXPECT_EQ(cnt(Counter::kTxFetched), cnt(Counter::kTxSent) + cnt(Counter::kTxDropClosed));
  EXPECT_EQ(frames_.size(), cnt(Counter::kTxSent));
  // The written-back descriptors are a prefix of the ring, in order: SENT,
  // then DROP_CLOSED, then untouched (PENDING); cons stopped at its end.
  expect_writebacks_in_order(c, 0);
  const std::uint16_t cons = cons_of(c);
  EXPECT_EQ(cons, cnt(Counter::kTxFetched));
  unsigned phase = 0;
  for (const auto& e : expects_) {
    const std::uint16_t st = rd16(c.desc_base + (e.idx & 1023u) * 8u + 4);
    const unsigned p = st == kSent ? 0 : st == kClosed ? 1 : 2;
    EXPECT_GE(p, phase) << "descriptor " << e.idx << " out of order";
    phase = std::max(phase, p);
    EXPECT_EQ(p == 2, e.idx >= cons) << e.idx;
  }
  expects_.clear();

  // The connection is set again: fresh indices, and it sends.
  Conn nc = c;
  nc.prod = 0;
  nc.data_base += 0x80000;
  write_ctx(nc);
  EXPECT_EQ(cons_of(nc), 0u);
  for (unsigned i = 0; i < 20; i++) post(nc, make_frame(spec_for(nc, 64 + i)), kSent);
  doorbell(nc);
  run_idle();
  EXPECT_EQ(cons_of(nc), 20u);
  EXPECT_EQ(frames_.size(), frames_after + 20);
}

}  // namespace
