// Starts the real nsim binary for an end-to-end test and stops it within
// bounded time; its stdout/stderr go to files in the test's directory.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace norman::nsim::test_support {

using namespace std::chrono_literals;

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Nsim {
 public:
  Nsim(const std::string& dir, std::vector<std::string> args) : dir_(dir), sock_(dir + "/run/nsim.sock") {
    std::vector<std::string> argv = {NSIM_BINARY, "--socket", sock_, "--dpdk-log-level", "error"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) {
      cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, (dir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&pid_, NSIM_BINARY, &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
    }
  }
  ~Nsim() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  Nsim(const Nsim&) = delete;
  Nsim& operator=(const Nsim&) = delete;

  // Waits for the socket; false (with the reason in `why`) if nsim exited.
  bool wait_ready(std::string& why) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      struct stat st {};
      if (::stat(sock_.c_str(), &st) == 0) {
        return true;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        why = "nsim exited early: " + stderr_text();
        return false;
      }
      std::this_thread::sleep_for(10ms);
    }
    why = "nsim did not create its socket in time: " + stderr_text();
    return false;
  }
  // Sends `sig` and waits for exit; returns the exit status (or -1).
  int stop(int sig, std::chrono::seconds limit = 20s) {
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }
  int wait_exit(std::chrono::seconds limit = 20s) { return stop(0, limit); }
  std::string stderr_text() const { return slurp(dir_ + "/stderr"); }
  std::string stdout_text() const { return slurp(dir_ + "/stdout"); }
  const std::string& socket() const { return sock_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_, sock_;
  pid_t pid_ = -1;
};

}  // namespace norman::nsim::test_support
