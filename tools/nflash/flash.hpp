// nflash's whole sequence: check the inputs, remove the PCI function,
// program, rescan, read the ID block, compare. main() is a thin shell so
// tests can run it against a fake sysfs tree and a fake programmer.
#pragma once

#include <ostream>
#include <string>

#include "options.hpp"

namespace norman::nflash {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // missing tool/file, programmer or sysfs failure
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitMismatch = 3;  // the card answers with another register map

int flash(const Options& o, const std::string& path_env, std::ostream& out, std::ostream& err);

// Parses argv and runs flash() with $PATH.
int nflash_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace norman::nflash
