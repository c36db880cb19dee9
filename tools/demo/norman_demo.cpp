// norman-demo: traffic through the simulated NIC, told in plain words.
//
// It plays both the control plane (configures the NIC through nsim's
// privileged MMIO channel) and a kernel-bypass application (reads its RX ring,
// writes its TX ring), while a real Linux peer in a network namespace sends
// and receives ordinary UDP and ping through nsim's net_tap port.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "nic_device.hpp"
#include "norman/regmap.hpp"
#include "nsim_client.hpp"
#include "pktgen.hpp"

namespace rm = norman::regmap;
namespace pg = norman::pktgen;
using norman::device::ConnConfig;
using norman::device::FlowKey;
using norman::device::NicDevice;

namespace {

class MmioIo : public norman::device::RegisterIo {
 public:
  explicit MmioIo(norman::nsim::MmioChannel& ch) : ch_(ch) {}
  std::uint64_t read64(std::uint32_t addr) override { return ch_.read64(addr); }
  void write64(std::uint32_t addr, std::uint64_t v) override { ch_.write64(addr, v); }

 private:
  norman::nsim::MmioChannel& ch_;
};

// Where each ring lives inside the demo's one DMA region.
struct Layout {
  static constexpr std::uint64_t kIova = 0x40000000;
  static constexpr unsigned kRxLog2 = 6;
  static constexpr unsigned kTxLog2 = 4;
  static constexpr unsigned kNqLog2 = 6;
  static constexpr std::uint64_t kFallbackRx = 0;
  static constexpr std::uint64_t kAppRx = kFallbackRx + (rm::rx_slot::kSlotBytes << kRxLog2);
  static constexpr std::uint64_t kAppTxDesc = kAppRx + (rm::rx_slot::kSlotBytes << kRxLog2);
  static constexpr std::uint64_t kAppTxData = kAppTxDesc + 4096;
  static constexpr std::uint64_t kNq = kAppTxData + (rm::tx_desc::kSlotBytes << kTxLog2);
  static constexpr std::uint64_t kSize = (kNq + (8U << kNqLog2) + 4095) / 4096 * 4096;
};

// An RX ring consumer, as an application would run it.
class RxRing {
 public:
  RxRing(std::uint8_t* base, unsigned log2) : base_(base), size_(1U << log2) {}
  // The next frame if the NIC has written it, else an empty vector.
  std::vector<std::uint8_t> poll() {
    std::uint8_t* slot = base_ + static_cast<std::size_t>(cons_ % size_) * rm::rx_slot::kSlotBytes;
    std::uint32_t trailer = 0;
    __atomic_load(reinterpret_cast<std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset), &trailer,
                  __ATOMIC_ACQUIRE);
    if (rm::rx_slot::kSeq.get(trailer) != ((cons_ + 1) & 0xFFFF)) return {};
    const auto len = static_cast<std::size_t>(rm::rx_slot::kLen.get(trailer));
    flags_ = static_cast<unsigned>(rm::rx_slot::kFlags.get(trailer));
    const std::uint8_t* data = slot + rm::rx_slot::kTrailerOffset - len;
    ++cons_;
    return {data, data + len};
  }
  [[nodiscard]] std::uint32_t cons() const { return cons_; }
  [[nodiscard]] unsigned flags() const { return flags_; }

 private:
  std::uint8_t* base_;
  std::uint32_t size_;
  std::uint32_t cons_ = 0;
  unsigned flags_ = 0;
};

std::string describe(const std::vector<std::uint8_t>& f) {
  char buf[200];
  if (f.size() < 14) return "a runt of " + std::to_string(f.size()) + " bytes";
  const unsigned type = (f[12] << 8) | f[13];
  if (type == pg::ethertype::kArp) return "an ARP packet";
  if (type != pg::ethertype::kIpv4 || f.size() < 34) return "a non-IPv4 frame";
  const unsigned proto = f[23];
  const unsigned ihl = (f[14] & 0xF) * 4U;
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", f[26], f[27], f[28], f[29]);
  std::string src = buf;
  if (proto == pg::ipproto::kIcmp) {
    return "an ICMP " + std::string(f[14 + ihl] == 8 ? "echo request (ping)" : "message") +
           " from " + src;
  }
  if (proto == pg::ipproto::kUdp && f.size() >= 14 + ihl + 8) {
    const unsigned sport = (f[14 + ihl] << 8) | f[15 + ihl];
    const unsigned dport = (f[16 + ihl] << 8) | f[17 + ihl];
    std::string payload(f.begin() + static_cast<long>(14 + ihl + 8), f.end());
    while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\0')) payload.pop_back();
    std::snprintf(buf, sizeof buf, "a UDP datagram %s:%u -> port %u saying \"%s\"", src.c_str(),
                  sport, dport, payload.c_str());
    return buf;
  }
  return "an IPv4 packet (protocol " + std::to_string(proto) + ") from " + src;
}

void say(const std::string& s) { std::cout << s << std::endl; }

bool wait_irq(int efd, int ms) {
  pollfd p{efd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return false;
  std::uint64_t v = 0;
  return read(efd, &v, sizeof v) == sizeof v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"norman-demo: traffic through the simulated Norman NIC, explained"};
  std::string socket = norman::nsim::kDefaultSocketPath;
  std::string peer_ns = "norman-demo-peer";
  std::string peer_ip = "10.11.0.1";
  std::string nic_ip = "10.11.0.2";
  std::string nic_mac = "02:00:00:00:00:02";
  app.add_option("--socket", socket, "nsim control socket");
  app.add_option("--peer-ns", peer_ns, "network namespace of the Linux peer");
  app.add_option("--peer-ip", peer_ip, "the peer's address");
  app.add_option("--nic-ip", nic_ip, "the bypass application's address");
  app.add_option("--nic-mac", nic_mac, "the NIC port's MAC address");
  CLI11_PARSE(app, argc, argv);

  try {
    auto client = norman::nsim::NsimClient::connect(socket);
    MmioIo io(client.mmio());
    NicDevice nic(io);
    nic.check_identity();
    say("1. Attached to the simulated NIC (nsim): " + std::to_string(client.hello().num_ports) +
        " Ethernet ports, core clock " + std::to_string(client.hello().clock_hz / 1000000) +
        " MHz, register map build id matches this software.");

    auto mem = client.alloc_dma(Layout::kSize, Layout::kIova);
    auto efd = norman::nsim::make_eventfd();
    client.set_irq(0, efd.get());
    nic.nq_set({.nq_id = 0, .vector = 0, .log2 = Layout::kNqLog2, .base = Layout::kIova + Layout::kNq});

    const auto mac = pg::mac(nic_mac);
    const auto ip = pg::ipv4(nic_ip);
    ConnConfig fallback{};
    fallback.conn_id = 0;
    fallback.raw = true;
    fallback.rx_base = Layout::kIova + Layout::kFallbackRx;
    fallback.rx_log2 = Layout::kRxLog2;
    nic.conn_set(fallback);

    ConnConfig conn{};
    conn.conn_id = 1;
    conn.nq_id = 0;
    conn.rx_base = Layout::kIova + Layout::kAppRx;
    conn.rx_log2 = Layout::kRxLog2;
    conn.tx_desc_base = Layout::kIova + Layout::kAppTxDesc;
    conn.tx_data_base = Layout::kIova + Layout::kAppTxData;
    conn.tx_log2 = Layout::kTxLog2;
    conn.owner = {static_cast<std::uint32_t>(getpid()), getuid(), getgid(), 1, 0};
    std::copy(mac.begin(), mac.end(), conn.src_mac.begin());
    std::copy(ip.begin(), ip.end(), conn.src_ip.begin());
    conn.proto = pg::ipproto::kUdp;
    conn.src_port = 7000;
    nic.conn_set(conn);
    FlowKey listen{};
    listen.proto = pg::ipproto::kUdp;
    std::copy(ip.begin(), ip.end(), listen.local_ip.begin());
    listen.local_port = 7000;
    nic.flow_insert(listen, 1, true);
    say("2. Configured as the control plane would: connection 1 is a UDP socket bound to " + nic_ip +
        ":7000 owned by pid " + std::to_string(getpid()) +
        " (its RX ring, TX ring and notification queue 0 are in host memory the NIC reaches by "
        "DMA); everything the NIC cannot match goes to the fallback ring (connection 0).");

    nic.write_doorbell(rm::kNqDbBase, rm::kDbNqArm, 1);
    say("3. The application arms its notification queue and goes to sleep on an interrupt (no "
        "spinning).");

    say("4. In namespace " + peer_ns + ", an ordinary Linux program sends a UDP datagram to " +
        nic_ip + ":7000 and pings " + nic_ip + ".");
    const std::string peer_cmd = "ip netns exec " + peer_ns +
                                 " sh -c 'printf \"hello from the Linux peer\" | timeout 8 socat -t 6 - "
                                 "UDP4:" + nic_ip + ":7000,sourceport=5555' 2>&1";
    FILE* peer = popen(peer_cmd.c_str(), "r");
    if (peer == nullptr) throw std::runtime_error("cannot run the peer command");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)std::system(("ip netns exec " + peer_ns + " ping -c 1 -W 1 " + nic_ip + " >/dev/null 2>&1").c_str());

    RxRing app_rx(mem.data() + Layout::kAppRx, Layout::kRxLog2);
    RxRing fb_rx(mem.data() + Layout::kFallbackRx, Layout::kRxLog2);
    if (!wait_irq(efd.get(), 10000)) throw std::runtime_error("no interrupt within 10 s");
    const auto* nq = reinterpret_cast<const std::uint64_t*>(mem.data() + Layout::kNq);
    say("5. Interrupt! Notification queue 0 names connection " +
        std::to_string(rm::notify::kConnId.get(nq[0])) + " (kind " +
        (rm::notify::kKind.get(nq[0]) == rm::notify::kKindsRx ? std::string("RX") : "other") + ").");

    std::vector<std::uint8_t> got;
    for (int i = 0; i < 1000 && got.empty(); ++i) got = app_rx.poll();
    if (got.empty()) throw std::runtime_error("connection 1 received nothing");
    say("   Connection 1's RX ring holds " + describe(got) +
        ", written there by the NIC with no system call on the application's side.");
    nic.write_doorbell(rm::kConnDbBase + 1 * rm::kPageBytes, rm::kDbConnRxCons, app_rx.cons());

    // Reply from the TX ring, to whoever sent the datagram.
    pg::Eth eth(pg::Mac{}, mac);
    std::copy(got.begin() + 6, got.begin() + 12, eth.dst.begin());
    pg::Ipv4 l3(ip, pg::ipv4(peer_ip));
    auto reply_payload = std::string("hello back from a kernel-bypass application\n");
    auto send = [&](const pg::Bytes& frame, unsigned idx) {
      std::uint8_t* data = mem.data() + Layout::kAppTxData + idx * rm::tx_desc::kSlotBytes;
      std::memcpy(data, frame.data(), frame.size());
      auto* desc = reinterpret_cast<std::uint64_t*>(mem.data() + Layout::kAppTxDesc) + idx;
      std::uint64_t d = 0;
      rm::tx_desc::kLen.set(d, frame.size());
      rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusPending);
      __atomic_store_n(desc, d, __ATOMIC_RELEASE);
      nic.write_doorbell(rm::kConnDbBase + 1 * rm::kPageBytes, rm::kDbConnTxProd, idx + 1);
      for (int i = 0; i < 5000; ++i) {
        const auto st = rm::tx_desc::kStatus.get(__atomic_load_n(desc, __ATOMIC_ACQUIRE));
        if (st != rm::tx_desc::kStatusPending) return st;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      throw std::runtime_error("TX descriptor never completed");
    };
    const auto reply = pg::ip_frame(eth, l3, pg::Udp(7000, 5555),
                                    std::span(reinterpret_cast<const std::uint8_t*>(reply_payload.data()),
                                              reply_payload.size()));
    const auto st = send(reply, 0);
    say("6. The application writes a reply into its TX ring and rings its doorbell; the NIC checks "
        "the headers against the connection and reports: " +
        std::string(st == rm::tx_desc::kStatusSent ? "SENT" : "NOT SENT (status " + std::to_string(st) + ")") + ".");

    auto spoofed = l3;
    spoofed.src = pg::ipv4("10.11.0.99");
    const auto st2 = send(pg::ip_frame(eth, spoofed, pg::Udp(7000, 5555)), 1);
    say("7. The application then tries to send with a forged source address 10.11.0.99: the NIC "
        "refuses it (" +
        std::string(st2 == rm::tx_desc::kStatusDropSpoof ? "DROP_SPOOF" : "status " + std::to_string(st2)) +
        ") and counts a spoof attempt. Applications bypass the kernel, not the rules.");

    std::string peer_out;
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), buf.size(), peer) != nullptr) peer_out += buf.data();
    pclose(peer);
    while (!peer_out.empty() && peer_out.back() == '\n') peer_out.pop_back();
    say("8. Back in the namespace, the Linux peer's socket received: \"" + peer_out + "\"");

    std::vector<std::uint8_t> f;
    unsigned n = 0;
    while (!(f = fb_rx.poll()).empty()) {
      say(std::string(n++ == 0 ? "9. " : "   ") + "The fallback ring holds " + describe(f) +
          ": it matched no bypass connection, so it goes to the control plane, which hands such "
          "traffic to the host kernel.");
    }
    if (n == 0) say("9. The fallback ring is empty.");

    say("10. What the NIC counted:");
    std::uint64_t fates = 0;
    for (auto c : rm::kRxFates) fates += nic.counter(c);
    for (unsigned i = 0; i < rm::kNumCounters; ++i) {
      const auto v = nic.counter(static_cast<rm::Counter>(i));
      if (v != 0) std::printf("      %-24s %llu\n", std::string(rm::kCounterNames[i]).c_str(),
                              static_cast<unsigned long long>(v));
    }
    const auto frames = nic.counter(rm::Counter::kRxFrames);
    say("    Every received frame has exactly one fate: " + std::to_string(frames) + " frames in, " +
        std::to_string(fates) + " delivered or dropped-with-a-reason" +
        (frames == fates ? " (balanced)." : " (NOT balanced!)"));
    const bool ok = !peer_out.empty() && st == rm::tx_desc::kStatusSent &&
                    st2 == rm::tx_desc::kStatusDropSpoof && frames == fates;
    say(ok ? "Demo finished: everything behaved as described." : "Demo finished with problems (see above).");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "norman-demo: " << e.what() << std::endl;
    return 1;
  }
}
