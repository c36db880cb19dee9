// Whole-NIC tests through the real nsim binary and a DPDK net_pcap port:
//  - frames replayed from a pcap land, byte-exact and in order, in the ring
//    of the connection they belong to (flow entry, listening entry, or the
//    fallback ring), and the RX counters balance;
//  - frames posted on a connection's TX ring leave on the port byte-exact and
//    in order (read back from the TX pcap), a spoofed one does not.
// nsim runs with --rx-after-enable so the replay starts only once the NIC is
// configured (CTRL.ENABLE written last).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nic_device.hpp"
#include "norman/regmap.hpp"
#include "nsim_client.hpp"
#include "nsim_process.hpp"
#include "pktgen.hpp"

extern char** environ;

namespace norman::nsim {
namespace {

using test_support::Nsim;
using test_support::slurp;

using namespace std::chrono_literals;
namespace rm = norman::regmap;
namespace pg = norman::pktgen;
using norman::device::ConnConfig;
using norman::device::FlowKey;
using norman::device::NicDevice;
using Frame = std::vector<std::uint8_t>;


// Writes `frames` to a pcap file with libpcap (an empty list gives a file
// with only the header).
void write_pcap(const std::string& path, const std::vector<Frame>& frames) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  ASSERT_NE(p, nullptr);
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(p);
  int i = 0;
  for (const Frame& f : frames) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    h.ts.tv_usec = ++i;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(p);
}

// Every frame of a pcap file, in order.
std::vector<Frame> read_pcap(const std::string& path, std::string& err) {
  std::vector<Frame> out;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (p == nullptr) {
    err = errbuf;
    return out;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &h, &data) == 1) {
    out.emplace_back(data, data + h->caplen);
  }
  pcap_close(p);
  return out;
}

// The nsim process (as in smoke_test.cpp): stdout/stderr to files in `dir`.

class MmioIo : public norman::device::RegisterIo {
 public:
  explicit MmioIo(MmioChannel& ch) : ch_(ch) {}
  std::uint64_t read64(std::uint32_t addr) override { return ch_.read64(addr); }
  void write64(std::uint32_t addr, std::uint64_t v) override { ch_.write64(addr, v); }

 private:
  MmioChannel& ch_;
};

// Everything in one DMA region.
struct Layout {
  static constexpr std::uint64_t kIova = 0x40000000;
  static constexpr unsigned kRxLog2 = 5;  // 32 slots per ring
  static constexpr unsigned kTxLog2 = 3;  // 8 descriptors
  static constexpr unsigned kNqLog2 = 8;
  static constexpr std::uint64_t kRingBytes = std::uint64_t{rm::rx_slot::kSlotBytes} << kRxLog2;
  static constexpr std::uint64_t kRx[3] = {0, kRingBytes, 2 * kRingBytes};  // conn 0 (fallback), 1, 2
  static constexpr std::uint64_t kTxDesc = 3 * kRingBytes;
  static constexpr std::uint64_t kTxData = kTxDesc + 4096;
  static constexpr std::uint64_t kNq = kTxData + (std::uint64_t{rm::tx_desc::kSlotBytes} << kTxLog2);
  static constexpr std::uint64_t kSize = (kNq + (8U << kNqLog2) + 4095) / 4096 * 4096;
};

const pg::Mac kNicMac = pg::mac("02:00:00:00:00:02");
const pg::Mac kPeerMac = pg::mac("02:00:00:00:00:01");
const pg::Ipv4Addr kNicIp = pg::ipv4("10.0.0.2");
const pg::Ipv4Addr kPeerIp = pg::ipv4("10.0.0.1");
constexpr std::uint16_t kConn1Port = 7000;  // flow entry: 10.0.0.2:7000 <- 10.0.0.1:5555
constexpr std::uint16_t kConn1Remote = 5555;
constexpr std::uint16_t kConn2Port = 8000;  // listening entry: 10.0.0.2:8000 <- anyone

class PcapE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nsim-pcap-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  template <typename Pred>
  static bool eventually(Pred p, std::chrono::milliseconds limit = 30000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (p()) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return p();
  }

  // Fallback conn 0 (raw), conn 1 (flow entry, TX ring), conn 2 (listening
  // entry), all on notification queue 0. Does not write CTRL.ENABLE.
  static void configure(NicDevice& nic) {
    nic.nq_set({.nq_id = 0, .vector = 0, .log2 = Layout::kNqLog2, .base = Layout::kIova + Layout::kNq});
    ConnConfig fb{};
    fb.conn_id = 0;
    fb.raw = true;
    fb.rx_base = Layout::kIova + Layout::kRx[0];
    fb.rx_log2 = Layout::kRxLog2;
    nic.conn_set(fb);

    ConnConfig c1{};
    c1.conn_id = 1;
    c1.nq_id = 0;
    c1.port = 0;
    c1.rx_base = Layout::kIova + Layout::kRx[1];
    c1.rx_log2 = Layout::kRxLog2;
    c1.tx_desc_base = Layout::kIova + Layout::kTxDesc;
    c1.tx_data_base = Layout::kIova + Layout::kTxData;
    c1.tx_log2 = Layout::kTxLog2;
    c1.owner = {static_cast<std::uint32_t>(::getpid()), ::getuid(), ::getgid(), 1, 0};
    c1.src_mac = kNicMac;
    std::copy(kNicIp.begin(), kNicIp.end(), c1.src_ip.begin());
    c1.proto = pg::ipproto::kUdp;
    c1.src_port = kConn1Port;
    nic.conn_set(c1);

    ConnConfig c2{};
    c2.conn_id = 2;
    c2.nq_id = 0;
    c2.rx_base = Layout::kIova + Layout::kRx[2];
    c2.rx_log2 = Layout::kRxLog2;
    c2.owner = {static_cast<std::uint32_t>(::getpid()), ::getuid(), ::getgid(), 2, 0};
    c2.src_mac = kNicMac;
    std::copy(kNicIp.begin(), kNicIp.end(), c2.src_ip.begin());
    c2.proto = pg::ipproto::kUdp;
    c2.src_port = kConn2Port;
    nic.conn_set(c2);

    FlowKey flow{};
    flow.proto = pg::ipproto::kUdp;
    std::copy(kNicIp.begin(), kNicIp.end(), flow.local_ip.begin());
    std::copy(kPeerIp.begin(), kPeerIp.end(), flow.remote_ip.begin());
    flow.local_port = kConn1Port;
    flow.remote_port = kConn1Remote;
    nic.flow_insert(flow, 1, false);
    FlowKey listen{};
    listen.proto = pg::ipproto::kUdp;
    std::copy(kNicIp.begin(), kNicIp.end(), listen.local_ip.begin());
    listen.local_port = kConn2Port;
    nic.flow_insert(listen, 2, true);
  }

  std::string dir_;
};

pg::Bytes payload(std::size_t n, std::uint8_t seed) { return pg::pattern(n, seed); }

pg::Bytes udp_frame(const pg::Ipv4Addr& src, const pg::Ipv4Addr& dst, std::uint16_t sport, std::uint16_t dport,
                    std::size_t len, std::uint8_t seed) {
  pg::Bytes pl = payload(len, seed);
  return pg::ip_frame(pg::Eth(kNicMac, kPeerMac), pg::Ipv4(src, dst), pg::Udp(sport, dport), pl);
}

struct RxCase {
  Frame frame;
  unsigned conn;  // the ring it must land in
  bool malformed;
};

// 20 frames: to conn 1's flow entry, to conn 2's listening entry, unmatched
// UDP, ARP, ICMP, a malformed IPv4 frame (to conn 1's flow, but with a total
// length beyond the frame).
std::vector<RxCase> rx_cases() {
  std::vector<RxCase> v;
  const pg::Ipv4Addr other = pg::ipv4("10.0.0.3");
  for (unsigned i = 0; i < 20; ++i) {
    const auto seed = static_cast<std::uint8_t>(i * 13);
    const std::size_t n = 4 + (i * 97) % 1400;
    switch (i % 10) {
      case 0:
      case 5:
        v.push_back({udp_frame(kPeerIp, kNicIp, kConn1Remote, kConn1Port, n, seed), 1, false});
        break;
      case 1:
        v.push_back({udp_frame(kPeerIp, kNicIp, 4000, kConn2Port, n, seed), 2, false});
        break;
      case 6:
        v.push_back({udp_frame(other, kNicIp, 1234, kConn2Port, n, seed), 2, false});
        break;
      case 2:  // no entry for port 9999
        v.push_back({udp_frame(kPeerIp, kNicIp, kConn1Remote, 9999, n, seed), 0, false});
        break;
      case 7:  // conn 1's port, wrong remote port, no listening entry on 7000
        v.push_back({udp_frame(kPeerIp, kNicIp, kConn1Remote + 1, kConn1Port, n, seed), 0, false});
        break;
      case 3:
        v.push_back({pg::arp_frame(pg::Eth(pg::mac("ff:ff:ff:ff:ff:ff"), kPeerMac),
                                   pg::Arp(1, kPeerMac, kPeerIp, pg::Mac{}, kNicIp)),
                     0, false});
        break;
      case 4: {
        pg::Bytes pl = payload(n, seed);
        v.push_back({pg::ip_frame(pg::Eth(kNicMac, kPeerMac), pg::Ipv4(kPeerIp, kNicIp),
                                  pg::Icmp(8, 0, 0x12340000U + i), pl),
                     0, false});
        break;
      }
      case 8: {
        pg::Ipv4 l3(kPeerIp, kNicIp);
        l3.total_len = 1400;  // longer than the frame: PERR_IPV4_LEN
        pg::Bytes pl = payload(20, seed);
        v.push_back({pg::ip_frame(pg::Eth(kNicMac, kPeerMac), l3, pg::Udp(kConn1Remote, kConn1Port), pl), 0, true});
        break;
      }
      default:  // 9: a full-size frame for conn 1
        v.push_back({udp_frame(kPeerIp, kNicIp, kConn1Remote, kConn1Port, 1472, seed), 1, false});
        break;
    }
  }
  return v;
}

// Reads slot `idx` of a ring: the frame and flags if its SEQ is idx + 1.
bool read_slot(const std::uint8_t* ring, unsigned idx, Frame& frame, unsigned& flags) {
  const std::uint8_t* slot = ring + std::size_t{idx} * rm::rx_slot::kSlotBytes;
  std::uint32_t t = 0;
  __atomic_load(reinterpret_cast<const std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset), &t, __ATOMIC_ACQUIRE);
  if (rm::rx_slot::kSeq.get(t) != ((idx + 1) & 0xFFFF)) {
    return false;
  }
  const auto len = static_cast<std::size_t>(rm::rx_slot::kLen.get(t));
  flags = static_cast<unsigned>(rm::rx_slot::kFlags.get(t));
  const std::uint8_t* data = slot + rm::rx_slot::kTrailerOffset - len;
  frame.assign(data, data + len);
  return true;
}

std::uint64_t rx_fates(NicDevice& nic) {
  std::uint64_t sum = 0;
  for (auto c : rm::kRxFates) {
    sum += nic.counter(c);
  }
  return sum;
}

TEST_F(PcapE2e, PcapFramesLandInTheirRingsByteExactAndInOrder) {
  const std::vector<RxCase> cases = rx_cases();
  std::vector<Frame> frames;
  std::uint64_t bytes = 0;
  for (const auto& c : cases) {
    frames.push_back(c.frame);
    bytes += c.frame.size();
  }
  write_pcap(dir_ + "/in.pcap", frames);
  Nsim sim(dir_, {"--rx-after-enable", "--port", "net_pcap0,rx_pcap=" + dir_ + "/in.pcap,tx_pcap=" + dir_ + "/out.pcap"});
  ASSERT_GT(sim.pid(), 0) << "could not start " << NSIM_BINARY;
  std::string why;
  ASSERT_TRUE(sim.wait_ready(why)) << why;
  {
    NsimClient client = NsimClient::connect(sim.socket());
    MmioIo io(client.mmio());
    NicDevice nic(io);
    DmaRegion mem = client.alloc_dma(Layout::kSize, Layout::kIova);
    ASSERT_NO_THROW(configure(nic));

    // Held: nothing is received before CTRL.ENABLE.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(client.stats().ports[0].rx_frames, 0U) << "--rx-after-enable did not hold RX";
    EXPECT_EQ(nic.counter(rm::Counter::kRxFrames), 0U);

    client.mmio().write64(rm::kRegCtrlEnable, 3);  // RX and TX on: the replay starts

    ASSERT_TRUE(eventually([&] {
      return nic.counter(rm::Counter::kRxFrames) == cases.size() && rx_fates(nic) == cases.size();
    })) << "rx_frames=" << nic.counter(rm::Counter::kRxFrames) << " fates=" << rx_fates(nic)
        << " nsim rx_frames=" << client.stats().ports[0].rx_frames;

    // Expected contents of each ring, in order.
    std::array<std::vector<const RxCase*>, 3> want;
    for (const auto& c : cases) {
      want[c.conn].push_back(&c);
    }
    for (unsigned conn = 0; conn < 3; ++conn) {
      const std::uint8_t* ring = mem.data() + Layout::kRx[conn];
      for (unsigned i = 0; i < want[conn].size(); ++i) {
        Frame got;
        unsigned flags = 0;
        ASSERT_TRUE(eventually([&] { return read_slot(ring, i, got, flags); }, 5000ms))
            << "conn " << conn << " slot " << i << " never written";
        const RxCase& w = *want[conn][i];
        EXPECT_EQ(got, w.frame) << "conn " << conn << " slot " << i << ": frame differs (len " << got.size()
                                << " want " << w.frame.size() << ")";
        EXPECT_EQ((flags >> rm::rx_slot::kFlagsMalformed) & 1U, w.malformed ? 1U : 0U)
            << "conn " << conn << " slot " << i << " flags " << flags;
      }
      Frame extra;
      unsigned flags = 0;
      EXPECT_FALSE(read_slot(ring, static_cast<unsigned>(want[conn].size()), extra, flags))
          << "conn " << conn << " received more frames than expected";
    }

    // Counters: every frame has exactly one fate.
    const std::uint64_t n_conn = want[1].size() + want[2].size();
    EXPECT_EQ(nic.counter(rm::Counter::kRxFrames), cases.size());
    EXPECT_EQ(rx_fates(nic), nic.counter(rm::Counter::kRxFrames));
    EXPECT_EQ(nic.counter(rm::Counter::kRxBytes), bytes);
    EXPECT_EQ(nic.counter(rm::Counter::kRxDeliveredConn), n_conn);
    EXPECT_EQ(nic.counter(rm::Counter::kRxDeliveredFallback), want[0].size());
    EXPECT_EQ(nic.counter(rm::Counter::kRxMalformed), 2U);  // frames 8 and 18
    proto::StatsRsp s = client.stats();
    EXPECT_EQ(s.ports[0].rx_frames, cases.size());
    EXPECT_EQ(s.ports[0].rx_bytes, bytes);
    EXPECT_EQ(s.iommu_faults, 0U);
  }
  EXPECT_EQ(sim.stop(SIGTERM), 0) << sim.stderr_text();
}

TEST_F(PcapE2e, TxRingFramesReachTheTxPcapByteExactAndSpoofIsDropped) {
  write_pcap(dir_ + "/empty.pcap", {});
  Nsim sim(dir_, {"--rx-after-enable", "--port",
                  "net_pcap0,rx_pcap=" + dir_ + "/empty.pcap,tx_pcap=" + dir_ + "/out.pcap"});
  ASSERT_GT(sim.pid(), 0) << "could not start " << NSIM_BINARY;
  std::string why;
  ASSERT_TRUE(sim.wait_ready(why)) << why;

  // Five valid frames of different lengths, a spoofed one in the middle.
  const std::array<std::size_t, 5> lens = {60, 128, 590, 1001, 1514};
  std::vector<Frame> posted, sent;
  for (std::size_t i = 0; i < lens.size(); ++i) {
    Frame f = udp_frame(kNicIp, kPeerIp, kConn1Port, kConn1Remote, lens[i] - 42, static_cast<std::uint8_t>(0x40 + i));
    std::copy(kPeerMac.begin(), kPeerMac.end(), f.begin());  // to the peer, from the NIC
    std::copy(kNicMac.begin(), kNicMac.end(), f.begin() + 6);
    // The UDP checksum does not cover the MACs, so the frame stays valid.
    ASSERT_EQ(f.size(), lens[i]);
    sent.push_back(f);
    posted.push_back(f);
    if (i == 1) {
      pg::Bytes pl = payload(100, 0x99);
      posted.push_back(pg::ip_frame(pg::Eth(kPeerMac, kNicMac), pg::Ipv4(pg::ipv4("10.0.0.99"), kPeerIp),
                                    pg::Udp(kConn1Port, kConn1Remote), pl));
    }
  }
  const std::size_t kSpoofIdx = 2;
  ASSERT_LE(posted.size(), 1U << Layout::kTxLog2);

  {
    NsimClient client = NsimClient::connect(sim.socket());
    MmioIo io(client.mmio());
    NicDevice nic(io);
    DmaRegion mem = client.alloc_dma(Layout::kSize, Layout::kIova);
    ASSERT_NO_THROW(configure(nic));
    client.mmio().write64(rm::kRegCtrlEnable, 3);

    auto* desc = reinterpret_cast<std::uint64_t*>(mem.data() + Layout::kTxDesc);
    for (std::size_t i = 0; i < posted.size(); ++i) {
      std::memcpy(mem.data() + Layout::kTxData + i * rm::tx_desc::kSlotBytes, posted[i].data(), posted[i].size());
      std::uint64_t d = 0;
      rm::tx_desc::kLen.set(d, posted[i].size());
      rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusPending);
      __atomic_store_n(desc + i, d, __ATOMIC_RELEASE);
    }
    nic.write_doorbell(static_cast<std::uint32_t>(rm::kConnDbBase + 1 * rm::kPageBytes), rm::kDbConnTxProd,
                       posted.size());

    auto status = [&](std::size_t i) {
      return static_cast<unsigned>(rm::tx_desc::kStatus.get(__atomic_load_n(desc + i, __ATOMIC_ACQUIRE)));
    };
    ASSERT_TRUE(eventually([&] {
      for (std::size_t i = 0; i < posted.size(); ++i) {
        if (status(i) == rm::tx_desc::kStatusPending) {
          return false;
        }
      }
      return true;
    })) << "TX descriptors did not complete";
    for (std::size_t i = 0; i < posted.size(); ++i) {
      EXPECT_EQ(status(i), i == kSpoofIdx ? rm::tx_desc::kStatusDropSpoof : rm::tx_desc::kStatusSent)
          << "descriptor " << i;
    }
    EXPECT_EQ(nic.counter(rm::Counter::kTxSent), sent.size());
    EXPECT_EQ(nic.counter(rm::Counter::kTxDropSpoof), 1U);
    std::uint64_t sent_bytes = 0;
    for (const auto& f : sent) {
      sent_bytes += f.size();
    }
    ASSERT_TRUE(eventually([&] { return client.stats().ports[0].tx_frames == sent.size(); }))
        << "nsim tx_frames=" << client.stats().ports[0].tx_frames;
    proto::StatsRsp s = client.stats();
    EXPECT_EQ(s.ports[0].tx_bytes, sent_bytes);
    EXPECT_EQ(s.ports[0].tx_drops, 0U);
    EXPECT_EQ(s.ports[1].tx_frames, 0U);
  }
  ASSERT_EQ(sim.stop(SIGTERM), 0) << sim.stderr_text();  // ports closed: the TX pcap is flushed

  std::string err;
  std::vector<Frame> out = read_pcap(dir_ + "/out.pcap", err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_EQ(out.size(), sent.size()) << "the spoofed frame must not leave, the others must";
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(out[i], sent[i]) << "frame " << i << " (len " << out[i].size() << " want " << sent[i].size() << ")";
  }
}

}  // namespace
}  // namespace norman::nsim
