#include "file_source.hpp"

namespace norman::ndump {

FileRecordSource::FileRecordSource(const std::string& path, const std::string& expression)
    : path_(path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond timestamps keep what pcapng and nanosecond pcap files carry.
  pcap_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (pcap_ == nullptr) throw std::runtime_error(err);
  try {
    filter_ = std::make_unique<BpfFilter>(expression, pcap_datalink(pcap_),
                                          static_cast<std::uint32_t>(pcap_snapshot(pcap_)));
  } catch (...) {
    pcap_close(pcap_);
    throw;
  }
}

FileRecordSource::~FileRecordSource() { pcap_close(pcap_); }

bool FileRecordSource::next(CaptureRecord& rec) {
  while (!stopped_) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int r = pcap_next_ex(pcap_, &h, &data);
    if (r == PCAP_ERROR_BREAK) return false;  // end of file
    // A read interrupted by SIGINT/SIGTERM (a pipe or FIFO) ends quietly.
    if (r < 0 && stopped_) return false;
    if (r < 0) throw std::runtime_error(pcap_geterr(pcap_));
    if (r == 0) continue;
    ++read_;
    if (!filter_->matches(data, h->caplen, h->len)) continue;
    ++accepted_;
    rec = CaptureRecord{};
    rec.ts_ns = static_cast<std::uint64_t>(h->ts.tv_sec) * 1'000'000'000u +
                static_cast<std::uint64_t>(h->ts.tv_usec);  // nanoseconds here
    rec.orig_len = h->len;
    rec.data.assign(data, data + h->caplen);
    return true;
  }
  return false;
}

int FileRecordSource::linktype() const { return pcap_datalink(pcap_); }

std::uint32_t FileRecordSource::snaplen() const {
  return static_cast<std::uint32_t>(pcap_snapshot(pcap_));
}

std::string FileRecordSource::banner() const {
  int dlt = pcap_datalink(pcap_);
  std::string s = "reading from file " + path_;
  if (const char* name = pcap_datalink_val_to_name(dlt)) {
    s += ", link-type ";
    s += name;
    s += " (";
    s += pcap_datalink_val_to_description(dlt);
    s += ")";
  } else {
    s += ", link-type " + std::to_string(dlt);
  }
  s += ", snapshot length " + std::to_string(pcap_snapshot(pcap_));
  return s;
}

}  // namespace norman::ndump
