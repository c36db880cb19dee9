#include "vfio_sys.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace norman::device {

namespace {

class RealVfioSys final : public VfioSys {
 public:
  int open(const std::string& path, int flags) override { return ::open(path.c_str(), flags); }
  int ioctl(int fd, unsigned long request, void* arg) override { return ::ioctl(fd, request, arg); }
  void* mmap(std::size_t len, int prot, int fd, off_t offset) override {
    return ::mmap(nullptr, len, prot, MAP_SHARED, fd, offset);
  }
  int munmap(void* addr, std::size_t len) override { return ::munmap(addr, len); }
  ssize_t pread(int fd, void* buf, std::size_t len, off_t offset) override {
    return ::pread(fd, buf, len, offset);
  }
  ssize_t pwrite(int fd, const void* buf, std::size_t len, off_t offset) override {
    return ::pwrite(fd, buf, len, offset);
  }
};

}  // namespace

VfioSys& real_vfio_sys() {
  static RealVfioSys sys;
  return sys;
}

}  // namespace norman::device
