// Stand-in for the live NIC path (nic.cmake's ndump_nic) in builds without
// it: -r and the writers work, live capture is refused with a clear error.
#include <stdexcept>

#include "nic_source.hpp"

namespace norman::ndump {

std::unique_ptr<RecordSource> open_nic_capture(const NicCaptureOptions&) {
  throw std::runtime_error("live capture is not available in this build");
}

CaptureStats nic_capture_stats(RecordSource&) { return {}; }

}  // namespace norman::ndump
