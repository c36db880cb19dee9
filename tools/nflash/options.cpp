#include "options.hpp"

#include <CLI/CLI.hpp>
#include <map>
#include <regex>

#include "default_paths.hpp"

namespace norman::nflash {

bool is_xilinx(Board b) { return b != Board::kS10Mx; }

const char* part_prefix(Board b) {
  switch (b) {
    case Board::kU250:
      return "xcu250";
    case Board::kU280:
      return "xcu280";
    case Board::kS10Mx:
      return "1SM21";
  }
  return "";
}

const char* bitstream_ext(Board b) { return is_xilinx(b) ? ".bit" : ".sof"; }

bool valid_bdf(const std::string& bdf) {
  static const std::regex re("^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\\.[0-7]$");
  return std::regex_match(bdf, re);
}

namespace {

// Where the core's ID block sits by default: on Alveo the OpenNIC shell maps
// its 250 MHz user box at 0x100000 of BAR2 (hw/boards/alveo); the Stratix 10
// MX wrapper decodes BAR0 from 0 (hw/boards/s10mx).
void board_defaults(Options& o, bool bar_given, bool offset_given) {
  if (!bar_given) o.bar = is_xilinx(o.board) ? 2 : 0;
  if (!offset_given) o.bar_offset = is_xilinx(o.board) ? 0x100000 : 0;
  if (o.programmer.empty()) o.programmer = is_xilinx(o.board) ? "vivado_lab" : "quartus_pgm";
  if (o.program_script.empty()) o.program_script = kDefaultProgramScript;
}

}  // namespace

ParseResult parse_options(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "nflash: program a Norman bitstream, rescan PCIe and check that the card runs the "
      "register map this software was built for"};
  Options o;
  const std::map<std::string, Board> boards{
      {"u250", Board::kU250}, {"u280", Board::kU280}, {"s10mx", Board::kS10Mx}};
  app.add_option("-b,--board", o.board, "card: u250, u280 or s10mx")
      ->required()
      ->transform(CLI::CheckedTransformer(boards, CLI::ignore_case));
  app.add_option("-d,--device", o.device, "PCI function of the card, e.g. 0000:03:00.0")
      ->required();
  auto* bit = app.add_option("bitstream", o.bitstream, "bitstream (.bit for Alveo, .sof for S10)");
  app.add_option("--programmer", o.programmer,
                 "programmer executable (default vivado_lab for Alveo, quartus_pgm for S10)");
  app.add_option("--program-script", o.program_script,
                 "Tcl script vivado_lab runs (default the installed program_xilinx.tcl)");
  app.add_option("--cable", o.cable,
                 "JTAG cable: quartus_pgm -c NAME, or an hw_server target filter for Alveo");
  app.add_option("--jtag-index", o.jtag_index, "position of the FPGA in the JTAG chain (S10)")
      ->check(CLI::Range(1U, 64U));
  auto* bar = app.add_option("--bar", o.bar, "BAR with the core's registers (default: the board's)")
                  ->check(CLI::Range(0U, 5U));
  auto* off = app.add_option("--bar-offset", o.bar_offset,
                             "offset of the core's ID block in the BAR (default: the board's)");
  app.add_option("--sysfs-root", o.sysfs_root, "sysfs mount (default /sys)");
  app.add_option("--rescan-timeout-ms", o.rescan_timeout_ms,
                 "how long to wait for the device after the rescan")
      ->check(CLI::Range(1U, 600000U));
  app.add_flag("--verify-only", o.verify_only,
               "do not program: only read MAGIC and BUILD_ID and compare");
  app.add_flag("-n,--dry-run", o.dry_run, "print the programmer command and sysfs steps only");
  try {
    app.parse(argc, argv);
    if (!o.verify_only && o.bitstream.empty()) {
      throw CLI::RequiredError("a bitstream (or --verify-only)");
    }
    if (o.verify_only && bit->count() > 0) {
      throw CLI::ValidationError("bitstream", "--verify-only programs nothing: drop the file");
    }
    if (!valid_bdf(o.device)) {
      throw CLI::ValidationError("--device", "'" + o.device +
                                                 "' is not a PCI function in sysfs form "
                                                 "(DDDD:BB:DD.F, lower-case hex)");
    }
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e, out, err);
    return {std::nullopt, status == 0 ? 0 : 2};
  }
  board_defaults(o, bar->count() > 0, off->count() > 0);
  return {o, 0};
}

}  // namespace norman::nflash
