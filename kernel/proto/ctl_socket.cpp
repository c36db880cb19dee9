#include "ctl_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace norman::ctl {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// JSON carries only UTF-8 text; nlohmann::json throws a type_error for
// anything else. A caller's bad string is a refused request (EINVAL), never
// an exception from the JSON library or a silently altered value.
std::string dump_utf8(const nlohmann::json& j, const char* what) {
  try {
    return j.dump();
  } catch (const nlohmann::json::type_error&) {
    throw_errno(EINVAL, std::string(what) + ": a string in it is not valid UTF-8");
  }
}

}  // namespace

void send_message(int sock, const nlohmann::json& body, std::span<const int> fds) {
  if (fds.size() > kMaxFds)
    throw_errno(EINVAL, "normand control: too many descriptors in one message");
  const std::string text = dump_utf8(body, "normand control: message");
  if (text.size() > kMaxMessageBytes) throw_errno(EMSGSIZE, "normand control: message too large");
  iovec iov{const_cast<char*>(text.data()), text.size()};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = ctrl;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{sock, POLLOUT, 0};
      if (::poll(&p, 1, 10000) <= 0) throw_errno(ETIMEDOUT, "normand control: peer does not read");
      continue;
    }
    throw_errno(errno, "normand control: sendmsg");
  }
}

std::optional<Message> recv_message(int sock, int timeout_ms) {
  std::string buf(kMaxMessageBytes, '\0');
  // Room for the descriptors and for the sender's credentials (SO_PASSCRED
  // makes the kernel attach them to every message).
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds) + CMSG_SPACE(sizeof(ucred))];
  for (;;) {
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) throw_errno(ETIMEDOUT, "normand control: no response in time");
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "normand control: poll");
    }
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof(ctrl);
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ECONNRESET) return std::nullopt;
      throw_errno(errno, "normand control: recvmsg");
    }
    Message m;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        const std::size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < nfd; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          m.fds.emplace_back(fd);
        }
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                 c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
        ucred u{};
        std::memcpy(&u, CMSG_DATA(c), sizeof u);
        m.creds = SenderCreds{u.pid, u.uid, u.gid};
      }
    }
    if (n == 0 && m.fds.empty()) return std::nullopt;  // SEQPACKET: EOF
    if ((msg.msg_flags & MSG_CTRUNC) != 0)
      throw_errno(EPROTO, "normand control: too many descriptors in one message");
    if ((msg.msg_flags & MSG_TRUNC) != 0)
      throw_errno(EMSGSIZE, "normand control: message too large");
    m.body =
        nlohmann::json::parse(buf.begin(), buf.begin() + n, nullptr, /*allow_exceptions=*/false);
    if (!m.body.is_object()) throw_errno(EPROTO, "normand control: message is not a JSON object");
    return m;
  }
}

nlohmann::json error_reply(std::uint64_t seq, int err, const std::string& message) {
  return {{"seq", seq},
          {"ok", false},
          {"errno", err},
          {"error", errno_name(err)},
          {"message", message}};
}

nlohmann::json ok_reply(std::uint64_t seq) { return {{"seq", seq}, {"ok", true}}; }

std::string errno_name(int err) {
  const char* n = ::strerrorname_np(err);
  return n != nullptr ? n : std::to_string(err);
}

void throw_if_error(const nlohmann::json& reply, const std::string& what) {
  if (reply.value("ok", false)) return;
  const int err = reply.value("errno", EPROTO);
  throw_errno(err == 0 ? EPROTO : err,
              what + ": " + reply.value("message", std::string("refused by normand")));
}

Client Client::connect(const std::string& path) {
  Client c = connect_unconfirmed(path);
  c.confirm_identity();
  return c;
}

nlohmann::json Client::confirm_identity() {
  // The nonce did not exist before normand read who we are; answering it
  // from this process proves the read saw this very program.
  const Message first = call(op::kAuth);
  const auto nonce = first.body.find("nonce");
  if (nonce == first.body.end() || !nonce->is_string())
    throw_errno(EPROTO, "auth: normand sent no nonce");
  return call(op::kAuth, {{"nonce", *nonce}}).body;
}

Client Client::connect_unconfirmed(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) throw_errno(errno, "normand control: socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    throw_errno(ENAMETOOLONG, "normand control: socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    throw_errno(err, "cannot reach normand at " + path +
                         (err == ENOENT || err == ECONNREFUSED ? " (is normand running?)" : ""));
  }
  return Client(std::move(s));
}

Message Client::call(std::string_view op, nlohmann::json args, int timeout_ms) {
  return call(op, std::move(args), {}, timeout_ms);
}

Message Client::call(std::string_view op, nlohmann::json args, std::span<const int> fds,
                     int timeout_ms) {
  args["op"] = op;
  args["seq"] = ++seq_;
  send_message(sock_.get(), args, fds);
  auto m = recv_message(sock_.get(), timeout_ms);
  if (!m) throw_errno(ECONNRESET, "normand closed the control connection");
  // seq 0: normand refused the connection or the datagram itself (quota,
  // out of descriptors, unparsable): its errno is the answer.
  const auto rseq = m->body.value("seq", std::uint64_t{0});
  if (rseq != seq_ && !(rseq == 0 && !m->body.value("ok", false)))
    throw_errno(EPROTO, "normand control: response out of order");
  throw_if_error(m->body, std::string(op));
  return std::move(*m);
}

UniqueFd json_to_memfd(const nlohmann::json& j, const char* name) {
  const std::string text = dump_utf8(j, "payload");
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) throw_errno(errno, "memfd_create");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "write payload");
    }
    done += static_cast<std::size_t>(n);
  }
  // Sealed: the receiver reads exactly what was sent, whatever the sender does later.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    throw_errno(errno, "seal payload");
  }
  return fd;
}

nlohmann::json json_from_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, "payload");
  if (!S_ISREG(st.st_mode)) throw_errno(EINVAL, "payload: not a memfd or file");
  // Only a memfd sealed against every change: its content is what was sent,
  // and reading it never waits (a file on FUSE or NFS could block normand).
  constexpr int kNeeded = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & kNeeded) != kNeeded)
    throw_errno(EINVAL, "payload: not a memfd sealed against writes (F_SEAL_WRITE|SHRINK|GROW)");
  if (static_cast<std::uint64_t>(st.st_size) > kMaxPayloadBytes)
    throw_errno(EMSGSIZE, "payload too large");
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "read payload");
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw_errno(EINVAL, "payload is not JSON");
  return j;
}

}  // namespace norman::ctl
