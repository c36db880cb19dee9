// Linux's port and privilege rules as normand applies them, and port
// reservations through real kernel sockets on 127.0.0.1 (no root needed).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "errors.hpp"
#include "port_registry.hpp"

namespace norman::normand {
namespace {

ProcessInfo user(unsigned uid, std::uint64_t caps = 0) {
  ProcessInfo p;
  p.pid = 1234;
  p.uid = uid;
  p.gid = uid;
  p.comm = "app";
  p.cap_eff = caps;
  return p;
}

constexpr std::uint64_t kBindCap = 1ULL << kCapNetBindService;
constexpr std::uint64_t kRawCap = 1ULL << kCapNetRaw;
const Ipv4 kLoopback{127, 0, 0, 1};

TEST(PortRules, PrivilegedPorts) {
  EXPECT_EQ(bind_permission(user(1000), 80, 1024), EACCES);
  EXPECT_EQ(bind_permission(user(1000), 1023, 1024), EACCES);
  EXPECT_EQ(bind_permission(user(1000), 1024, 1024), 0);
  EXPECT_EQ(bind_permission(user(1000), 0, 1024), 0);  // ephemeral: never privileged
  EXPECT_EQ(bind_permission(user(0), 80, 1024), 0);
  EXPECT_EQ(bind_permission(user(1000, kBindCap), 80, 1024), 0);
  EXPECT_EQ(bind_permission(user(1000, kRawCap), 80, 1024), EACCES);  // the wrong capability
  // net.ipv4.ip_unprivileged_port_start moves the line.
  EXPECT_EQ(bind_permission(user(1000), 80, 0), 0);
  EXPECT_EQ(bind_permission(user(1000), 80, 81), EACCES);
  EXPECT_EQ(bind_permission(user(1000), 81, 81), 0);
}

TEST(PortRules, RawNeedsRootOrCapNetRaw) {
  EXPECT_EQ(raw_permission(user(1000)), EPERM);
  EXPECT_EQ(raw_permission(user(1000, kBindCap)), EPERM);
  EXPECT_EQ(raw_permission(user(1000, kRawCap)), 0);
  EXPECT_EQ(raw_permission(user(0)), 0);
}

TEST(PortRules, UnprivilegedPortStartSysctl) {
  char path[] = "/tmp/normand-sysctl-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "512\n";
  EXPECT_EQ(read_unprivileged_port_start(path), 512U);
  std::ofstream(path) << "garbage\n";
  EXPECT_EQ(read_unprivileged_port_start(path), 1024U);
  ::unlink(path);
  EXPECT_EQ(read_unprivileged_port_start(path), 1024U);  // missing: Linux's default
}

// A kernel UDP socket bound to ip:port, or the errno.
int kernel_bind(const Ipv4& ip, std::uint16_t port, int* out_fd) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  std::memcpy(&sin.sin_addr, ip.data(), 4);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  *out_fd = fd;
  return 0;
}

int reserve_errno(PortRegistry& reg, const ProcessInfo& who, std::uint16_t port,
                  std::string* msg = nullptr, std::optional<Endpoint> remote = std::nullopt) {
  try {
    auto r = reg.reserve(who, port, remote, "test");
    return 0;
  } catch (const CtlError& e) {
    if (msg != nullptr) *msg = e.what();
    return e.err();
  }
}

TEST(PortRegistry, EphemeralPortAndConflicts) {
  PortRegistry reg(kLoopback);
  auto a = reg.reserve(user(1000), 0, std::nullopt, "conn 7 of pid 1 (a) uid 1000");
  ASSERT_TRUE(a.held());
  const std::uint16_t port = a.port();
  EXPECT_NE(port, 0);
  EXPECT_EQ(reg.holder(port), "conn 7 of pid 1 (a) uid 1000");
  EXPECT_EQ(reg.size(), 1U);

  // Another bypass connection: the kernel refuses, normand names the holder.
  std::string msg;
  EXPECT_EQ(reserve_errno(reg, user(1000), port, &msg), EADDRINUSE);
  EXPECT_NE(msg.find("conn 7 of pid 1"), std::string::npos) << msg;
  // Another user learns only that the port is in use, not who holds it;
  // root is told.
  EXPECT_EQ(reserve_errno(reg, user(1001), port, &msg), EADDRINUSE);
  EXPECT_EQ(msg.find("conn 7"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("pid"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("uid"), std::string::npos) << msg;
  EXPECT_EQ(reserve_errno(reg, user(0), port, &msg), EADDRINUSE);
  EXPECT_NE(msg.find("conn 7 of pid 1"), std::string::npos) << msg;
  // A connected socket on the same local port: also EADDRINUSE (no SO_REUSEADDR).
  EXPECT_EQ(reserve_errno(reg, user(1000), port, nullptr, Endpoint{kLoopback, 9}), EADDRINUSE);
  // A kernel application too: one port space.
  int fd = -1;
  EXPECT_EQ(kernel_bind(kLoopback, port, &fd), EADDRINUSE);
  EXPECT_EQ(kernel_bind(Ipv4{}, port, &fd), EADDRINUSE);

  a.release();
  EXPECT_FALSE(reg.holder(port).has_value());
  EXPECT_EQ(reg.size(), 0U);
  ASSERT_EQ(kernel_bind(kLoopback, port, &fd), 0) << "the port must be free after release";
  // Now the kernel holds it: the bypass side is refused, and told by whom.
  EXPECT_EQ(reserve_errno(reg, user(1000), port, &msg), EADDRINUSE);
  EXPECT_NE(msg.find("host kernel"), std::string::npos) << msg;
  ::close(fd);
  EXPECT_EQ(reserve_errno(reg, user(1000), port), 0);
}

TEST(PortRegistry, PrivilegedPortRefusedBeforeBinding) {
  char path[] = "/tmp/normand-sysctl-XXXXXX";
  const int tfd = ::mkstemp(path);
  ASSERT_GE(tfd, 0);
  ::close(tfd);
  std::ofstream(path) << "1024\n";
  PortRegistry reg(kLoopback, path);
  std::string msg;
  EXPECT_EQ(reserve_errno(reg, user(1000), 80, &msg), EACCES);
  EXPECT_NE(msg.find("CAP_NET_BIND_SERVICE"), std::string::npos) << msg;
  EXPECT_EQ(reg.size(), 0U);
  ::unlink(path);
}

TEST(PortRegistry, ConnectedReservationAndMoves) {
  PortRegistry reg(kLoopback);
  PortReservation r = reg.reserve(user(1000), 0, Endpoint{kLoopback, 9}, "x");
  const std::uint16_t port = r.port();
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  ASSERT_EQ(::getpeername(r.fd(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
  EXPECT_EQ(ntohs(peer.sin_port), 9);
  // Moving keeps the port held; destroying the last owner frees it.
  PortReservation moved = std::move(r);
  EXPECT_FALSE(r.held());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(reg.holder(port), "x");
  { PortReservation gone = std::move(moved); }
  EXPECT_FALSE(reg.holder(port).has_value());
  int fd = -1;
  EXPECT_EQ(kernel_bind(kLoopback, port, &fd), 0);
  ::close(fd);
}

}  // namespace
}  // namespace norman::normand
