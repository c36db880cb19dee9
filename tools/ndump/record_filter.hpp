// What ndump checks itself on every record, whatever the source: -Q (only
// for records whose direction is known: files carry none, and tcpdump
// ignores -Q with -r) and the owner filters (a record without an owner never
// matches one: host-kernel traffic and files have none). The NIC enforces
// both for live captures already; this keeps the output exact regardless.
#pragma once

#include "capture_record.hpp"
#include "options.hpp"

namespace norman::ndump {

bool record_selected(const Options& o, const CaptureRecord& rec);

}  // namespace norman::ndump
