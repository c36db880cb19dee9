// Live capture from the NIC through normand: ndump's options become one
// capture session (ring, cBPF program, owner filters) on the NIC.
#pragma once

#include "capture_record.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <linux/filter.h>

#include <nlohmann/json.hpp>

namespace norman::ndump {

struct NicCaptureOptions {
  std::string interface = "nic0";   // nic0, nic1, ... or any
  std::uint32_t snaplen = 262144;   // tcpdump's default; the NIC clamps to the frame
  bool capture_in = true;           // -Q in|out|inout
  bool capture_out = true;
  // The expression compiled by pcap_compile for DLT_EN10MB at snaplen; empty
  // means capture everything. The NIC runs it exactly where it can and
  // otherwise a superset; the source then applies it in software, so next()
  // yields exactly what the program accepts.
  std::vector<sock_filter> program;
  // Owner filters beyond tcpdump (--uid/--pid/--comm/--cgroup), enforced on
  // the NIC by connection owner; all given ones must match.
  std::optional<std::uint32_t> uid;
  std::optional<std::int32_t> pid;
  std::optional<std::string> comm;
  std::optional<std::string> cgroup;
  std::string normand_socket;  // empty: the default control socket path
};

// Opens the session; throws std::runtime_error with a message fit for the
// user (no privilege, unknown interface, normand not running, ...).
std::unique_ptr<RecordSource> open_nic_capture(const NicCaptureOptions &opts);

// The NIC's exact figures for the session (for the exit summary); ends the
// session on the NIC, as the summary is the last thing ndump asks for.
CaptureStats nic_capture_stats(RecordSource &source);

// cap_open's arguments for these options (normand_proto.hpp); for tests.
nlohmann::json cap_open_request(const NicCaptureOptions &opts);

} // namespace norman::ndump
