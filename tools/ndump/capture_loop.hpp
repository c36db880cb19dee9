// One ndump run: open the source (-r file or the NIC), print or write each
// record, stop on -c N, SIGINT or SIGTERM (the source is stopped, the output
// flushed, the summary printed), and return tcpdump's exit status.
#pragma once

#include <functional>
#include <memory>

#include "nic_source.hpp"
#include "options.hpp"

namespace norman::ndump {

// The live path's two entry points, replaceable so tests can run the whole
// loop on a scripted source.
struct LivePath {
  std::function<std::unique_ptr<RecordSource>(const NicCaptureOptions&)> open = open_nic_capture;
  std::function<CaptureStats(RecordSource&)> stats = nic_capture_stats;
};

// Prints to stdout (packets, or the capture file with -w -) and stderr
// (banner, errors, summary).
int run_capture(const Options& opts, const LivePath& live = {});

}  // namespace norman::ndump
