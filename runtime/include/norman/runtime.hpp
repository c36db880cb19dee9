// Runtime: one session with normand (the control plane). It owns the control
// connection, the doorbell transport normand granted and a neighbor cache;
// it opens notification queues and UDP sockets.
//
// Slow path (everything here) throws std::system_error: the errno normand
// returned passes through unchanged (EADDRINUSE, EACCES, ENOSPC,
// EHOSTUNREACH, ...), with normand's explanation in what(); ENOENT /
// ECONNREFUSED when normand is not running; EPROTO for a reply this runtime
// does not understand (e.g. a NIC build it was not compiled for).
//
// When normand goes away (it exits, is killed, or loses the NIC) the
// session is dead: blocking waits (recv, wait_readable, NotifyQueue::wait)
// watch the control connection and fail with ENETDOWN at once instead of
// sleeping forever, and so does every later control request. Busy-polling
// loops call check(). Reconnect by creating a new Runtime (normand
// restarted, or restarting) and opening the sockets again.
//
// A Runtime is a cheap handle (copies share one session) and is thread-safe;
// sockets and queues keep the session alive.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "norman/doorbell.hpp"
#include "norman/net.hpp"
#include "norman/notify_queue.hpp"
#include "norman/udp_socket.hpp"

namespace norman {

struct RuntimeOptions {
  // normand's control socket; empty = $NORMAN_SOCKET, else
  // /run/norman/normand.sock (ctl::kDefaultSocketPath).
  std::string socket_path;
  // Busy-poll this long in blocking calls before arming the interrupt and sleeping.
  std::chrono::nanoseconds spin{std::chrono::microseconds(20)};
  // Limit for one control request.
  std::chrono::milliseconds ctl_timeout{10000};
  // A destination nobody answered ARP for stays FAILED this long: sends to
  // it fail at once with EHOSTUNREACH instead of asking normand again.
  std::chrono::milliseconds neighbor_failed_hold{5000};
};

struct NicInfo {
  MacAddr mac;
  Ipv4 ip;
  unsigned prefix_len = 0;
  unsigned port = 0;
  unsigned num_ports = 0;
  std::uint64_t build_id = 0;
};

class Runtime {
 public:
  // Connects to normand and says hello (attaches the doorbell channel).
  explicit Runtime(const RuntimeOptions& opts = {});
  // Convenience for tests and tools: Runtime at a given normand socket.
  static Runtime connect(const std::string& socket_path);
  // The socket path RuntimeOptions{} resolves to ($NORMAN_SOCKET or the default).
  static std::string default_socket_path();

  [[nodiscard]] const NicInfo& nic() const;
  // normand's full hello reply (pid, uid, comm, cgroup, nic, doorbell, ...).
  [[nodiscard]] const nlohmann::json& hello() const;
  [[nodiscard]] Doorbell& doorbell() const;

  // A notification queue of 2^log2 entries (ctl::kMinRingLog2..kMaxNqLog2).
  std::shared_ptr<NotifyQueue> open_notify_queue(unsigned log2 = ctl::kDefaultNqLog2);

  // A listening socket: receives from any remote, sends with send_to().
  // port 0 = ephemeral (see local()).
  std::unique_ptr<UdpSocket> udp_bind(std::uint16_t port, const UdpOptions& opts = {});
  std::unique_ptr<UdpSocket> udp_bind(const Endpoint& local, const UdpOptions& opts = {});
  // A connected socket: receives only from `remote`, send() goes there.
  // Resolves the peer's MAC now (EHOSTUNREACH if nobody answers).
  std::unique_ptr<UdpSocket> udp_connect(const Endpoint& remote, const UdpOptions& opts = {});

  // The MAC for an on-link IPv4 address: the neighbor cache, else normand's
  // `neigh` op (a control round trip; the host kernel resolves it on nic0).
  // Blocking; an address that failed within neighbor_failed_hold throws its
  // EHOSTUNREACH at once. Sends never call this: they resolve in the
  // background (see UdpSocket).
  MacAddr resolve(Ipv4 ip);
  // Drops cached entries (all sockets' caches too), e.g. after a peer moved.
  void flush_neighbors();

  // normand's `status` op.
  nlohmann::json status();

  // Throws std::system_error(ENETDOWN) if normand has closed the control
  // connection (a non-blocking look, one poll() call): for loops that
  // busy-poll and so never reach a blocking wait.
  void check();

 private:
  std::unique_ptr<UdpSocket> open_udp(const UdpOptions& opts, std::optional<Endpoint> local,
                                      std::optional<Endpoint> remote);
  std::shared_ptr<detail::RuntimeCore> core_;
};

}  // namespace norman
