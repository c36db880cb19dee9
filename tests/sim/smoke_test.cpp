// End to end: the real nsim binary with a DPDK net_pcap port, driven through
// the host library exactly like the control plane would.
#include <fcntl.h>
#include <poll.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "norman/regmap.hpp"
#include "nsim_client.hpp"
#include "nsim_process.hpp"

extern char** environ;

namespace norman::nsim {
namespace {

using test_support::Nsim;
using test_support::slurp;

using namespace std::chrono_literals;
using norman::regmap::kConnDbBase;
using norman::regmap::kPageBytes;


// Writes `n` small UDP-looking frames with libpcap (of 60 + 100 i bytes, or
// all of `len` bytes).
void write_pcap(const std::string& path, int n, int len = 0) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  ASSERT_NE(p, nullptr);
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(p);
  for (int i = 0; i < n; ++i) {
    std::vector<std::uint8_t> frame(static_cast<std::size_t>(len != 0 ? len : 60 + 100 * i), 0);
    const std::uint8_t hdr[14] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
    std::copy(std::begin(hdr), std::end(hdr), frame.begin());
    frame[14] = 0x45;
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
    h.ts.tv_usec = i;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, frame.data());
  }
  pcap_dump_close(d);
  pcap_close(p);
}

class NsimSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nsim-smoke-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  template <typename Pred>
  static bool eventually(Pred p, std::chrono::milliseconds limit = 20000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (p()) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return p();
  }

  std::string dir_;
};

TEST_F(NsimSmoke, EndToEndWithPcapPort) {
  const int kFrames = 3;
  write_pcap(dir_ + "/in.pcap", kFrames);
  Nsim sim(dir_, {"--port", "net_pcap0,rx_pcap=" + dir_ + "/in.pcap,tx_pcap=" + dir_ + "/out.pcap", "--stats-json"});
  ASSERT_GT(sim.pid(), 0) << "could not start " << NSIM_BINARY;
  std::string why;
  ASSERT_TRUE(sim.wait_ready(why)) << why;
  struct stat st {};
  ASSERT_EQ(::stat(sim.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U) << "the control socket is root-only";

  {
    ConnectOptions opts;
    opts.check_identity = false;  // checked explicitly below, with the values in the message
    NsimClient c = NsimClient::connect(sim.socket(), opts);
    EXPECT_EQ(c.hello().num_ports, 2U);
    EXPECT_EQ(c.hello().build_id, norman::regmap::kBuildId);

    // The core's ID block.
    EXPECT_EQ(c.mmio().read64(norman::regmap::kRegIdMagic), norman::regmap::kMagic)
        << "nic_core does not answer ID.MAGIC";
    EXPECT_EQ(c.mmio().read64(norman::regmap::kRegIdBuildId), norman::regmap::kBuildId)
        << "nic_core does not answer ID.BUILD_ID";

    // Host memory and an interrupt.
    DmaRegion rx = c.alloc_dma(1 << 20, 0x10000000);
    EXPECT_NE(rx.data(), nullptr);
    UniqueFd ev = make_eventfd();
    c.set_irq(0, ev.get());

    // An application's channel: its own doorbell page only.
    std::uint64_t mine = kConnDbBase + 5 * kPageBytes;
    std::uint64_t pages[] = {mine};
    AppChannel app = c.open_app_channel(pages);
    MmioChannel ch = MmioChannel::attach(app.fd.get());
    ch.write64(mine + norman::regmap::kDbConnRxCons, 0);               // allowed
    ch.write64(kConnDbBase + 6 * kPageBytes + norman::regmap::kDbConnRxCons, 0);  // someone else's
    ASSERT_TRUE(eventually([&] { return c.stats().mmio_refused >= 1; })) << "the refused write was not counted";
    EXPECT_TRUE(eventually([&] { return c.stats().mmio_writes >= 1; })) << "the granted write did not reach the core";
    proto::StatsRsp s = c.stats();
    EXPECT_EQ(s.mmio_refused, 1U);
    EXPECT_EQ(ch.refused_writes(), 1U);
    EXPECT_EQ(s.iommu_faults, 0U);
    EXPECT_EQ(s.mmio_channels, 2U);

    // The pcap's frames go through the core's eth_rx port.
    ASSERT_TRUE(eventually([&] { return c.stats().ports[0].rx_frames == kFrames; }))
        << "rx_frames=" << c.stats().ports[0].rx_frames;
    s = c.stats();
    EXPECT_EQ(s.ports[0].rx_bytes, 60U + 160U + 260U);
    EXPECT_EQ(s.ports[1].rx_frames, 0U) << "a port not given on the command line stays idle";
    EXPECT_GT(s.cycles, 0U);
  }

  EXPECT_EQ(sim.stop(SIGTERM), 0) << sim.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(sim.socket())) << "the socket is removed on exit";
  ASSERT_TRUE(std::filesystem::exists(dir_ + "/out.pcap")) << "the TX pcap is written on close";
  EXPECT_GE(std::filesystem::file_size(dir_ + "/out.pcap"), 24U) << "pcap header flushed";
  std::string out = sim.stdout_text();
  EXPECT_NE(out.find("{\"cycles\":"), std::string::npos) << out;
  EXPECT_NE(out.find("\"rx_frames\":3"), std::string::npos) << out;
}

// Runs one CMD.OP with `args` and returns the status code (bits 15:8 of STATUS).
unsigned run_cmd(MmioChannel& m, norman::regmap::Op op, const std::array<std::uint64_t, 8>& args) {
  for (unsigned i = 0; i < args.size(); ++i) {
    m.write64(norman::regmap::kRegCmdArg + 8 * i, args[i]);
  }
  m.write64(norman::regmap::kRegCmdOp, static_cast<std::uint64_t>(op));
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t st = m.read64(norman::regmap::kRegCmdStatus);
    if ((st & 1) == 0) {
      return static_cast<unsigned>(norman::regmap::kCmdStatusCode.get(st));
    }
  }
  ADD_FAILURE() << "command " << static_cast<int>(op) << " stayed busy";
  return ~0U;
}

// RX through the whole path: DPDK pcap port -> eth_rx -> core -> PCIe model ->
// IOMMU -> the fallback ring in this process's memfd, plus the notification
// and its interrupt on the eventfd.
TEST_F(NsimSmoke, RxFrameIsDeliveredByDmaToTheFallbackRing) {
  namespace rm = norman::regmap;
  write_pcap(dir_ + "/loop.pcap", 1);  // one 60-byte frame, replayed forever
  Nsim sim(dir_, {"--port", "net_pcap0,rx_pcap=" + dir_ + "/loop.pcap,infinite_rx=1"});
  std::string why;
  ASSERT_TRUE(sim.wait_ready(why)) << why;
  NsimClient c = NsimClient::connect(sim.socket());
  MmioChannel& m = c.mmio();
  constexpr std::uint64_t kRing = 0x40000000;  // 8 slots of 2 KiB
  constexpr std::uint64_t kNq = 0x40010000;    // 16 entries of 8 bytes
  DmaRegion ring = c.alloc_dma(16384, kRing);
  DmaRegion nq = c.alloc_dma(4096, kNq);
  UniqueFd ev = make_eventfd();
  c.set_irq(3, ev.get());

  std::array<std::uint64_t, 8> a{};
  rm::nq::kNqId.set(a[0], 0);
  rm::nq::kVector.set(a[0], 3);
  rm::nq::kLog2.set(a[0], 4);
  a[1] = kNq;
  ASSERT_EQ(run_cmd(m, rm::Op::kNqSet, a), static_cast<unsigned>(rm::Status::kOk));
  a = {};
  rm::conn::kConnId.set(a[0], rm::kFallbackConn);
  rm::conn::kNqId.set(a[0], 0);
  a[1] = kRing;
  rm::conn::kRxLog2.set(a[2], 3);
  rm::conn::kTxLog2.set(a[2], 3);
  ASSERT_EQ(run_cmd(m, rm::Op::kConnSet, a), static_cast<unsigned>(rm::Status::kOk));
  m.write64(rm::kNqDbBase + rm::kDbNqArm, 1);
  m.write64(rm::kRegCtrlEnable, 1);  // RX on

  // Slot 0: the frame ends at the trailer, SEQ = 1.
  auto* trailer = reinterpret_cast<std::uint32_t*>(ring.data() + rm::rx_slot::kTrailerOffset);
  ASSERT_TRUE(eventually([&] {
    return rm::rx_slot::kSeq.get(std::atomic_ref<std::uint32_t>(*trailer).load(std::memory_order_acquire)) == 1;
  })) << "no frame arrived in the fallback ring";
  std::uint32_t t = *trailer;
  EXPECT_EQ(rm::rx_slot::kLen.get(t), 60U);
  const std::uint8_t* frame = ring.data() + rm::rx_slot::kTrailerOffset - 60;
  EXPECT_EQ(frame[0], 0x02);
  EXPECT_EQ(frame[5], 0x01);
  EXPECT_EQ(frame[12], 0x08);
  EXPECT_EQ(frame[14], 0x45);

  // One RX notification for conn 0, and the armed queue's interrupt.
  auto* entry = reinterpret_cast<std::uint64_t*>(nq.data());
  ASSERT_TRUE(eventually([&] {
    return rm::notify::kSeq.get(std::atomic_ref<std::uint64_t>(*entry).load(std::memory_order_acquire)) == 1;
  })) << "no notification";
  EXPECT_EQ(rm::notify::kKind.get(*entry), rm::notify::kKindsRx);
  EXPECT_EQ(rm::notify::kConnId.get(*entry), rm::kFallbackConn);
  pollfd p{ev.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 20000), 1) << "no interrupt";
  proto::StatsRsp s = c.stats();
  EXPECT_GE(s.dma_wr_reqs, 2U);
  EXPECT_EQ(s.iommu_faults, 0U);
  EXPECT_GE(s.irqs, 1U);
  EXPECT_EQ(sim.stop(SIGTERM), 0) << sim.stderr_text();
}

TEST_F(NsimSmoke, ConnectChecksTheCoreIdentity) {
  Nsim sim(dir_, {});
  ASSERT_GT(sim.pid(), 0);
  std::string why;
  ASSERT_TRUE(sim.wait_ready(why)) << why;
  NsimClient c = NsimClient::connect(sim.socket());  // throws on a MAGIC/BUILD_ID mismatch
  EXPECT_EQ(c.mmio().read64(norman::regmap::kRegIdMagic), norman::regmap::kMagic);
  c.shutdown();
  EXPECT_EQ(sim.wait_exit(), 0) << sim.stderr_text();
}

TEST_F(NsimSmoke, ShutdownRequestAndSingleInstancePerSocket) {
  Nsim first(dir_, {});
  std::string why;
  ASSERT_TRUE(first.wait_ready(why)) << why;
  Nsim second(dir_, {});
  EXPECT_EQ(second.wait_exit(), 1) << "a second nsim must refuse a live socket";
  EXPECT_NE(second.stderr_text().find("already serving"), std::string::npos) << second.stderr_text();
  ConnectOptions opts;
  opts.check_identity = false;
  NsimClient c = NsimClient::connect(first.socket(), opts);
  c.shutdown();
  EXPECT_EQ(first.wait_exit(), 0) << first.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(first.socket()));
}

TEST_F(NsimSmoke, MaxCyclesRunPrintsStatsJson) {
  Nsim sim(dir_, {"--busy", "--max-cycles", "20000", "--stats-json"});
  EXPECT_EQ(sim.wait_exit(60s), 0) << sim.stderr_text();
  std::string out = sim.stdout_text();
  EXPECT_NE(out.find("{\"cycles\":20000,"), std::string::npos) << out;
}

// A port whose input comes faster than the core takes it (here a slow
// simulated line and a 2-frame queue) is back-pressured: nsim stops polling
// the ethdev, a file replay waits, nothing is lost, and the stats say so.
TEST_F(NsimSmoke, InputFasterThanTheLineIsBackPressuredAndReported) {
  const int kFrames = 300;
  write_pcap(dir_ + "/in.pcap", kFrames, 60);
  Nsim sim(dir_, {"--port", "net_pcap0,rx_pcap=" + dir_ + "/in.pcap,tx_pcap=" + dir_ + "/out.pcap",
                  "--rx-queue-frames", "2", "--line-rate-gbps", "1", "--exit-when-idle-after-ms", "500",
                  "--stats-json"});
  EXPECT_EQ(sim.wait_exit(120s), 0) << sim.stderr_text();
  std::string out = sim.stdout_text();
  auto field = [&](const std::string& name) -> long long {
    auto at = out.find("\"ports\":[{");
    at = at == std::string::npos ? at : out.find("\"" + name + "\":", at);
    if (at == std::string::npos) return -1;
    return std::stoll(out.substr(at + name.size() + 3));
  };
  EXPECT_EQ(field("rx_frames"), kFrames) << out;
  EXPECT_EQ(field("rx_drops_dpdk"), 0) << out;
  EXPECT_GT(field("rx_backpressure_polls"), 0) << "back-pressure must show in the stats: " << out;
}

TEST_F(NsimSmoke, ExitsWhenIdleForReplayRuns) {
  Nsim sim(dir_, {"--exit-when-idle-after-ms", "300", "--stats-json"});
  EXPECT_EQ(sim.wait_exit(60s), 0) << sim.stderr_text();
  std::string out = sim.stdout_text();
  EXPECT_NE(out.find("\"idle_sleeps\":"), std::string::npos) << out;
}

}  // namespace
}  // namespace norman::nsim
