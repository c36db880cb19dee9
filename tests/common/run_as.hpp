// Running test code as another local user: a forked child drops to uid/gid
// `uid` (no groups, no capabilities), optionally enters a fresh user
// namespace where it is "root" (as `unshare -Ur`), runs a function and
// reports the JSON it made through a pipe. Shared by the daemon tests and
// the attack suite, so every test drops rights the same way.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

namespace norman::test_util {

struct RunOptions {
  bool user_namespace = false;        // unshare -Ur after dropping to uid
  std::function<void()> before_drop;  // still root, e.g. open a socket elsewhere
  std::chrono::milliseconds limit = std::chrono::seconds(60);  // to wait for the report
  bool keep = false;  // after reporting, hold everything it opened until killed
};

namespace detail {

inline bool write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// The child's side: never returns.
[[noreturn]] inline void child_main(int out_fd, unsigned uid,
                                    const std::function<nlohmann::json()>& fn,
                                    const RunOptions& o) {
  nlohmann::json out;
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
  const std::string s = out.dump() + "\n";
  (void)!::write(out_fd, s.data(), s.size());
  if (o.keep) {
    for (;;) ::pause();
  }
  ::_exit(0);
}

}  // namespace detail

// A child of another user. The constructor waits for its report; the child
// is killed (SIGKILL: no goodbye) and reaped by kill() or the destructor on
// every way out of a test.
class ChildAs {
 public:
  ChildAs(unsigned uid, const std::function<nlohmann::json()>& fn, const RunOptions& o = {}) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(p[0]);
      ::close(p[1]);
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
      ::close(p[0]);
      detail::child_main(p[1], uid, fn, o);
    }
    ::close(p[1]);
    std::string text;
    bool done = false;
    const auto deadline = std::chrono::steady_clock::now() + o.limit;
    char buf[4096];
    while (!done && std::chrono::steady_clock::now() < deadline) {
      pollfd pf{p[0], POLLIN, 0};
      if (::poll(&pf, 1, 100) <= 0) continue;
      const auto n = ::read(p[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      done = text.find('\n') != std::string::npos;
    }
    ::close(p[0]);
    if (!done) {
      report_ = {{"timeout", true}, {"partial", text}};
    } else {
      report_ = nlohmann::json::parse(text, nullptr, false);
      if (report_.is_discarded()) report_ = {{"error", "child output: " + text}};
    }
  }
  ~ChildAs() { kill(); }
  ChildAs(const ChildAs&) = delete;
  ChildAs& operator=(const ChildAs&) = delete;

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  [[nodiscard]] const nlohmann::json& report() const { return report_; }

 private:
  pid_t pid_ = -1;
  nlohmann::json report_;
};

// Runs fn as uid and returns its JSON ({"error": ...} if it threw or could
// not drop its rights, {"timeout": true} if it did not report in time).
inline nlohmann::json run_as(unsigned uid, const std::function<nlohmann::json()>& fn,
                             const RunOptions& o = {}) {
  ChildAs child(uid, fn, o);
  return child.report();
}

}  // namespace norman::test_util
