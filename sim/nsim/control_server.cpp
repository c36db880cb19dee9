#include "control_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace norman::nsim {

namespace {

constexpr std::size_t kMaxClients = 64;
constexpr int kMessageTimeoutMs = 200;  // for the rest of a started message

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

sockaddr_un make_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) {
    throw_errno(ENAMETOOLONG, "nsim: socket path too long: " + path);
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

}  // namespace

ControlServer::ControlServer(std::string path, NsimService& service) : path_(std::move(path)), service_(service) {
  sockaddr_un addr = make_addr(path_);
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw std::system_error(ec, "nsim: cannot create socket directory " + parent.string());
    }
  }
  // Another nsim listening there? Then refuse; a stale file is removed.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw_errno(EEXIST, "nsim: " + path_ + " exists and is not a socket");
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      throw_errno(EADDRINUSE, "nsim: another nsim is already serving " + path_);
    }
    ::unlink(path_.c_str());
  }
  listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_) {
    throw_errno(errno, "nsim: socket");
  }
  // Bind with a restrictive umask so the socket is never briefly world-accessible.
  mode_t old = ::umask(0177);
  int rc = ::bind(listen_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::umask(old);
  if (rc != 0) {
    throw_errno(err, "nsim: bind " + path_);
  }
  if (::chmod(path_.c_str(), 0600) != 0) {
    err = errno;
    ::unlink(path_.c_str());
    throw_errno(err, "nsim: chmod 0600 " + path_);
  }
  if (::listen(listen_.get(), 16) != 0) {
    err = errno;
    ::unlink(path_.c_str());
    throw_errno(err, "nsim: listen " + path_);
  }
}

ControlServer::~ControlServer() {
  clients_.clear();
  if (listen_) {
    ::unlink(path_.c_str());
  }
}

bool ControlServer::poll(long timeout_us) {
  std::vector<pollfd> fds;
  fds.reserve(clients_.size() + 1);
  fds.push_back(pollfd{listen_.get(), POLLIN, 0});
  for (const Client& c : clients_) {
    fds.push_back(pollfd{c.fd.get(), POLLIN, 0});
  }
  timespec ts{timeout_us / 1000000, (timeout_us % 1000000) * 1000};
  int n = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
  if (n <= 0) {
    return false;
  }
  bool did = false;
  // Clients first (indices are stable until we erase below).
  std::vector<std::size_t> drop;
  for (std::size_t i = 1; i < fds.size(); ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      bool d = false;
      handle_client(i - 1, d);
      if (d) {
        drop.push_back(i - 1);
      }
      did = true;
    }
  }
  for (auto it = drop.rbegin(); it != drop.rend(); ++it) {
    service_.client_closed(clients_[*it].id);
    clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  if ((fds[0].revents & POLLIN) != 0) {
    for (;;) {
      UniqueFd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!c) {
        break;
      }
      if (clients_.size() >= kMaxClients) {
        continue;  // closed at once: the peer sees EOF
      }
      clients_.push_back(Client{std::move(c), next_client_++});
      did = true;
    }
  }
  return did;
}

void ControlServer::handle_client(std::size_t idx, bool& drop) {
  int sock = clients_[idx].fd.get();
  wire::Message req;
  try {
    if (!wire::recv_message(sock, req, kMessageTimeoutMs)) {
      drop = true;
      return;
    }
  } catch (const std::system_error& e) {
    // Bad framing: tell the peer why if we can, then drop it.
    try {
      proto::ErrorText t = wire::make_error_text(e.what());
      wire::send_message(sock,
                         wire::make_header(static_cast<proto::MsgType>(req.hdr.type), e.code().value(), sizeof(t),
                                           req.hdr.seq),
                         wire::as_bytes(t));
    } catch (const std::system_error&) {
    }
    drop = true;
    return;
  }
  // A request whose descriptors nsim could not accept (out of fds) is
  // refused as a whole: acting on it without them would be wrong.
  Reply rep;
  if (req.fds_lost) {
    req.fds.clear();
    proto::ErrorText t = wire::make_error_text(
        std::string(proto::msg_type_name(static_cast<proto::MsgType>(req.hdr.type))) +
        ": nsim could not accept the request's file descriptors (out of descriptors?)");
    rep.hdr = wire::make_header(static_cast<proto::MsgType>(req.hdr.type), EMFILE, sizeof(t));
    rep.payload.assign(wire::as_bytes(t).begin(), wire::as_bytes(t).end());
  } else {
    rep = service_.handle(req, clients_[idx].id);
  }
  rep.hdr.seq = req.hdr.seq;  // the client matches responses to requests by it
  try {
    int fd = rep.fd.get();
    wire::send_message(sock, rep.hdr, rep.payload,
                       rep.fd ? std::span<const int>(&fd, 1) : std::span<const int>());
  } catch (const std::system_error&) {
    drop = true;
  }
}

}  // namespace norman::nsim
