// Framing of control messages on the UNIX stream socket, with SCM_RIGHTS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nsim_proto.hpp"
#include "unique_fd.hpp"

namespace norman::nsim::wire {

inline constexpr std::size_t kMaxFds = 4;

struct Message {
  proto::MsgHeader hdr{};
  std::vector<std::uint8_t> payload;
  std::vector<UniqueFd> fds;
  // The sender attached descriptors this process could not accept (it is at
  // RLIMIT_NOFILE, or more than kMaxFds came): `fds` holds only those that
  // arrived. The message itself was read whole; the stream is in step.
  bool fds_lost = false;
};

// Sends header + payload in one sendmsg() with `fds` attached. Throws
// std::system_error on failure.
void send_message(int sock, const proto::MsgHeader& hdr, std::span<const std::uint8_t> payload,
                  std::span<const int> fds = {});

// Receives one whole message. Returns false on orderly EOF before any byte.
// Throws std::system_error on errors, on a bad header (EPROTO) or when the
// rest of a started message does not arrive within timeout_ms (ETIMEDOUT);
// after a throw the stream's framing is lost (the caller must drop the
// connection). Lost descriptors do not throw (see fds_lost).
bool recv_message(int sock, Message& out, int timeout_ms);

// Waits up to timeout_ms for `sock` to become readable; false on timeout.
bool wait_readable(int sock, int timeout_ms);

// Builds a header for `type` with the given status, payload size and seq.
proto::MsgHeader make_header(proto::MsgType type, std::int32_t status, std::size_t size,
                             std::uint32_t seq = 0);

// An error response payload with `text` (truncated to fit).
proto::ErrorText make_error_text(const std::string& text);

template <typename T>
std::span<const std::uint8_t> as_bytes(const T& v) {
  return {reinterpret_cast<const std::uint8_t*>(&v), sizeof(T)};
}

}  // namespace norman::nsim::wire
