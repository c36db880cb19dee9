// The TX scheduler overlay in the whole core (docs/qos.md): three
// connections in different classes of a three-level HTB tree, programmed
// through kernel/qos's SchedDriver, send with endless backlogs. Checked:
// - per-connection bytes over a long window agree with kernel/qos's model
//   (the same tree, a sender that takes one batch of 8 frames per grant, as
//   tx_engine does) within the bound docs/qos.md states, and with the
//   configured guarantees, borrowing, ceilings and prios;
// - the per-class counters equal, exactly, the bytes and frames that went
//   out for the connections below each class;
// - with the scheduler disabled (the default) the tree shapes nothing;
// - a commit, a map change and ENABLE toggles during traffic lose and
//   reorder nothing: every posted frame leaves once, in ring order.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "htb_layout.hpp"
#include "htb_model.hpp"
#include "nic_test_util.hpp"
#include "sched_driver.hpp"

namespace norman::test {
namespace {

namespace q = norman::qos;

constexpr unsigned kConns = 3;
constexpr unsigned kPayload = 512;
constexpr unsigned kFrameBytes = kPayload + 42;  // Ethernet + IPv4 + UDP headers
constexpr unsigned kBatch = 8;              // tx_engine's descriptors per batch (one per grant)
constexpr unsigned kOutstanding = 96;       // frames kept posted per connection
constexpr std::uint64_t kFeedEvery = 1000;  // cycles between two refills

// Rates in bytes per NIC cycle, as bytes/s for the specs.
constexpr std::uint64_t bps(double bytes_per_cycle) {
  return static_cast<std::uint64_t>(bytes_per_cycle * q::kNicHz);
}

class HarnessCsr : public device::RegisterIo {
 public:
  explicit HarnessCsr(NicHarness& h) : h_(h) {}
  std::uint64_t read64(std::uint32_t addr) override { return h_.csr_read(addr); }
  void write64(std::uint32_t addr, std::uint64_t v) override { h_.csr_write(addr, v); }

 private:
  NicHarness& h_;
};

// root 1:1 (10 B/cycle) -> inner 1:2 (6, ceil 10) -> A 1:10 (2, ceil 4, prio 0)
//                                                 -> B 1:20 (4, ceil 5, prio 1)
//                       -> C 1:30 (1, ceil 10, prio 1, the default)
// Spare bandwidth (3) goes to A first (prio 0) up to its ceil (+2), the rest
// is shared by B and C: A 4, B 4.5, C 1.5 B/cycle.
std::vector<q::HtbClassSpec> tree(double b_rate = 4, double b_ceil = 5) {
  constexpr std::uint32_t kBurst = 32 * 1024;
  auto cls = [](std::uint32_t id, std::optional<std::uint32_t> parent, double rate, double ceil,
                unsigned prio) {
    q::HtbClassSpec s;
    s.id = id;
    s.parent = parent;
    s.rate = bps(rate);
    s.ceil = bps(ceil);
    s.burst = kBurst;
    s.cburst = kBurst;
    s.prio = prio;
    s.quantum = kBatch * kFrameBytes;
    return s;
  };
  return {cls(1, std::nullopt, 10, 10, 0), cls(2, 1, 6, 10, 0), cls(10, 2, 2, 4, 0),
          cls(20, 2, b_rate, b_ceil, 1), cls(30, 1, 1, 10, 1)};
}
constexpr std::array<std::uint32_t, kConns> kLeafClass = {10, 20, 30};

// What the model gives each leaf class over [from, to) cycles, with the
// NIC's sender: one batch of 8 frames per grant, done after `latency`.
std::map<std::uint32_t, double> model_bytes(std::vector<q::HtbClassSpec> specs,
                                            const q::HtbParams& params, std::uint64_t from,
                                            std::uint64_t to, unsigned latency = 100) {
  q::HtbModel m(std::move(specs), params);
  (void)q::layout(m, static_cast<unsigned>(params.sweep_period / 2), params.scan_slots);
  std::deque<std::pair<std::uint64_t, unsigned>> pending;  // (when, leaf class)
  std::map<std::uint32_t, double> at_from, out;
  for (std::uint32_t id : kLeafClass) m.backlog(*m.index_of(id));
  for (std::uint64_t c = 0; c < to; ++c) {
    if (c == from) {
      for (std::uint32_t id : kLeafClass)
        at_from[id] = static_cast<double>(m.bytes(*m.index_of(id)));
    }
    m.tick(c);
    while (!pending.empty() && pending.front().first == c) {
      m.done(pending.front().second, kBatch * kFrameBytes, kBatch, true);
      pending.pop_front();
    }
    if (const auto g = m.decide()) pending.emplace_back(c + latency, g->leaf);
  }
  for (std::uint32_t id : kLeafClass)
    out[id] = static_cast<double>(m.bytes(*m.index_of(id))) - at_from[id];
  return out;
}

class SchedTest : public NicTest {
 protected:
  void SetUp() override {
    csr_ = std::make_unique<HarnessCsr>(h());
    drv_ = std::make_unique<q::SchedDriver>(*csr_);
    for (unsigned i = 0; i < kConns; ++i) {
      conns_[i] = h().open_conn(
          udp_conn(static_cast<std::uint16_t>(1 + i), static_cast<std::uint16_t>(7000 + i)), 5, 9);
    }
  }

  q::HtbModel make_model(std::vector<q::HtbClassSpec> specs) {
    return q::HtbModel(std::move(specs), drv_->params(30));
  }

  // Programs the tree and maps connection i to leaf class kLeafClass[i]
  // (connection 3 stays unmapped: the default class's).
  void program(q::HtbModel& m) {
    lay_ = drv_->program(m);
    for (unsigned i = 0; i + 1 < kConns; ++i) {
      drv_->map(conns_[i].cfg.conn_id,
                static_cast<unsigned>(lay_.leaf_of_class[*m.index_of(kLeafClass[i])]));
    }
  }

  const q::HwClass& hw(const q::HtbModel& m, std::uint32_t id) {
    return lay_.classes[*m.index_of(id)];
  }

  // Keeps every connection's ring topped up to kOutstanding frames, each
  // carrying its sequence number, and collects what leaves the port.
  void feed() {
    for (unsigned i = 0; i < kConns; ++i) {
      TxRing& r = conns_[i].tx;
      while (done_[i] != r.prod && h().tx_status(r, done_[i]) != rm::tx_desc::kStatusPending) {
        EXPECT_EQ(h().tx_status(r, done_[i]), rm::tx_desc::kStatusSent);
        ++done_[i];
      }
      if (!posting_) continue;
      bool posted = false;
      while (r.prod - done_[i] < kOutstanding) {
        Bytes p = pg::pattern(kPayload, static_cast<std::uint8_t>(posted_[i]));
        for (unsigned b = 0; b < 4; ++b) p[b] = static_cast<std::uint8_t>(posted_[i] >> (8 * b));
        h().tx_post(r, pg::ip_frame(pg::Eth(kPeerMac, kHostMac), pg::Ipv4(kHostIp, kPeerIp),
                                    pg::Udp(static_cast<std::uint16_t>(7000 + i), 5000), p));
        ++posted_[i];
        posted = true;
      }
      if (posted) h().tx_doorbell(r);
    }
    for (const Bytes& f : h().take_tx(0)) {
      ASSERT_EQ(f.size(), kFrameBytes);
      const unsigned i = static_cast<unsigned>(((f[34] << 8) | f[35]) - 7000);
      ASSERT_LT(i, kConns);
      std::uint32_t seq = 0;
      for (unsigned b = 0; b < 4; ++b) seq |= static_cast<std::uint32_t>(f[42 + b]) << (8 * b);
      EXPECT_EQ(seq, seen_[i]) << "connection " << i << ": frame out of order or lost";
      seen_[i] = seq + 1;
      bytes_[i] += f.size();
    }
  }

  // Runs `cycles` with the rings kept full.
  void traffic(std::uint64_t cycles) {
    for (std::uint64_t t = 0; t < cycles; t += kFeedEvery) {
      feed();
      h().run(kFeedEvery);
      now_ += kFeedEvery;
    }
  }

  // Stops posting and lets everything posted go out.
  void drain() {
    posting_ = false;
    for (int k = 0; k < 400 && !all_sent(); ++k) {
      h().run(kFeedEvery);
      feed();
    }
    EXPECT_TRUE(all_sent());
    for (unsigned i = 0; i < kConns; ++i) EXPECT_EQ(seen_[i], posted_[i]) << "connection " << i;
  }
  bool all_sent() {
    for (unsigned i = 0; i < kConns; ++i) {
      if (done_[i] != conns_[i].tx.prod || seen_[i] != posted_[i]) return false;
    }
    return true;
  }

  std::unique_ptr<HarnessCsr> csr_;
  std::unique_ptr<q::SchedDriver> drv_;
  q::HtbLayout lay_;
  std::array<ConnHandle, kConns> conns_;
  std::array<std::uint32_t, kConns> done_{}, posted_{}, seen_{};
  std::array<std::uint64_t, kConns> bytes_{};
  bool posting_ = true;
  std::uint64_t now_ = 0;
};

TEST_F(SchedTest, SharesMatchTheModel) {
  auto m = make_model(tree());
  program(m);
  drv_->enable(true);
  constexpr std::uint64_t kWarm = 50000, kWindow = 400000;
  traffic(kWarm);
  const auto before = bytes_;
  traffic(kWindow);
  const auto expect = model_bytes(tree(), drv_->params(30), kWarm, kWarm + kWindow);
  const double t = static_cast<double>(kWindow);
  const std::array<double, kConns> own_rate = {2, 4, 1}, ceil = {4, 5, 10};  // B/cycle, see tree()
  double window_total = 0, model_total = 0;
  for (unsigned i = 0; i < kConns; ++i) {
    const double got = static_cast<double>(bytes_[i] - before[i]);
    const double want = expect.at(kLeafClass[i]);
    std::printf("class 1:%u: NIC %.3f B/cycle, model %.3f B/cycle\n", kLeafClass[i], got / t,
                want / t);
    // Guarantees and ceilings (plus cburst and what the engine holds in
    // flight before its charge lands: MaxReads frames).
    EXPECT_GE(got, 0.99 * own_rate[i] * t) << "class 1:" << kLeafClass[i] << " below its rate";
    EXPECT_LE(got, ceil[i] * t + 32 * 1024 + 256.0 * kFrameBytes)
        << "class 1:" << kLeafClass[i] << " above ceil";
    window_total += got;
    model_total += want;
  }
  // Work conservation: the root's rate is used, as in the model.
  EXPECT_NEAR(window_total / t, 10.0, 0.2);
  EXPECT_NEAR(window_total, model_total, 0.02 * model_total);
  // B is held at its ceil in both: within docs/qos.md's bound of the model.
  {
    const double got = static_cast<double>(bytes_[1] - before[1]), want = expect.at(20);
    EXPECT_NEAR(got, want, 0.02 * want + 60e3 + 256.0 * kFrameBytes) << "class 1:20";
  }
  // Known difference (docs/qos.md): how A (prio 0) and C (prio 1) split the
  // root's spare bandwidth differs from the model's, since the root runs
  // at its rate and the spare comes back once per sweep in less than a
  // batch; printed above, not checked.
  drain();
  ASSERT_TRUE(h().wait_idle(400000));
  // Exact accounting: every frame that went out was charged, to its leaf and
  // every ancestor.
  std::uint64_t total = 0, frames = 0;
  for (unsigned i = 0; i < kConns; ++i) {
    const auto s = drv_->stats(hw(m, kLeafClass[i]));
    EXPECT_EQ(s.bytes, bytes_[i]) << "class 1:" << kLeafClass[i];
    EXPECT_EQ(s.packets, posted_[i]) << "class 1:" << kLeafClass[i];
    total += bytes_[i];
    frames += posted_[i];
  }
  EXPECT_EQ(drv_->stats(hw(m, 1)).bytes, total);
  EXPECT_EQ(drv_->stats(hw(m, 1)).packets, frames);
  EXPECT_EQ(drv_->stats(hw(m, 2)).bytes, bytes_[0] + bytes_[1]);
  EXPECT_GT(drv_->held(), 0U);
  EXPECT_EQ(drv_->refused(), 0U);
}

TEST_F(SchedTest, DisabledShapesNothing) {
  auto m = make_model(tree());
  program(m);
  // ENABLE stays 0 (the default): the connections share the NIC by turns.
  constexpr std::uint64_t kWindow = 100000;
  traffic(10000);
  const auto before = bytes_;
  traffic(kWindow);
  std::uint64_t total = 0;
  for (unsigned i = 0; i < kConns; ++i) total += bytes_[i] - before[i];
  // Far above the root's 10 B/cycle, and evenly shared (round robin).
  EXPECT_GT(static_cast<double>(total) / kWindow, 20.0);
  for (unsigned i = 0; i < kConns; ++i) {
    EXPECT_NEAR(static_cast<double>(bytes_[i] - before[i]), static_cast<double>(total) / kConns,
                0.1 * static_cast<double>(total));
  }
  drain();
  ASSERT_TRUE(h().wait_idle(400000));
  EXPECT_EQ(drv_->stats(hw(m, 1)).bytes, 0U);
  EXPECT_EQ(drv_->held(), 0U);
  EXPECT_EQ(drv_->grants(), 0U);
}

TEST_F(SchedTest, ChangesDuringTrafficLoseAndReorderNothing) {
  auto m = make_model(tree());
  program(m);
  drv_->enable(true);
  traffic(60000);
  // B from 4 (ceil 5) to 1 (ceil 1): one commit, during traffic.
  auto m2 = make_model(tree(1, 1));
  drv_->update(m2, lay_);
  traffic(20000);
  const auto before = bytes_;
  constexpr std::uint64_t kWindow = 200000;
  traffic(kWindow);
  EXPECT_NEAR(static_cast<double>(bytes_[1] - before[1]) / kWindow, 1.0, 0.05)
      << "class 1:20 after the commit";
  // Move connection 1 (A) to the default class and back, and switch the
  // scheduler off and on, while frames are in flight.
  drv_->unmap(conns_[0].cfg.conn_id);
  traffic(5000);
  drv_->enable(false);
  traffic(5000);
  drv_->enable(true);
  drv_->map(conns_[0].cfg.conn_id, static_cast<unsigned>(lay_.leaf_of_class[*m.index_of(10)]));
  traffic(20000);
  drain();  // checks every frame left once and in order (feed())
  ASSERT_TRUE(h().wait_idle(400000));
}

}  // namespace
}  // namespace norman::test
