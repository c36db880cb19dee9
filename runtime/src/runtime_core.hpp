// The shared state of one Runtime session (private to libnorman).
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>

#include "ctl_socket.hpp"
#include "neighbor_resolver.hpp"
#include "norman/doorbell.hpp"
#include "norman/net.hpp"
#include "norman/runtime.hpp"

namespace norman::detail {

[[noreturn]] inline void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

struct RuntimeCore {
  std::mutex ctl_mu;
  std::optional<ctl::Client> ctl;
  int ctl_timeout_ms = 10000;
  std::string socket_path;
  nlohmann::json hello;
  NicInfo nic;
  std::unique_ptr<Doorbell> doorbell;
  std::chrono::nanoseconds spin{0};

  std::atomic<std::uint32_t> neigh_gen{1};  // bumped by flush_neighbors; sockets compare

  // Set (to ENETDOWN) once normand closed the control connection: normand
  // exited or was killed, or the NIC went away and normand with it. Every
  // connection of the session is dead then; only a new Runtime reconnects.
  std::atomic<int> lost{0};
  int ctl_fd = -1;  // the control socket, watched for hangup by blocking waits

  [[noreturn]] static void throw_lost() {
    throw_errno(ENETDOWN,
                "normand closed the control connection (normand or the NIC went away); this "
                "session's connections are dead: create a new Runtime to reconnect");
  }
  void check_lost() const {
    if (lost.load(std::memory_order_relaxed) != 0) throw_lost();
  }
  // The control socket reported hangup (revents of a poll with POLLRDHUP).
  void note_hangup() {
    lost.store(ENETDOWN, std::memory_order_relaxed);
    throw_lost();
  }

  // A non-blocking look at the control connection (one poll()): throws
  // ENETDOWN if normand has closed it.
  void check_session();

  // One control request (serialized); throws std::system_error (ENETDOWN
  // once normand is gone).
  ctl::Message call(std::string_view op, nlohmann::json args = nlohmann::json::object()) {
    std::lock_guard lock(ctl_mu);
    check_lost();
    if (!ctl) throw_errno(ENOTCONN, "normand control connection is closed");
    try {
      return ctl->call(op, std::move(args), ctl_timeout_ms);
    } catch (const std::system_error& e) {
      const int err = e.code().value();
      if (err == ECONNRESET || err == EPIPE || err == ENOTCONN) note_hangup();
      throw;
    }
  }
  // Same, never throws (destructors): false on failure.
  bool call_quiet(std::string_view op, nlohmann::json args) noexcept {
    try {
      call(op, std::move(args));
      return true;
    } catch (...) {
      return false;
    }
  }
  MacAddr resolve(Ipv4 ip) { return neighbors->resolve(ip); }
  // Whether `ip` is on the NIC's subnet (normand does not route through
  // gateways: anything else is ENETUNREACH at once, as a missing route is).
  [[nodiscard]] bool on_link(Ipv4 ip) const {
    const std::uint32_t mask =
        nic.prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - std::min(nic.prefix_len, 32U));
    return ((ntohl(ip.be) ^ ntohl(nic.ip.be)) & mask) == 0;
  }

  // Last member: destroyed first, while the control connection it asks
  // through still exists.
  std::unique_ptr<NeighborResolver> neighbors;
};

// Finds the descriptor named `name` in a reply's "fds" list.
UniqueFd take_fd(ctl::Message& m, std::string_view name, std::string_view what);
// mmap(MAP_SHARED | MAP_POPULATE) of `bytes` of fd, checking its size first.
std::unique_ptr<Mapping> map_fd(int fd, std::uint64_t bytes, std::string_view what);
Ipv4 json_ip(const nlohmann::json& v, std::string_view what);
MacAddr json_mac(const nlohmann::json& v, std::string_view what);
std::uint64_t json_u64(const nlohmann::json& body, std::string_view key, std::string_view what);

}  // namespace norman::detail
