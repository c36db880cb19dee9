#include "soft_nic.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include "norman/regmap.hpp"

namespace norman::testing {

namespace rm = norman::regmap;
namespace proto = norman::nsim::proto;

// ---- Channel ------------------------------------------------------------------

Channel::Channel(std::uint32_t id) {
  fd_ = UniqueFd(::memfd_create("soft-nic-mmio", MFD_CLOEXEC));
  if (!fd_ || ::ftruncate(fd_.get(), static_cast<off_t>(proto::kChannelShmBytes)) != 0) {
    throw std::system_error(errno, std::generic_category(), "soft NIC: channel memfd");
  }
  void* p =
      ::mmap(nullptr, proto::kChannelShmBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (p == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "soft NIC: channel mmap");
  shm_ = new (p) proto::MmioChannelShm{};
  shm_->magic = proto::kChannelMagic;
  shm_->version = proto::kProtoVersion;
  shm_->kind = static_cast<std::uint16_t>(proto::ChannelKind::kApp);
  shm_->entries = proto::kChannelEntries;
  shm_->channel_id = id;
  std::atomic_thread_fence(std::memory_order_release);
}

Channel::~Channel() {
  if (shm_ != nullptr) {
    shm_->closed.store(1, std::memory_order_release);
    ::munmap(shm_, proto::kChannelShmBytes);
  }
}

void Channel::answer_read(std::uint32_t seq) {
  const std::uint64_t head = shm_->rsp_head.load(std::memory_order_relaxed);
  if (head - shm_->rsp_tail.load(std::memory_order_acquire) >= proto::kChannelEntries) return;
  proto::MmioRsp& r = shm_->rsp[head % proto::kChannelEntries];
  r.data = ~std::uint64_t{0};
  r.status = static_cast<std::uint32_t>(proto::MmioStatus::kRefused);
  r.seq = seq;
  shm_->rsp_head.store(head + 1, std::memory_order_release);
}

// ---- frames -----------------------------------------------------------------------

std::uint16_t rfc1071(std::span<const std::uint8_t> data, std::uint32_t initial) {
  std::uint32_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2)
    sum += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

Bytes make_udp_frame(const MacAddr& src_mac, const MacAddr& dst_mac, const Endpoint& src,
                     const Endpoint& dst, std::span<const std::uint8_t> payload,
                     bool udp_checksum) {
  Bytes f;
  auto put = [&](std::span<const std::uint8_t> s) { f.insert(f.end(), s.begin(), s.end()); };
  auto put16 = [&](unsigned v) {
    f.push_back(static_cast<std::uint8_t>(v >> 8));
    f.push_back(static_cast<std::uint8_t>(v));
  };
  put(dst_mac.b);
  put(src_mac.b);
  put16(0x0800);
  const auto sip = src.ip.octets();
  const auto dip = dst.ip.octets();
  const std::size_t udp_len = 8 + payload.size();
  const std::size_t ip_start = f.size();
  f.push_back(0x45);
  f.push_back(0);
  put16(static_cast<unsigned>(20 + udp_len));
  put16(0x1234);
  put16(0x4000);
  f.push_back(64);
  f.push_back(17);
  put16(0);
  put(sip);
  put(dip);
  const std::uint16_t ipc = rfc1071(std::span(f).subspan(ip_start, 20));
  f[ip_start + 10] = static_cast<std::uint8_t>(ipc >> 8);
  f[ip_start + 11] = static_cast<std::uint8_t>(ipc);
  const std::size_t udp_start = f.size();
  put16(src.port);
  put16(dst.port);
  put16(static_cast<unsigned>(udp_len));
  put16(0);
  put(payload);
  if (udp_checksum) {
    std::uint32_t pseudo = 0;
    pseudo += static_cast<std::uint32_t>((sip[0] << 8) | sip[1]) +
              static_cast<std::uint32_t>((sip[2] << 8) | sip[3]);
    pseudo += static_cast<std::uint32_t>((dip[0] << 8) | dip[1]) +
              static_cast<std::uint32_t>((dip[2] << 8) | dip[3]);
    pseudo += 17 + static_cast<std::uint32_t>(udp_len);
    std::uint16_t c = rfc1071(std::span(f).subspan(udp_start), pseudo);
    if (c == 0) c = 0xFFFF;
    f[udp_start + 6] = static_cast<std::uint8_t>(c >> 8);
    f[udp_start + 7] = static_cast<std::uint8_t>(c);
  }
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

// ---- SoftNic ---------------------------------------------------------------------------

SoftNic::SoftNic() = default;

SoftNic::~SoftNic() { stop(); }

int SoftNic::open_channel() {
  std::lock_guard lock(mu_);
  channels_.push_back(std::make_unique<Channel>(static_cast<std::uint32_t>(channels_.size() + 1)));
  return channels_.back()->fd();
}

void SoftNic::add_nq(const SoftNq& nq) {
  std::lock_guard lock(mu_);
  nqs_[nq.id] = NqState{nq, 0, 0, false, 0, 0};
}

void SoftNic::remove_nq(std::uint32_t id) {
  std::lock_guard lock(mu_);
  nqs_.erase(id);
}

void SoftNic::add_conn(const SoftConn& c) {
  std::lock_guard lock(mu_);
  ConnState s;
  s.cfg = c;
  conns_[c.id] = std::move(s);
}

void SoftNic::remove_conn(std::uint32_t id) {
  std::lock_guard lock(mu_);
  conns_.erase(id);
}

std::size_t SoftNic::process_doorbells() {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto& ch : channels_)
    n += ch->drain([this](std::uint64_t a, std::uint64_t v) { on_write(a, v); });
  return n;
}

void SoftNic::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    unsigned idle = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      if (process_doorbells() != 0) {
        idle = 0;
      } else if (++idle > 200) {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
  });
}

void SoftNic::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool SoftNic::settle(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    bool idle = true;
    {
      std::lock_guard lock(mu_);
      for (auto& ch : channels_) idle = idle && ch->idle();
    }
    if (idle) {
      // The thread (if any) may be acting on the last batch: take the lock once more.
      std::lock_guard lock(mu_);
      return true;
    }
    if (!thread_.joinable()) process_doorbells();
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void SoftNic::on_write(std::uint64_t addr, std::uint64_t value) {
  log_.push_back({addr, value});
  const std::uint64_t page = addr / rm::kPageBytes * rm::kPageBytes;
  const std::uint64_t reg = addr - page;
  if (page >= rm::kConnDbBase && page < rm::kConnDbBase + rm::kNumConns * rm::kPageBytes) {
    const auto id = static_cast<std::uint32_t>((page - rm::kConnDbBase) / rm::kPageBytes);
    auto it = conns_.find(id);
    if (it == conns_.end()) {
      ++invalid_;
      return;
    }
    ConnState& c = it->second;
    if (reg == rm::kDbConnRxCons) {
      // Low 16 bits are what the NIC keeps; extend against the producer.
      const auto v16 = static_cast<std::uint16_t>(value);
      const auto back = static_cast<std::uint16_t>(c.rx_prod - v16);
      c.rx_cons = c.rx_prod - back;
      c.rx_outstanding = false;
      if (c.rx_cons != c.rx_prod) {
        auto q = nqs_.find(c.cfg.nq_id);
        if (q != nqs_.end() && notify_locked(q->second, c.cfg.id, rm::notify::kKindsRx))
          c.rx_outstanding = true;
      }
    } else if (reg == rm::kDbConnTxProd) {
      const auto v16 = static_cast<std::uint16_t>(value);
      c.tx_prod =
          c.tx_cons + static_cast<std::uint16_t>(v16 - static_cast<std::uint16_t>(c.tx_cons));
      if (auto_complete_) complete_locked(c, SIZE_MAX);
    } else {
      ++invalid_;
    }
    return;
  }
  if (page >= rm::kNqDbBase && page < rm::kNqDbBase + rm::kNumNqs * rm::kPageBytes) {
    const auto id = static_cast<std::uint32_t>((page - rm::kNqDbBase) / rm::kPageBytes);
    auto it = nqs_.find(id);
    if (it == nqs_.end()) {
      ++invalid_;
      return;
    }
    NqState& q = it->second;
    if (reg == rm::kDbNqCons) {
      const auto v16 = static_cast<std::uint16_t>(value);
      q.cons = q.prod - static_cast<std::uint16_t>(static_cast<std::uint16_t>(q.prod) - v16);
    } else if (reg == rm::kDbNqArm) {
      if ((value & 1) != 0) {
        q.armed = true;
        if (q.prod != q.cons) fire(q);
      }
    } else {
      ++invalid_;
    }
    return;
  }
  ++invalid_;
}

void SoftNic::fire(NqState& q) {
  q.armed = false;
  ++q.irqs;
  const std::uint64_t one = 1;
  last_irq_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count(),
                     std::memory_order_release);
  if (q.cfg.irq_fd >= 0) {
    [[maybe_unused]] const ssize_t r = ::write(q.cfg.irq_fd, &one, sizeof one);
  }
}

bool SoftNic::notify_locked(NqState& q, std::uint32_t conn, std::uint32_t kind) {
  const std::uint32_t size = 1U << q.cfg.log2;
  if (q.prod - q.cons >= size) {
    ++q.dropped;
    return false;
  }
  std::uint64_t e = 0;
  rm::notify::kConnId.set(e, conn);
  rm::notify::kKind.set(e, kind);
  rm::notify::kSeq.set(e, (q.prod + 1) & 0xFFFF);
  auto* ring = reinterpret_cast<std::uint64_t*>(q.cfg.ring);
  __atomic_store_n(&ring[q.prod & (size - 1)], e, __ATOMIC_RELEASE);
  ++q.prod;
  if (q.armed) fire(q);
  return true;
}

bool SoftNic::notify(std::uint32_t nq, std::uint32_t conn, std::uint32_t kind) {
  std::lock_guard lock(mu_);
  auto it = nqs_.find(nq);
  return it != nqs_.end() && notify_locked(it->second, conn, kind);
}

bool SoftNic::deliver(std::uint32_t conn, std::span<const std::uint8_t> frame,
                      std::uint32_t flags) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it != conns_.end() && deliver_locked(it->second, frame, flags);
}

void SoftNic::set_loopback(bool on) {
  std::lock_guard lock(mu_);
  loopback_ = on;
}

void SoftNic::loop_back(std::span<const std::uint8_t> f) {
  ParsedUdp p;
  if (parse_udp_frame(f.data(), f.size(), 0, RxFlagBits{1, 4}, false, p) != RxVerdict::kOk) return;
  ConnState* listener = nullptr;
  for (auto& [id, c] : conns_) {
    if (!(c.cfg.local == p.dst)) continue;
    if (c.cfg.remote && *c.cfg.remote == p.src) {
      deliver_locked(c, f, 0);  // the connected one wins
      return;
    }
    if (!c.cfg.remote) listener = &c;
  }
  if (listener != nullptr) deliver_locked(*listener, f, 0);
}

bool SoftNic::deliver_locked(ConnState& c, std::span<const std::uint8_t> frame,
                             std::uint32_t flags) {
  const std::uint32_t size = 1U << c.cfg.rx_log2;
  if (c.rx_prod - c.rx_cons >= size) {
    ++rx_ring_full_;
    return false;
  }
  if (frame.size() > rm::rx_slot::kMaxLen) return false;
  std::uint8_t* slot =
      c.cfg.mem + c.cfg.rx_off + std::size_t{c.rx_prod & (size - 1)} * rm::rx_slot::kSlotBytes;
  std::memcpy(slot + rm::rx_slot::kTrailerOffset - frame.size(), frame.data(), frame.size());
  std::uint64_t t = 0;
  rm::rx_slot::kLen.set(t, frame.size());
  rm::rx_slot::kFlags.set(t, flags);
  rm::rx_slot::kSeq.set(t, (c.rx_prod + 1) & 0xFFFF);
  __atomic_store_n(reinterpret_cast<std::uint32_t*>(slot + rm::rx_slot::kTrailerOffset),
                   static_cast<std::uint32_t>(t), __ATOMIC_RELEASE);
  ++c.rx_prod;
  if (!c.rx_outstanding) {
    auto q = nqs_.find(c.cfg.nq_id);
    if (q != nqs_.end() && notify_locked(q->second, c.cfg.id, rm::notify::kKindsRx))
      c.rx_outstanding = true;
  }
  return true;
}

bool SoftNic::deliver_udp(std::uint32_t conn, const Endpoint& from,
                          std::span<const std::uint8_t> payload, const MacAddr& from_mac) {
  MacAddr mac;
  Endpoint local;
  {
    std::lock_guard lock(mu_);
    auto it = conns_.find(conn);
    if (it == conns_.end()) return false;
    mac = it->second.cfg.mac;
    local = it->second.cfg.local;
  }
  return deliver(conn, make_udp_frame(from_mac, mac, from, local, payload));
}

std::uint32_t SoftNic::rx_unconsumed(std::uint32_t conn) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? 0 : it->second.rx_prod - it->second.rx_cons;
}

void SoftNic::set_auto_complete(bool on) {
  std::lock_guard lock(mu_);
  auto_complete_ = on;
}

void SoftNic::set_forced_status(std::optional<std::uint16_t> status) {
  std::lock_guard lock(mu_);
  forced_status_ = status;
}

std::uint16_t SoftNic::check_frame(const ConnState& c, std::span<const std::uint8_t> f) const {
  if (f.size() < rm::kMinFrameBytes || f.size() > rm::kMaxFrameBytes)
    return rm::tx_desc::kStatusDropBadLen;
  if (forced_status_) return *forced_status_;
  if (c.cfg.raw) return rm::tx_desc::kStatusSent;
  if (std::memcmp(f.data() + 6, c.cfg.mac.b.data(), 6) != 0) return rm::tx_desc::kStatusDropSpoof;
  if (f.size() < 42 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
    return rm::tx_desc::kStatusDropSpoof;
  if (f[23] != 17) return rm::tx_desc::kStatusDropSpoof;
  if (std::memcmp(f.data() + 26, &c.cfg.local.ip.be, 4) != 0) return rm::tx_desc::kStatusDropSpoof;
  const std::size_t ihl = std::size_t{f[14] & 0xFU} * 4;
  if (f.size() < 14 + ihl + 8) return rm::tx_desc::kStatusDropSpoof;
  const unsigned sport = (unsigned{f[14 + ihl]} << 8) | f[15 + ihl];
  if (sport != c.cfg.local.port) return rm::tx_desc::kStatusDropSpoof;
  return rm::tx_desc::kStatusSent;
}

std::size_t SoftNic::complete_locked(ConnState& c, std::size_t max) {
  const std::uint32_t size = 1U << c.cfg.tx_log2;
  auto* desc = reinterpret_cast<std::uint64_t*>(c.cfg.mem + c.cfg.tx_desc_off);
  std::size_t n = 0;
  while (c.tx_cons != c.tx_prod && n < max) {
    const std::uint32_t i = c.tx_cons & (size - 1);
    std::uint64_t d = __atomic_load_n(&desc[i], __ATOMIC_ACQUIRE);
    const auto len = static_cast<std::size_t>(rm::tx_desc::kLen.get(d));
    const std::uint8_t* data =
        c.cfg.mem + c.cfg.tx_data_off + std::size_t{i} * rm::tx_desc::kSlotBytes;
    const std::span<const std::uint8_t> frame(data,
                                              std::min<std::size_t>(len, rm::tx_desc::kSlotBytes));
    const std::uint16_t st = check_frame(c, frame);
    if (st == rm::tx_desc::kStatusSent) {
      if (loopback_) {
        loop_back(frame);
      } else {
        c.sent.emplace_back(frame.begin(), frame.end());
      }
    }
    c.statuses.push_back(st);
    rm::tx_desc::kStatus.set(d, st);
    __atomic_store_n(&desc[i], d, __ATOMIC_RELEASE);
    ++c.tx_cons;
    ++n;
  }
  if (n != 0 && c.cfg.notify_tx) {
    auto q = nqs_.find(c.cfg.nq_id);
    if (q != nqs_.end()) notify_locked(q->second, c.cfg.id, rm::notify::kKindsTxDone);
  }
  return n;
}

std::size_t SoftNic::complete_tx(std::uint32_t conn, std::size_t max) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? 0 : complete_locked(it->second, max);
}

std::vector<Bytes> SoftNic::take_sent(std::uint32_t conn) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? std::vector<Bytes>{} : std::exchange(it->second.sent, {});
}

std::vector<std::uint16_t> SoftNic::take_tx_statuses(std::uint32_t conn) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? std::vector<std::uint16_t>{} : std::exchange(it->second.statuses, {});
}

std::vector<DoorbellWrite> SoftNic::take_doorbells() {
  std::lock_guard lock(mu_);
  return std::exchange(log_, {});
}

std::uint32_t SoftNic::rx_cons(std::uint32_t conn) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? 0 : it->second.rx_cons;
}

std::uint32_t SoftNic::tx_prod(std::uint32_t conn) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(conn);
  return it == conns_.end() ? 0 : it->second.tx_prod;
}

std::uint32_t SoftNic::nq_cons(std::uint32_t nq) {
  std::lock_guard lock(mu_);
  auto it = nqs_.find(nq);
  return it == nqs_.end() ? 0 : it->second.cons;
}

bool SoftNic::nq_armed(std::uint32_t nq) {
  std::lock_guard lock(mu_);
  auto it = nqs_.find(nq);
  return it != nqs_.end() && it->second.armed;
}

std::uint64_t SoftNic::irqs(std::uint32_t nq) {
  std::lock_guard lock(mu_);
  auto it = nqs_.find(nq);
  return it == nqs_.end() ? 0 : it->second.irqs;
}

std::uint64_t SoftNic::notifications_dropped(std::uint32_t nq) {
  std::lock_guard lock(mu_);
  auto it = nqs_.find(nq);
  return it == nqs_.end() ? 0 : it->second.dropped;
}

SoftConn SoftNic::conn(std::uint32_t id) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(id);
  return it == conns_.end() ? SoftConn{} : it->second.cfg;
}

std::uint64_t SoftNic::rx_ring_full_drops() {
  std::lock_guard lock(mu_);
  return rx_ring_full_;
}

std::uint64_t SoftNic::doorbells_invalid() {
  std::lock_guard lock(mu_);
  return invalid_;
}

}  // namespace norman::testing
