// The host's half of the capture filter: the NIC captures a superset of
// what the session's program accepts (frames it was unsure of, or every
// frame when the program is not on the NIC, at the full frame length); this
// applies the exact program with libpcap's bpf_filter to those and cuts
// every record to the snap length ndump asked for, so what ndump sees is
// exactly what tcpdump would.
#pragma once

#include <linux/filter.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <vector>

#include "capture_record.hpp"

namespace norman::ndump {

class HostFilter {
 public:
  // host_filtered: the NIC ran no program for this session (it captured
  // everything), so every record needs the software filter. Otherwise only
  // the records the NIC flagged UNSURE do.
  HostFilter(const std::vector<sock_filter>& program, std::uint32_t snaplen, bool host_filtered);

  // Whether to keep the record (unsure: the NIC's UNSURE flag); a kept
  // record is cut to the snap length.
  bool admit(CaptureRecord& rec, bool unsure) const;

  // Counted by admit(): records the NIC captured that the exact program
  // rejected (they are not "received by filter" for tcpdump's summary).
  [[nodiscard]] std::uint64_t rejected() const { return rejected_; }

 private:
  std::vector<bpf_insn> prog_;
  std::uint32_t snaplen_;
  bool host_filtered_;
  mutable std::uint64_t rejected_ = 0;
};

}  // namespace norman::ndump
