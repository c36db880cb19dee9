// conn_table at its default (full-size) geometry.
#include <chrono>
#include <set>

#include "Vconn_table.h"
#include "conn_table_tb.hpp"

namespace {

using namespace conn_table_tb;
using norman::regmap::kFlowBucketsLog2;

class ConnTable : public ::testing::Test {
 protected:
  void SetUp() override { tb.reset(); }
  Tb<Vconn_table> tb;
  std::mt19937_64 rng{12345};
};

Key v4_key(std::uint32_t lip, std::uint16_t lport, std::uint32_t rip, std::uint16_t rport,
           std::uint8_t proto = 6) {
  Key k;
  k.proto = proto;
  k.lip = {lip, 0};
  k.rip = {rip, 0};
  k.lport = lport;
  k.rport = rport;
  return k;
}

TEST_F(ConnTable, ResetClearsTableAndLookupsMissDuringSweep) {
  const Key k = v4_key(0x0a000001, 80, 0x0a000002, 40000);
  EXPECT_EQ(tb.command_ref(kInsert, false, k, 7).status, kOk);
  Key l = k;
  l.lport = 443;
  EXPECT_EQ(tb.command(kInsert, true, l, 9).status, kOk);
  EXPECT_EQ(tb.lookup_once(k), (Result{true, false, 7}));

  // Reset with lookups every cycle: they all complete, and all miss.
  const std::uint64_t sweep = tb.reset([&] { tb.lookup(k, Result{}); });
  EXPECT_GE(sweep, std::uint64_t{1} << kFlowBucketsLog2);
  EXPECT_LE(sweep, (std::uint64_t{1} << kFlowBucketsLog2) + 8);
  tb.drain();
  EXPECT_GE(tb.lookups_checked(), sweep);
  EXPECT_EQ(tb.mismatches(), 0u);
  EXPECT_EQ(tb.lookup_once(k), Result{});
  EXPECT_EQ(tb.command(kLookup, false, k).status, kNotFound);
  EXPECT_EQ(tb.command(kLookup, true, l).status, kNotFound);
}

TEST_F(ConnTable, InsertLookupDeleteIpv4AndIpv6) {
  for (bool v6 : {false, true}) {
    const Key k = random_key(rng, v6);
    const auto conn = static_cast<std::uint16_t>(v6 ? 0xbeef : 1);
    CmdResp ins = tb.command(kInsert, false, k, conn);
    EXPECT_EQ(ins.status, kOk);
    EXPECT_EQ(ins.conn, conn);
    EXPECT_LT(ins.bucket, 1u << kFlowBucketsLog2);
    CmdResp lk = tb.command(kLookup, false, k);
    EXPECT_EQ(lk.status, kOk);
    EXPECT_EQ(lk.conn, conn);
    EXPECT_EQ(lk.bucket, ins.bucket);
    EXPECT_EQ(tb.lookup_once(k), (Result{true, false, conn}));
    CmdResp del = tb.command(kDelete, false, k);
    EXPECT_EQ(del.status, kOk);
    EXPECT_EQ(del.conn, conn);
    EXPECT_EQ(del.bucket, ins.bucket);
    EXPECT_EQ(tb.command(kLookup, false, k).status, kNotFound);
    EXPECT_EQ(tb.command(kDelete, false, k).status, kNotFound);
    EXPECT_EQ(tb.lookup_once(k), Result{});
  }
}

TEST_F(ConnTable, DuplicateInsertAnswersExistsAndKeepsTheEntry) {
  const Key k = random_key(rng, false);
  EXPECT_EQ(tb.command(kInsert, false, k, 11).status, kOk);
  CmdResp dup = tb.command(kInsert, false, k, 22);
  EXPECT_EQ(dup.status, kExists);
  EXPECT_EQ(dup.conn, 11);
  EXPECT_EQ(tb.command(kLookup, false, k).conn, 11);
  EXPECT_EQ(tb.lookup_once(k), (Result{true, false, 11}));
  // One delete removes it: the duplicate did not create a second entry.
  EXPECT_EQ(tb.command(kDelete, false, k).status, kOk);
  EXPECT_EQ(tb.command(kDelete, false, k).status, kNotFound);
  EXPECT_EQ(tb.lookup_once(k), Result{});
}

TEST_F(ConnTable, ExactMatchOnEveryKeyField) {
  for (bool v6 : {false, true}) {
    const Key k = random_key(rng, v6);
    EXPECT_EQ(tb.command_ref(kInsert, false, k, 5).status, kOk);
    std::vector<Key> near;
    for (int f = 0; f < 8; ++f) {
      Key n = k;
      switch (f) {
        case 0: n.proto = static_cast<std::uint8_t>(n.proto ^ 0x80); break;
        case 1: n.v6 = !n.v6; break;
        case 2: n.lip[0] ^= 1; break;
        case 3: n.lip[1] ^= 1ull << 63; break;
        case 4: n.rip[0] ^= 1ull << 17; break;
        case 5: n.rip[1] ^= 1; break;
        case 6: n.lport = static_cast<std::uint16_t>(n.lport ^ 0x8000); break;
        default: n.rport = static_cast<std::uint16_t>(n.rport ^ 1); break;
      }
      near.push_back(n);
    }
    for (const Key& n : near) {
      EXPECT_EQ(tb.command_ref(kLookup, false, n).status, kNotFound) << to_string(n);
      EXPECT_EQ(tb.command_ref(kDelete, false, n).status, kNotFound) << to_string(n);
      tb.lookup_ref(n);
      tb.step();
    }
    tb.lookup_ref(k);
    tb.drain();
    EXPECT_EQ(tb.command_ref(kDelete, false, k).status, kOk);
  }
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(ConnTable, ListeningWildcardAndSpecificAddress) {
  const std::uint32_t ip_a = 0xc0a80001, ip_b = 0xc0a80002;
  // Wildcard TCP :80 -> 100.
  EXPECT_EQ(tb.command_ref(kInsert, true, v4_key(0, 80, 0, 0), 100).status, kOk);
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 80, 0x01020304, 5555)), (Result{true, true, 100}));
  EXPECT_EQ(tb.lookup_once(v4_key(ip_b, 80, 0x01020305, 1)), (Result{true, true, 100}));
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 81, 0x01020304, 5555)), Result{});         // other port
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 80, 0x01020304, 5555, 17)), Result{});     // UDP
  Key v6 = v4_key(ip_a, 80, 0x01020304, 5555);
  v6.v6 = true;
  EXPECT_EQ(tb.lookup_once(v6), Result{});                                          // IPv6
  // Specific TCP ip_a:80 -> 200 wins over the wildcard for ip_a only.
  EXPECT_EQ(tb.command_ref(kInsert, true, v4_key(ip_a, 80, 0, 0), 200).status, kOk);
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 80, 0x01020304, 5555)), (Result{true, true, 200}));
  EXPECT_EQ(tb.lookup_once(v4_key(ip_b, 80, 0x01020304, 5555)), (Result{true, true, 100}));
  // Specific only (no wildcard) on :443.
  EXPECT_EQ(tb.command_ref(kInsert, true, v4_key(ip_b, 443, 0, 0), 300).status, kOk);
  EXPECT_EQ(tb.lookup_once(v4_key(ip_b, 443, 0x0a0a0a0a, 9)), (Result{true, true, 300}));
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 443, 0x0a0a0a0a, 9)), Result{});
  // Remote fields of a listening command are ignored: same listening key.
  CmdResp dup = tb.command(kInsert, true, v4_key(ip_b, 443, 0x99999999, 999), 301);
  EXPECT_EQ(dup.status, kExists);
  EXPECT_EQ(dup.conn, 300);
  // Listening commands do not see flows and vice versa.
  EXPECT_EQ(tb.command_ref(kLookup, false, v4_key(ip_b, 443, 0, 0)).status, kNotFound);
  EXPECT_EQ(tb.command_ref(kLookup, true, v4_key(ip_b, 443, 0, 0)).conn, 300);
  // Removing the specific one falls back to the wildcard.
  EXPECT_EQ(tb.command_ref(kDelete, true, v4_key(ip_a, 80, 0, 0)).status, kOk);
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 80, 0x01020304, 5555)), (Result{true, true, 100}));
  EXPECT_EQ(tb.command_ref(kDelete, true, v4_key(ip_a, 80, 0, 0)).status, kNotFound);
  EXPECT_EQ(tb.command_ref(kDelete, true, v4_key(0, 80, 0, 0)).status, kOk);
  EXPECT_EQ(tb.lookup_once(v4_key(ip_a, 80, 0x01020304, 5555)), Result{});
  // IPv6 wildcard.
  Key l6;
  l6.v6 = true;
  l6.lport = 22;
  EXPECT_EQ(tb.command_ref(kInsert, true, l6, 400).status, kOk);
  Key f6 = random_key(rng, true);
  f6.proto = 6;
  f6.lport = 22;
  EXPECT_EQ(tb.lookup_once(f6), (Result{true, true, 400}));
}

TEST_F(ConnTable, ExactHitBeatsListening) {
  const Key flow = v4_key(0x0a000001, 80, 0x0a000063, 43210);
  EXPECT_EQ(tb.command_ref(kInsert, true, v4_key(0, 80, 0, 0), 5).status, kOk);
  EXPECT_EQ(tb.command_ref(kInsert, true, v4_key(0x0a000001, 80, 0, 0), 6).status, kOk);
  EXPECT_EQ(tb.command_ref(kInsert, false, flow, 7).status, kOk);
  EXPECT_EQ(tb.lookup_once(flow), (Result{true, false, 7}));
  Key other = flow;
  other.rport = 43211;
  EXPECT_EQ(tb.lookup_once(other), (Result{true, true, 6}));
  EXPECT_EQ(tb.command_ref(kDelete, false, flow).status, kOk);
  EXPECT_EQ(tb.lookup_once(flow), (Result{true, true, 6}));
}

TEST_F(ConnTable, ListeningStatuses) {
  const Key l = v4_key(0, 8080, 0, 0, 17);
  EXPECT_EQ(tb.command(kDelete, true, l).status, kNotFound);
  EXPECT_EQ(tb.command(kLookup, true, l).status, kNotFound);
  EXPECT_EQ(tb.command(kInsert, true, l, 1).status, kOk);
  EXPECT_EQ(tb.command(kInsert, true, l, 2).status, kExists);
  CmdResp a = tb.command(kLookup, true, l);
  EXPECT_EQ(a.status, kOk);
  EXPECT_EQ(a.conn, 1);
  EXPECT_LT(a.bucket, 1u << norman::regmap::kListenBucketsLog2);
  EXPECT_EQ(tb.command(kDelete, true, l).status, kOk);
  EXPECT_EQ(tb.command(kDelete, true, l).status, kNotFound);
}

// Keys sharing their first candidate bucket, found through cmd_bucket_o.
std::vector<Key> colliding_keys(Tb<Vconn_table>& tb, std::mt19937_64& rng, std::size_t n, bool v6) {
  std::map<std::uint16_t, std::vector<Key>> by_bucket;
  for (int i = 0; i < 400000; ++i) {
    Key k = random_key(rng, v6);
    CmdResp r = tb.command(kLookup, false, k);
    EXPECT_EQ(r.status, kNotFound);
    auto& v = by_bucket[r.bucket];
    v.push_back(k);
    if (v.size() == n) return v;
  }
  ADD_FAILURE() << "no bucket collected " << n << " keys";
  return {};
}

TEST_F(ConnTable, CollidingKeysBeyondOneBucketAreAllRetrievable) {
  // 10 keys with the same table-0 bucket: more than Ways, so the second
  // choice must take the rest.
  std::vector<Key> keys = colliding_keys(tb, rng, 10, false);
  ASSERT_EQ(keys.size(), 10u);
  std::uint16_t conn = 1000;
  for (const Key& k : keys) EXPECT_EQ(tb.command_ref(kInsert, false, k, conn++).status, kOk);
  for (const Key& k : keys) {
    tb.lookup_ref(k);
    tb.step();
    EXPECT_EQ(tb.command_ref(kLookup, false, k).status, kOk);
  }
  tb.drain();
  std::shuffle(keys.begin(), keys.end(), rng);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(tb.command_ref(kDelete, false, keys[i]).status, kOk);
    for (const Key& k : keys) {
      tb.lookup_ref(k);
      tb.step();
    }
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
}

// Lookups every cycle, with commands running back to back: every result
// comes exactly LookupLatency cycles later with its tag, and is right.
TEST_F(ConnTable, LookupThroughputOnePerCycleDuringCommands) {
  std::vector<Key> keys;
  for (int i = 0; i < 64; ++i) keys.push_back(random_key(rng, i % 2 != 0));
  for (int i = 0; i < 32; ++i) tb.command_ref(kInsert, false, keys[i], static_cast<std::uint16_t>(i + 1));
  tb.drain();
  const std::uint64_t before = tb.lookups_done();
  const std::uint64_t start = tb.cycle();
  // Commands on keys 32..63 while lookups hit keys 0..31 (present) and
  // 32..63 (unchecked while their own command runs).
  std::size_t li = 0;
  auto each = [&] {
    const Key& k = keys[li % 32];
    tb.lookup_ref(k);
    ++li;
  };
  for (int round = 0; round < 20; ++round) {
    for (int i = 32; i < 64; ++i) {
      const auto [st, c] = tb.ref().predict(round % 2 ? kDelete : kInsert, false, keys[i], 7);
      CmdResp r = tb.command(round % 2 ? kDelete : kInsert, false, keys[i], 7, each);
      EXPECT_EQ(r.status, st);
      EXPECT_EQ(r.conn, c);
      tb.ref().apply(round % 2 ? kDelete : kInsert, false, keys[i], 7, r.status);
    }
  }
  const std::uint64_t cycles = tb.cycle() - start;
  tb.drain();
  // A lookup was issued on every cycle and every one came back.
  EXPECT_EQ(li, cycles);
  EXPECT_EQ(tb.lookups_done() - before, li);
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(ConnTable, RandomizedAgainstReference) {
  random_vs_reference(tb, 777, 20000, false);
}

// 65,536 random flows at full size: all inserted, all found, all deleted.
void capacity(Tb<Vconn_table>& tb, std::mt19937_64& rng, int mode) {
  constexpr std::size_t kFlows = 65536;
  std::set<Key> seen;
  std::vector<Key> keys;
  while (keys.size() < kFlows) {
    Key k = random_key(rng, mode == 2 ? (rng() & 1) != 0 : mode == 1);
    if (seen.insert(k).second) keys.push_back(k);
  }
  std::size_t not_ok = 0;
  for (std::size_t i = 0; i < kFlows; ++i) {
    CmdResp r = tb.command(kInsert, false, keys[i], static_cast<std::uint16_t>(i));
    if (r.status != kOk && ++not_ok <= 5) ADD_FAILURE() << "insert " << i << " status " << int(r.status);
  }
  EXPECT_EQ(not_ok, 0u);
  // All found through the lookup port, one per cycle.
  for (std::size_t i = 0; i < kFlows; ++i) {
    tb.lookup(keys[i], Result{true, false, static_cast<std::uint16_t>(i)});
    tb.step();
  }
  tb.drain();
  // A sample through the command port; a duplicate is refused even when full-ish.
  for (std::size_t i = 0; i < kFlows; i += 97) {
    CmdResp r = tb.command(kLookup, false, keys[i]);
    EXPECT_EQ(r.status, kOk);
    EXPECT_EQ(r.conn, static_cast<std::uint16_t>(i));
  }
  EXPECT_EQ(tb.command(kInsert, false, keys[12345], 1).status, kExists);
  std::size_t del_bad = 0;
  for (std::size_t i = 0; i < kFlows; ++i) {
    CmdResp r = tb.command(kDelete, false, keys[i]);
    if ((r.status != kOk || r.conn != static_cast<std::uint16_t>(i)) && ++del_bad <= 5) {
      ADD_FAILURE() << "delete " << i << " status " << int(r.status);
    }
  }
  EXPECT_EQ(del_bad, 0u);
  for (std::size_t i = 0; i < kFlows; i += 7) {
    tb.lookup(keys[i], Result{});
    tb.step();
  }
  tb.drain();
  EXPECT_EQ(tb.mismatches(), 0u);
}

TEST_F(ConnTable, Capacity65536Ipv4Flows) { capacity(tb, rng, 0); }
TEST_F(ConnTable, Capacity65536Ipv6Flows) { capacity(tb, rng, 1); }
TEST_F(ConnTable, Capacity65536MixedFlowsTwice) {
  capacity(tb, rng, 2);
  capacity(tb, rng, 2);  // the table is reusable after deleting everything
}

// Informational: simulation speed of the model alone, a lookup every cycle,
// over a few hot flows and over many (cache-missing) ones.
TEST_F(ConnTable, SimulationSpeed) {
  std::vector<Key> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back(random_key(rng, i % 2 != 0));
  for (std::size_t i = 0; i < keys.size(); i += 2) tb.command(kInsert, false, keys[i], 1);
  tb.drain();
  auto& m = tb.m();
  for (std::size_t n : {std::size_t{16}, keys.size()}) {
    constexpr int kCycles = 1000000;
    unsigned hits = 0;
    const auto t0 = std::chrono::steady_clock::now();
    m.lookup_valid_i = 1;
    for (int i = 0; i < kCycles; ++i) {
      pack_key(m.lookup_key_i, keys[static_cast<std::size_t>(i) % n]);
      m.clk_i = 0;
      m.eval();
      m.clk_i = 1;
      m.eval();
      hits += m.lookup_hit_o;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.lookup_valid_i = 0;
    EXPECT_NEAR(hits, kCycles / 2, 8);  // every other key is in the table
    std::printf("conn_table alone: %.2f M cycles/s with a lookup every cycle over %zu flows\n",
                kCycles / s / 1e6, n);
    RecordProperty("mcycles_per_s_" + std::to_string(n), std::to_string(kCycles / s / 1e6));
  }
  // Idle cycles (no lookup, no command): what the table costs the NIC model
  // between frames.
  constexpr int kIdle = 4000000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIdle; ++i) {
    m.clk_i = 0;
    m.eval();
    m.clk_i = 1;
    m.eval();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("conn_table alone: %.2f M cycles/s idle\n", kIdle / s / 1e6);
}

}  // namespace
