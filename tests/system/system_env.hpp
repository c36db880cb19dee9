// The whole system for a test: nsim with a net_tap port whose interface is
// moved into a fresh network namespace (the remote Linux host), normand with
// its nic0 TAP in the root namespace, and helpers to run programs as other
// users or inside the namespace. Everything is removed again, even when a
// test fails half-way; every wait is bounded.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace norman::system_test {

using namespace std::chrono_literals;

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs a shell command, returns {exit status, stdout+stderr}.
inline std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

// A background process with its output in files.
class Proc {
 public:
  Proc() = default;
  Proc(const std::string& log_prefix, std::vector<std::string> argv) : log_(log_prefix) {
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, (log_ + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (log_ + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawnp(&pid_, argv[0].c_str(), &fa, nullptr, cargv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  Proc(Proc&& o) noexcept : log_(std::move(o.log_)), pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
  Proc& operator=(Proc&& o) noexcept {
    if (this != &o) {
      kill_now();
      log_ = std::move(o.log_);
      pid_ = std::exchange(o.pid_, -1);
      status_ = o.status_;
    }
    return *this;
  }
  ~Proc() { kill_now(); }

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running() {
    if (pid_ <= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      pid_ = -1;
      return false;
    }
    return true;
  }
  // Waits up to `limit` for exit; returns the exit status, or -1 on timeout.
  int wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(5ms);
    }
    return status_;
  }
  int stop(int sig = SIGTERM, std::chrono::milliseconds limit = 10s) {
    if (pid_ > 0) ::kill(pid_, sig);
    const int st = wait(limit);
    if (st == -1) kill_now();
    return st;
  }
  [[nodiscard]] std::string out() const { return slurp(log_ + ".out"); }
  [[nodiscard]] std::string err() const { return slurp(log_ + ".err"); }
  // Waits until stdout contains `text`; false if the process exits or time runs out.
  bool wait_output(const std::string& text, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (out().find(text) != std::string::npos) return true;
      if (!running()) return out().find(text) != std::string::npos;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

 private:
  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }
  std::string log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

struct SystemConfig {
  std::string nsim_binary;
  std::string normand_binary;
  std::string subnet = "10.41.0";  // peer .1, nic0 .2 (/24)
  std::string nic_mac = "02:00:00:00:00:02";
  std::vector<std::string> normand_prefix{};  // e.g. {"prlimit", "--nofile=600:600", "--"}
  std::vector<std::string> normand_args{};    // appended to normand's command line
};

// nsim + namespace peer + normand.
class SystemEnv {
 public:
  explicit SystemEnv(SystemConfig cfg) : cfg_(std::move(cfg)) {
    const std::string tag = std::to_string(::getpid() % 100000);
    ns_ = "nsys-" + tag;
    peer_if_ = "nsp" + tag;
    nic_if_ = "nsn" + tag;
    char tmpl[] = "/tmp/norman-system-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // other users reach normand's socket in here
  }
  ~SystemEnv() {
    normand_.stop(SIGTERM, 5s);
    nsim_.stop(SIGTERM, 10s);
    sh("ip netns del " + ns_);
    sh("rm -rf " + dir_);
  }
  SystemEnv(const SystemEnv&) = delete;
  SystemEnv& operator=(const SystemEnv&) = delete;

  // Starts everything; on failure returns false with the reason in `why`.
  bool start(std::string& why) {
    sh("ip netns del " + ns_);
    if (auto [rc, out] = sh("ip netns add " + ns_); rc != 0) return fail(why, "ip netns add: " + out);
    nsim_ = Proc(dir_ + "/nsim", {cfg_.nsim_binary, "--socket", nsim_socket(), "--dpdk-log-level", "error",
                                  "--port", "net_tap0,iface=" + peer_if_});
    if (!wait_path(nsim_socket(), nsim_, 60s) || sh("ip link show " + peer_if_).first != 0) {
      return fail(why, "nsim did not start: " + nsim_.err());
    }
    const std::string in_ns = "ip netns exec " + ns_ + " ";
    for (const std::string& c :
         {"ip link set " + peer_if_ + " netns " + ns_,
          in_ns + "sysctl -qw net.ipv6.conf." + peer_if_ + ".disable_ipv6=1",
          in_ns + "ip addr add " + peer_ip() + "/24 dev " + peer_if_, in_ns + "ip link set " + peer_if_ + " up",
          in_ns + "ip link set lo up"}) {
      if (auto [rc, out] = sh(c); rc != 0) return fail(why, c + ": " + out);
    }
    std::vector<std::string> argv = cfg_.normand_prefix;
    for (const std::string& a : {cfg_.normand_binary, std::string("--socket"), normand_socket(),
                                 std::string("--nsim-socket"), nsim_socket(), std::string("--tap"), nic_if_,
                                 std::string("--address"), nic_ip() + "/24", std::string("--mac"), cfg_.nic_mac}) {
      argv.push_back(a);
    }
    argv.insert(argv.end(), cfg_.normand_args.begin(), cfg_.normand_args.end());
    normand_ = Proc(dir_ + "/normand", argv);
    if (!wait_path(normand_socket(), normand_, 30s)) return fail(why, "normand did not start: " + normand_.err());
    return true;
  }

  // A command line run inside the peer namespace.
  [[nodiscard]] std::string in_peer(const std::string& cmd) const { return "ip netns exec " + ns_ + " " + cmd; }
  // argv prefix that runs a program as another user (no supplementary groups).
  static std::vector<std::string> as_user(unsigned uid, std::vector<std::string> argv) {
    std::vector<std::string> v = {"setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid),
                                  "--clear-groups", "--"};
    v.insert(v.end(), argv.begin(), argv.end());
    return v;
  }

  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string nsim_socket() const { return dir_ + "/nsim.sock"; }
  [[nodiscard]] std::string normand_socket() const { return dir_ + "/normand.sock"; }
  [[nodiscard]] std::string peer_ip() const { return cfg_.subnet + ".1"; }
  [[nodiscard]] std::string nic_ip() const { return cfg_.subnet + ".2"; }
  [[nodiscard]] const std::string& nic_if() const { return nic_if_; }
  [[nodiscard]] const std::string& ns() const { return ns_; }
  Proc& normand() { return normand_; }
  Proc& nsim() { return nsim_; }

 private:
  static bool fail(std::string& why, const std::string& what) {
    why = what;
    return false;
  }
  static bool wait_path(const std::string& path, Proc& p, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0) return true;
      if (!p.running()) return false;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  SystemConfig cfg_;
  std::string dir_, ns_, peer_if_, nic_if_;
  Proc nsim_, normand_;
};

}  // namespace norman::system_test
