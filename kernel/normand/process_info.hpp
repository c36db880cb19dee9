// Who a client is, as the kernel says: pid/uid/gid from the socket's peer
// credentials (SO_PEERCRED), command name, cgroup and effective capabilities
// from /proc/PID. Nothing a client claims about itself is ever used.
// Capabilities count only when held in the initial user namespace (as the
// kernel's ns_capable(&init_user_ns, ...)): CapEff of a process in another
// user namespace (unshare -Ur) says what it may do there, not here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace norman::normand {

// Capability numbers (linux/capability.h).
inline constexpr unsigned kCapNetBindService = 10;
inline constexpr unsigned kCapNetAdmin = 12;
inline constexpr unsigned kCapNetRaw = 13;

struct ProcessInfo {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string comm;           // /proc/PID/comm, printable ("" if the process is gone)
  std::string cgroup;         // cgroup path ("/user.slice/..."), printable, "" if unknown
  std::uint64_t cap_eff = 0;  // CapEff bit set (0 if unknown: no privilege)
  bool initial_userns = false;  // /proc/PID/ns/user is normand's (the initial one)

  [[nodiscard]] bool has_cap(unsigned cap) const {
    return cap < 64 && ((cap_eff >> cap) & 1U) != 0;
  }
  [[nodiscard]] bool is_root() const { return uid == 0; }
  // "pid 123 (comm) uid 1000" for logs and messages.
  [[nodiscard]] std::string describe() const;
};

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// SO_PEERCRED of a connected UNIX socket; nullopt if the kernel has none.
std::optional<PeerCred> peer_credentials(int fd);

// Reads comm, cgroup and CapEff of `cred.pid` under proc_root (normally
// "/proc"; tests pass a fake tree). Missing files leave the fields empty/0.
// CapEff is taken only if PID's user namespace is the initial one, the one
// normand runs in (the same file, st_dev and st_ino, as
// proc_root/self/ns/user); otherwise, or if that cannot be told, the
// capability set is empty.
// If /proc/PID/status names another effective uid than the credentials (the
// client exited and its pid was reused), nothing of that process is taken:
// comm and cgroup stay empty and the capability set is empty.
ProcessInfo read_process_info(const PeerCred& cred, const std::string& proc_root = "/proc");

// Parsers, on file contents:
// /proc/PID/comm -> the name without its newline, made printable.
std::string parse_comm(std::string_view text);
// /proc/PID/cgroup -> the path of the cgroup v2 line ("0::/path"); without
// one (pure v1), the path of the first line; "" for empty or garbled text.
std::string parse_cgroup(std::string_view text);
// /proc/PID/status -> the CapEff value; nullopt if absent or malformed.
std::optional<std::uint64_t> parse_cap_eff(std::string_view text);
// /proc/PID/status -> the effective uid (second field of "Uid:").
std::optional<std::uint32_t> parse_status_euid(std::string_view text);
// "CAP_NET_RAW" etc. for the capabilities normand checks, others as "cap_N".
std::vector<std::string> cap_names(std::uint64_t caps);
// Bytes outside printable ASCII become "\xNN" (names may hold anything;
// JSON and logs need text).
std::string printable(std::string_view s);

}  // namespace norman::normand
