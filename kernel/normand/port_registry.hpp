// Port ownership for bypass UDP connections, with Linux's own rules: each
// bypass connection holds a real kernel UDP socket bound to (nic0 address,
// port), its "reservation". Conflicts with kernel applications and with
// other bypass connections therefore come from the kernel itself (one
// namespace of ports), port 0 gets a kernel-chosen ephemeral port, and a
// connected reservation makes the kernel answer strays like Linux would.
// The privilege rules (privileged ports, raw access) are checked here too,
// against the process view, because normand itself is root.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "net_types.hpp"
#include "process_info.hpp"
#include "unique_fd.hpp"

namespace norman::normand {

inline constexpr const char* kUnprivPortSysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start";

// Ports below net.ipv4.ip_unprivileged_port_start need privilege; 1024 if
// the sysctl cannot be read.
unsigned read_unprivileged_port_start(const std::string& path = kUnprivPortSysctl);

// 0 if `who` may bind `port`, else EACCES: a port below unpriv_start (and
// not 0) needs uid 0 or CAP_NET_BIND_SERVICE.
int bind_permission(const ProcessInfo& who, std::uint16_t port, unsigned unpriv_start);
// 0 if `who` may open a raw connection (TX headers unchecked), else EPERM:
// needs uid 0 or CAP_NET_RAW.
int raw_permission(const ProcessInfo& who);

class PortRegistry;

// A held port. Move-only; destruction closes the socket and frees the port.
class PortReservation {
 public:
  PortReservation() = default;
  PortReservation(PortReservation&& o) noexcept;
  PortReservation& operator=(PortReservation&& o) noexcept;
  ~PortReservation() { release(); }
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;

  void release();
  [[nodiscard]] bool held() const { return fd_.valid(); }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  friend class PortRegistry;
  PortRegistry* reg_ = nullptr;
  nsim::UniqueFd fd_;
  std::uint16_t port_ = 0;
};

struct Endpoint {
  Ipv4 ip{};
  std::uint16_t port = 0;
};

class PortRegistry {
 public:
  // `local_ip`: nic0's address, the only one bypass connections may use.
  explicit PortRegistry(Ipv4 local_ip, std::string sysctl_path = kUnprivPortSysctl)
      : local_ip_(local_ip), sysctl_path_(std::move(sysctl_path)) {}
  PortRegistry(const PortRegistry&) = delete;
  PortRegistry& operator=(const PortRegistry&) = delete;

  [[nodiscard]] const Ipv4& local_ip() const { return local_ip_; }

  // Checks `who` may bind local_port (EACCES), binds a UDP socket to
  // (local_ip, local_port) and, if `remote` is given, connects it. `holder`
  // describes the new owner for later conflict messages. EADDRINUSE names
  // the holder only to root and to the holder's own uid: as Linux, which
  // answers EADDRINUSE and nothing more, normand does not tell one user
  // another's pid, command or uid (root sees them in normanctl status).
  // Throws CtlError.
  PortReservation reserve(const ProcessInfo& who, std::uint16_t local_port,
                          const std::optional<Endpoint>& remote, const std::string& holder);

  // Who holds `port` through normand, if anyone.
  [[nodiscard]] std::optional<std::string> holder(std::uint16_t port) const;
  [[nodiscard]] std::size_t size() const { return holders_.size(); }

 private:
  friend class PortReservation;
  void forget(std::uint16_t port) { holders_.erase(port); }

  Ipv4 local_ip_;
  std::string sysctl_path_;
  struct Holder {
    uid_t uid;
    std::string desc;
  };
  std::map<std::uint16_t, Holder> holders_;
};

}  // namespace norman::normand
