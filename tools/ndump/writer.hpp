// -w: the records as a capture file, pcap through libpcap's dump API or
// pcapng (written here: libpcap cannot write pcapng) with the owner and
// direction of every packet. "-" writes to standard output, flushed per
// packet so `ndump -w - | tcpdump -r -` and Wireshark's `-k -i -` run live.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "capture_record.hpp"

namespace norman::ndump {

class PacketWriter {
 public:
  virtual ~PacketWriter() = default;
  // Throws std::runtime_error when the file cannot be written (disk full...).
  virtual void write(const CaptureRecord& rec) = 0;
  virtual void flush() = 0;
  // Bytes in the file so far (for -C).
  [[nodiscard]] virtual std::uint64_t bytes_written() = 0;
};

struct WriterOptions {
  std::string path;  // "-" for stdout
  bool pcapng = false;
  int linktype = 1;  // DLT_EN10MB
  std::uint32_t snaplen = 262144;
  // pcapng if_name of a record's port (nic0, ...); empty leaves it out.
  std::function<std::string(std::uint8_t port)> interface_name;
};

// Throws std::runtime_error with a message fit for the user.
std::unique_ptr<PacketWriter> open_writer(const WriterOptions& opts);
// -C: like tcpdump, before each packet a file larger than max_bytes is
// closed and the next one opened: PATH, PATH1, PATH2, ...
std::unique_ptr<PacketWriter> open_rotating_writer(const WriterOptions& opts,
                                                   std::uint64_t max_bytes);
std::unique_ptr<PacketWriter> open_pcap_writer(const WriterOptions& opts);
std::unique_ptr<PacketWriter> open_pcapng_writer(const WriterOptions& opts);

}  // namespace norman::ndump
