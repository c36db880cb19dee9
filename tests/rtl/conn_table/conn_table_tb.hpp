// Test bench for the verilated conn_table (any parameterization with TagW = 16):
// key packing, a C++ reference model, a cycle driver that checks every lookup
// result at exactly LookupLatency cycles, and blocking command helpers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "norman/regmap.hpp"
#include "verilated.h"

// Readable statuses in assertion messages.
namespace norman::regmap {
inline void PrintTo(Status s, std::ostream* os) { *os << status_name(s); }
}  // namespace norman::regmap

namespace conn_table_tb {

// Must match `localparam int unsigned LookupLatency` in hw/rtl/core/conn_table.sv.
inline constexpr std::uint64_t kLookupLatency = 4;

enum Op : std::uint8_t { kInsert = 0, kDelete = 1, kLookup = 2 };

using norman::regmap::Status;
inline constexpr Status kOk = Status::kOk;
inline constexpr Status kFull = Status::kFull;
inline constexpr Status kExists = Status::kExists;
inline constexpr Status kNotFound = Status::kNotFound;

struct Key {
  std::uint8_t proto = 6;
  bool v6 = false;
  std::array<std::uint64_t, 2> lip{};  // [0] = bits 63:0, [1] = bits 127:64
  std::array<std::uint64_t, 2> rip{};
  std::uint16_t lport = 0;
  std::uint16_t rport = 0;
  auto operator<=>(const Key&) const = default;
  bool operator==(const Key&) const = default;
};

// Listening key: (proto, is_ipv6, local_port, local_ip); local_ip 0 = any.
struct LKey {
  std::uint8_t proto = 6;
  bool v6 = false;
  std::uint16_t lport = 0;
  std::array<std::uint64_t, 2> lip{};
  auto operator<=>(const LKey&) const = default;
  bool operator==(const LKey&) const = default;
  Key as_key() const {
    Key k;
    k.proto = proto;
    k.v6 = v6;
    k.lport = lport;
    k.lip = lip;
    return k;
  }
};

inline std::string to_string(const Key& k) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{p=%u v6=%d l=%016llx%016llx:%u r=%016llx%016llx:%u}",
                unsigned{k.proto}, int{k.v6}, static_cast<unsigned long long>(k.lip[1]),
                static_cast<unsigned long long>(k.lip[0]), unsigned{k.lport},
                static_cast<unsigned long long>(k.rip[1]), static_cast<unsigned long long>(k.rip[0]),
                unsigned{k.rport});
  return buf;
}

// flow_key_t layout (packed, MSB first): proto[296:289] is_ipv6[288]
// local_ip[287:160] remote_ip[159:32] local_port[31:16] remote_port[15:0].
template <typename W>
void pack_key(W& w, const Key& k) {
  // Bits 0..287 as 64-bit pieces at 32-bit-aligned offsets, then the top byte.
  const std::uint64_t pieces[] = {
      (std::uint64_t{k.lport} << 16) | k.rport, k.rip[0], k.rip[1], k.lip[0], k.lip[1]};
  // rport/lport: bits 0..31; rip: 32..159; lip: 160..287.
  w[0] = static_cast<std::uint32_t>(pieces[0]);
  for (unsigned i = 0; i < 4; ++i) {
    w[1 + 2 * i] = static_cast<std::uint32_t>(pieces[1 + i]);
    w[2 + 2 * i] = static_cast<std::uint32_t>(pieces[1 + i] >> 32);
  }
  w[9] = (k.v6 ? 1u : 0u) | (std::uint32_t{k.proto} << 1);  // bits 288..296
}

struct Result {
  bool hit = false;
  bool listen = false;
  std::uint16_t conn = 0;
  bool operator==(const Result&) const = default;
};

// Reference model of the table's contents (capacity not modelled).
struct Ref {
  std::map<Key, std::uint16_t> flows;
  std::map<LKey, std::uint16_t> listens;

  static LKey lkey_of(const Key& k) { return LKey{k.proto, k.v6, k.lport, k.lip}; }

  Result lookup(const Key& k) const {
    if (auto it = flows.find(k); it != flows.end()) return {true, false, it->second};
    LKey lk = lkey_of(k);
    if (lk.lip != std::array<std::uint64_t, 2>{}) {
      if (auto it = listens.find(lk); it != listens.end()) return {true, true, it->second};
    }
    lk.lip = {};
    if (auto it = listens.find(lk); it != listens.end()) return {true, true, it->second};
    return {};
  }

  // Expected {status, conn} of a command (FULL aside), without applying it.
  std::pair<Status, std::uint16_t> predict(Op op, bool listen, const Key& k, std::uint16_t conn) const {
    std::optional<std::uint16_t> cur;
    if (listen) {
      if (auto it = listens.find(lkey_of(k)); it != listens.end()) cur = it->second;
    } else {
      if (auto it = flows.find(k); it != flows.end()) cur = it->second;
    }
    switch (op) {
      case kInsert: return cur ? std::pair{kExists, *cur} : std::pair{kOk, conn};
      default: return cur ? std::pair{kOk, *cur} : std::pair{kNotFound, std::uint16_t{0}};
    }
  }

  void apply(Op op, bool listen, const Key& k, std::uint16_t conn, Status st) {
    if (st != kOk) return;
    if (listen) {
      if (op == kInsert) listens[lkey_of(k)] = conn;
      if (op == kDelete) listens.erase(lkey_of(k));
    } else {
      if (op == kInsert) flows[k] = conn;
      if (op == kDelete) flows.erase(k);
    }
  }
};

struct CmdResp {
  Status status = kOk;
  std::uint16_t conn = 0;
  std::uint16_t bucket = 0;
};

template <typename M>
class Tb {
 public:
  Tb() : ctx_(std::make_unique<VerilatedContext>()), m_(std::make_unique<M>(ctx_.get())) {
    m_->clk_i = 0;
    m_->rst_ni = 1;
    m_->lookup_valid_i = 0;
    m_->cmd_valid_i = 0;
    m_->eval();
  }
  ~Tb() { m_->final(); }
  Tb(const Tb&) = delete;
  Tb& operator=(const Tb&) = delete;

  M& m() { return *m_; }
  std::uint64_t cycle() const { return cycle_; }
  std::uint64_t lookups_checked() const { return checked_; }
  std::uint64_t lookups_done() const { return done_lookups_; }
  std::uint64_t mismatches() const { return mismatches_; }
  Ref& ref() { return ref_; }

  // Reset, then wait for the clear sweep. Returns the cycles cmd_ready_o stayed low.
  // `each_cycle` may queue a lookup on every cycle of the sweep.
  template <typename F>
  std::uint64_t reset(F&& each_cycle, std::uint64_t max_wait = 200000) {
    m_->rst_ni = 0;
    m_->lookup_valid_i = 0;
    m_->cmd_valid_i = 0;
    m_->eval();
    for (int i = 0; i < 4; ++i) raw_tick();
    pending_.clear();
    m_->rst_ni = 1;
    m_->eval();
    const std::uint64_t start = cycle_;
    while (!m_->cmd_ready_o && cycle_ - start < max_wait) {
      each_cycle();
      step();
    }
    EXPECT_TRUE(m_->cmd_ready_o) << "cmd_ready_o never rose after reset";
    return cycle_ - start;
  }
  std::uint64_t reset() {
    return reset([] {});
  }

  // Queue a lookup for this cycle. expected == nullopt: result not checked
  // (valid, order, tag and latency still are).
  void lookup(const Key& k, std::optional<Result> expected) {
    pack_key(m_->lookup_key_i, k);
    m_->lookup_valid_i = 1;
    m_->lookup_tag_i = tag_;
    pending_.push_back({cycle_, tag_, k, expected});
    tag_ = static_cast<std::uint16_t>(tag_ + 1);
  }
  // Lookup checked against the reference model as it is now.
  void lookup_ref(const Key& k) { lookup(k, ref_.lookup(k)); }

  // One clock cycle with the inputs set so far; lookup inputs then drop.
  void step() {
    raw_tick();
    m_->lookup_valid_i = 0;
    check_outputs();
  }

  // Issue a command and run until it completes; `each_cycle` may queue a
  // lookup (it runs before every cycle).
  template <typename F>
  CmdResp command(Op op, bool listen, const Key& k, std::uint16_t conn, F&& each_cycle) {
    for (int i = 0; !m_->cmd_ready_o; ++i) {
      if (i > 100) {
        ADD_FAILURE() << "cmd_ready_o stuck low";
        return {};
      }
      each_cycle();
      step();
    }
    m_->cmd_valid_i = 1;
    m_->cmd_op_i = op;
    m_->cmd_listen_i = listen ? 1 : 0;
    pack_key(m_->cmd_key_i, k);
    m_->cmd_conn_i = conn;
    each_cycle();
    step();
    m_->cmd_valid_i = 0;
    for (int i = 0; !m_->cmd_done_o; ++i) {
      if (i > 100) {
        ADD_FAILURE() << "cmd_done_o never came";
        return {};
      }
      EXPECT_FALSE(m_->cmd_ready_o) << "ready again before done";
      each_cycle();
      step();
    }
    CmdResp r{static_cast<Status>(m_->cmd_status_o), static_cast<std::uint16_t>(m_->cmd_conn_o),
              static_cast<std::uint16_t>(m_->cmd_bucket_o)};
    return r;
  }
  CmdResp command(Op op, bool listen, const Key& k, std::uint16_t conn = 0) {
    return command(op, listen, k, conn, [] {});
  }

  // Command checked against (and applied to) the reference model.
  CmdResp command_ref(Op op, bool listen, const Key& k, std::uint16_t conn = 0) {
    const auto [st, c] = ref_.predict(op, listen, k, conn);
    CmdResp r = command(op, listen, k, conn);
    EXPECT_EQ(r.status, st) << "op " << int{op} << " listen " << listen << " " << to_string(k);
    EXPECT_EQ(r.conn, c) << "op " << int{op} << " " << to_string(k);
    ref_.apply(op, listen, k, conn, r.status);
    return r;
  }

  // Result of a single lookup through the lookup port (no other traffic).
  Result lookup_once(const Key& k) {
    lookup(k, std::nullopt);
    step();
    for (std::uint64_t i = 0; i < kLookupLatency + 2; ++i) step();
    return last_result_;
  }

  // Drain the lookup pipeline.
  void drain() {
    for (std::uint64_t i = 0; i < kLookupLatency + 2; ++i) step();
    EXPECT_TRUE(pending_.empty());
  }

 private:
  struct Pending {
    std::uint64_t issue;
    std::uint16_t tag;
    Key key;
    std::optional<Result> expected;
  };

  void raw_tick() {
    m_->clk_i = 0;
    m_->eval();
    m_->clk_i = 1;
    m_->eval();
    ++cycle_;
  }

  void check_outputs() {
    if (!m_->lookup_valid_o) {
      if (!pending_.empty() && pending_.front().issue + kLookupLatency <= cycle_) {
        ADD_FAILURE() << "lookup issued at " << pending_.front().issue << " missing at cycle " << cycle_;
        pending_.pop_front();
      }
      return;
    }
    if (pending_.empty()) {
      ADD_FAILURE() << "lookup_valid_o without a lookup, cycle " << cycle_;
      return;
    }
    const Pending p = pending_.front();
    pending_.pop_front();
    ++done_lookups_;
    EXPECT_EQ(p.issue + kLookupLatency, cycle_) << "lookup latency";
    EXPECT_EQ(static_cast<std::uint16_t>(m_->lookup_tag_o), p.tag) << "tag";
    Result got{m_->lookup_hit_o != 0, m_->lookup_listen_o != 0, static_cast<std::uint16_t>(m_->lookup_conn_o)};
    last_result_ = got;
    if (!got.hit) {
      EXPECT_FALSE(got.listen);
    }
    if (p.expected) {
      ++checked_;
      if (!(got == *p.expected)) {
        if (++mismatches_ <= 10) {
          ADD_FAILURE() << "lookup " << to_string(p.key) << " at " << p.issue << ": got hit=" << got.hit
                        << " listen=" << got.listen << " conn=" << got.conn << ", want hit=" << p.expected->hit
                        << " listen=" << p.expected->listen << " conn=" << p.expected->conn;
        }
      }
    }
  }

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<M> m_;
  std::uint64_t cycle_ = 0;
  std::uint16_t tag_ = 0x1234;
  std::deque<Pending> pending_;
  Result last_result_{};
  std::uint64_t checked_ = 0, done_lookups_ = 0, mismatches_ = 0;
  Ref ref_;
};

// Random keys.
inline Key random_key(std::mt19937_64& rng, bool v6) {
  Key k;
  k.proto = (rng() & 1) ? 6 : 17;
  k.v6 = v6;
  if (v6) {
    k.lip = {rng(), rng()};
    k.rip = {rng(), rng()};
  } else {
    k.lip = {rng() & 0xffffffffu, 0};
    k.rip = {rng() & 0xffffffffu, 0};
  }
  k.lport = static_cast<std::uint16_t>(rng());
  k.rport = static_cast<std::uint16_t>(rng());
  return k;
}

// Randomized interleaving of commands and lookups against the reference.
// Keys come from a small pool so that inserts, deletes, duplicates and
// listening matches all happen often. allow_full: the model is small enough
// that an insert may answer FULL (then it must change nothing).
template <typename M>
void random_vs_reference(Tb<M>& tb, std::uint64_t seed, unsigned commands, bool allow_full) {
  std::mt19937_64 rng(seed);
  // Pool: flows sharing a few local endpoints (so listening entries match),
  // plus listening keys on those endpoints, wildcard and specific.
  std::vector<Key> locals;
  for (int i = 0; i < 6; ++i) {
    Key l = random_key(rng, i % 2 == 1);
    l.proto = (i % 3 == 0) ? 17 : 6;
    locals.push_back(l);
  }
  std::vector<Key> pool;
  for (int i = 0; i < 160; ++i) {
    Key k = random_key(rng, (rng() & 1) != 0);
    if (rng() % 2 == 0) {
      const Key& l = locals[rng() % locals.size()];
      k.proto = l.proto;
      k.v6 = l.v6;
      k.lip = l.lip;
      k.lport = l.lport;
      if (!k.v6) k.rip[1] = 0;
    }
    pool.push_back(k);
  }
  // Near-duplicates: one field differs.
  for (int i = 0; i < 40; ++i) {
    Key k = pool[rng() % pool.size()];
    switch (rng() % 6) {
      case 0: k.proto = static_cast<std::uint8_t>(k.proto ^ 1); break;
      case 1: k.v6 = !k.v6; break;
      case 2: k.lip[0] ^= 1; break;
      case 3: k.rip[0] ^= 1u << 31; break;
      case 4: k.lport = static_cast<std::uint16_t>(k.lport ^ 0x100); break;
      default: k.rport = static_cast<std::uint16_t>(k.rport ^ 1); break;
    }
    pool.push_back(k);
  }
  std::vector<Key> lpool;  // listening keys (as flow keys; remote part ignored)
  for (const Key& l : locals) {
    Key wild = l;
    wild.lip = {};
    lpool.push_back(wild);
    lpool.push_back(l);
  }

  struct Inflight {
    Op op;
    bool listen;
    Key key;
    std::uint16_t conn;
    Status want;
    std::uint16_t want_conn;
    std::uint64_t accept;
  };
  std::optional<Inflight> cur;
  unsigned issued = 0;
  std::uint64_t full_seen = 0;
  auto& m = tb.m();

  while (issued < commands || cur) {
    // Completion observed this cycle: check and apply to the reference.
    if (cur && cur->accept < tb.cycle() && m.cmd_done_o) {
      const Status st = static_cast<Status>(m.cmd_status_o);
      const auto conn = static_cast<std::uint16_t>(m.cmd_conn_o);
      if (allow_full && st == kFull && cur->op == kInsert && cur->want == kOk) {
        ++full_seen;
      } else {
        EXPECT_EQ(st, cur->want) << "op " << int{cur->op} << " listen " << cur->listen << " "
                                 << to_string(cur->key);
        EXPECT_EQ(conn, cur->want_conn);
      }
      tb.ref().apply(cur->op, cur->listen, cur->key, cur->conn, st);
      cur.reset();
    }
    // A new command?
    if (!cur && issued < commands && m.cmd_ready_o && rng() % 4 != 0) {
      Inflight c;
      c.listen = rng() % 5 == 0;
      c.key = c.listen ? lpool[rng() % lpool.size()] : pool[rng() % pool.size()];
      const unsigned r = static_cast<unsigned>(rng() % 10);
      c.op = r < 5 ? kInsert : r < 8 ? kDelete : kLookup;
      c.conn = static_cast<std::uint16_t>(rng());
      std::tie(c.want, c.want_conn) = tb.ref().predict(c.op, c.listen, c.key, c.conn);
      c.accept = tb.cycle();
      m.cmd_valid_i = 1;
      m.cmd_op_i = c.op;
      m.cmd_listen_i = c.listen;
      pack_key(m.cmd_key_i, c.key);
      m.cmd_conn_i = c.conn;
      cur = c;
      ++issued;
    } else {
      m.cmd_valid_i = 0;
    }
    // A lookup on most cycles; unchecked only if the in-flight command may
    // change its result (then the table may be seen before or after it).
    if (rng() % 8 != 0) {
      const Key& k = pool[rng() % pool.size()];
      bool racy = false;
      if (cur) {
        racy = cur->listen ? (cur->key.proto == k.proto && cur->key.v6 == k.v6 && cur->key.lport == k.lport)
                           : (cur->key == k);
      }
      tb.lookup(k, racy ? std::nullopt : std::optional<Result>(tb.ref().lookup(k)));
    }
    tb.step();
    m.cmd_valid_i = 0;
    if (tb.mismatches() > 10) break;
  }
  tb.drain();
  // Final sweep: everything the reference holds is found, through both ports.
  for (const auto& [k, c] : tb.ref().flows) {
    tb.lookup_ref(k);
    tb.step();
  }
  tb.drain();
  for (const auto& [k, c] : tb.ref().flows) {
    CmdResp r = tb.command(kLookup, false, k);
    EXPECT_EQ(r.status, kOk);
    EXPECT_EQ(r.conn, c);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
  if (!allow_full) {
    EXPECT_EQ(full_seen, 0u);
  }
  std::printf("random_vs_reference: %u commands, %llu lookups checked, %zu flows + %zu listens at end, %llu FULL\n",
              commands, static_cast<unsigned long long>(tb.lookups_checked()), tb.ref().flows.size(),
              tb.ref().listens.size(), static_cast<unsigned long long>(full_seen));
}

}  // namespace conn_table_tb
