// tcpdump's exit summary for live captures, to stderr:
//   N packets captured / N packets received by filter / N packets dropped by kernel
#pragma once

#include <string>

#include "capture_record.hpp"

namespace norman::ndump {

// captured: packets ndump handed to its output; the other two lines are the
// NIC's exact figures (nic_capture_stats).
std::string summary_text(std::uint64_t captured, const CaptureStats& nic);

}  // namespace norman::ndump
