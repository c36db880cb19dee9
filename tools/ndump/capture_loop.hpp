// One ndump run: open the source (-r file or the NIC), print or write each
// record, stop on -c N, SIGINT or SIGTERM (the source is stopped, the output
// flushed, the summary printed), and return tcpdump's exit status.
#pragma once

#include <cstdio>

#include "options.hpp"

namespace norman::ndump {

int run_capture(const Options& opts);

}  // namespace norman::ndump
