// -r FILE: a pcap or pcapng file (libpcap's pcap_open_offline, "-" for
// stdin) as a RecordSource, filtered by the expression with
// pcap_offline_filter so the records are exactly tcpdump's.
#pragma once

#include <pcap/pcap.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include "bpf_filter.hpp"
#include "capture_record.hpp"

namespace norman::ndump {

class FileRecordSource : public RecordSource {
 public:
  // Throws std::runtime_error with libpcap's message. The expression is
  // compiled for the file's own link type and snap length.
  FileRecordSource(const std::string& path, const std::string& expression);
  ~FileRecordSource() override;

  bool next(CaptureRecord& rec) override;
  void stop() noexcept override { stopped_ = true; }
  [[nodiscard]] int linktype() const override;
  [[nodiscard]] std::uint32_t snaplen() const override;

  // tcpdump's "reading from file F, link-type ..., snapshot length N" line.
  [[nodiscard]] std::string banner() const;
  // Records read from the file (before the filter) and accepted by it.
  [[nodiscard]] std::uint64_t read_count() const { return read_; }
  [[nodiscard]] std::uint64_t accepted_count() const { return accepted_; }

 private:
  std::string path_;
  pcap_t* pcap_ = nullptr;
  std::unique_ptr<BpfFilter> filter_;
  std::atomic<bool> stopped_{false};
  std::uint64_t read_ = 0;
  std::uint64_t accepted_ = 0;
};

}  // namespace norman::ndump
