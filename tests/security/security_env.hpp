// What every attack test shares: the real nsim + normand (SystemEnv, started
// once per test executable), running code as an unprivileged user (uid
// 60001, no groups, no capabilities), optionally inside a fresh user
// namespace where it is "root" (as `unshare -Ur`), and checks that the
// daemons survived. Root only: main() exits 77 (skipped) otherwise.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "ctl_socket.hpp"
#include "system_env.hpp"

namespace norman::security_test {

using nlohmann::json;
using namespace std::chrono_literals;
using system_test::SystemEnv;

inline constexpr unsigned kNobody = 60001;

// The daemons every test of one executable attacks.
inline SystemEnv*& env_ptr() {
  static SystemEnv* e = nullptr;
  return e;
}
inline SystemEnv& env() { return *env_ptr(); }

// Writes a whole file (uid_map and friends).
inline bool write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

struct RunOptions {
  bool user_namespace = false;        // unshare -Ur after dropping to uid
  std::function<void()> before_drop;  // still root, e.g. open a socket elsewhere
  std::chrono::milliseconds limit = 60s;
};

// Runs fn in a child process as uid/gid `uid`; returns the JSON it made
// ({"error": ...} if it threw or could not drop its rights, {"timeout":
// true} if it did not finish in time).
inline json run_as(unsigned uid, const std::function<json()>& fn, const RunOptions& o = {}) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {{"error", "pipe"}};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    json out;
    try {
      if (o.before_drop) o.before_drop();
      if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
          ::setresuid(uid, uid, uid) != 0) {
        out = {{"error", std::string("cannot drop privileges: ") + std::strerror(errno)}};
      } else if (o.user_namespace &&
                 // The uid change made the process undumpable: its /proc
                 // files (uid_map) would stay root's.
                 (::prctl(PR_SET_DUMPABLE, 1) != 0 || ::unshare(CLONE_NEWUSER) != 0 ||
                  !write_file("/proc/self/setgroups", "deny") ||
                  !write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
                  !write_file("/proc/self/gid_map", "0 " + std::to_string(uid) + " 1"))) {
        out = {{"error", std::string("cannot enter a user namespace: ") + std::strerror(errno)},
               {"no_userns", true}};
      } else {
        out = fn();
      }
    } catch (const std::system_error& e) {
      out = {{"error", e.what()}, {"errno", e.code().value()}};
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    const std::string s = out.dump();
    (void)!::write(p[1], s.data(), s.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + o.limit;
  bool done = false;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pf{p[0], POLLIN, 0};
    if (::poll(&pf, 1, 100) <= 0) continue;
    const auto n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) {
      done = true;
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  if (!done) return {{"timeout", true}, {"partial", text}};
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json{{"error", "child output: " + text}} : j;
}

// errno of a call, or 0.
inline int errno_of(int rc) { return rc == 0 ? 0 : errno; }

// A client of another user still gets service: the NIC and normand answer
// (connect with auth, hello, a queue and a connection, status).
inline json another_client_works() {
  const std::string path = env().normand_socket();
  return run_as(kNobody, [&path]() -> json {
    auto c = ctl::Client::connect(path);
    c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    auto nq = c.call(ctl::op::kNqOpen, {{"log2", 6}});
    auto conn = c.call(ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}});
    c.call(ctl::op::kClose, {{"conn_id", conn.body.at("conn_id")}});
    auto st = c.call(ctl::op::kStatus);
    return {{"ok", true}, {"clients", st.body.value("clients", 0)}};
  });
}

// nsim and normand still run, and serve another client.
inline void expect_daemons_alive(const char* after) {
  EXPECT_TRUE(env().nsim().running()) << "nsim died after " << after << ": " << env().nsim().err();
  EXPECT_TRUE(env().normand().running())
      << "normand died after " << after << ": " << env().normand().err();
  const json r = another_client_works();
  EXPECT_TRUE(r.value("ok", false)) << "another client after " << after << ": " << r.dump();
}

// main(): root only; one nsim + normand for the whole executable.
inline int security_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0) {
    std::cout << "SKIP: the attack tests need root (they start nsim and normand and drop to "
                 "uid 60001)\n";
    return 77;
  }
  system_test::SystemConfig cfg;
  cfg.nsim_binary = NSIM_BINARY;
  cfg.normand_binary = NORMAND_BINARY;
  cfg.subnet = "10.43.0";
  auto e = std::make_unique<SystemEnv>(cfg);
  std::string why;
  if (!e->start(why)) {
    std::cerr << "cannot start nsim + normand: " << why << "\n";
    return 1;
  }
  env_ptr() = e.get();
  const int rc = RUN_ALL_TESTS();
  env_ptr() = nullptr;
  return rc;
}

}  // namespace norman::security_test
