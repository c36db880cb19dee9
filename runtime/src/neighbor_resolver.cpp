#include "neighbor_resolver.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "norman/notify_queue.hpp"

namespace norman::detail {

using Clock = std::chrono::steady_clock;

NeighborResolver::NeighborResolver(Ask ask, std::chrono::milliseconds failed_hold)
    : ask_(std::move(ask)), failed_hold_(failed_hold) {}

NeighborResolver::~NeighborResolver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool NeighborResolver::make_room_locked(Clock::time_point now) {
  if (table_.size() < kMaxEntries) return true;
  // Forget FAILED entries whose hold is over (spoofed sources leave many).
  std::erase_if(table_, [&](const auto& kv) {
    return kv.second.state == State::kFailed && now >= kv.second.until;
  });
  return table_.size() < kMaxEntries;
}

NeighborResolver::Result NeighborResolver::lookup(Ipv4 ip) {
  const auto now = Clock::now();
  std::unique_lock lock(mu_);
  auto it = table_.find(ip);
  if (it != table_.end()) {
    Entry& e = it->second;
    if (e.state == State::kReachable) return {State::kReachable, e.mac, 0};
    if (e.state == State::kIncomplete) return {State::kIncomplete, {}, 0};
    if (now < e.until) return {State::kFailed, {}, e.err};
  }
  if (resolving_ >= kMaxResolving || (it == table_.end() && !make_room_locked(now))) {
    // Too many questions open: refuse rather than queue without bound.
    return {State::kFailed, {}, EHOSTUNREACH};
  }
  table_[ip] = Entry{};
  ++resolving_;
  todo_.push_back(ip);
  if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
  lock.unlock();
  cv_.notify_one();
  return {State::kIncomplete, {}, 0};
}

MacAddr NeighborResolver::resolve(Ipv4 ip) {
  {
    std::lock_guard lock(mu_);
    if (auto it = table_.find(ip); it != table_.end()) {
      const Entry& e = it->second;
      if (e.state == State::kReachable) return e.mac;
      if (e.state == State::kFailed && Clock::now() < e.until) {
        throw std::system_error(e.err, std::generic_category(),
                                "neighbour " + ip.to_string() +
                                    " did not resolve a moment ago (FAILED; try again later)");
      }
    }
  }
  try {
    const MacAddr mac = ask_(ip);
    finish(ip, &mac, 0);
    return mac;
  } catch (const std::system_error& e) {
    finish(ip, nullptr, e.code().value() != 0 ? e.code().value() : EHOSTUNREACH);
    throw;
  }
}

void NeighborResolver::flush() {
  {
    std::lock_guard lock(mu_);
    // Questions in flight keep their entries (the worker finishes them).
    std::erase_if(table_, [](const auto& kv) { return kv.second.state != State::kIncomplete; });
  }
  events_.fetch_add(1, std::memory_order_acq_rel);
}

void NeighborResolver::watch(const std::shared_ptr<NotifyQueue>& nq) {
  std::lock_guard lock(mu_);
  std::erase_if(watchers_, [](const Watcher& w) { return w.nq.expired(); });
  for (const auto& w : watchers_) {
    if (!w.nq.owner_before(nq) && !nq.owner_before(w.nq)) return;
  }
  // A duplicate of the eventfd, so that waking never needs (or keeps
  // alive) the queue itself.
  UniqueFd fd(::fcntl(nq->fd(), F_DUPFD_CLOEXEC, 0));
  if (fd) watchers_.push_back(Watcher{nq, std::move(fd)});
}

void NeighborResolver::finish(Ipv4 ip, const MacAddr* mac, int err) {
  {
    std::lock_guard lock(mu_);
    auto it = table_.find(ip);
    if (it == table_.end()) {
      if (!make_room_locked(Clock::now())) return;
      it = table_.emplace(ip, Entry{}).first;
    } else if (it->second.state == State::kIncomplete) {
      --resolving_;
    }
    Entry& e = it->second;
    if (mac != nullptr) {
      e.state = State::kReachable;
      e.mac = *mac;
    } else {
      e.state = State::kFailed;
      e.err = err;
      e.until = Clock::now() + failed_hold_;
    }
    events_.fetch_add(1, std::memory_order_acq_rel);
    // The eventfd of each watching queue: a thread asleep in it wakes and
    // sends (or drops) the datagrams it holds. A wake-up with no NIC news
    // is a spurious one, which NotifyQueue already tolerates.
    std::erase_if(watchers_, [](const Watcher& w) { return w.nq.expired(); });
    const std::uint64_t one = 1;
    for (const auto& w : watchers_) {
      if (::write(w.fd.get(), &one, sizeof one) < 0) {
        // EAGAIN: the counter is saturated, the queue is awake anyway.
      }
    }
  }
}

void NeighborResolver::run() {
  for (;;) {
    Ipv4 ip;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !todo_.empty(); });
      if (stop_) return;
      ip = todo_.front();
      todo_.pop_front();
    }
    try {
      const MacAddr mac = ask_(ip);
      finish(ip, &mac, 0);
    } catch (const std::system_error& e) {
      finish(ip, nullptr, e.code().value() != 0 ? e.code().value() : EHOSTUNREACH);
    } catch (const std::exception&) {
      finish(ip, nullptr, EIO);
    }
  }
}

}  // namespace norman::detail
