// One client of normand: a control connection (SOCK_SEQPACKET), the process
// behind it (peer credentials, which the kernel took at connect; /proc read
// in the auth handshake, or at hello without capabilities) and its request
// loop. Requests are served one at a time and answered in order;
// a request that waits (neigh) pauses only this session. A malformed
// request gets an error reply and the session goes on; EOF (the client
// exited or crashed) reclaims everything the client held.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "capture_service.hpp"
#include "conn_manager.hpp"
#include "ctl_socket.hpp"
#include "device.hpp"
#include "fallback_bridge.hpp"
#include "filter_service.hpp"
#include "neighbor_table.hpp"
#include "owner_registry.hpp"
#include "quota.hpp"
#include "seq_packet.hpp"
#include "sets_service.hpp"

namespace norman::normand {

// What sessions share: the daemon's parts (owned by the Server).
struct DaemonContext {
  device::Device& dev;
  ConnManager& conns;
  OwnerRegistry& owners;
  NeighborTable& neigh;
  const FallbackBridge& fallback;
  NicInfo nic;
  std::string proc_root = "/proc";
  std::chrono::milliseconds neigh_timeout{3000};
  std::function<std::size_t()> num_clients;
  // nfw's filter table; null when the NIC has no filter overlay.
  FilterService* filter = nullptr;
  // ndump's capture sessions (cap_* ops); null in tests without it.
  CaptureService* capture = nullptr;
  // Called once when a session has ended (after its resources are reclaimed).
  std::function<void(std::uint64_t id)> on_closed;
  // Quota accounting (usage and limits in status); null in tests without it.
  const quota::Ledger* quota = nullptr;
  // nipset's sets; null in tests without them.
  SetsService* sets = nullptr;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // Reads the peer's identity; `sock` is a freshly accepted connection.
  Session(DaemonContext& ctx, SeqPacketProtocol::socket sock, std::uint64_t id);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // False if the peer has no usable credentials (the caller drops it).
  [[nodiscard]] bool identified() const { return identified_; }
  void start();
  // Reclaims the client's resources and closes the connection (idempotent).
  void stop(const std::string& reason);

  [[nodiscard]] std::uint64_t id() const { return who_.id; }
  [[nodiscard]] const ClientIdentity& identity() const { return who_; }

 private:
  struct Outgoing {
    std::string text;
    std::vector<nsim::UniqueFd> fds;
  };

  void read_next();
  void on_readable();
  void handle(const nlohmann::json& req, std::vector<nsim::UniqueFd> fds);
  void dispatch(std::uint64_t seq, const std::string& op, const nlohmann::json& req,
                std::vector<nsim::UniqueFd>& fds);
  void send_ok(std::uint64_t seq, Grant g);
  void send_error(std::uint64_t seq, int err, const std::string& message);
  void send(const nlohmann::json& body, std::vector<nsim::UniqueFd> fds);
  // Sends out_ without blocking normand; then reads the next request.
  void flush();
  [[nodiscard]] bool peer_hung_up();

  Grant do_auth(const nlohmann::json& req);
  Grant do_hello(const nlohmann::json& req);
  void do_neigh(std::uint64_t seq, const nlohmann::json& req);
  Grant do_status(const nlohmann::json& req);
  Grant do_filter(const std::string& op, const nlohmann::json& req,
                  std::vector<nsim::UniqueFd>& fds);
  Grant do_capture(const std::string& op, const nlohmann::json& req);
  Grant do_sets(const nlohmann::json& req, std::vector<nsim::UniqueFd>& fds);

  DaemonContext& ctx_;
  SeqPacketProtocol::socket sock_;
  ClientIdentity who_;
  bool identified_ = false;
  bool hello_ = false;
  bool closed_ = false;
  // The identity handshake (auth): what /proc said when the nonce was made,
  // and the nonce; confirmed_ once the connecting process answered it. Only
  // a confirmed session has capabilities.
  std::optional<ProcessInfo> pending_;
  std::string nonce_;
  bool confirmed_ = false;
  std::optional<ctl::SenderCreds> creds_;  // of the request being handled
  Outgoing out_;
};

}  // namespace norman::normand
