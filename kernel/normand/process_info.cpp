#include "process_info.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace norman::normand {

namespace {

constexpr std::size_t kMaxProcFile = 64 * 1024;

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::string s;
  s.resize(kMaxProcFile);
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(f.gcount()));
  return s;
}

std::string_view strip_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "hierarchy-ID:controller-list:cgroup-path" -> path; nullopt if not that shape.
std::optional<std::string_view> cgroup_line_path(std::string_view line) {
  const auto c1 = line.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  const auto c2 = line.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return std::nullopt;
  return line.substr(c2 + 1);
}

// Do both paths name the same file (namespace links: the same namespace)?
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

std::vector<std::string> cap_names(std::uint64_t caps) {
  std::vector<std::string> out;
  for (unsigned i = 0; i < 64; ++i) {
    if (((caps >> i) & 1U) == 0) continue;
    switch (i) {
      case kCapNetBindService:
        out.emplace_back("CAP_NET_BIND_SERVICE");
        break;
      case kCapNetAdmin:
        out.emplace_back("CAP_NET_ADMIN");
        break;
      case kCapNetRaw:
        out.emplace_back("CAP_NET_RAW");
        break;
      default:
        out.push_back("cap_" + std::to_string(i));
    }
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string ProcessInfo::describe() const {
  return "pid " + std::to_string(pid) + " (" + (comm.empty() ? "?" : comm) + ") uid " +
         std::to_string(uid);
}

std::optional<PeerCred> peer_credentials(int fd) {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0 || len != sizeof c) {
    return std::nullopt;
  }
  if (c.pid <= 0) return std::nullopt;  // e.g. a peer from another pid namespace
  return PeerCred{c.pid, c.uid, c.gid};
}

std::string parse_comm(std::string_view text) { return printable(strip_newline(text)); }

std::string parse_cgroup(std::string_view text) {
  std::optional<std::string_view> first;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    const auto path = cgroup_line_path(line);
    if (!path) continue;
    if (line.starts_with("0::")) return printable(strip_newline(*path));
    if (!first) first = path;
  }
  return first ? printable(strip_newline(*first)) : std::string{};
}

std::optional<std::uint64_t> parse_cap_eff(std::string_view text) {
  constexpr std::string_view kKey = "CapEff:";
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.starts_with(kKey)) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    line = strip_newline(line);
    if (line.empty() || line.size() > 16) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : line) {
      unsigned d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
      v = (v << 4) | d;
    }
    return v;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> parse_status_euid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.starts_with("Uid:")) continue;
    unsigned long real = 0, eff = 0;
    const std::string l(line);
    if (std::sscanf(l.c_str(), "Uid: %lu %lu", &real, &eff) != 2 || eff > 0xFFFFFFFFUL) {
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(eff);
  }
  return std::nullopt;
}

ProcessInfo read_process_info(const PeerCred& cred, const std::string& proc_root) {
  ProcessInfo p;
  p.pid = cred.pid;
  p.uid = cred.uid;
  p.gid = cred.gid;
  const std::string dir = proc_root + "/" + std::to_string(cred.pid);
  // status first and last: the process it describes must be the one that
  // connected (same effective uid) before and after comm and cgroup are read.
  const auto status = read_small_file(dir + "/status");
  if (!status || parse_status_euid(*status) != cred.uid) return p;
  const auto comm = read_small_file(dir + "/comm");
  const auto cgroup = read_small_file(dir + "/cgroup");
  // A user namespace cannot be left for its parent: if PID is in the
  // initial one now, it was at the first read too. normand runs in the
  // initial user namespace, so its own is the reference (/proc/1/ns may be
  // closed to it, e.g. under an LSM).
  const bool initial = same_file(dir + "/ns/user", proc_root + "/self/ns/user");
  const auto again = read_small_file(dir + "/status");
  if (!again || parse_status_euid(*again) != cred.uid) return p;
  if (comm) p.comm = parse_comm(*comm);
  if (cgroup) p.cgroup = parse_cgroup(*cgroup);
  p.initial_userns = initial;
  if (initial) p.cap_eff = parse_cap_eff(*status).value_or(0) & parse_cap_eff(*again).value_or(0);
  return p;
}

}  // namespace norman::normand
