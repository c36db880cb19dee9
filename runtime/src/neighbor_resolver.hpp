// libnorman's neighbour cache, resolved off the data path (private to
// libnorman). A send to a destination whose MAC is not known must not wait
// for ARP: the first lookup starts a resolution on a background thread and
// the socket holds the datagram (a few per destination, as the kernel's
// unres_qlen); the result wakes the notification queues of the sockets
// waiting for it. A destination nobody answers for stays FAILED for a while
// (the kernel's NUD_FAILED), so later sends fail at once with EHOSTUNREACH
// instead of asking again.
//
// Resolutions run one at a time: normand answers one request per control
// connection at a time, and each unanswered one takes normand's neighbour
// timeout (3 s by default). At most kMaxResolving addresses wait to be
// resolved; a send to another unknown address meanwhile fails with
// EHOSTUNREACH (counted by the socket) rather than queueing without bound.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "norman/net.hpp"
#include "norman/unique_fd.hpp"

namespace norman {
class NotifyQueue;
}

namespace norman::detail {

class NeighborResolver {
 public:
  // The blocking question (normand's neigh op); throws std::system_error.
  using Ask = std::function<MacAddr(Ipv4)>;
  static constexpr std::size_t kMaxResolving = 64;  // addresses waiting for an answer
  static constexpr std::size_t kMaxEntries = 1024;  // the whole table (gc_thresh3-like)

  NeighborResolver(Ask ask, std::chrono::milliseconds failed_hold);
  // Stops the worker; waits for the question in flight, if any.
  ~NeighborResolver();
  NeighborResolver(const NeighborResolver&) = delete;
  NeighborResolver& operator=(const NeighborResolver&) = delete;

  enum class State { kReachable, kIncomplete, kFailed };
  struct Result {
    State state = State::kIncomplete;
    MacAddr mac;
    int err = 0;  // kFailed: EHOSTUNREACH, or what normand said
  };
  // Never blocks. kIncomplete: a resolution is under way (started now if
  // needed); the caller holds its datagram and watches events().
  Result lookup(Ipv4 ip);
  // Blocking (udp_connect, Runtime::resolve): the cache, a FAILED entry
  // (throws its error at once), else asks in the caller's thread.
  MacAddr resolve(Ipv4 ip);
  // Forgets everything (Runtime::flush_neighbors).
  void flush();
  // Changes whenever an entry leaves kIncomplete (or on flush): a socket
  // holding datagrams looks at its held datagrams again when this moved.
  [[nodiscard]] std::uint64_t events() const { return events_.load(std::memory_order_acquire); }
  // Wake this queue (its eventfd) when a resolution completes, so a thread
  // sleeping in it sends or drops what it holds. Expired queues are dropped.
  void watch(const std::shared_ptr<NotifyQueue>& nq);

 private:
  struct Entry {
    State state = State::kIncomplete;
    MacAddr mac;
    int err = 0;
    std::chrono::steady_clock::time_point until;  // kFailed: when to ask again
  };
  void run();
  void finish(Ipv4 ip, const MacAddr* mac, int err);
  bool make_room_locked(std::chrono::steady_clock::time_point now);

  Ask ask_;
  std::chrono::milliseconds failed_hold_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Ipv4, Entry> table_;
  std::deque<Ipv4> todo_;
  std::size_t resolving_ = 0;  // entries in kIncomplete
  struct Watcher {
    std::weak_ptr<NotifyQueue> nq;  // only to see that it is gone
    UniqueFd fd;                    // our duplicate of its eventfd
  };
  std::vector<Watcher> watchers_;
  std::atomic<std::uint64_t> events_{1};
  bool stop_ = false;
  std::thread worker_;  // started at the first lookup that needs it
};

}  // namespace norman::detail
