// NotifyQueue: a per-thread notification queue that says which of many
// sockets have news (readable, TX completions), epoll-like.
//
//   auto nq = rt.open_notify_queue();
//   UdpOptions o; o.nq = nq;
//   auto a = rt.udp_bind(7000, o), b = rt.udp_bind(7001, o);
//   std::array<norman::Event, 64> ev;
//   for (;;) {
//     std::size_t n = nq->wait(ev);              // spins briefly, then sleeps
//     for (std::size_t i = 0; i < n; ++i)
//       if (ev[i].flags & norman::event::kReadable) { /* ev[i].socket->try_recv... */ }
//   }
//
// Semantics: an event is a hint, level-triggered per receive call: the NIC
// notifies a connection again after every receive call that left datagrams
// in its ring, so reading one datagram per event never loses the rest. A
// readable event may be stale (the datagrams were already read): try_recv
// then returns nothing. Blocking: wait() busy-polls for RuntimeOptions::spin,
// then arms the queue's interrupt, re-checks the queue (arm-then-recheck, so
// a notification that raced with the arming is never slept through) and
// sleeps in poll() on the queue's eventfd.
//
// A queue and the sockets attached to it are used by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "norman/rings.hpp"
#include "norman/unique_fd.hpp"

namespace norman {

class UdpSocket;
namespace detail {
struct RuntimeCore;
class Mapping;
}  // namespace detail

inline constexpr std::chrono::nanoseconds kForever = std::chrono::nanoseconds::max();

namespace event {
inline constexpr std::uint32_t kReadable = 1U << 0;  // RX notification: datagrams may be waiting
inline constexpr std::uint32_t kTxDone = 1U
                                         << 1;  // TX descriptors completed (sockets with notify_tx)
}  // namespace event

struct Event {
  UdpSocket* socket = nullptr;
  std::uint32_t conn_id = 0;
  std::uint32_t flags = 0;      // event::kReadable | event::kTxDone
  std::uint64_t user_data = 0;  // UdpSocket::user_data()
};

struct NotifyQueueStats {
  std::uint64_t notifications = 0;  // entries read from the ring
  std::uint64_t rx_notifications = 0;
  std::uint64_t tx_notifications = 0;
  std::uint64_t unknown_conn = 0;      // for a connection not (any more) attached: ignored
  std::uint64_t unknown_kind = 0;      // a KIND this runtime does not know: ignored
  std::uint64_t arms = 0;              // ARM doorbells written
  std::uint64_t sleeps = 0;            // poll() calls on the eventfd
  std::uint64_t irq_wakeups = 0;       // eventfd found signalled
  std::uint64_t spurious_wakeups = 0;  // woke up but found nothing for the caller
  std::uint64_t rescans = 0;  // queue ran at least half full: every attached socket re-checked
};

class NotifyQueue {
  struct PrivateTag {};

 public:
  NotifyQueue(PrivateTag, std::shared_ptr<detail::RuntimeCore> core, std::uint32_t nq_id,
              unsigned log2, std::uint64_t db_page, std::unique_ptr<detail::Mapping> mem,
              UniqueFd irq);
  ~NotifyQueue();  // nq_close (errors ignored)
  NotifyQueue(const NotifyQueue&) = delete;
  NotifyQueue& operator=(const NotifyQueue&) = delete;

  // Non-blocking: the sockets with news, at most out.size() (the rest stay
  // queued for the next call). 0 = nothing.
  std::size_t poll(std::span<Event> out);
  // Blocking: waits until at least one event or the timeout; 0 on timeout.
  std::size_t wait(std::span<Event> out, std::chrono::nanoseconds timeout = kForever);
  std::vector<Event> wait(std::chrono::nanoseconds timeout = kForever);

  // For external event loops (epoll, Boost.Asio): sleep on fd() becoming
  // readable, but only after arm() returned true; on wake-up call
  // clear_irq(), then poll(). arm() writes the one-shot ARM doorbell and
  // re-checks: false means events are already pending (poll instead of
  // sleeping; the interrupt may still fire once, harmlessly).
  [[nodiscard]] int fd() const { return irq_.get(); }
  bool arm();
  void clear_irq();
  // The session's control connection, for external event loops: it turns
  // readable (hangup) when normand goes away; then check_session() throws
  // std::system_error(ENETDOWN). session_lost(): already seen (no syscall).
  [[nodiscard]] int session_fd() const;
  void check_session();
  [[nodiscard]] bool session_lost() const;

  [[nodiscard]] std::uint32_t id() const { return id_; }
  [[nodiscard]] std::uint32_t capacity() const { return ring_.size(); }
  // Sockets attached, and how many more notification budget units are free
  // (a socket takes 1, 2 with notify_tx; the total may not exceed capacity/2).
  [[nodiscard]] std::size_t attached() const { return conns_.size(); }
  [[nodiscard]] std::uint32_t budget_free() const { return capacity() / 2 - units_; }
  [[nodiscard]] const NotifyQueueStats& stats() const { return stats_; }

 private:
  friend class Runtime;
  friend class UdpSocket;

  void reserve(std::uint32_t units);  // throws ENOSPC
  void unreserve(std::uint32_t units) { units_ -= units; }
  void attach(UdpSocket* s);
  void detach(UdpSocket* s);
  // A socket deferred its RX_CONS doorbell: written before this queue
  // reports or sleeps (flush_deferred), so the NIC can re-notify.
  void defer(UdpSocket* s) { deferred_.push_back(s); }
  void flush_deferred();
  // A socket holds datagrams for neighbour resolution: each drain (every
  // poll and every wake-up, including the one the resolver causes) lets it
  // send or drop them.
  void hold(UdpSocket* s) { holding_.push_back(s); }
  void unhold(UdpSocket* s);
  void flush_holding();
  // Reads every available entry into the ready list, then writes CONS.
  void drain();
  void mark(UdpSocket* s, std::uint32_t flags);
  void rescan();
  std::size_t emit(std::span<Event> out);
  // Sleeps on the eventfd until `deadline` (or less when a rescan is due);
  // true if the interrupt fired.
  bool sleep_until(std::chrono::steady_clock::time_point deadline);
  // For UdpSocket's blocking calls: waits until the socket's RX ring has a
  // frame or the deadline passes.
  bool wait_socket(const UdpSocket& s, std::chrono::steady_clock::time_point deadline);

  std::shared_ptr<detail::RuntimeCore> core_;
  std::uint32_t id_;
  std::uint64_t db_page_;
  std::unique_ptr<detail::Mapping> mem_;
  UniqueFd irq_;
  NotifyRing ring_;
  std::uint32_t units_ = 0;
  bool recheck_soon_ = false;  // a rescan is due after a short sleep
  std::unordered_map<std::uint32_t, UdpSocket*> conns_;
  std::vector<UdpSocket*> ready_;     // sockets with unreported flags, FIFO
  std::vector<UdpSocket*> deferred_;  // sockets with a deferred RX_CONS doorbell
  std::vector<UdpSocket*> holding_;   // sockets holding datagrams (neighbour resolution)
  std::size_t ready_head_ = 0;
  NotifyQueueStats stats_;
};

}  // namespace norman
