// pcap files through libpcap (pcap_dump_open, pcap_dump_fopen for stdout),
// microsecond timestamps like tcpdump -w.
#include <pcap/pcap.h>

#include <stdexcept>

#include "writer.hpp"

namespace norman::ndump {
namespace {

class PcapWriter : public PacketWriter {
 public:
  explicit PcapWriter(const WriterOptions& o) : to_stdout_(o.path == "-") {
    dead_ = pcap_open_dead(o.linktype, static_cast<int>(o.snaplen));
    if (!dead_) throw std::runtime_error("pcap_open_dead failed");
    dumper_ = to_stdout_ ? pcap_dump_fopen(dead_, stdout) : pcap_dump_open(dead_, o.path.c_str());
    if (!dumper_) {
      std::string err = pcap_geterr(dead_);
      pcap_close(dead_);
      throw std::runtime_error(err);
    }
  }
  ~PcapWriter() override {
    pcap_dump_close(dumper_);  // closes stdout too, as tcpdump does at exit
    pcap_close(dead_);
  }
  void write(const CaptureRecord& rec) override {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(rec.ts_ns / 1'000'000'000u);
    h.ts.tv_usec = static_cast<suseconds_t>(rec.ts_ns % 1'000'000'000u / 1000u);
    h.caplen = static_cast<bpf_u_int32>(rec.data.size());
    h.len = rec.orig_len;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, rec.data.data());
    if (to_stdout_) flush();
    if (std::ferror(pcap_dump_file(dumper_)))
      throw std::runtime_error("error writing the capture file");
  }
  void flush() override {
    if (pcap_dump_flush(dumper_) != 0) throw std::runtime_error("error writing the capture file");
  }
  std::uint64_t bytes_written() override {
    std::int64_t pos = pcap_dump_ftell64(dumper_);
    if (pos < 0) throw std::runtime_error("ftell fails on output file");
    return static_cast<std::uint64_t>(pos);
  }

 private:
  bool to_stdout_;
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
};

}  // namespace

std::unique_ptr<PacketWriter> open_pcap_writer(const WriterOptions& opts) {
  return std::make_unique<PcapWriter>(opts);
}

std::unique_ptr<PacketWriter> open_writer(const WriterOptions& opts) {
  return opts.pcapng ? open_pcapng_writer(opts) : open_pcap_writer(opts);
}

namespace {

class RotatingWriter : public PacketWriter {
 public:
  RotatingWriter(const WriterOptions& o, std::uint64_t max_bytes)
      : opts_(o), max_(max_bytes), current_(open_writer(o)) {}
  void write(const CaptureRecord& rec) override {
    if (current_->bytes_written() > max_) {
      current_.reset();  // closes and flushes the full file
      WriterOptions next = opts_;
      next.path += std::to_string(++count_);
      current_ = open_writer(next);
    }
    current_->write(rec);
  }
  void flush() override { current_->flush(); }
  std::uint64_t bytes_written() override { return current_->bytes_written(); }

 private:
  WriterOptions opts_;
  std::uint64_t max_;
  std::unique_ptr<PacketWriter> current_;
  unsigned count_ = 0;
};

}  // namespace

std::unique_ptr<PacketWriter> open_rotating_writer(const WriterOptions& opts,
                                                   std::uint64_t max_bytes) {
  return std::make_unique<RotatingWriter>(opts, max_bytes);
}

}  // namespace norman::ndump
