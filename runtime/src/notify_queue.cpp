#include "norman/notify_queue.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "norman/udp_socket.hpp"
#include "runtime_core.hpp"
#include "time_util.hpp"

namespace norman {

using detail::throw_errno;
using Clock = std::chrono::steady_clock;

NotifyQueue::NotifyQueue(PrivateTag, std::shared_ptr<detail::RuntimeCore> core, std::uint32_t nq_id,
                         unsigned log2, std::uint64_t db_page, std::unique_ptr<detail::Mapping> mem,
                         UniqueFd irq)
    : core_(std::move(core)),
      id_(nq_id),
      db_page_(db_page),
      mem_(std::move(mem)),
      irq_(std::move(irq)),
      ring_(mem_->data(), log2, core_->doorbell.get(), db_page) {
  ready_.reserve(64);
}

NotifyQueue::~NotifyQueue() { core_->call_quiet(ctl::op::kNqClose, {{"nq_id", id_}}); }

void NotifyQueue::reserve(std::uint32_t units) {
  if (units_ + units > capacity() / 2) {
    throw_errno(
        ENOSPC,
        "notification queue " + std::to_string(id_) + " (" + std::to_string(capacity()) +
            " entries) has no room for another connection: a queue takes at most capacity/2 = " +
            std::to_string(capacity() / 2) +
            " (1 per socket, 2 with notify_tx) so that the NIC never finds it full; open a larger "
            "queue or another one");
  }
  units_ += units;
}

void NotifyQueue::attach(UdpSocket* s) { conns_[s->conn_id()] = s; }

void NotifyQueue::flush_deferred() {
  for (UdpSocket* s : deferred_) {
    s->rx_deferred_ = false;
    s->rx_.release();
  }
  deferred_.clear();
}

void NotifyQueue::unhold(UdpSocket* s) { std::erase(holding_, s); }

void NotifyQueue::flush_holding() {
  // A copy: a socket that sent or dropped everything unholds itself.
  const std::vector<UdpSocket*> sockets = holding_;
  for (UdpSocket* s : sockets) s->flush_held();
}

void NotifyQueue::detach(UdpSocket* s) {
  conns_.erase(s->conn_id());
  unhold(s);
  if (s->rx_deferred_) {
    std::erase(deferred_, s);
    s->rx_deferred_ = false;
  }
  if (s->nq_flags_ != 0) {
    ready_.erase(
        std::remove(ready_.begin() + static_cast<std::ptrdiff_t>(ready_head_), ready_.end(), s),
        ready_.end());
    s->nq_flags_ = 0;
  }
}

void NotifyQueue::mark(UdpSocket* s, std::uint32_t flags) {
  if (s->nq_flags_ == 0) ready_.push_back(s);
  s->nq_flags_ |= flags;
}

void NotifyQueue::drain() {
  if (!deferred_.empty()) flush_deferred();
  if (!holding_.empty()) [[unlikely]]
    flush_holding();
  NotifyRing::Entry e;
  std::uint64_t n = 0;
  while (ring_.next(e)) {
    ++n;
    auto it = conns_.find(e.conn_id);
    if (it == conns_.end()) {
      ++stats_.unknown_conn;
      continue;
    }
    if (e.kind == regmap::notify::kKindsRx) {
      ++stats_.rx_notifications;
      mark(it->second, event::kReadable);
    } else if (e.kind == regmap::notify::kKindsTxDone) {
      ++stats_.tx_notifications;
      mark(it->second, event::kTxDone);
    } else {
      ++stats_.unknown_kind;
    }
  }
  if (n == 0) return;
  stats_.notifications += n;
  // The NIC drops notifications to a full queue. If it ran at least half
  // full since the last CONS write, it may have been full before the NIC saw
  // that write: look at every socket now, and once more shortly.
  if (ring_.release() >= capacity() / 2) {
    rescan();
    recheck_soon_ = true;
  }
}

void NotifyQueue::rescan() {
  ++stats_.rescans;
  for (auto& [id, s] : conns_) {
    if (s->rx_.ready()) mark(s, event::kReadable);
    if (s->tx_.in_flight() != 0 && regmap::tx_desc::kStatus.get(s->tx_.desc(s->tx_.clean())) !=
                                       regmap::tx_desc::kStatusPending) {
      mark(s, event::kTxDone);
    }
  }
}

std::size_t NotifyQueue::emit(std::span<Event> out) {
  std::size_t n = 0;
  while (n < out.size() && ready_head_ < ready_.size()) {
    UdpSocket* s = ready_[ready_head_++];
    out[n++] = Event{s, s->conn_id(), s->nq_flags_, s->user_data()};
    s->nq_flags_ = 0;
  }
  if (ready_head_ == ready_.size()) {
    ready_.clear();
    ready_head_ = 0;
  }
  return n;
}

std::size_t NotifyQueue::poll(std::span<Event> out) {
  drain();
  return emit(out);
}

std::vector<Event> NotifyQueue::wait(std::chrono::nanoseconds timeout) {
  std::vector<Event> ev(std::max<std::size_t>(conns_.size(), 1));
  ev.resize(wait(std::span<Event>(ev), timeout));
  return ev;
}

bool NotifyQueue::arm() {
  drain();
  if (ready_head_ < ready_.size()) return false;
  ring_.arm();
  ++stats_.arms;
  return !ring_.pending();  // recheck: an entry that raced with the arming
}

int NotifyQueue::session_fd() const { return core_->ctl_fd; }
void NotifyQueue::check_session() { core_->check_session(); }
bool NotifyQueue::session_lost() const { return core_->lost.load(std::memory_order_relaxed) != 0; }

void NotifyQueue::clear_irq() {
  std::uint64_t v = 0;
  while (::read(irq_.get(), &v, sizeof v) < 0 && errno == EINTR) {
  }
}

bool NotifyQueue::sleep_until(Clock::time_point deadline) {
  core_->check_lost();
  const auto now = Clock::now();
  if (now >= deadline) return false;
  auto until = deadline;
  if (recheck_soon_) until = std::min(until, now + std::chrono::milliseconds(1));
  // The control connection too: normand's exit shows there as a hangup, and
  // a blocked receive must then fail (ENETDOWN), not sleep forever.
  pollfd p[2] = {{irq_.get(), POLLIN, 0}, {core_->ctl_fd, POLLRDHUP, 0}};
  ++stats_.sleeps;
  int r;
  if (until == Clock::time_point::max()) {
    r = ::ppoll(p, 2, nullptr, nullptr);
  } else {
    const timespec ts = detail::to_timespec(until - now);
    r = ::ppoll(p, 2, &ts, nullptr);
  }
  if (r > 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) core_->note_hangup();
  if (r > 0) {
    clear_irq();
    ++stats_.irq_wakeups;
    return true;
  }
  if (r < 0 && errno != EINTR)
    throw_errno(errno, "notification queue " + std::to_string(id_) + ": ppoll");
  if (r == 0 && recheck_soon_) {
    recheck_soon_ = false;
    rescan();
  }
  return false;
}

std::size_t NotifyQueue::wait(std::span<Event> out, std::chrono::nanoseconds timeout) {
  std::size_t n = poll(out);
  if (n != 0 || out.empty() || timeout <= std::chrono::nanoseconds::zero()) return n;
  const auto deadline = detail::deadline_after(timeout);
  const auto spin_end = std::min(deadline, detail::deadline_after(core_->spin));
  while (Clock::now() < spin_end) {
    for (int i = 0; i < 64; ++i) {
      if (ring_.pending()) {
        n = poll(out);
        if (n != 0) return n;
      }
      cpu_relax();
    }
  }
  for (;;) {
    if (arm()) {
      const bool irq = sleep_until(deadline);
      n = poll(out);
      if (n != 0) return n;
      if (irq) ++stats_.spurious_wakeups;
      if (Clock::now() >= deadline) return 0;
    } else {
      n = poll(out);
      if (n != 0) return n;
    }
  }
}

bool NotifyQueue::wait_socket(const UdpSocket& s, Clock::time_point deadline) {
  if (!deferred_.empty()) flush_deferred();
  if (s.rx_.ready()) return true;
  const auto spin_end = std::min(deadline, detail::deadline_after(core_->spin));
  while (Clock::now() < spin_end) {
    for (int i = 0; i < 64; ++i) {
      if (s.rx_.ready()) return true;
      cpu_relax();
    }
  }
  for (;;) {
    drain();  // other sockets' news goes to the ready list, not lost
    if (s.rx_.ready()) return true;
    ring_.arm();
    ++stats_.arms;
    // Arm-then-recheck: a frame that arrived before the NIC saw ARM either
    // shows here or its notification makes ARM fire at once.
    if (s.rx_.ready()) return true;
    if (Clock::now() >= deadline) return false;
    const bool irq = sleep_until(deadline);
    if (s.rx_.ready()) return true;
    if (irq) {
      drain();
      if (!s.rx_.ready()) ++stats_.spurious_wakeups;
    }
    if (Clock::now() >= deadline) return s.rx_.ready();
  }
}

}  // namespace norman
