// Real iptables as the oracle: a network namespace whose interface is
// named nic0 (so rule files need no translation), where every address of
// 10.99.0.0/16 is local, so frames sent into it from outside reach the
// INPUT chain. Rules are loaded with iptables-restore; counters read back
// with iptables-save -c. Needs root; the namespace and the veth pair are
// removed on destruction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace.hpp"

namespace norman::filter::difftest {

class LinuxFilterNs {
 public:
  LinuxFilterNs();  // throws std::runtime_error with the failing command
  ~LinuxFilterNs();
  LinuxFilterNs(const LinuxFilterNs&) = delete;
  LinuxFilterNs& operator=(const LinuxFilterNs&) = delete;

  void restore(const std::string& iptables_save_text);  // throws with iptables' message
  // Sends the frames from outside and waits until the namespace received them.
  void send(const std::vector<Frame>& frames);
  std::string save_with_counters();

  const std::uint8_t (&nic_mac() const)[6] { return nic_mac_; }
  const std::uint8_t (&peer_mac() const)[6] { return peer_mac_; }

 private:
  std::uint64_t rx_packets();
  std::string ns_, outer_;
  int sock_ = -1;
  std::uint8_t nic_mac_[6]{};
  std::uint8_t peer_mac_[6]{};
};

// Runs a shell command; returns {exit status, stdout+stderr}.
std::pair<int, std::string> sh(const std::string& cmd);
// Runs a shell command with `input` on its stdin.
std::pair<int, std::string> sh_in(const std::string& cmd, const std::string& input);

}  // namespace norman::filter::difftest
