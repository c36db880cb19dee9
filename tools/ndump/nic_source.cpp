// Live capture from the NIC (see docs/capture.md). The checks that need no
// NIC are done here so that ndump reports bad options before it needs
// normand: the interface name, the program (libpcap's bpf_validate, as
// normand repeats) and whether the NIC would run it or the host would.
//
// The capture service itself (normand's OPEN_CAPTURE and the NIC's CAPTURE
// rings) is not in this tree yet, so opening a session reports that after
// confirming normand is reachable.
#include "nic_source.hpp"

#include <stdexcept>
#include <system_error>

#include "cbpf_nic.hpp"
#include "ctl_socket.hpp"

namespace norman::ndump {
namespace {

void check_interface(const std::string& name) {
  if (name == "any") return;
  if (name.size() > 3 && name.compare(0, 3, "nic") == 0 &&
      name.find_first_not_of("0123456789", 3) == std::string::npos && name.size() <= 5)
    return;
  throw std::runtime_error("ndump: " + name + ": No such device (use nic0, nic1, ... or any)");
}

}  // namespace

std::unique_ptr<RecordSource> open_nic_capture(const NicCaptureOptions& opts) {
  check_interface(opts.interface);
  if (!opts.capture_in && !opts.capture_out)
    throw std::runtime_error("ndump: -Q: no direction selected");
  const auto plan = capture::plan_program(opts.program);
  if (!plan.valid) throw std::runtime_error("ndump: " + plan.error);
  try {
    auto client = opts.normand_socket.empty() ? ctl::Client::connect()
                                              : ctl::Client::connect(opts.normand_socket);
    (void)client;
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string("ndump: cannot reach normand: ") + e.what());
  }
  throw std::runtime_error(
      "ndump: live capture is not available: normand has no capture "
      "service on this NIC yet (use -r FILE)");
}

CaptureStats nic_capture_stats(RecordSource& /*source*/) {
  // No NIC source can be opened yet (see open_nic_capture), so there is no
  // session to ask.
  throw std::logic_error("nic_capture_stats: not a NIC capture source");
}

}  // namespace norman::ndump
