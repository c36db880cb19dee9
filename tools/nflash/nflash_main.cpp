// nflash: program a Norman bitstream onto an Alveo U250/U280 or a Stratix 10
// MX card, rescan PCIe and refuse a card whose register map differs from the
// one this software was built for. See docs/boards.md.
//
//   nflash -b u250 -d 0000:03:00.0 norman_u250.bit
//   nflash -b s10mx -d 0000:65:00.0 --cable 1 norman_s10mx.sof
//   nflash -b u250 -d 0000:03:00.0 --verify-only
#include <iostream>

#include "flash.hpp"

int main(int argc, char** argv) {
  return norman::nflash::nflash_main(argc, argv, std::cout, std::cerr);
}
