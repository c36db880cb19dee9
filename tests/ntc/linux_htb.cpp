#include "linux_htb.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace norman::ntc::testing {

std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

namespace {

void must(const std::string& cmd) {
  const auto r = sh(cmd);
  if (r.first != 0) throw std::runtime_error(cmd + ": " + r.second);
}

}  // namespace

LinuxHtbNs::LinuxHtbNs()
    : tx_ns_("ntchtb" + std::to_string(::getpid())),
      rx_ns_("ntchtbp" + std::to_string(::getpid())) {
  must("ip netns add " + tx_ns_);
  must("ip netns add " + rx_ns_);
  must("ip -n " + tx_ns_ + " link add nic0 type veth peer name peer0 netns " + rx_ns_);
  must("ip -n " + tx_ns_ + " addr add " + kLocal + "/24 dev nic0");
  must("ip -n " + rx_ns_ + " addr add " + kPeer + "/24 dev peer0");
  must("ip -n " + tx_ns_ + " link set nic0 up");
  must("ip -n " + rx_ns_ + " link set peer0 up");
  // The peer drops the datagrams without answering: no ICMP back through
  // the scheduler's port, no rate limit in the way.
  must("ip netns exec " + rx_ns_ + " sysctl -qw net.ipv4.icmp_ratelimit=0");
  must("ip netns exec " + rx_ns_ +
       " sh -c 'command -v iptables >/dev/null && iptables -A INPUT -p udp -j DROP || true'");
  // Resolve the peer's address once so senders never wait for ARP.
  must("ip -n " + tx_ns_ + " neigh replace " + kPeer + " lladdr $(ip -n " + rx_ns_ +
       " -br link show peer0 | awk '{print $3}') dev nic0 nud permanent");
}

LinuxHtbNs::~LinuxHtbNs() {
  (void)sh("ip netns del " + tx_ns_);
  (void)sh("ip netns del " + rx_ns_);
}

void LinuxHtbNs::tc(const std::string& args) { must("ip netns exec " + tx_ns_ + " tc " + args); }

void LinuxHtbNs::classify(std::uint16_t dst_port, const std::string& classid) {
  tc("filter add dev nic0 parent 1: protocol ip prio 1 u32 match ip dport " +
     std::to_string(dst_port) + " 0xffff flowid " + classid);
}

std::map<std::string, std::uint64_t> LinuxHtbNs::class_bytes() {
  const auto r = sh("ip netns exec " + tx_ns_ + " tc -s class show dev nic0");
  if (r.first != 0) throw std::runtime_error("tc -s class show: " + r.second);
  static const std::regex head("^class htb ([0-9a-f]+:[0-9a-f]+) ");
  static const std::regex sent("^ Sent ([0-9]+) bytes");
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(r.second);
  std::string current;
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, head)) {
      current = m[1];
    } else if (!current.empty() && std::regex_search(l, m, sent)) {
      out[current] = std::stoull(m[1]);
      current.clear();
    }
  }
  return out;
}

std::map<std::string, std::uint64_t> LinuxHtbNs::offer(const std::vector<std::uint16_t>& dst_ports,
                                                       std::size_t payload,
                                                       std::chrono::milliseconds duration) {
  const std::string ns_path = "/var/run/netns/" + tx_ns_;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> senders;
  for (std::uint16_t port : dst_ports) {
    senders.emplace_back([&, port] {
      // A network namespace is per thread: this sender's socket lives in the
      // sender namespace, so its datagrams leave through nic0's HTB.
      const int nsfd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) {
        ++failures;
        if (nsfd >= 0) ::close(nsfd);
        return;
      }
      ::close(nsfd);
      const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (s < 0) {
        ++failures;
        return;
      }
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      ::inet_pton(AF_INET, kPeer, &to.sin_addr);
      // A send timeout keeps a full qdisc from blocking past the window.
      timeval tv{0, 100000};
      ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      std::vector<char> buf(payload, 'x');
      while (!stop.load(std::memory_order_relaxed)) {
        (void)::sendto(s, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      }
      ::close(s);
    });
  }
  // Buckets start full: the burst they hold would count as rate in a short
  // window, so the window starts once the senders have drained them.
  std::this_thread::sleep_for(kWarmup);
  const auto before = class_bytes();
  std::this_thread::sleep_for(duration);
  const auto after = class_bytes();
  stop = true;
  for (auto& t : senders) t.join();
  if (failures != 0) throw std::runtime_error("a sender could not enter " + tx_ns_);
  std::map<std::string, std::uint64_t> delta;
  for (const auto& [id, bytes] : after)
    delta[id] = bytes - (before.contains(id) ? before.at(id) : 0);
  return delta;
}

}  // namespace norman::ntc::testing
