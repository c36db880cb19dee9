// Linux HTB as the oracle for the NIC scheduler: a veth named nic0 in a
// fresh network namespace (the peer in a second one), configured with the
// same tc command lines ntc reads, and backlogged UDP senders whose traffic
// u32 filters put into classes by destination port. Per-class bytes are
// read from `tc -s class show`. Needs root; the namespaces are removed on
// destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace norman::ntc::testing {

// Runs a shell command; returns {exit status, stdout+stderr}.
std::pair<int, std::string> sh(const std::string& cmd);

class LinuxHtbNs {
 public:
  LinuxHtbNs();  // throws std::runtime_error naming the failing command
  ~LinuxHtbNs();
  LinuxHtbNs(const LinuxHtbNs&) = delete;
  LinuxHtbNs& operator=(const LinuxHtbNs&) = delete;

  // `tc ARGS` inside the sender's namespace; throws with tc's message.
  void tc(const std::string& args);

  // A u32 filter on the root qdisc putting UDP to dst_port into classid.
  void classify(std::uint16_t dst_port, const std::string& classid);

  // Bytes sent per class ("1:10" -> bytes), from `tc -s class show dev nic0`.
  std::map<std::string, std::uint64_t> class_bytes();

  // Runs one backlogged UDP sender per destination port for kWarmup plus
  // `duration` (frames of `payload` bytes to the peer); returns each class's
  // bytes sent during `duration`.
  std::map<std::string, std::uint64_t> offer(const std::vector<std::uint16_t>& dst_ports,
                                             std::size_t payload,
                                             std::chrono::milliseconds duration);

  static constexpr std::chrono::milliseconds kWarmup{300};
  static constexpr const char* kLocal = "10.77.0.1";
  static constexpr const char* kPeer = "10.77.0.2";

 private:
  std::string tx_ns_, rx_ns_;
};

}  // namespace norman::ntc::testing
