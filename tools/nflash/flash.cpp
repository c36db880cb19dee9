#include "flash.hpp"

#include <cstdlib>
#include <filesystem>
#include <ios>
#include <stdexcept>

#include "identity.hpp"
#include "norman/regmap.hpp"
#include "pci_sysfs.hpp"
#include "programmer.hpp"

namespace fs = std::filesystem;

namespace norman::nflash {

namespace {

void check_bitstream(const Options& o) {
  std::error_code ec;
  if (!fs::is_regular_file(o.bitstream, ec)) {
    throw std::runtime_error("bitstream " + o.bitstream + " is not a readable file");
  }
  const std::string want = bitstream_ext(o.board);
  if (fs::path(o.bitstream).extension() != want) {
    throw std::runtime_error("bitstream " + o.bitstream + ": this board's programmer takes a " +
                             want + " file");
  }
  if (is_xilinx(o.board) && !fs::is_regular_file(o.program_script, ec)) {
    throw std::runtime_error("programming script " + o.program_script +
                             " not found (install nflash, or name it with --program-script)");
  }
}

int verify(const Options& o, const PciSysfs& pci, std::ostream& out, std::ostream& err) {
  const Identity id = pci.read_identity(o.bar, o.bar_offset);
  if (auto why = identity_mismatch(id)) {
    err << "nflash: " << o.device << " refused: " << *why << "\n";
    return kExitMismatch;
  }
  out << "nflash: " << o.device << " runs register map BUILD_ID 0x" << std::hex << id.build_id
      << std::dec << ", as this software expects\n";
  return kExitOk;
}

}  // namespace

int flash(const Options& o, const std::string& path_env, std::ostream& out, std::ostream& err) {
  try {
    const PciSysfs pci(o.sysfs_root, o.device);
    if (o.verify_only) {
      if (!pci.present()) {
        err << "nflash: " << o.device << " is not in " << pci.device_dir() << "\n";
        return kExitFailed;
      }
      return verify(o, pci, out, err);
    }
    check_bitstream(o);
    const std::vector<std::string> argv = programmer_command(o);
    const std::string rescan = pci.rescan_path();
    if (o.dry_run) {
      if (pci.present()) out << "echo 1 > " << pci.device_dir() << "/remove\n";
      out << shell_quote(argv) << "\n";
      out << "echo 1 > " << rescan << "\n";
      out << "read MAGIC, BUILD_ID at " << pci.device_dir() << "/resource" << o.bar << " + 0x"
          << std::hex << o.bar_offset << std::dec << "\n";
      return kExitOk;
    }
    const std::string exe = resolve_programmer(o.programmer, path_env);
    // The link drops while the FPGA reconfigures: take the function out of
    // the kernel's tree first so nothing touches it (and AER stays quiet).
    if (pci.present()) {
      out << "nflash: removing " << o.device << "\n";
      pci.remove();
    } else {
      out << "nflash: " << o.device << " is not present yet; programming anyway\n";
    }
    out << "nflash: " << shell_quote(argv) << "\n";
    out.flush();
    const int rc = run_command(exe, argv);
    // Rescan whatever happened: a failed programming may leave the old image.
    PciSysfs::rescan(rescan);
    if (rc != 0) {
      err << "nflash: " << o.programmer << " failed (exit " << rc << "); rescanned " << rescan
          << "\n";
      return kExitFailed;
    }
    if (!pci.wait_present(o.bar, o.rescan_timeout_ms)) {
      err << "nflash: " << o.device << " did not come back within " << o.rescan_timeout_ms
          << " ms after the rescan (a host reboot may be needed if the slot does not retrain)\n";
      return kExitFailed;
    }
    return verify(o, pci, out, err);
  } catch (const std::exception& e) {
    err << "nflash: " << e.what() << "\n";
    return kExitFailed;
  }
}

int nflash_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParseResult p = parse_options(argc, argv, out, err);
  if (!p.options) return p.status;
  const char* path = std::getenv("PATH");
  return flash(*p.options, path ? path : "/usr/bin:/bin", out, err);
}

}  // namespace norman::nflash
