#include "norman/udp_socket.hpp"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "destination.hpp"
#include "runtime_core.hpp"
#include "time_util.hpp"

namespace norman {

using detail::throw_errno;
using Clock = std::chrono::steady_clock;

namespace {

constexpr RxFlagBits kFlagBits{1U << regmap::rx_slot::kFlagsMalformed,
                               1U << regmap::rx_slot::kFlagsFrag};

// Waiting for the NIC to complete TX descriptors: spin, then sleep in short
// steps (there is no TX interrupt unless notify_tx, and the ring only fills
// when the NIC is slower than the application).
class TxBackoff {
 public:
  TxBackoff(std::chrono::nanoseconds spin, Clock::time_point deadline)
      : spin_end_(std::min(deadline, detail::deadline_after(spin))), deadline_(deadline) {}
  // false once the deadline passed.
  bool wait() {
    const auto now = Clock::now();
    if (now >= deadline_) return false;
    if (now < spin_end_) {
      for (int i = 0; i < 32; ++i) cpu_relax();
      return true;
    }
    const auto step = std::min<Clock::duration>(std::chrono::microseconds(50), deadline_ - now);
    const timespec ts = detail::to_timespec(step);
    ::nanosleep(&ts, nullptr);
    return true;
  }

 private:
  Clock::time_point spin_end_;
  Clock::time_point deadline_;
};

}  // namespace

UdpSocket::UdpSocket(PrivateTag, std::shared_ptr<detail::RuntimeCore> core,
                     std::shared_ptr<NotifyQueue> nq, const UdpGrant& g, const UdpOptions& o,
                     std::unique_ptr<detail::Mapping> mem, std::optional<MacAddr> peer_mac)
    : rx_(mem->data() + g.rx_off, g.rx_log2, core->doorbell.get(), g.db_page),
      tx_(mem->data() + g.tx_desc_off, mem->data() + g.tx_data_off, g.tx_log2, core->doorbell.get(),
          g.db_page),
      ip_id_(static_cast<std::uint16_t>(g.conn_id * 40503U)),
      udp_checksum_(o.udp_checksum),
      verify_checksums_(o.verify_checksums),
      notify_tx_(o.notify_tx),
      broadcast_(o.broadcast),
      flag_bits_(kFlagBits),
      core_(std::move(core)),
      nq_(std::move(nq)),
      mem_(std::move(mem)),
      local_(g.local),
      remote_(g.remote),
      mac_(g.mac),
      conn_id_(g.conn_id),
      user_data_(o.user_data),
      linger_(o.linger),
      nq_units_(o.notify_tx ? 2 : 1) {
  tmpl_any_ = UdpHeaderTemplate::make(mac_, local_, MacAddr{}, Endpoint{});
  if (remote_ && peer_mac) tmpl_peer_ = UdpHeaderTemplate::make(mac_, local_, *peer_mac, *remote_);
  nq_->attach(this);  // last: nothing below may throw
}

UdpSocket::~UdpSocket() {
  if (closed_) return;
  try {
    close();
  } catch (...) {
    // Destructors do not throw; close() reports errors to those who ask.
  }
}

void UdpSocket::close() {
  if (closed_) return;
  closed_ = true;
  if (tx_.in_flight() != 0 && linger_.count() > 0) flush(linger_);
  nq_->detach(this);
  nq_->unreserve(nq_units_);
  core_->call(ctl::op::kClose, {{"conn_id", conn_id_}});
}

// ---- receive --------------------------------------------------------------------

void UdpSocket::count_drop(RxVerdict v) {
  switch (v) {
    case RxVerdict::kOk:
      break;
    case RxVerdict::kMalformed:
      ++stats_.rx_drop_malformed;
      break;
    case RxVerdict::kFragment:
      ++stats_.rx_drop_fragment;
      break;
    case RxVerdict::kNotIpv4:
      ++stats_.rx_drop_not_ipv4;
      break;
    case RxVerdict::kNotUdp:
      ++stats_.rx_drop_not_udp;
      break;
    case RxVerdict::kBadLength:
      ++stats_.rx_drop_bad_length;
      break;
    case RxVerdict::kBadChecksum:
      ++stats_.rx_drop_bad_checksum;
      break;
  }
}

std::size_t UdpSocket::take(std::span<RxDatagram> out) {
  std::size_t n = 0;
  std::uint64_t bytes = 0;
  const std::size_t max = out.size();
  const bool fast_ok = !verify_checksums_;
  RxRing::Frame f;
  ParsedUdp p;
  if (!held_.empty()) [[unlikely]]
    flush_held();
  while (n < max && rx_.next(f)) {
    rx_.prefetch(4);  // slots are 2 KiB apart: they alias in L1, hide the L2 latency
    RxVerdict v;
    if (fast_ok && f.flags == 0 && parse_udp_frame_fast(f.data, f.len, p)) [[likely]] {
      v = RxVerdict::kOk;
    } else if (f.len > regmap::rx_slot::kMaxLen) {
      v = RxVerdict::kBadLength;  // a trailer that points before its slot: never trust it
    } else {
      v = parse_udp_frame(f.data, f.len, f.flags, flag_bits_, verify_checksums_, p);
    }
    if (v == RxVerdict::kOk) [[likely]] {
      out[n].payload = {p.payload, p.payload_len};
      out[n].from = p.src;
      bytes += p.payload_len;
      ++n;
    } else {
      count_drop(v);
    }
  }
  stats_.rx_datagrams += n;
  stats_.rx_bytes += bytes;
  return n;
}

std::size_t UdpSocket::try_peek(std::span<RxDatagram> out) {
  const std::size_t n = take(out);
  peeked_ += static_cast<std::uint32_t>(n);
  // Only dropped frames were taken: give their slots back now (this also
  // re-arms the notification), nobody will call release() for them.
  if (peeked_ == 0) release_rx();
  return n;
}

std::optional<RxDatagram> UdpSocket::try_peek() {
  RxDatagram d;
  if (try_peek(std::span<RxDatagram>(&d, 1)) == 0) return std::nullopt;
  return d;
}

void UdpSocket::release_rx() {
  if (!rx_.release_lazy() && !rx_deferred_) {
    rx_deferred_ = true;
    nq_->defer(this);
  }
}

void UdpSocket::release() {
  peeked_ = 0;
  release_rx();
}

std::optional<RecvResult> UdpSocket::try_recv(std::span<std::uint8_t> buf) {
  RxDatagram d;
  if (take(std::span<RxDatagram>(&d, 1)) == 0) {
    if (peeked_ == 0) release_rx();
    return std::nullopt;
  }
  RecvResult r;
  r.from = d.from;
  r.len = std::min(buf.size(), d.payload.size());
  r.truncated = r.len < d.payload.size();
  if (r.truncated) ++stats_.rx_truncated;
  if (r.len != 0) std::memcpy(buf.data(), d.payload.data(), r.len);
  release();
  return r;
}

std::size_t UdpSocket::try_recv_batch(std::span<RecvMsg> msgs) {
  constexpr std::size_t kChunk = 32;
  RxDatagram d[kChunk];
  std::size_t done = 0;
  while (done < msgs.size()) {
    const std::size_t want = std::min(kChunk, msgs.size() - done);
    const std::size_t n = take(std::span<RxDatagram>(d, want));
    for (std::size_t i = 0; i < n; ++i) {
      RecvMsg& m = msgs[done + i];
      const std::size_t len = std::min(m.buffer.size(), d[i].payload.size());
      if (len != 0) std::memcpy(m.buffer.data(), d[i].payload.data(), len);
      m.result.len = len;
      m.result.from = d[i].from;
      m.result.truncated = len < d[i].payload.size();
      if (m.result.truncated) ++stats_.rx_truncated;
    }
    done += n;
    if (n < want) break;
  }
  if (done != 0 || peeked_ == 0) release();
  return done;
}

bool UdpSocket::wait_readable(std::chrono::nanoseconds timeout) {
  release();
  if (rx_.ready()) return true;
  if (timeout <= std::chrono::nanoseconds::zero()) return false;
  return nq_->wait_socket(*this, detail::deadline_after(timeout));
}

std::optional<RecvResult> UdpSocket::recv(std::span<std::uint8_t> buf,
                                          std::chrono::nanoseconds timeout) {
  const auto deadline = detail::deadline_after(timeout);
  release();
  for (;;) {
    if (auto r = try_recv(buf)) return r;
    if (!nq_->wait_socket(*this, deadline)) return std::nullopt;
  }
}

std::size_t UdpSocket::recv_batch(std::span<RecvMsg> msgs, std::chrono::nanoseconds timeout) {
  if (msgs.empty()) return 0;
  const auto deadline = detail::deadline_after(timeout);
  release();
  for (;;) {
    if (const std::size_t n = try_recv_batch(msgs); n != 0) return n;
    if (!nq_->wait_socket(*this, deadline)) return 0;
  }
}

std::size_t UdpSocket::peek(std::span<RxDatagram> out, std::chrono::nanoseconds timeout) {
  if (out.empty()) return 0;
  const auto deadline = detail::deadline_after(timeout);
  release();
  for (;;) {
    if (const std::size_t n = try_peek(out); n != 0) return n;
    if (!nq_->wait_socket(*this, deadline)) return 0;
  }
}

// ---- send ------------------------------------------------------------------------

UdpSocket::Route UdpSocket::route(const Endpoint& to) {
  Route r;
  if (to.is_unspecified() || (remote_ && to == *remote_)) {
    r.to_peer = true;
    return r;
  }
  const std::uint32_t gen = core_->neigh_gen.load(std::memory_order_acquire);
  NeighborSlot& s = ncache_[(to.ip.be * 2654435761U) >> 28];
  static_assert(kNeighborSlots == 16);
  if (s.gen == gen && s.ip == to.ip) [[likely]] {
    r.mac = &s.mac;
    return r;
  }
  if (detail::is_broadcast(to.ip, core_->nic)) {
    // Every station hears it: no neighbour to ask.
    s.mac = MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    s.ip = to.ip;
    s.gen = gen;
    r.mac = &s.mac;
    return r;
  }
  if (!core_->on_link(to.ip)) {
    r.err = ENETUNREACH;
    return r;
  }
  const auto n = core_->neighbors->lookup(to.ip);
  switch (n.state) {
    case detail::NeighborResolver::State::kReachable:
      s.mac = n.mac;
      s.ip = to.ip;
      s.gen = gen;
      r.mac = &s.mac;
      break;
    case detail::NeighborResolver::State::kIncomplete:
      r.hold = true;
      break;
    case detail::NeighborResolver::State::kFailed:
      r.err = n.err;
      break;
  }
  return r;
}

// Throws for what can never be sent (the caller's mistake, not the network's).
void UdpSocket::check_shape(std::size_t len, const Endpoint& to) {
  if (len > kMaxPayload) {
    throw_errno(EMSGSIZE, "send on " + local_.to_string() + ": a " + std::to_string(len) +
                              "-byte payload exceeds the maximum of " +
                              std::to_string(kMaxPayload) + " (1500-byte MTU, no fragmentation)");
  }
  if (to.ip.is_unspecified() && to.port == 0) {
    if (!remote_) {
      throw_errno(EDESTADDRREQ,
                  "send on " + local_.to_string() + ": the socket is not connected; use send_to");
    }
    return;
  }
  if (to.ip.is_unspecified() || to.port == 0) {
    throw_errno(EDESTADDRREQ, "send_to " + to.to_string() + ": not a destination");
  }
  if (remote_ && to == *remote_) return;
  detail::check_reachable(to.ip, broadcast_, core_->nic, "send_to");
}

void UdpSocket::drop_unsendable(const Endpoint& to, int err, bool queue_error) {
  if (err == ENETUNREACH) {
    ++stats_.tx_drop_unreachable;
  } else {
    ++stats_.tx_drop_unresolved;
  }
  if (!queue_error) return;
  if (errors_.size() >= kMaxErrors) {
    ++stats_.tx_errors_lost;
    return;
  }
  errors_.push_back(TxError{to, err});
}

void UdpSocket::throw_unsendable(const Endpoint& to, int err) {
  drop_unsendable(to, err, false);
  throw_errno(err,
              "send_to " + to.to_string() +
                  (err == ENETUNREACH ? ": not on the NIC's subnet (no routing through gateways)"
                                      : ": no answer to ARP on the NIC's link (neighbour FAILED)"));
}

std::optional<TxError> UdpSocket::take_error() {
  flush_held();
  if (errors_.empty()) return std::nullopt;
  TxError e = errors_.front();
  errors_.pop_front();
  return e;
}

void UdpSocket::hold(std::span<const std::uint8_t> payload, const Endpoint& to) {
  // The kernel's unres_qlen: so many datagrams per destination, the oldest
  // dropped first; and a bound per socket, whatever the destinations.
  std::size_t same = 0;
  auto oldest_same = held_.end();
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (it->to.ip == to.ip) {
      if (same++ == 0) oldest_same = it;
    }
  }
  if (same >= kMaxHeldPerDestination) {
    held_.erase(oldest_same);
    ++stats_.tx_drop_held_overflow;
  } else if (held_.size() >= kMaxHeld) {
    held_.pop_front();
    ++stats_.tx_drop_held_overflow;
  }
  if (held_.empty()) {
    core_->neighbors->watch(nq_);
    nq_->hold(this);
  }
  held_.push_back(Held{to, std::vector<std::uint8_t>(payload.begin(), payload.end())});
  // Look again at the next chance: the answer may have come between the
  // lookup that held this datagram and now (events() starts at 1).
  held_seen_ = 0;
  ++stats_.tx_held_unresolved;
}

void UdpSocket::flush_held() {
  if (held_.empty() || alloc_n_ != 0) return;
  const std::uint64_t ev = core_->neighbors->events();
  if (ev == held_seen_) return;
  std::uint32_t k = 0;
  std::uint64_t bytes = 0;
  bool room = true;
  for (auto it = held_.begin(); it != held_.end();) {
    const Route r = route(it->to);
    if (r.hold) {
      ++it;
      continue;
    }
    if (r.err != 0) {
      drop_unsendable(it->to, r.err, true);
      it = held_.erase(it);
      continue;
    }
    if (k >= tx_.free_slots()) {
      poll_tx();
      if (k >= tx_.free_slots()) {
        room = false;  // try again on the next call
        break;
      }
    }
    copy_payload(tx_.slot(tx_.prod() + k) + kUdpFrameHeaderBytes, it->payload.data(),
                 it->payload.size());
    build_frame(k, it->payload.size(), &it->to, r);
    bytes += it->payload.size();
    ++k;
    it = held_.erase(it);
  }
  if (k != 0) {
    tx_.publish(k);
    stats_.tx_datagrams += k;
    stats_.tx_bytes += bytes;
  }
  if (room) held_seen_ = ev;
  if (held_.empty()) nq_->unhold(this);
}

inline void UdpSocket::build_frame(std::uint32_t k, std::size_t len, const Endpoint* to,
                                   const Route& r) {
  std::uint8_t* f = tx_.slot(tx_.prod() + k);
  std::size_t flen;
  if (r.to_peer) {
    flen = write_udp_headers(f, tmpl_peer_, len, ip_id_++, udp_checksum_);
  } else {
    flen = write_udp_headers(f, tmpl_any_, len, ip_id_++, udp_checksum_, to, r.mac);
  }
  tx_.write_desc(k, static_cast<std::uint32_t>(flen));
}

void UdpSocket::reap_if_needed(std::uint32_t want) {
  if (tx_.free_slots() < want) poll_tx();
}

std::size_t UdpSocket::try_send_batch(std::span<const TxDatagram> dgrams) {
  bool all_to_peer = remote_.has_value();
  for (const TxDatagram& d : dgrams) {
    if (!(d.payload.size() <= kMaxPayload && d.to.is_unspecified() && remote_)) [[unlikely]]
      check_shape(d.payload.size(), d.to);
    all_to_peer = all_to_peer && (d.to.is_unspecified() || d.to == *remote_);
  }
  flush_held();
  const auto want = static_cast<std::uint32_t>(std::min<std::size_t>(dgrams.size(), UINT32_MAX));
  reap_if_needed(want);
  std::uint64_t bytes = 0;
  if (all_to_peer) {
    // The connected fast path: template copy, lengths, checksums, descriptor.
    const std::uint32_t n = std::min(want, tx_.free_slots());
    for (std::uint32_t k = 0; k < n; ++k) {
      __builtin_prefetch(tx_.slot(tx_.prod() + k + 4), 1);
      const TxDatagram& d = dgrams[k];
      std::uint8_t* f = tx_.slot(tx_.prod() + k);
      copy_payload(f + kUdpFrameHeaderBytes, d.payload.data(), d.payload.size());
      const std::size_t flen =
          write_udp_headers(f, tmpl_peer_, d.payload.size(), ip_id_++, udp_checksum_);
      tx_.write_desc(k, static_cast<std::uint32_t>(flen));
      bytes += d.payload.size();
    }
    tx_.publish(n);
    stats_.tx_datagrams += n;
    stats_.tx_bytes += bytes;
    stats_.tx_ring_full += dgrams.size() - n;
    return n;
  }
  // Per destination: posted, held or dropped; each takes a datagram.
  const std::uint32_t free = tx_.free_slots();
  std::uint32_t k = 0;
  std::size_t taken = 0;
  for (; taken < want; ++taken) {
    const TxDatagram& d = dgrams[taken];
    const Route r = route(d.to);
    if (r.err != 0) {
      drop_unsendable(d.to, r.err, true);
      continue;
    }
    if (r.hold) {
      hold(d.payload, d.to);
      continue;
    }
    if (k == free) break;
    copy_payload(tx_.slot(tx_.prod() + k) + kUdpFrameHeaderBytes, d.payload.data(),
                 d.payload.size());
    build_frame(k, d.payload.size(), &d.to, r);
    bytes += d.payload.size();
    ++k;
  }
  tx_.publish(k);
  stats_.tx_datagrams += k;
  stats_.tx_bytes += bytes;
  stats_.tx_ring_full += dgrams.size() - taken;
  return taken;
}

bool UdpSocket::try_send(std::span<const std::uint8_t> payload) {
  const TxDatagram d{payload, Endpoint{}};
  return try_send_batch(std::span<const TxDatagram>(&d, 1)) == 1;
}

bool UdpSocket::try_send_to(std::span<const std::uint8_t> payload, const Endpoint& to) {
  if (to.is_unspecified()) throw_errno(EDESTADDRREQ, "send_to 0.0.0.0:0: not a destination");
  return send_to(payload, to, std::chrono::nanoseconds::zero());
}

bool UdpSocket::wait_tx_room(Clock::time_point deadline) {
  TxBackoff b(core_->spin, deadline);
  for (;;) {
    if (tx_.free_slots() != 0 || poll_tx() != 0) return true;
    if (!b.wait()) return false;
  }
}

bool UdpSocket::send(std::span<const std::uint8_t> payload, std::chrono::nanoseconds timeout) {
  return send_to(payload, Endpoint{}, timeout);
}

bool UdpSocket::send_to(std::span<const std::uint8_t> payload, const Endpoint& to,
                        std::chrono::nanoseconds timeout) {
  check_shape(payload.size(), to);
  flush_held();
  const Route r = route(to);
  if (r.err != 0) throw_unsendable(to, r.err);
  if (r.hold) {
    hold(payload, to);
    return true;
  }
  if (tx_.free_slots() == 0) poll_tx();
  if (tx_.free_slots() == 0 && (timeout <= std::chrono::nanoseconds::zero() ||
                                !wait_tx_room(detail::deadline_after(timeout)))) {
    ++stats_.tx_ring_full;
    return false;
  }
  copy_payload(tx_.slot(tx_.prod()) + kUdpFrameHeaderBytes, payload.data(), payload.size());
  build_frame(0, payload.size(), &to, r);
  tx_.publish(1);
  ++stats_.tx_datagrams;
  stats_.tx_bytes += payload.size();
  return true;
}

std::size_t UdpSocket::try_alloc(std::span<TxSlot> out) {
  alloc_n_ = 0;  // a new reservation replaces the last one
  flush_held();
  const auto want = static_cast<std::uint32_t>(std::min<std::size_t>(out.size(), UINT32_MAX));
  reap_if_needed(want);
  const std::uint32_t n = std::min(want, tx_.free_slots());
  for (std::uint32_t k = 0; k < n; ++k) {
    out[k].buffer = {tx_.slot(tx_.prod() + k) + kUdpFrameHeaderBytes, kMaxPayload};
    out[k].len = 0;
    out[k].to = Endpoint{};
  }
  alloc_n_ = n;
  return n;
}

void UdpSocket::commit(std::span<const TxSlot> slots) {
  if (slots.size() > alloc_n_) {
    throw_errno(EINVAL, "commit of " + std::to_string(slots.size()) + " slots, but only " +
                            std::to_string(alloc_n_) + " are reserved (try_alloc)");
  }
  for (std::size_t k = 0; k < slots.size(); ++k) {
    if (slots[k].buffer.data() !=
        tx_.slot(tx_.prod() + static_cast<std::uint32_t>(k)) + kUdpFrameHeaderBytes) {
      throw_errno(EINVAL,
                  "commit: slot " + std::to_string(k) +
                      " is not the k-th slot of the last reservation (commit a prefix, in order)");
    }
    if (!(slots[k].len <= kMaxPayload && slots[k].to.is_unspecified() && remote_)) [[unlikely]]
      check_shape(slots[k].len, slots[k].to);
  }
  const auto n = static_cast<std::uint32_t>(slots.size());
  std::uint32_t out = 0;  // slots to send, packed to the front
  std::uint64_t bytes = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    __builtin_prefetch(tx_.slot(tx_.prod() + k + 4), 1);
    const TxSlot& s = slots[k];
    const Route r = route(s.to);
    if (r.err != 0 || r.hold) [[unlikely]] {
      if (r.err != 0) {
        drop_unsendable(s.to, r.err, true);
      } else {
        hold(std::span<const std::uint8_t>(s.buffer.data(), s.len), s.to);
      }
      continue;
    }
    if (out != k) [[unlikely]] {
      // A slot before this one was not sent: move the payload down, the
      // ring's descriptors are consecutive.
      std::memmove(tx_.slot(tx_.prod() + out) + kUdpFrameHeaderBytes, s.buffer.data(), s.len);
    }
    build_frame(out, s.len, &s.to, r);
    bytes += s.len;
    ++out;
  }
  tx_.publish(out);
  alloc_n_ = 0;
  stats_.tx_datagrams += out;
  stats_.tx_bytes += bytes;
}

std::uint32_t UdpSocket::poll_tx() {
  return tx_.reap([this](std::uint32_t st, std::uint32_t) {
    switch (st) {
      case regmap::tx_desc::kStatusSent:
        ++stats_.tx_sent;
        break;
      case regmap::tx_desc::kStatusDropSpoof:
        ++stats_.tx_drop_spoof;
        break;
      case regmap::tx_desc::kStatusDropBadLen:
        ++stats_.tx_drop_bad_len;
        break;
      case regmap::tx_desc::kStatusDropFilter:
        ++stats_.tx_drop_filter;
        break;
      case regmap::tx_desc::kStatusDropVlan:
      case regmap::tx_desc::kStatusDropMartian:
      case regmap::tx_desc::kStatusDropBroadcast:
        ++stats_.tx_drop_refused;
        break;
      case regmap::tx_desc::kStatusDropClosed:
        ++stats_.tx_drop_closed;
        break;
      default:
        ++stats_.tx_status_unknown;
        break;
    }
  });
}

bool UdpSocket::flush(std::chrono::nanoseconds timeout) {
  TxBackoff b(core_->spin, detail::deadline_after(timeout));
  for (;;) {
    flush_held();
    poll_tx();
    if (tx_.in_flight() == 0 && held_.empty()) return true;
    if (!b.wait()) return false;
  }
}

const SocketStats& UdpSocket::stats() {
  flush_held();
  poll_tx();
  return stats_;
}

}  // namespace norman
