#include "port_registry.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "errors.hpp"

namespace norman::normand {

namespace {

sockaddr_in to_sockaddr(const Ipv4& ip, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  std::memcpy(&sin.sin_addr, ip.data(), 4);
  return sin;
}

std::string endpoint_text(const Ipv4& ip, std::uint16_t port) {
  return to_string(ip) + ":" + std::to_string(port);
}

}  // namespace

unsigned read_unprivileged_port_start(const std::string& path) {
  std::ifstream f(path);
  long v = -1;
  if (f >> v && v >= 0 && v <= 65536) return static_cast<unsigned>(v);
  return 1024;
}

int bind_permission(const ProcessInfo& who, std::uint16_t port, unsigned unpriv_start) {
  if (port == 0 || port >= unpriv_start) return 0;
  if (who.is_root() || who.has_cap(kCapNetBindService)) return 0;
  return EACCES;
}

int raw_permission(const ProcessInfo& who) {
  return who.is_root() || who.has_cap(kCapNetRaw) ? 0 : EPERM;
}

PortReservation::PortReservation(PortReservation&& o) noexcept
    : reg_(std::exchange(o.reg_, nullptr)),
      fd_(std::move(o.fd_)),
      port_(std::exchange(o.port_, 0)) {}

PortReservation& PortReservation::operator=(PortReservation&& o) noexcept {
  if (this != &o) {
    release();
    reg_ = std::exchange(o.reg_, nullptr);
    fd_ = std::move(o.fd_);
    port_ = std::exchange(o.port_, 0);
  }
  return *this;
}

void PortReservation::release() {
  if (reg_ != nullptr && fd_.valid()) reg_->forget(port_);
  fd_.reset();
  reg_ = nullptr;
  port_ = 0;
}

std::optional<std::string> PortRegistry::holder(std::uint16_t port) const {
  if (auto it = holders_.find(port); it != holders_.end()) return it->second.desc;
  return std::nullopt;
}

PortReservation PortRegistry::reserve(const ProcessInfo& who, std::uint16_t local_port,
                                      const std::optional<Endpoint>& remote,
                                      const std::string& holder_desc) {
  const unsigned unpriv = read_unprivileged_port_start(sysctl_path_);
  if (bind_permission(who, local_port, unpriv) != 0) {
    throw CtlError(
        EACCES, "binding port " + std::to_string(local_port) + " (below " + std::to_string(unpriv) +
                    ") needs root or CAP_NET_BIND_SERVICE, and " + who.describe() + " has neither");
  }
  nsim::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw CtlError(errno, std::string("reservation socket: ") + std::strerror(errno));
  // Never read: keep what the kernel may queue on it (strays that reach nic0
  // for this port) small; the kernel drops and counts the rest.
  const int small = 1;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const sockaddr_in local = to_sockaddr(local_ip_, local_port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    const int err = errno;
    std::string msg = "cannot bind " + endpoint_text(local_ip_, local_port) + ": ";
    if (err == EADDRINUSE) {
      const auto it = holders_.find(local_port);
      if (it == holders_.end()) {
        msg += "already in use by a socket of the host kernel";
      } else if (who.is_root() || it->second.uid == who.uid) {
        msg += "already in use by " + it->second.desc;
      } else {
        msg += "already in use";  // another user's: not who holds it
      }
    } else {
      msg += std::strerror(err);
    }
    throw CtlError(err, msg);
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    throw CtlError(errno, std::string("reservation socket: getsockname: ") + std::strerror(errno));
  }
  const std::uint16_t port = ntohs(bound.sin_port);
  if (remote) {
    const sockaddr_in peer = to_sockaddr(remote->ip, remote->port);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0) {
      const int err = errno;
      throw CtlError(err, "cannot connect " + endpoint_text(local_ip_, port) + " to " +
                              endpoint_text(remote->ip, remote->port) + ": " + std::strerror(err));
    }
  }
  PortReservation r;
  r.reg_ = this;
  r.fd_ = std::move(fd);
  r.port_ = port;
  holders_[port] = Holder{who.uid, holder_desc};
  return r;
}

}  // namespace norman::normand
