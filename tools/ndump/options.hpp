// ndump's command line: tcpdump's flags for what ndump supports, plus owner
// filters (--uid/--pid/--comm/--cgroup). parse_args refuses anything else,
// naming the flag, with tcpdump's exit status (1).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace norman::ndump {

struct Options {
  std::string interface = "nic0";         // -i nic0|nic1|...|any
  std::optional<std::string> read_file;   // -r FILE (offline)
  std::optional<std::string> write_file;  // -w FILE, "-" for stdout
  bool pcapng = false;                    // --pcapng, or a .pcapng name for -w
  std::uint64_t rotate_bytes = 0;         // -C N: N million bytes per file, 0 = no rotation
  std::optional<std::uint64_t> count;     // -c N
  std::uint32_t snaplen = 262144;         // -s N (0 means the default)
  bool numeric = false;                   // -n
  bool link_header = false;               // -e
  bool line_buffered = false;             // -l: text output flushed per line
  bool packet_buffered = false;           // -U: -w output flushed per packet
  int verbose = 0;                        // -v, -vv
  bool capture_in = true;                 // -Q in|out|inout
  bool capture_out = true;
  std::optional<std::uint32_t> uid;
  std::optional<std::int32_t> pid;
  std::optional<std::string> comm;
  std::optional<std::string> cgroup;
  std::string normand_socket;  // --socket PATH
  std::string expression;      // trailing arguments joined by spaces
  bool help = false;           // -h, --help
  bool version = false;        // --version
};

// A refused command line. The message is the text after "ndump: ".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  static constexpr int exit_code = 1;  // tcpdump's S_ERR_HOST_PROGRAM
};

Options parse_args(int argc, char* const argv[]);
Options parse_args(const std::vector<std::string>& args);  // args[0] is the program name

// The usage text (tcpdump prints it after a refused flag and for -h).
std::string usage_text();

}  // namespace norman::ndump
