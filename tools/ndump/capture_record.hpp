// One captured frame as ndump sees it, whatever produced it: the NIC's
// capture ring (through normand) or a pcap/pcapng file read with -r. The
// capture path fills it from the NIC's capture record; the output path
// (text, pcap, pcapng) reads only this, so the two halves stay independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace norman::ndump {

enum class Direction : std::uint8_t { unknown = 0, in = 1, out = 2 };

// The NIC's judgement of the frame when it was captured. Received frames are
// captured before the filter stage, so their verdict is the one the filter
// gave next (accept, drop, reject); transmitted frames are captured after it
// and are always accepted.
enum class Verdict : std::uint8_t { none = 0, accept = 1, drop = 2, reject = 3 };

// The owner of the connection the frame belongs to, as normand knows it
// (kernel view at connect time). Absent for host-kernel (fallback) traffic
// and for frames read from a file.
struct Owner {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int32_t pid = 0;
  std::string comm;    // process name, as /proc/PID/comm
  std::string cgroup;  // cgroup v2 path, e.g. /system.slice/redis.service
};

struct CaptureRecord {
  std::uint64_t ts_ns = 0;        // host-clock nanoseconds since the epoch
  std::uint32_t orig_len = 0;     // frame length on the wire (no FCS)
  std::vector<std::uint8_t> data; // the first min(orig_len, snaplen) bytes
  Direction dir = Direction::unknown;
  std::uint8_t port = 0;               // NIC port (nic0 = 0)
  std::optional<std::uint32_t> conn;   // connection id, absent for fallback
  Verdict verdict = Verdict::none;
  std::optional<Owner> owner;
  // Live: host-kernel traffic (the fallback path through nic0), which has
  // no owner in normand's registry.
  bool host_kernel = false;
};

// A stream of records. next() blocks until a record arrives, the source
// ends (returns false), or stop() is called from a signal-safe context.
class RecordSource {
public:
  virtual ~RecordSource() = default;
  virtual bool next(CaptureRecord &rec) = 0;
  virtual void stop() noexcept = 0;
  // Link type of the frames (DLT_EN10MB for the NIC).
  [[nodiscard]] virtual int linktype() const = 0;
  [[nodiscard]] virtual std::uint32_t snaplen() const = 0;
};

// tcpdump's summary lines on exit: "N packets captured", "N packets received
// by filter", "N packets dropped by kernel". For the NIC the figures are the
// NIC's exact counts (matched by the capture filter, records lost because
// the ring was full).
struct CaptureStats {
  std::uint64_t captured = 0;
  std::uint64_t received_by_filter = 0;
  std::uint64_t dropped = 0;
};

} // namespace norman::ndump
