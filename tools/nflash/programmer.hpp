// The vendor programmer under nflash: its command line, finding it, running it.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace norman::nflash {

// argv of the programmer for o (argv[0] is o.programmer as given):
//   Alveo: vivado_lab -mode batch -nojournal -nolog -notrace -source SCRIPT
//                     -tclargs BITSTREAM PART_PREFIX [TARGET_FILTER]
//   S10:   quartus_pgm [-c CABLE] -m jtag -o p;BITSTREAM@INDEX
std::vector<std::string> programmer_command(const Options& o);

// The executable the command names: a path containing '/' must be an
// executable file; a bare name is looked up in PATH. Throws
// std::runtime_error saying which tool is missing and how to name another.
std::string resolve_programmer(const std::string& name, const std::string& path_env);

// Runs argv (no shell), waits, returns the exit status (128 + signal if killed).
int run_command(const std::string& exe, const std::vector<std::string>& argv);

// One line for logs: arguments with spaces or quotes are single-quoted.
std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace norman::nflash
