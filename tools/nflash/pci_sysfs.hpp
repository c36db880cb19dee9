// The PCI function of the card through sysfs: remove it before the FPGA is
// reconfigured (its link drops), rescan afterwards, read the core's ID block
// through the BAR's resourceN file. Every path is under a root so tests can
// use a fake tree.
#pragma once

#include <cstdint>
#include <string>

namespace norman::nflash {

struct Identity {
  std::uint64_t magic = 0;
  std::uint64_t build_id = 0;
};

class PciSysfs {
 public:
  PciSysfs(std::string root, std::string bdf);

  std::string device_dir() const;
  bool present() const;
  // The rescan attribute that brings the function back: its parent bridge's
  // when the function sits behind one (found before removal), else the bus's.
  std::string rescan_path() const;
  // Writes 1 to the function's remove attribute.
  void remove() const;
  // Writes 1 to path (a rescan attribute).
  static void rescan(const std::string& path);
  // Waits until the function and its resourceN file exist; false on timeout.
  bool wait_present(unsigned bar, unsigned timeout_ms) const;
  // Reads MAGIC (offset + 0x08) and BUILD_ID (offset + 0x10) through an mmap
  // of resourceN, as two 32-bit loads each (low word first), which every
  // board wrapper answers. Enables memory decoding for the read if it is off
  // (an unbound function after a rescan reads all ones otherwise).
  Identity read_identity(unsigned bar, std::uint64_t offset) const;

 private:
  std::string root_;
  std::string bdf_;
};

}  // namespace norman::nflash
