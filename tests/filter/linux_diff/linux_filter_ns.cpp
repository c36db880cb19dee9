#include "linux_filter_ns.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace norman::filter::difftest {

using namespace std::chrono_literals;

std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::pair<int, std::string> sh_in(const std::string& cmd, const std::string& input) {
  char path[] = "/tmp/nfw-diff-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  {
    std::ofstream f(path);
    f << input;
  }
  ::close(fd);
  auto r = sh(cmd + " < " + path);
  ::unlink(path);
  return r;
}

namespace {

void run(const std::string& cmd) {
  auto [rc, out] = sh(cmd);
  if (rc != 0) throw std::runtime_error(cmd + ": " + out);
}

void read_mac(const std::string& text, std::uint8_t (&mac)[6]) {
  unsigned v[6]{};
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) !=
      6) {
    throw std::runtime_error("bad MAC: " + text);
  }
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>(v[i]);
}

}  // namespace

LinuxFilterNs::LinuxFilterNs() {
  const std::string tag = std::to_string(::getpid() % 100000);
  ns_ = "nfwdiff-" + tag;
  outer_ = "nfd" + tag;
  sh("ip netns del " + ns_);
  sh("ip link del " + outer_);
  const std::string in = "ip netns exec " + ns_ + " ";
  run("ip netns add " + ns_);
  run("ip link add " + outer_ + " type veth peer name nfi" + tag);
  run("ip link set nfi" + tag + " netns " + ns_);
  run(in + "ip link set nfi" + tag + " name nic0");
  run(in + "sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
  run("sysctl -qw net.ipv6.conf." + outer_ + ".disable_ipv6=1");
  run(in + "sysctl -qw net.ipv4.conf.all.rp_filter=0");
  run(in + "sysctl -qw net.ipv4.conf.default.rp_filter=0");
  run(in + "ip link set lo up");
  run(in + "ip link set nic0 up");
  run(in + "sysctl -qw net.ipv4.conf.nic0.rp_filter=0");
  run(in + "ip addr add 10.98.0.2/24 dev nic0");
  // Every destination of the trace is local; sources are reachable back via nic0.
  run(in + "ip route add local 10.99.0.0/16 dev lo");
  run(in + "ip route add default via 10.98.0.1 dev nic0 onlink");
  run("ip link set " + outer_ + " up");
  read_mac(sh(in + "cat /sys/class/net/nic0/address").second, nic_mac_);
  read_mac(sh("cat /sys/class/net/" + outer_ + "/address").second, peer_mac_);
  // The default gateway's neighbor entry, so replies do not wait on ARP.
  sh(in + "ip neigh replace 10.98.0.1 lladdr " +
     sh("cat /sys/class/net/" + outer_ + "/address").second.substr(0, 17) + " dev nic0");
  sock_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (sock_ < 0) throw std::runtime_error("AF_PACKET socket failed");
}

LinuxFilterNs::~LinuxFilterNs() {
  if (sock_ >= 0) ::close(sock_);
  sh("ip netns del " + ns_);
  sh("ip link del " + outer_);
}

void LinuxFilterNs::restore(const std::string& text) {
  auto [rc, out] = sh_in("ip netns exec " + ns_ + " iptables-restore", text);
  if (rc != 0) throw std::runtime_error("iptables-restore: " + out + "\n--- file ---\n" + text);
}

std::uint64_t LinuxFilterNs::rx_packets() {
  auto [rc, out] = sh("ip netns exec " + ns_ + " cat /sys/class/net/nic0/statistics/rx_packets");
  return rc == 0 ? std::stoull(out) : 0;
}

void LinuxFilterNs::send(const std::vector<Frame>& frames) {
  const std::uint64_t before = rx_packets();
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(::if_nametoindex(outer_.c_str()));
  to.sll_halen = 6;
  for (const auto& f : frames) {
    for (int attempt = 0;; ++attempt) {
      const ssize_t n = ::sendto(sock_, f.bytes.data(), f.bytes.size(), 0,
                                 reinterpret_cast<sockaddr*>(&to), sizeof to);
      if (n == static_cast<ssize_t>(f.bytes.size())) break;
      if (attempt > 100) throw std::runtime_error("AF_PACKET send failed");
      std::this_thread::sleep_for(1ms);
    }
  }
  for (int i = 0; i < 500 && rx_packets() < before + frames.size(); ++i)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);  // the stack finishes the last ones
}

std::string LinuxFilterNs::save_with_counters() {
  auto [rc, out] = sh("ip netns exec " + ns_ + " iptables-save -c -t filter");
  if (rc != 0) throw std::runtime_error("iptables-save: " + out);
  return out;
}

}  // namespace norman::filter::difftest
