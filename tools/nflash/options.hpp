// nflash's command line: which card, which bitstream, which PCI function,
// and how to reach the vendor programmer. Parsed with CLI11 (options.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace norman::nflash {

enum class Board { kU250, kU280, kS10Mx };

// Xilinx cards program with vivado_lab, Intel ones with quartus_pgm.
bool is_xilinx(Board b);
// The FPGA part a board carries (matched against the JTAG chain on Xilinx).
const char* part_prefix(Board b);
// Bitstream file extension the board's programmer takes (".bit", ".sof").
const char* bitstream_ext(Board b);

struct Options {
  Board board = Board::kU250;
  std::string bitstream;       // empty with --verify-only
  std::string device;          // PCI function, DDDD:BB:DD.F
  std::string programmer;      // executable; empty: the board's default
  std::string program_script;  // Tcl script for vivado_lab (Xilinx)
  std::string cable;           // quartus_pgm -c / hw_server target filter
  unsigned jtag_index = 1;     // position of the FPGA in the JTAG chain (Intel)
  unsigned bar = 0;            // BAR holding the core's ID block
  std::uint64_t bar_offset = 0;
  std::string sysfs_root = "/sys";
  unsigned rescan_timeout_ms = 10000;
  bool verify_only = false;  // no programming, no remove/rescan: just read the ID
  bool dry_run = false;      // print what would run, touch nothing
};

// Parses argv (argv[0] is the program name). Returns the options, or an exit
// status (0 for --help, 2 for bad usage) after printing to out/err.
struct ParseResult {
  std::optional<Options> options;
  int status = 0;
};
ParseResult parse_options(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// A PCI function address in sysfs form (domain:bus:device.function, lower-case hex).
bool valid_bdf(const std::string& bdf);

}  // namespace norman::nflash
