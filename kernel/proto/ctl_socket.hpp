// Message framing for the normand control protocol (normand_proto.hpp):
// one JSON object per SOCK_SEQPACKET datagram, with SCM_RIGHTS descriptors.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "normand_proto.hpp"
#include "unique_fd.hpp"

namespace norman::ctl {

using UniqueFd = norman::nsim::UniqueFd;

// The sender's credentials the kernel attached to a message (receiver has
// SO_PASSCRED): pid, uid and gid as seen in the receiver's namespaces.
struct SenderCreds {
  int pid = 0;
  unsigned uid = 0;
  unsigned gid = 0;
};

struct Message {
  nlohmann::json body;
  std::vector<UniqueFd> fds;
  std::optional<SenderCreds> creds;  // SCM_CREDENTIALS, if any
};

// Sends one message with `fds` attached. Throws std::system_error.
void send_message(int sock, const nlohmann::json& body, std::span<const int> fds = {});

// Receives one message, waiting at most timeout_ms (-1: forever). Returns
// nullopt on orderly EOF. Throws std::system_error on errors, ETIMEDOUT, and
// EPROTO for a datagram that is not a JSON object or carries too many fds.
std::optional<Message> recv_message(int sock, int timeout_ms);

// A failure response for request `seq`: errno value, its symbolic name and
// a human-readable explanation.
nlohmann::json error_reply(std::uint64_t seq, int err, const std::string& message);
// A success response for request `seq` (add results to it).
nlohmann::json ok_reply(std::uint64_t seq);

// Symbolic errno name ("EADDRINUSE"), or the number as text.
std::string errno_name(int err);

// Throws std::system_error(errno, message) if `reply` reports a failure.
void throw_if_error(const nlohmann::json& reply, const std::string& what);

// Large payloads travel as JSON in a sealed memfd (SCM_RIGHTS): one
// datagram is limited to kMaxMessageBytes.
UniqueFd json_to_memfd(const nlohmann::json& j, const char* name);
// Reads and parses a payload memfd; throws std::system_error (EINVAL for
// bad JSON, EMSGSIZE above kMaxPayloadBytes).
nlohmann::json json_from_fd(int fd);

// The client side: connect(), then call() = send a request and wait for its
// response. Used by libnorman and the tools.
class Client {
 public:
  // Connects to normand's socket and proves the identity (auth, twice):
  // capabilities count only for a confirmed session. Throws
  // std::system_error (ENOENT or ECONNREFUSED with a hint that normand is
  // not running).
  static Client connect(const std::string& path = kDefaultSocketPath);
  // Only the connection, without auth (tests of the handshake itself).
  static Client connect_unconfirmed(const std::string& path = kDefaultSocketPath);
  // The handshake: auth {} -> nonce, auth {nonce} -> identity. Returns
  // normand's view of this process (the second reply).
  nlohmann::json confirm_identity();

  // Sends {"op": op, "seq": ..., args...}, waits for the response (at most
  // timeout_ms), throws std::system_error for a failure response.
  Message call(std::string_view op, nlohmann::json args = nlohmann::json::object(),
               int timeout_ms = 10000);
  // The same with descriptors attached to the request.
  Message call(std::string_view op, nlohmann::json args, std::span<const int> fds, int timeout_ms);

  [[nodiscard]] int fd() const { return sock_.get(); }

 private:
  explicit Client(UniqueFd s) : sock_(std::move(s)) {}
  UniqueFd sock_;
  std::uint64_t seq_ = 0;
};

}  // namespace norman::ctl
