#include "pci_sysfs.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "norman/regmap.hpp"
#include "options.hpp"

namespace fs = std::filesystem;
namespace rm = norman::regmap;

namespace norman::nflash {

namespace {

[[noreturn]] void fail_errno(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

void write_attr(const std::string& path, const char* value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("cannot open", path);
  const std::size_t n = std::strlen(value);
  const ssize_t w = ::write(fd, value, n);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (w != static_cast<ssize_t>(n)) fail_errno("cannot write", path);
}

std::string read_attr(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// Closes a file descriptor and unmaps a mapping on every path out.
struct Mapping {
  int fd = -1;
  void* base = MAP_FAILED;
  std::size_t len = 0;
  ~Mapping() {
    if (base != MAP_FAILED) ::munmap(base, len);
    if (fd >= 0) ::close(fd);
  }
};

std::uint64_t load64(const volatile std::uint32_t* p) {
  const std::uint64_t lo = p[0];
  const std::uint64_t hi = p[1];
  return lo | (hi << 32);
}

}  // namespace

PciSysfs::PciSysfs(std::string root, std::string bdf)
    : root_(std::move(root)), bdf_(std::move(bdf)) {}

std::string PciSysfs::device_dir() const { return root_ + "/bus/pci/devices/" + bdf_; }

bool PciSysfs::present() const {
  std::error_code ec;
  return fs::is_directory(device_dir(), ec);
}

std::string PciSysfs::rescan_path() const {
  std::error_code ec;
  const fs::path real = fs::canonical(device_dir(), ec);
  if (!ec) {
    const fs::path parent = real.parent_path();
    if (valid_bdf(parent.filename().string()) && fs::exists(parent / "rescan", ec)) {
      return (parent / "rescan").string();
    }
  }
  return root_ + "/bus/pci/rescan";
}

void PciSysfs::remove() const { write_attr(device_dir() + "/remove", "1"); }

void PciSysfs::rescan(const std::string& path) { write_attr(path, "1"); }

bool PciSysfs::wait_present(unsigned bar, unsigned timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string res = device_dir() + "/resource" + std::to_string(bar);
  for (;;) {
    std::error_code ec;
    if (fs::exists(res, ec)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Identity PciSysfs::read_identity(unsigned bar, std::uint64_t offset) const {
  const std::string res = device_dir() + "/resource" + std::to_string(bar);
  const std::string enable = device_dir() + "/enable";
  // Memory decoding: sysfs "enable" counts enables; leave it as it was.
  bool enabled_here = false;
  std::error_code ec;
  if (fs::exists(enable, ec) && read_attr(enable) == "0") {
    write_attr(enable, "1");
    enabled_here = true;
  }
  struct Restore {
    bool on;
    std::string path;
    ~Restore() {
      if (!on) return;
      try {
        write_attr(path, "0");
      } catch (const std::exception&) {
        // Best effort: a device left enabled is harmless; the read result stands.
      }
    }
  } restore{enabled_here, enable};

  Mapping m;
  m.fd = ::open(res.c_str(), O_RDONLY | O_CLOEXEC | O_SYNC);
  if (m.fd < 0) fail_errno("cannot open", res);
  struct stat st {};
  if (::fstat(m.fd, &st) != 0) fail_errno("cannot stat", res);
  const std::uint64_t need = offset + rm::kRegIdBuildId + 8;
  if (static_cast<std::uint64_t>(st.st_size) < need) {
    throw std::runtime_error(res + " is " + std::to_string(st.st_size) +
                             " bytes, too small for the ID block at offset " +
                             std::to_string(offset) + " (wrong --bar or --bar-offset?)");
  }
  const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t base = offset & ~(page - 1);
  m.len = static_cast<std::size_t>(offset - base + rm::kRegIdBuildId + 8);
  m.base = ::mmap(nullptr, m.len, PROT_READ, MAP_SHARED, m.fd, static_cast<off_t>(base));
  if (m.base == MAP_FAILED) fail_errno("cannot mmap", res);
  const auto* id =
      reinterpret_cast<const volatile std::uint32_t*>(static_cast<char*>(m.base) + (offset - base));
  Identity out;
  out.magic = load64(id + rm::kRegIdMagic / 4);
  out.build_id = load64(id + rm::kRegIdBuildId / 4);
  return out;
}

}  // namespace norman::nflash
