// PCIe model: bandwidth, TLP splitting, latency, ordering, back-pressure.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>

#include "host_memory.hpp"
#include "nsim_client.hpp"
#include "pcie_model.hpp"

namespace norman::nsim {
namespace {

constexpr std::uint64_t kIova = 0x1000000;
constexpr std::size_t kMemBytes = 1 << 20;

class PcieTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_ = DmaRegion::create(kMemBytes);
    std::string why;
    ASSERT_EQ(mem_.map(region_.fd(), kIova, kMemBytes, 0, why), 0) << why;
  }

  // Drives back-to-back writes of `len` bytes at `addr_of(i)` for `cycles`
  // cycles the way the core would (valid every cycle); returns payload bytes.
  template <typename AddrFn>
  std::uint64_t drive_writes(PcieModel& m, std::uint32_t len, std::uint64_t cycles, AddrFn addr_of) {
    std::array<std::uint8_t, 64> beat{};
    std::uint64_t done_bytes = 0;
    std::uint64_t i = 0;
    std::uint32_t k = 0;
    for (std::uint64_t c = 0; c < cycles; ++c) {
      std::uint64_t addr = addr_of(i);
      std::uint32_t beats = static_cast<std::uint32_t>((addr + len - 1) / 64 - addr / 64 + 1);
      m.note_valid(true, false);
      if (m.wr_ready()) {
        bool last = k + 1 == beats;
        m.wr_beat(addr, len, beat.data(), last);
        if (last) {
          done_bytes += len;
          ++i;
          k = 0;
        } else {
          ++k;
        }
      }
      m.tick();
    }
    return done_bytes;
  }

  DmaRegion region_;
  HostMemory mem_;
};

TEST_F(PcieTest, Gen3x16DefaultsAre63BytesPerCycle) {
  PcieConfig cfg;
  EXPECT_DOUBLE_EQ(cfg.d2h_bytes_per_cycle, 63.0);
  EXPECT_EQ(cfg.mps, 256U);
  EXPECT_EQ(cfg.mrrs, 512U);
  EXPECT_EQ(cfg.tlp_overhead, 24U);
  EXPECT_EQ(cfg.read_latency, 250U);
}

TEST_F(PcieTest, SmallWriteBandwidthIsLimitedByTlpOverhead) {
  PcieModel m(PcieConfig{}, mem_);
  constexpr std::uint64_t kCycles = 200000;
  std::uint64_t bytes = drive_writes(m, 64, kCycles, [](std::uint64_t i) { return kIova + (i * 64) % kMemBytes; });
  double rate = static_cast<double>(bytes) / kCycles;
  // Each 64-byte write costs 64 + 24 link bytes: 63 * 64 / 88 = 45.8 B/cycle.
  EXPECT_NEAR(rate, 63.0 * 64 / 88, 0.5);
  EXPECT_EQ(m.stats().wr_tlps, m.stats().wr_reqs);
  EXPECT_GT(m.stats().wr_stall_cycles, kCycles / 10);  // the link, not the core, was the limit
}

TEST_F(PcieTest, LargeWriteBandwidthApproachesLinkRate) {
  PcieModel m(PcieConfig{}, mem_);
  constexpr std::uint64_t kCycles = 200000;
  // RX-slot shaped: 1504 bytes ending at the end of a 2 KiB slot.
  std::uint64_t bytes =
      drive_writes(m, 1504, kCycles, [](std::uint64_t i) { return kIova + (i % 256) * 2048 + 2048 - 1504; });
  double rate = static_cast<double>(bytes) / kCycles;
  // [544, 2048) of a slot touches 6 MPS blocks: 1504 + 6 * 24 link bytes.
  EXPECT_NEAR(rate, 63.0 * 1504 / (1504 + 6 * 24), 0.5);
  // (The TLPs of a write still being assembled are counted already.)
  EXPECT_GE(m.stats().wr_tlps, 6 * m.stats().wr_reqs);
  EXPECT_LE(m.stats().wr_tlps, 6 * (m.stats().wr_reqs + 1));
  EXPECT_EQ(m.stats().protocol_errors, 0U);
}

TEST_F(PcieTest, WritesSplitAtMpsAnd4KBoundaries) {
  EXPECT_EQ(PcieModel::tlp_count(0, 4096, 256), 16U);
  EXPECT_EQ(PcieModel::tlp_count(0, 256, 256), 1U);
  EXPECT_EQ(PcieModel::tlp_count(100, 256, 256), 2U);
  EXPECT_EQ(PcieModel::tlp_count(4000, 200, 4096), 2U);  // crosses a 4 KiB boundary
  EXPECT_EQ(PcieModel::tlp_count(4000, 96, 4096), 1U);
  EXPECT_EQ(PcieModel::tlp_count(0, 1500, 512), 3U);  // read requests at MRRS

  PcieConfig cfg;
  cfg.mps = 128;
  PcieModel m(cfg, mem_);
  std::array<std::uint8_t, 64> beat{};
  // One 512-byte write at an aligned address: 8 beats, 4 TLPs of 128.
  for (int k = 0; k < 8; ++k) {
    ASSERT_TRUE(m.wr_ready());
    m.wr_beat(kIova, 512, beat.data(), k == 7);
    m.tick();
    for (int w = 0; w < 4 && !m.wr_ready(); ++w) {
      m.tick();
    }
  }
  EXPECT_EQ(m.stats().wr_reqs, 1U);
  EXPECT_EQ(m.stats().wr_tlps, 4U);
  EXPECT_EQ(m.stats().d2h_bytes, 512U + 4 * 24);
}

TEST_F(PcieTest, WriteBecomesVisibleAfterWriteLatencyInAddressAlignedLanes) {
  PcieConfig cfg;
  cfg.write_latency = 125;
  PcieModel m(cfg, mem_);
  // 8 bytes at offset 0x38 of a block, then 8 more in the next block: two beats.
  std::array<std::uint8_t, 64> b0{}, b1{};
  for (int i = 0; i < 8; ++i) {
    b0[0x38 + i] = static_cast<std::uint8_t>(0xA0 + i);
    b1[i] = static_cast<std::uint8_t>(0xB0 + i);
  }
  m.wr_beat(kIova + 0x38, 16, b0.data(), false);
  m.tick();
  m.wr_beat(kIova + 0x38, 16, b1.data(), true);
  std::uint8_t* host = region_.data();
  for (std::uint64_t c = 0; c < 124; ++c) {
    m.tick();
    ASSERT_EQ(host[0x38], 0) << "visible too early at cycle " << c;
  }
  m.tick();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(host[0x38 + i], 0xA0 + i);
    EXPECT_EQ(host[0x40 + i], 0xB0 + i);
  }
  EXPECT_EQ(host[0x37], 0);
  EXPECT_EQ(host[0x48], 0);
  EXPECT_TRUE(m.idle());
}

TEST_F(PcieTest, ReadCompletesAfterReadLatencyPackedFromLaneZero) {
  PcieModel m(PcieConfig{}, mem_);
  for (std::size_t i = 0; i < 200; ++i) {
    region_.data()[0x1010 + i] = static_cast<std::uint8_t>(i + 1);
  }
  ASSERT_TRUE(m.rd_req_ready());
  m.rd_req(kIova + 0x1010, 100, 7);  // unaligned: completion is packed from lane 0
  std::uint64_t start = m.now();
  while (!m.cpl_valid()) {
    m.tick();
    ASSERT_LT(m.now() - start, 1000U);
  }
  EXPECT_EQ(m.now() - start, 250U);
  EXPECT_EQ(m.cpl_tag(), 7);
  EXPECT_FALSE(m.cpl_last());
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(m.cpl_data()[i], i + 1);
  }
  m.cpl_taken();
  m.tick();
  ASSERT_TRUE(m.cpl_valid());
  EXPECT_TRUE(m.cpl_last());
  for (int i = 0; i < 36; ++i) {
    EXPECT_EQ(m.cpl_data()[i], 64 + i + 1);
  }
  EXPECT_EQ(m.cpl_data()[36], 0);  // beyond len: zero
  m.cpl_taken();
  m.tick();
  EXPECT_FALSE(m.cpl_valid());
  EXPECT_TRUE(m.idle());
}

TEST_F(PcieTest, CompletionsInRequestOrder) {
  PcieModel m(PcieConfig{}, mem_);
  m.rd_req(kIova, 64, 1);
  m.tick();
  m.rd_req(kIova + 64, 64, 2);
  m.tick();
  m.rd_req(kIova + 128, 64, 3);
  std::vector<int> tags;
  for (int c = 0; c < 2000 && tags.size() < 3; ++c) {
    if (m.cpl_valid()) {
      tags.push_back(m.cpl_tag());
      m.cpl_taken();
    }
    m.tick();
  }
  EXPECT_EQ(tags, (std::vector<int>{1, 2, 3}));
}

TEST_F(PcieTest, ReadsDoNotPassPostedWrites) {
  PcieConfig cfg;
  cfg.write_latency = 1000;  // slower than reads
  cfg.read_latency = 10;
  PcieModel m(cfg, mem_);
  std::array<std::uint8_t, 64> beat{};
  beat.fill(0x5A);
  m.wr_beat(kIova, 64, beat.data(), true);
  m.tick();
  m.rd_req(kIova, 64, 0);
  while (!m.cpl_valid()) {
    m.tick();
  }
  EXPECT_EQ(m.cpl_data()[0], 0x5A);
  EXPECT_LT(m.now(), 100U);
}

TEST_F(PcieTest, BackPressureHoldsConfiguredBandwidth) {
  PcieConfig cfg;
  cfg.d2h_bytes_per_cycle = 8;
  PcieModel m(cfg, mem_);
  constexpr std::uint64_t kCycles = 100000;
  std::uint64_t bytes = drive_writes(m, 1024, kCycles, [](std::uint64_t i) { return kIova + (i % 512) * 1024; });
  // 1024 bytes in 4 TLPs: 1120 link bytes per write at 8 bytes per cycle.
  double rate = static_cast<double>(bytes) / kCycles;
  EXPECT_NEAR(rate, 8.0 * 1024 / 1120, 0.1);
  EXPECT_GT(m.stats().wr_stall_cycles, kCycles * 8 / 10);
}

TEST_F(PcieTest, ReadBandwidthLimitedByHostToDeviceBudget) {
  PcieConfig cfg;
  cfg.h2d_bytes_per_cycle = 16;
  PcieModel m(cfg, mem_);
  std::uint64_t got = 0;
  std::uint64_t i = 0;
  constexpr std::uint64_t kCycles = 100000;
  for (std::uint64_t c = 0; c < kCycles; ++c) {
    if (m.rd_req_ready()) {
      m.rd_req(kIova + (i % 256) * 1024, 1024, static_cast<std::uint8_t>(i));
      ++i;
    }
    if (m.cpl_valid()) {
      got += 64;
      m.cpl_taken();
    }
    m.tick();
  }
  // 1024 bytes in 4 completions of 256: 1120 link bytes per read.
  EXPECT_NEAR(static_cast<double>(got) / kCycles, 16.0 * 1024 / 1120, 0.3);
}

TEST_F(PcieTest, UnmappedDmaIsRefusedAndCounted) {
  PcieModel m(PcieConfig{}, mem_);
  std::array<std::uint8_t, 64> beat{};
  beat.fill(1);
  m.wr_beat(0xdead0000, 64, beat.data(), true);
  // Straddling the end of the mapping: refused as a whole.
  m.wr_beat(kIova + kMemBytes - 32, 64, beat.data(), false);
  m.wr_beat(kIova + kMemBytes - 32, 64, beat.data(), true);
  m.rd_req(0xdead0000, 64, 9);
  for (int c = 0; c < 400; ++c) {
    if (m.cpl_valid()) {
      EXPECT_EQ(m.cpl_data()[0], 0xff);
      m.cpl_taken();
    }
    m.tick();
  }
  EXPECT_EQ(m.stats().wr_faults, 2U);
  EXPECT_EQ(m.stats().rd_faults, 1U);
  EXPECT_EQ(mem_.faults(), 3U);
  EXPECT_EQ(region_.data()[kMemBytes - 32], 0) << "a refused write must not be partially applied";
  EXPECT_TRUE(m.idle());
}

TEST_F(PcieTest, BrokenBeatSequenceIsCountedNotApplied) {
  PcieModel m(PcieConfig{}, mem_);
  std::array<std::uint8_t, 64> beat{};
  beat.fill(3);
  m.wr_beat(kIova, 128, beat.data(), true);  // 128 bytes need two beats
  m.wr_beat(kIova, 64, beat.data(), false);
  m.wr_beat(kIova + 64, 64, beat.data(), true);  // addr changed mid-request
  for (int c = 0; c < 300; ++c) {
    m.tick();
  }
  EXPECT_EQ(m.stats().protocol_errors, 2U);
  EXPECT_EQ(region_.data()[0], 0);
}

TEST_F(PcieTest, TrailerPublishedWithReleaseAfterData) {
  // A consumer acquire-polls the 4-byte trailer at the end of each write
  // while the write is being applied; once it sees write v's trailer, every
  // body word must be v. The writer waits for the consumer's ack before the
  // next write, so nothing newer can be in the body.
  PcieConfig cfg;
  cfg.write_latency = 1;
  PcieModel m(cfg, mem_);
  constexpr std::uint32_t kWrites = 3000;
  std::atomic<bool> bad{false};
  std::atomic<std::uint32_t> acked{0};
  std::thread consumer([&] {
    auto* words = reinterpret_cast<std::uint32_t*>(region_.data() + 1024);
    std::uint32_t last = 0;
    while (last < kWrites && !bad) {
      std::uint32_t v = std::atomic_ref<std::uint32_t>(words[255]).load(std::memory_order_acquire);
      if (v == last) {
        continue;
      }
      for (int i = 0; i < 255; ++i) {
        if (std::atomic_ref<std::uint32_t>(words[i]).load(std::memory_order_relaxed) != v) {
          bad = true;
        }
      }
      last = v;
      acked.store(v, std::memory_order_release);
    }
  });
  std::array<std::uint32_t, 16> beat{};
  for (std::uint32_t w = 1; w <= kWrites; ++w) {
    beat.fill(w);
    for (int k = 0; k < 16; ++k) {
      while (!m.wr_ready()) {
        m.tick();
      }
      m.wr_beat(kIova + 1024, 1024, reinterpret_cast<const std::uint8_t*>(beat.data()), k == 15);
      m.tick();
    }
    while (!m.idle()) {
      m.tick();  // apply it
    }
    while (acked.load(std::memory_order_acquire) != w && !bad) {
      std::this_thread::yield();
    }
  }
  for (int c = 0; c < 10; ++c) {
    m.tick();
  }
  consumer.join();
  EXPECT_FALSE(bad.load());
}

}  // namespace
}  // namespace norman::nsim
