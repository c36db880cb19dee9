#include "capture_loop.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstring>
#include <iostream>

#include "bpf_filter.hpp"
#include "file_source.hpp"
#include "format.hpp"
#include "nic_source.hpp"
#include "record_filter.hpp"
#include "summary.hpp"
#include "writer.hpp"

namespace norman::ndump {
namespace {

std::atomic<RecordSource*> active_source{nullptr};
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_signal(int) {
  interrupted = 1;
  if (RecordSource* s = active_source.load()) s->stop();
}

// Without SA_RESTART so a source blocked in a read returns.
void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

void err(const std::string& msg) { std::cerr << "ndump: " << msg << '\n' << std::flush; }

bool contains_ci(std::string hay, std::string needle) {
  auto lower = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  };
  lower(hay), lower(needle);
  return hay.find(needle) != std::string::npos;
}

// tcpdump's wording when the capture is refused for want of privilege:
// "IF: You don't have permission to perform this capture on that device
// (detail)".
std::string open_error_text(const std::string& interface, const std::string& msg) {
  if (contains_ci(msg, "permission") || contains_ci(msg, "not permitted") ||
      contains_ci(msg, "CAP_NET_RAW"))
    return interface + ": You don't have permission to perform this capture on that device\n(" +
           msg + ")";
  return msg;
}

}  // namespace

int run_capture(const Options& opts, const LivePath& live_path) {
  std::unique_ptr<RecordSource> source;
  FileRecordSource* file = nullptr;
  const bool live = !opts.read_file;
  try {
    if (live) {
      BpfFilter filter(opts.expression, DLT_EN10MB, opts.snaplen);
      NicCaptureOptions nic;
      nic.interface = opts.interface;
      nic.snaplen = opts.snaplen;
      nic.capture_in = opts.capture_in;
      nic.capture_out = opts.capture_out;
      nic.program = filter.instructions();
      nic.uid = opts.uid;
      nic.pid = opts.pid;
      nic.comm = opts.comm;
      nic.cgroup = opts.cgroup;
      nic.normand_socket = opts.normand_socket;
      try {
        source = live_path.open(nic);
      } catch (const std::exception& e) {
        err(open_error_text(opts.interface, e.what()));
        return 1;
      }
    } else {
      auto f = std::make_unique<FileRecordSource>(*opts.read_file, opts.expression);
      file = f.get();
      source = std::move(f);
    }
  } catch (const std::exception& e) {
    err(e.what());
    return 1;
  }

  if (file) {
    std::cerr << file->banner() << '\n';
  } else {
    if (!opts.verbose && !opts.write_file)
      std::cerr << "ndump: verbose output suppressed, use -v[v]... for full protocol decode\n";
    else
      std::cerr << "ndump: ";
    std::cerr << "listening on "
              << opts.interface << ", link-type EN10MB (Ethernet), snapshot length " << opts.snaplen
              << " bytes\n"
              << std::flush;
  }

  std::unique_ptr<PacketWriter> writer;
  std::unique_ptr<PacketFormatter> formatter;
  try {
    if (opts.write_file) {
      WriterOptions w;
      w.path = *opts.write_file;
      w.pcapng = opts.pcapng;
      w.linktype = source->linktype();
      w.snaplen = source->snaplen();
      if (live) w.interface_name = [](std::uint8_t port) { return "nic" + std::to_string(port); };
      writer = opts.rotate_bytes ? open_rotating_writer(w, opts.rotate_bytes) : open_writer(w);
    } else {
      FormatOptions f;
      f.numeric = opts.numeric;
      f.link_header = opts.link_header;
      f.verbose = opts.verbose;
      f.show_interface = live && opts.interface == "any";
      formatter = std::make_unique<PacketFormatter>(f);
    }
  } catch (const std::exception& e) {
    err(e.what());
    return 1;
  }

  interrupted = 0;
  active_source = source.get();
  install_signals();
  std::uint64_t captured = 0;
  int status = 0;
  try {
    CaptureRecord rec;
    while (!interrupted && (!opts.count || captured < *opts.count) && source->next(rec)) {
      if (!record_selected(opts, rec)) continue;
      ++captured;
      if (writer) {
        writer->write(rec);
        if (opts.packet_buffered) writer->flush();
      } else {
        std::string line = formatter->format(rec);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        if (opts.line_buffered) std::fflush(stdout);
      }
    }
    if (writer) writer->flush();
  } catch (const std::exception& e) {
    err(e.what());
    status = 1;
  }
  source->stop();
  std::fflush(stdout);
  if (live) {
    CaptureStats stats{};
    try {
      stats = live_path.stats(*source);
    } catch (const std::exception& e) {
      err(std::string("capture statistics: ") + e.what());
    }
    std::cerr << summary_text(captured, stats) << std::flush;
  }
  active_source = nullptr;
  return status;
}

}  // namespace norman::ndump
