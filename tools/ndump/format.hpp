// tcpdump's one-line text for a captured frame: Ethernet (-e), 802.1Q, ARP,
// IPv4 (-v header line), ICMP, UDP and TCP as tcpdump 4.99 prints them,
// followed by the owner when known. Other layers print a short summary (see
// docs/ndump.md). Truncated or malformed headers end in tcpdump's "[|proto]"
// marker; nothing reads past the captured bytes.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "capture_record.hpp"

namespace norman::ndump {

struct FormatOptions {
  bool numeric = false;         // -n: no address or port names
  bool link_header = false;     // -e
  int verbose = 0;              // -v, -vv
  bool show_interface = false;  // -i any: name the port on each line
};

// TCP relative sequence numbers, as tcpdump keeps them per conversation.
class TcpSeqTable {
 public:
  struct Entry {
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
  };
  // Key: the two addresses (16 bytes each, zero-filled) and ports.
  std::map<std::string, Entry> entries;
};

// Host names already looked up (without -n), keyed by the raw address: one
// resolver query per address per run, as tcpdump caches them.
struct NameCache {
  std::map<std::string, std::string> hosts;
};

class PacketFormatter {
 public:
  explicit PacketFormatter(FormatOptions opts);
  // The text of one record without the trailing newline (a -v line may hold
  // several rows separated by "\n").
  std::string format(const CaptureRecord& rec);

  // Parts of the line, exposed for tests.
  static std::string timestamp(std::uint64_t ts_ns);  // local time HH:MM:SS.uuuuuu
  static std::string owner_suffix(const Owner& o);    // " [uid 1001 pid 4242 ...]"

 private:
  FormatOptions opts_;
  TcpSeqTable tcp_seq_;
  NameCache names_;
};

}  // namespace norman::ndump
