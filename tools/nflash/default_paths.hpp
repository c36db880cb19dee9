// Installed files nflash uses; the path comes from CMake (CMAKE_INSTALL_PREFIX).
#pragma once

namespace norman::nflash {

#ifndef NFLASH_DEFAULT_PROGRAM_SCRIPT
#define NFLASH_DEFAULT_PROGRAM_SCRIPT "/usr/local/share/norman/program_xilinx.tcl"
#endif
inline constexpr const char* kDefaultProgramScript = NFLASH_DEFAULT_PROGRAM_SCRIPT;

}  // namespace norman::nflash
