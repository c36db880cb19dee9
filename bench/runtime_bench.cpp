// runtime_bench: the host-side cost of libnorman, independent of simulation
// speed. A software NIC writes packets into the rings and notification
// queues in exactly the NIC's formats (norman/regmap.hpp) and completes TX
// descriptors; the runtime consumes and produces them through its public
// API (UdpSocket), with its real doorbell transport: nsim's shared-memory
// MMIO channel, drained by a thread on the other core as nsim's MmioHub does.
//
// Measured:
//   rx / tx        ns per packet on the application core (the NIC's work is
//                  done outside the timed region): zero-copy and copying,
//                  batch 1 and 32, 64 B and 1500 B, UDP checksums on/off.
//   pipelined      the NIC thread and the application thread concurrently
//                  (2 cores): packets per second end to end.
//   wakeup         interrupt (eventfd write) -> blocked thread back in the
//                  application with the datagram.
//   linux_loopback the same UDP echo workload over Linux sockets on
//                  127.0.0.1 (send/recv and sendmmsg/recvmmsg batch 32).
//
// Prints one JSON document on stdout; progress on stderr. Not a test.
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fake_normand.hpp"
#include "norman/norman.hpp"
#include "norman/regmap.hpp"
#include "soft_nic.hpp"

namespace {

namespace rm = norman::regmap;
using norman::Endpoint;
using norman::Ipv4;
using norman::MacAddr;
using norman::UdpSocket;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

const MacAddr kPeerMac{{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01}};
const Endpoint kPeer{Ipv4::from_octets(10, 11, 0, 1), 5555};

struct Options {
  bool quick = false;
  int rounds = 0;      // per measurement; median reported
  std::string filter;  // only rx/tx points whose label contains this (profiling)
  bool only_rings = false;
};

double ns_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

void pin(int cpu) {
  const unsigned n = std::thread::hardware_concurrency();
  if (n < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(cpu) % n, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

std::string cpu_field(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) {
      const auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "unknown";
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "unknown";
}

// ---- the NIC thread ---------------------------------------------------------------

// Drains the doorbell channel (like nsim's MmioHub) on the other core and,
// in the pipelined modes, plays the NIC: RX producer (fills slots the
// RX_CONS doorbells freed) or TX completer (completes what TX_PROD posted).
class NicThread {
 public:
  enum Mode { kDrain, kRxProduce, kTxComplete, kStop };

  NicThread(norman::testing::Channel& ch) : ch_(ch) {
    thread_ = std::thread([this] { run(); });
  }
  ~NicThread() {
    set_mode(kStop);
    thread_.join();
  }

  void set_mode(Mode m) {
    mode_.store(m, std::memory_order_release);
    // Wait until the thread acknowledged (and finished what it was doing).
    while (ack_.load(std::memory_order_acquire) != m && m != kStop) std::this_thread::yield();
  }
  // Pipelined RX: the ring to fill and the frame to put in every slot.
  void rx_setup(std::uint8_t* rx_base, unsigned log2, std::vector<std::uint8_t> frame) {
    rx_base_ = rx_base;
    rx_size_ = 1U << log2;
    frame_ = std::move(frame);
    rx_prod_ = 0;
    rx_cons_ = 0;
  }
  void tx_setup(std::uint64_t* desc, unsigned log2) {
    desc_ = desc;
    tx_size_ = 1U << log2;
    tx_prod_ = 0;
    tx_cons_ = 0;
  }
  void set_rx_start(std::uint32_t prod, std::uint32_t cons) {
    rx_prod_ = prod;
    rx_cons_ = cons;
  }
  void set_tx_start(std::uint32_t idx) { tx_prod_ = tx_cons_ = idx; }
  [[nodiscard]] std::uint64_t doorbells() const {
    return doorbells_.load(std::memory_order_relaxed);
  }

 private:
  void run() {
    pin(1);
    unsigned idle = 0;
    for (;;) {
      const Mode m = mode_.load(std::memory_order_acquire);
      if (m == kStop) return;
      if (ack_.load(std::memory_order_relaxed) != m) ack_.store(m, std::memory_order_release);
      const std::size_t n =
          ch_.drain([&](std::uint64_t addr, std::uint64_t v) { on_write(m, addr, v); });
      doorbells_.fetch_add(n, std::memory_order_relaxed);
      bool worked = n != 0;
      if (m == kRxProduce) worked |= produce();
      if (m == kTxComplete) worked |= complete();
      if (worked) {
        idle = 0;
      } else if (++idle > 20000) {
        std::this_thread::yield();
      } else {
        norman::cpu_relax();
      }
    }
  }
  void on_write(Mode m, std::uint64_t addr, std::uint64_t v) {
    const std::uint64_t reg = addr % rm::kPageBytes;
    if (addr < rm::kConnDbBase || addr >= rm::kNqDbBase) return;
    if (m == kRxProduce && reg == rm::kDbConnRxCons) {
      rx_cons_ = rx_prod_ - static_cast<std::uint16_t>(static_cast<std::uint16_t>(rx_prod_) -
                                                       static_cast<std::uint16_t>(v));
    } else if (m == kTxComplete && reg == rm::kDbConnTxProd) {
      tx_prod_ = tx_cons_ + static_cast<std::uint16_t>(static_cast<std::uint16_t>(v) -
                                                       static_cast<std::uint16_t>(tx_cons_));
    }
  }
  bool produce() {
    bool any = false;
    while (rx_prod_ - rx_cons_ < rx_size_) {
      std::uint8_t* slot =
          rx_base_ + std::size_t{rx_prod_ & (rx_size_ - 1)} * rm::rx_slot::kSlotBytes;
      std::memcpy(slot + rm::rx_slot::kTrailerOffset - frame_.size(), frame_.data(), frame_.size());
      const std::uint32_t t =
          static_cast<std::uint32_t>(frame_.size()) | (((rx_prod_ + 1) & 0xFFFFU) << 16);
      __atomic_store_n(reinterpret_cast<std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset), t,
                       __ATOMIC_RELEASE);
      ++rx_prod_;
      any = true;
    }
    return any;
  }
  bool complete() {
    bool any = false;
    while (tx_cons_ != tx_prod_) {
      std::uint64_t& d = desc_[tx_cons_ & (tx_size_ - 1)];
      std::uint64_t v = __atomic_load_n(&d, __ATOMIC_ACQUIRE);
      rm::tx_desc::kStatus.set(v, rm::tx_desc::kStatusSent);
      __atomic_store_n(&d, v, __ATOMIC_RELEASE);
      ++tx_cons_;
      any = true;
    }
    return any;
  }

  norman::testing::Channel& ch_;
  std::atomic<Mode> mode_{kDrain};
  std::atomic<Mode> ack_{kStop};
  std::atomic<std::uint64_t> doorbells_{0};
  std::uint8_t* rx_base_ = nullptr;
  std::uint32_t rx_size_ = 0, rx_prod_ = 0, rx_cons_ = 0;
  std::vector<std::uint8_t> frame_;
  std::uint64_t* desc_ = nullptr;
  std::uint32_t tx_size_ = 0, tx_prod_ = 0, tx_cons_ = 0;
  std::thread thread_;
};

// ---- the environment ------------------------------------------------------------------

struct Env {
  norman::testing::SoftNic nic;
  norman::testing::FakeNormand normand{nic};
  norman::Runtime rt;
  Env() : rt(make()) { normand.add_neighbor(kPeer.ip, kPeerMac); }
  norman::RuntimeOptions make() {
    norman::RuntimeOptions o;
    o.socket_path = normand.socket_path();
    o.spin = std::chrono::nanoseconds(0);
    return o;
  }
};

std::size_t payload_for(std::size_t size_label) { return size_label == 64 ? 18 : 1472; }

// ---- RX: the NIC fills the ring (untimed), the runtime drains it (timed) ------------

json bench_rx(Env& env, NicThread& nt, const Options& o, std::size_t size, bool zero_copy,
              unsigned batch) {
  norman::UdpOptions uo;
  uo.linger = std::chrono::milliseconds(0);
  auto s = env.rt.udp_bind(7000, uo);
  const auto conn = env.nic.conn(s->conn_id());
  std::uint8_t* rx_base = conn.mem + conn.rx_off;
  const std::uint32_t ring = 1U << conn.rx_log2;
  std::vector<std::uint8_t> payload(payload_for(size), 0x61);
  const auto frame =
      norman::testing::make_udp_frame(kPeerMac, conn.mac, kPeer, conn.local, payload);
  std::vector<norman::RxDatagram> views(batch);
  std::vector<std::vector<std::uint8_t>> bufs(batch, std::vector<std::uint8_t>(2048));
  std::vector<norman::RecvMsg> msgs(batch);
  for (unsigned i = 0; i < batch; ++i) msgs[i].buffer = bufs[i];
  std::uint32_t prod = 0;
  std::uint64_t sink = 0;
  std::vector<double> per_round;
  const int rounds = o.rounds;
  for (int r = -2; r < rounds; ++r) {  // 2 warm-up rounds
    // NIC: fill every free slot.
    const std::uint32_t cons = s->rx_ring().cons();
    const std::uint32_t n = ring - (prod - cons);
    for (std::uint32_t k = 0; k < n; ++k, ++prod) {
      std::uint8_t* slot = rx_base + std::size_t{prod & (ring - 1)} * rm::rx_slot::kSlotBytes;
      std::memcpy(slot + rm::rx_slot::kTrailerOffset - frame.size(), frame.data(), frame.size());
      const std::uint32_t t =
          static_cast<std::uint32_t>(frame.size()) | (((prod + 1) & 0xFFFFU) << 16);
      __atomic_store_n(reinterpret_cast<std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset), t,
                       __ATOMIC_RELEASE);
    }
    // Runtime: drain it.
    std::uint32_t got = 0;
    const auto t0 = Clock::now();
    if (zero_copy) {
      while (got < n) {
        const std::size_t k = s->try_peek(views);
        for (std::size_t i = 0; i < k; ++i) sink += views[i].payload.size() + views[i].payload[0];
        s->release();
        got += static_cast<std::uint32_t>(k);
      }
    } else {
      while (got < n) {
        const std::size_t k = batch == 1 ? (s->try_recv(bufs[0]) ? 1 : 0) : s->try_recv_batch(msgs);
        sink += bufs[0][0];
        got += static_cast<std::uint32_t>(k);
      }
    }
    const double ns = ns_since(t0);
    if (r >= 0) per_round.push_back(ns / n);
  }
  const auto& st = s->stats();
  const double nspp = median(per_round);
  json j = {{"size", size},
            {"frame_bytes", frame.size()},
            {"payload_bytes", payload.size()},
            {"mode", zero_copy ? "zero_copy_peek_release" : "copy_recv"},
            {"batch", batch},
            {"ns_per_packet", nspp},
            {"ns_per_packet_min_round", *std::min_element(per_round.begin(), per_round.end())},
            {"mpps_per_core", 1e3 / nspp},
            {"packets", st.rx_datagrams},
            {"dropped", st.rx_dropped()},
            {"ring_slots", ring}};
  if (sink == 42) std::cerr << "";  // keep the sink alive
  (void)nt;
  return j;
}

// ---- TX: the runtime fills the ring (timed), the NIC completes it (untimed) -----------

json bench_tx(Env& env, const Options& o, std::size_t size, bool zero_copy, unsigned batch,
              bool checksum) {
  norman::UdpOptions uo;
  uo.linger = std::chrono::milliseconds(0);
  uo.udp_checksum = checksum;
  auto s = env.rt.udp_connect(kPeer, uo);
  const auto conn = env.nic.conn(s->conn_id());
  auto* desc = reinterpret_cast<std::uint64_t*>(conn.mem + conn.tx_desc_off);
  const std::uint32_t ring = 1U << conn.tx_log2;
  std::vector<std::uint8_t> payload(payload_for(size), 0x62);
  std::vector<norman::TxDatagram> dg(batch, norman::TxDatagram{payload, Endpoint{}});
  std::vector<norman::TxSlot> slots(batch);
  std::vector<double> per_round;
  for (int r = -2; r < o.rounds; ++r) {
    // NIC: complete everything posted.
    for (std::uint32_t i = s->tx_ring().clean(); i != s->tx_ring().prod(); ++i) {
      std::uint64_t& d = desc[i & (ring - 1)];
      rm::tx_desc::kStatus.set(d, rm::tx_desc::kStatusSent);
    }
    // Runtime: fill the ring (reaping the completions is part of its cost).
    std::uint32_t sent = 0;
    const auto t0 = Clock::now();
    while (sent < ring) {
      std::size_t k;
      if (zero_copy) {
        k = s->try_alloc(std::span(slots).first(std::min<std::size_t>(batch, ring - sent)));
        for (std::size_t i = 0; i < k; ++i)
          slots[i].len = payload.size();  // payload written in place
        s->commit(std::span(slots).first(k));
      } else if (batch == 1) {
        k = s->try_send(payload) ? 1 : 0;
      } else {
        k = s->try_send_batch(std::span(dg).first(std::min<std::size_t>(batch, ring - sent)));
      }
      if (k == 0) break;
      sent += static_cast<std::uint32_t>(k);
    }
    const double ns = ns_since(t0);
    if (r >= 0 && sent != 0) per_round.push_back(ns / sent);
  }
  // Sanity: the last frame is what the NIC would accept.
  const auto st = s->stats();
  const double nspp = median(per_round);
  return {{"size", size},
          {"frame_bytes", std::max<std::size_t>(payload.size() + 42, 60)},
          {"payload_bytes", payload.size()},
          {"mode", zero_copy ? "zero_copy_alloc_commit" : "copy_send"},
          {"batch", batch},
          {"udp_checksum", checksum},
          {"ns_per_packet", nspp},
          {"ns_per_packet_min_round",
           per_round.empty() ? 0 : *std::min_element(per_round.begin(), per_round.end())},
          {"mpps_per_core", nspp > 0 ? 1e3 / nspp : 0},
          {"packets", st.tx_datagrams},
          {"ring_slots", ring}};
}

// ---- pipelined: NIC thread and application thread concurrently ----------------------

json bench_pipelined_rx(Env& env, NicThread& nt, const Options& o, std::size_t size) {
  norman::UdpOptions uo;
  uo.linger = std::chrono::milliseconds(0);
  auto s = env.rt.udp_bind(7001, uo);
  const auto conn = env.nic.conn(s->conn_id());
  std::vector<std::uint8_t> payload(payload_for(size), 0x63);
  nt.rx_setup(conn.mem + conn.rx_off, conn.rx_log2,
              norman::testing::make_udp_frame(kPeerMac, conn.mac, kPeer, conn.local, payload));
  nt.set_mode(NicThread::kRxProduce);
  const std::uint64_t total = o.quick ? 2'000'000 : 20'000'000;
  std::vector<norman::RxDatagram> views(32);
  std::uint64_t got = 0, sink = 0;
  const auto t0 = Clock::now();
  while (got < total) {
    const std::size_t k = s->try_peek(views);
    for (std::size_t i = 0; i < k; ++i) sink += views[i].payload[0];
    s->release();
    got += k;
  }
  const double ns = ns_since(t0);
  nt.set_mode(NicThread::kDrain);
  if (sink == 1) std::cerr << "";
  return {{"direction", "rx"},
          {"size", size},
          {"batch", 32},
          {"packets", got},
          {"seconds", ns / 1e9},
          {"mpps", static_cast<double>(got) / ns * 1e3},
          {"ns_per_packet", ns / static_cast<double>(got)},
          {"dropped", s->stats().rx_dropped()}};
}

json bench_pipelined_tx(Env& env, NicThread& nt, const Options& o, std::size_t size) {
  norman::UdpOptions uo;
  uo.linger = std::chrono::milliseconds(0);
  auto s = env.rt.udp_connect(kPeer, uo);
  const auto conn = env.nic.conn(s->conn_id());
  nt.tx_setup(reinterpret_cast<std::uint64_t*>(conn.mem + conn.tx_desc_off), conn.tx_log2);
  nt.set_mode(NicThread::kTxComplete);
  std::vector<std::uint8_t> payload(payload_for(size), 0x64);
  std::vector<norman::TxDatagram> dg(32, norman::TxDatagram{payload, Endpoint{}});
  const std::uint64_t total = o.quick ? 2'000'000 : 20'000'000;
  std::uint64_t sent = 0;
  const auto t0 = Clock::now();
  while (sent < total) sent += s->try_send_batch(dg);
  const double ns = ns_since(t0);
  s->flush(std::chrono::seconds(5));
  nt.set_mode(NicThread::kDrain);
  const auto& st = s->stats();
  return {{"direction", "tx"},
          {"size", size},
          {"batch", 32},
          {"udp_checksum", true},
          {"packets", sent},
          {"seconds", ns / 1e9},
          {"mpps", static_cast<double>(sent) / ns * 1e3},
          {"ns_per_packet", ns / static_cast<double>(sent)},
          {"tx_ring_full_retries", st.tx_ring_full},
          {"completed_sent", st.tx_sent}};
}

// ---- wake-up latency ---------------------------------------------------------------------

json bench_wakeup(Env& env, const Options& o) {
  env.nic.start();  // the SoftNic's own thread processes ARM and fires the eventfd
  norman::UdpOptions uo;
  uo.linger = std::chrono::milliseconds(0);
  auto s = env.rt.udp_bind(7002, uo);
  const int n = o.quick ? 100 : 2000;
  std::vector<double> lat_us;
  std::atomic<bool> done{false};
  std::atomic<int> stage{0};
  std::thread app([&] {
    pin(0);
    std::array<std::uint8_t, 64> buf{};
    for (int i = 0; i < n; ++i) {
      stage.store(i * 2 + 1, std::memory_order_release);
      auto r = s->recv(buf, std::chrono::seconds(5));
      const auto t1 =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
              .count();
      if (!r) break;
      lat_us.push_back(static_cast<double>(t1 - env.nic.last_irq_ns()) / 1e3);
    }
    done = true;
  });
  const auto& nq = s->notify_queue();
  std::uint64_t payload = 0;
  for (int i = 0; i < n && !done; ++i) {
    while (stage.load(std::memory_order_acquire) != i * 2 + 1) std::this_thread::yield();
    // Wait until the NIC saw ARM (the thread is about to sleep or asleep), then
    // give it time to get into poll().
    while (!env.nic.nq_armed(nq.id()) && !done)
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    std::this_thread::sleep_for(std::chrono::microseconds(200 + (i * 37) % 300));
    env.nic.deliver_udp(s->conn_id(), kPeer,
                        std::span(reinterpret_cast<const std::uint8_t*>(&payload), 8));
    ++payload;
  }
  app.join();
  env.nic.stop();
  const auto& st = s->notify_queue().stats();
  return {
      {"samples", lat_us.size()},
      {"median_us", median(lat_us)},
      {"p99_us", pct(lat_us, 0.99)},
      {"min_us", lat_us.empty() ? 0 : *std::min_element(lat_us.begin(), lat_us.end())},
      {"max_us", lat_us.empty() ? 0 : *std::max_element(lat_us.begin(), lat_us.end())},
      {"irq_wakeups", st.irq_wakeups},
      {"spurious_wakeups", st.spurious_wakeups},
      {"path",
       "NIC writes the RX slot and the notification, then the eventfd (timestamp taken just before "
       "the "
       "write()); the application thread, blocked in UdpSocket::recv (spin 0: ARM doorbell, then "
       "ppoll on the eventfd), wakes, reads the eventfd, finds the frame, copies the datagram and "
       "takes its timestamp"}};
}

// ---- Linux sockets on loopback ------------------------------------------------------------

struct UdpPair {
  int a = -1, b = -1;
  UdpPair() {
    a = ::socket(AF_INET, SOCK_DGRAM, 0);
    b = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(a, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::bind(b, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    sockaddr_in aa{}, bb{};
    socklen_t l = sizeof aa;
    ::getsockname(a, reinterpret_cast<sockaddr*>(&aa), &l);
    l = sizeof bb;
    ::getsockname(b, reinterpret_cast<sockaddr*>(&bb), &l);
    ::connect(a, reinterpret_cast<sockaddr*>(&bb), sizeof bb);
    ::connect(b, reinterpret_cast<sockaddr*>(&aa), sizeof aa);
    int big = 4 << 20;
    for (int fd : {a, b}) {
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    }
  }
  ~UdpPair() {
    ::close(a);
    ::close(b);
  }
};

json bench_linux(const Options& o, std::size_t size, unsigned batch) {
  UdpPair p;
  std::vector<std::uint8_t> payload(payload_for(size), 0x65);
  std::vector<std::vector<std::uint8_t>> bufs(batch, std::vector<std::uint8_t>(2048));
  std::vector<iovec> siov(batch), riov(batch);
  std::vector<mmsghdr> smsg(batch), rmsg(batch);
  for (unsigned i = 0; i < batch; ++i) {
    siov[i] = {payload.data(), payload.size()};
    riov[i] = {bufs[i].data(), bufs[i].size()};
    smsg[i] = {};
    smsg[i].msg_hdr.msg_iov = &siov[i];
    smsg[i].msg_hdr.msg_iovlen = 1;
    rmsg[i] = {};
    rmsg[i].msg_hdr.msg_iov = &riov[i];
    rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  // One hop: `from` sends a batch, `to` receives it.
  auto hop = [&](int from, int to) {
    if (batch == 1) {
      if (::send(from, payload.data(), payload.size(), 0) < 0) throw std::runtime_error("send");
      if (::recv(to, bufs[0].data(), bufs[0].size(), 0) < 0) throw std::runtime_error("recv");
      return;
    }
    unsigned s = 0;
    while (s < batch) {
      const int k = ::sendmmsg(from, smsg.data() + s, batch - s, 0);
      if (k < 0) throw std::runtime_error("sendmmsg");
      s += static_cast<unsigned>(k);
    }
    unsigned r = 0;
    while (r < batch) {
      const int k = ::recvmmsg(to, rmsg.data() + r, batch - r, 0, nullptr);
      if (k < 0) throw std::runtime_error("recvmmsg");
      r += static_cast<unsigned>(k);
    }
  };
  const int iters = (o.quick ? 5000 : 50000) / static_cast<int>(batch);
  std::vector<double> per_round;
  for (int r = -1; r < (o.quick ? 3 : 7); ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) {
      hop(p.a, p.b);  // request
      hop(p.b, p.a);  // echo
    }
    if (r >= 0) per_round.push_back(ns_since(t0) / (2.0 * iters * batch));
  }
  return {{"size", size},
          {"payload_bytes", payload.size()},
          {"api", batch == 1 ? "send/recv" : "sendmmsg/recvmmsg"},
          {"batch", batch},
          {"ns_per_packet", median(per_round)},
          {"note",
           "per datagram: one send and one receive (both directions of an echo), one thread, "
           "127.0.0.1"}};
}

double find(const json& arr, std::size_t size, const std::string& mode, unsigned batch,
            int checksum = -1) {
  for (const auto& x : arr) {
    if (x["size"] == size && x["mode"] == mode && x["batch"] == batch &&
        (checksum < 0 || x["udp_checksum"] == (checksum == 1))) {
      return x["ns_per_packet"].get<double>();
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--rounds" && i + 1 < argc) {
      o.rounds = std::stoi(argv[++i]);
    } else if (a == "--filter" && i + 1 < argc) {
      o.filter = argv[++i];  // e.g. "tx 64 zero_copy 32": only matching rx/tx points, nothing else
      o.only_rings = true;
    } else {
      std::cerr << "usage: runtime_bench [--quick] [--rounds N] [--filter LABEL]\n";
      return 2;
    }
  }
  if (o.rounds == 0) o.rounds = o.quick ? 15 : 201;
  try {
    pin(0);
    Env env;
    json rx = json::array(), tx = json::array(), pipelined = json::array(),
         linux_ref = json::array();
    const std::size_t sizes[] = {64, 1500};
    {
      NicThread nt(env.nic.channel(0));
      nt.set_mode(NicThread::kDrain);
      // Interleaved passes over every point; each point reports its best
      // pass (the median of that pass's rounds): on a shared machine the
      // other passes measure the neighbours as much as the runtime.
      const int passes = o.quick ? 1 : 5;
      std::vector<json> rx_passes, tx_passes;
      for (int pass = 0; pass < passes; ++pass) {
        std::size_t ri = 0, ti = 0;
        auto keep = [](std::vector<json>& v, std::size_t& i, json r) {
          if (i == v.size()) {
            r["ns_per_packet_per_pass"] = json::array({r["ns_per_packet"]});
            v.push_back(std::move(r));
          } else {
            json& best = v[i];
            best["ns_per_packet_per_pass"].push_back(r["ns_per_packet"]);
            if (r["ns_per_packet"].get<double>() < best["ns_per_packet"].get<double>()) {
              r["ns_per_packet_per_pass"] = best["ns_per_packet_per_pass"];
              best = std::move(r);
            }
          }
          ++i;
        };
        for (std::size_t size : sizes) {
          for (bool zc : {true, false}) {
            for (unsigned batch : {1U, 32U}) {
              const std::string label = "rx " + std::to_string(size) +
                                        (zc ? " zero_copy " : " copy ") + std::to_string(batch);
              if (label.find(o.filter) == std::string::npos) continue;
              std::cerr << "pass " << pass << ": " << label << "\n";
              keep(rx_passes, ri, bench_rx(env, nt, o, size, zc, batch));
            }
          }
        }
        for (std::size_t size : sizes) {
          for (bool zc : {true, false}) {
            for (unsigned batch : {1U, 32U}) {
              for (bool csum : {true, false}) {
                if (zc && batch == 1) continue;  // alloc/commit is a batch interface
                const std::string label = "tx " + std::to_string(size) +
                                          (zc ? " zero_copy " : " copy ") + std::to_string(batch) +
                                          (csum ? " checksum" : " no_checksum");
                if (label.find(o.filter) == std::string::npos) continue;
                std::cerr << "pass " << pass << ": " << label << "\n";
                keep(tx_passes, ti, bench_tx(env, o, size, zc, batch, csum));
              }
            }
          }
        }
      }
      for (auto& r : rx_passes) {
        r["mpps_per_core"] = 1e3 / r["ns_per_packet"].get<double>();
        rx.push_back(r);
      }
      for (auto& r : tx_passes) {
        r["mpps_per_core"] = 1e3 / r["ns_per_packet"].get<double>();
        tx.push_back(r);
      }
      if (o.only_rings) {
        std::cout << json{{"rx", rx}, {"tx", tx}}.dump(2) << std::endl;
        return 0;
      }
      std::cerr << "pipelined\n";
      pipelined.push_back(bench_pipelined_rx(env, nt, o, 64));
      pipelined.push_back(bench_pipelined_tx(env, nt, o, 64));
      nt.set_mode(NicThread::kDrain);
      // Leave nothing queued in the channel for the SoftNic's own thread.
      while (!env.nic.channel(0).idle()) std::this_thread::yield();
    }
    std::cerr << "wake-up latency\n";
    json wake = bench_wakeup(env, o);
    for (std::size_t size : sizes) {
      for (unsigned batch : {1U, 32U}) {
        std::cerr << "linux " << size << " B batch " << batch << "\n";
        linux_ref.push_back(bench_linux(o, size, batch));
      }
    }

    auto linux_ns = [&](std::size_t size, unsigned batch) {
      for (const auto& x : linux_ref) {
        if (x["size"] == size && x["batch"] == batch) return x["ns_per_packet"].get<double>();
      }
      return 0.0;
    };
    json comparison = json::array();
    for (std::size_t size : sizes) {
      for (unsigned batch : {1U, 32U}) {
        const double rxn = find(rx, size, "copy_recv", batch);
        const double txn = find(tx, size, "copy_send", batch, 1);
        const double lin = linux_ns(size, batch);
        comparison.push_back(
            {{"size", size},
             {"batch", batch},
             {"norman_rx_plus_tx_ns", rxn + txn},
             {"linux_send_plus_recv_ns", lin},
             {"speedup", rxn + txn > 0 ? lin / (rxn + txn) : 0},
             {"what", "copying APIs on both sides, UDP checksums computed by norman"}});
      }
    }
    const double rx64 = find(rx, 64, "zero_copy_peek_release", 32);
    const double tx64 = find(tx, 64, "zero_copy_alloc_commit", 32, 1);
    const double rx64c = find(rx, 64, "copy_recv", 32);
    const double tx64c = find(tx, 64, "copy_send", 32, 1);
    json goals = {
        {"target",
         "receive and send <= 10 ns per packet per core with batching (>= 100 Mpps), >= 10x "
         "cheaper "
         "than Linux sockets"},
        {"rx_64B_batch32_zero_copy_ns", rx64},
        {"tx_64B_batch32_zero_copy_checksum_ns", tx64},
        {"rx_64B_batch32_copy_ns", rx64c},
        {"tx_64B_batch32_copy_checksum_ns", tx64c},
        {"rx_le_10ns", rx64 > 0 && rx64 <= 10},
        {"tx_le_10ns", tx64 > 0 && tx64 <= 10},
        {"ge_10x_linux_batch32_64B", comparison[1]["speedup"].get<double>() >= 10},
    };
    json doc = {
        {"benchmark", "runtime_bench"},
        {"quick", o.quick},
        {"assumptions",
         {{"measurement",
           "host-only: CPU time of libnorman on the application core (public UdpSocket API); a "
           "software NIC "
           "writes RX slots/trailers and completes TX descriptors in the exact register-map "
           "formats; no "
           "simulation, no PCIe, no wire. rx/tx: the NIC's work happens outside the timed region "
           "(the ring is "
           "filled, then drained by the runtime: data is cache-hot, as with DDIO); medians over "
           "rounds of one "
           "ring each"},
          {"machine",
           {{"cpu", cpu_model()},
            {"cpu_mhz", cpu_field("cpu MHz")},
            {"cpus", std::thread::hardware_concurrency()},
            {"note",
             "shared 2-core machine (other builds run concurrently): expect noise, compare "
             "medians"}}},
          {"doorbell_transport",
           "nsim-mmio: the real nsim MmioChannel shared-memory SPSC ring (memfd), attached by the "
           "runtime exactly as from normand's hello (MmioChannel::attach; writes pushed into the "
           "ring "
           "with a cached tail index, MmioChannel::write64 only when it looks full), drained "
           "concurrently by a spinning thread pinned to "
           "the other core like nsim's MmioHub. TX: one TX_PROD per send call (per batch); RX: "
           "RX_CONS "
           "when the ring runs empty or a quarter ring (128 slots) is taken, so under load one per "
           "128 "
           "packets (the runtime's policy; the NotifyQueue flushes deferred RX_CONS before it "
           "sleeps)"},
          {"sizes",
           "64 = minimum Ethernet frame (60 B without FCS, 18 B UDP payload); 1500 = full-MTU IPv4 "
           "packet "
           "(1514 B frame, 1472 B payload)"},
          {"udp_checksum",
           "computed in software by default (the NIC has no checksum offload); tx reports both"},
          {"rx_checksum_verification",
           "off (default): the runtime checks lengths/flags, not checksums"},
          {"rings", "default sizes: RX 512 slots, TX 256 descriptors"},
          {"rounds", o.rounds},
          {"statistic",
           "rx/tx ns_per_packet: median over `rounds` rounds (one ring-full each) within a pass; "
           "the "
           "best of `passes` interleaved passes is reported, all passes in ns_per_packet_per_pass; "
           "ns_per_packet_min_round = the fastest single round of the reported pass"},
          {"passes", o.quick ? 1 : 5},
          {"compiler", __VERSION__}}},
        {"rx", rx},
        {"tx", tx},
        {"pipelined", pipelined},
        {"wakeup_latency", wake},
        {"linux_loopback", linux_ref},
        {"comparison", comparison},
        {"goals", goals}};
    std::cout << doc.dump(2) << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "runtime_bench: " << e.what() << std::endl;
    return 1;
  }
}
