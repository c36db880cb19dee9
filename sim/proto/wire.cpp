#include "wire.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace norman::nsim::wire {

namespace {

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

// Waits until `sock` is readable or the timeout expires.
void wait_readable_or_throw(int sock, int timeout_ms) {
  if (!wait_readable(sock, timeout_ms)) {
    throw_errno(ETIMEDOUT, "nsim control: timed out waiting for the rest of a message");
  }
}

// Receives exactly len bytes (after the first recvmsg), collecting fds.
// Descriptors the kernel could not install (MSG_CTRUNC) only set fds_lost:
// the bytes are read all the same, so the stream stays in step.
void recv_exact(int sock, std::uint8_t* buf, std::size_t len, std::vector<UniqueFd>& fds, int timeout_ms,
                bool& got_any, bool& fds_lost) {
  std::size_t done = 0;
  while (done < len) {
    iovec iov{buf + done, len - done};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof(ctrl);
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_readable_or_throw(sock, timeout_ms);
        continue;
      }
      throw_errno(errno, "nsim control: recvmsg");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        std::size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < nfd; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          fds.emplace_back(fd);
        }
      }
    }
    if ((msg.msg_flags & MSG_CTRUNC) != 0) {
      fds_lost = true;
    }
    if (n == 0) {
      if (!got_any) {
        throw_errno(ECONNRESET, "nsim control: connection closed");  // EOF between messages
      }
      throw_errno(ECONNRESET, "nsim control: connection closed in the middle of a message");
    }
    got_any = true;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

bool wait_readable(int sock, int timeout_ms) {
  pollfd p{sock, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) {
      return true;
    }
    if (r == 0) {
      return false;
    }
    if (errno != EINTR) {
      throw_errno(errno, "nsim control: poll");
    }
  }
}

proto::MsgHeader make_header(proto::MsgType type, std::int32_t status, std::size_t size, std::uint32_t seq) {
  proto::MsgHeader h{};
  h.magic = proto::kMsgMagic;
  h.version = proto::kProtoVersion;
  h.type = static_cast<std::uint16_t>(type);
  h.status = status;
  h.size = static_cast<std::uint32_t>(size);
  h.seq = seq;
  return h;
}

proto::ErrorText make_error_text(const std::string& text) {
  proto::ErrorText e{};
  std::size_t n = std::min(text.size(), sizeof(e.text) - 1);
  std::memcpy(e.text, text.data(), n);
  e.text[n] = '\0';
  return e;
}

void send_message(int sock, const proto::MsgHeader& hdr, std::span<const std::uint8_t> payload,
                  std::span<const int> fds) {
  if (fds.size() > kMaxFds) {
    throw_errno(EINVAL, "nsim control: too many file descriptors");
  }
  std::vector<std::uint8_t> buf;
  buf.reserve(sizeof(hdr) + payload.size());
  const auto* h = reinterpret_cast<const std::uint8_t*>(&hdr);
  buf.insert(buf.end(), h, h + sizeof(hdr));
  buf.insert(buf.end(), payload.begin(), payload.end());
  std::size_t done = 0;
  bool fds_sent = fds.empty();
  while (done < buf.size()) {
    iovec iov{buf.data() + done, buf.size() - done};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds_sent) {
      msg.msg_control = ctrl;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{sock, POLLOUT, 0};
        if (::poll(&p, 1, 1000) <= 0) {
          throw_errno(ETIMEDOUT, "nsim control: send timed out");
        }
        continue;
      }
      throw_errno(errno, "nsim control: sendmsg");
    }
    fds_sent = true;
    done += static_cast<std::size_t>(n);
  }
}

bool recv_message(int sock, Message& out, int timeout_ms) {
  out.payload.clear();
  out.fds.clear();
  out.fds_lost = false;
  bool got_any = false;
  try {
    recv_exact(sock, reinterpret_cast<std::uint8_t*>(&out.hdr), sizeof(out.hdr), out.fds, timeout_ms, got_any,
               out.fds_lost);
  } catch (const std::system_error& e) {
    if (!got_any && e.code().value() == ECONNRESET) {
      return false;
    }
    throw;
  }
  if (out.hdr.magic != proto::kMsgMagic) {
    throw_errno(EPROTO, "nsim control: bad message magic (not an nsim peer?)");
  }
  if (out.hdr.version != proto::kProtoVersion) {
    throw_errno(EPROTONOSUPPORT, "nsim control: protocol version mismatch");
  }
  if (out.hdr.size > proto::kMaxPayload) {
    throw_errno(EMSGSIZE, "nsim control: message payload too large");
  }
  out.payload.resize(out.hdr.size);
  if (out.hdr.size > 0) {
    got_any = true;
    recv_exact(sock, out.payload.data(), out.payload.size(), out.fds, timeout_ms, got_any, out.fds_lost);
  }
  return true;
}

}  // namespace norman::nsim::wire
