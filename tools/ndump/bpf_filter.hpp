// The capture expression, compiled by libpcap's pcap_compile (never by a
// parser of ours) on a dead handle of the capture's link type and snap
// length, exactly as tcpdump compiles it.
#pragma once

#include <linux/filter.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace norman::ndump {

// pcap_compile's refusal; what() is libpcap's message, as tcpdump prints it.
class FilterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BpfFilter {
 public:
  // Throws FilterError. An empty expression accepts every packet.
  BpfFilter(const std::string& expression, int linktype, std::uint32_t snaplen);
  ~BpfFilter();
  BpfFilter(const BpfFilter&) = delete;
  BpfFilter& operator=(const BpfFilter&) = delete;

  // pcap_offline_filter: true when the program accepts the frame.
  [[nodiscard]] bool matches(const std::uint8_t* data, std::uint32_t caplen,
                             std::uint32_t orig_len) const;
  // The program as Linux's classic BPF instructions (for the NIC session).
  [[nodiscard]] std::vector<sock_filter> instructions() const;

 private:
  bpf_program prog_{};
};

}  // namespace norman::ndump
