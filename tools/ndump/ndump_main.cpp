// ndump: tcpdump for everything that crosses the NIC (docs/ndump.md).
#include <pcap/pcap.h>

#include <iostream>

#include "capture_loop.hpp"
#include "options.hpp"

int main(int argc, char* argv[]) {
  using namespace norman::ndump;
  Options opts;
  try {
    opts = parse_args(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "ndump: " << e.what() << '\n' << usage_text();
    return UsageError::exit_code;
  }
  if (opts.version || opts.help) {
    std::cout << "ndump version 0.1\n" << pcap_lib_version() << '\n';
    if (opts.help) std::cout << usage_text();
    return 0;
  }
  return run_capture(opts);
}
