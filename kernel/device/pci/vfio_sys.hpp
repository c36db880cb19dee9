// The system calls the VFIO backend makes on /dev/vfio and the device, behind
// an interface so that tests can play a kernel without a card (or without
// vfio at all). Each call behaves like the system call: -1 (MAP_FAILED for
// mmap) with errno set on failure.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace norman::device {

class VfioSys {
 public:
  virtual ~VfioSys() = default;
  virtual int open(const std::string& path, int flags) = 0;
  // `arg` is the pointer (or, for VFIO_GET_API_VERSION-style calls, the
  // integer) the ioctl takes.
  virtual int ioctl(int fd, unsigned long request, void* arg) = 0;
  virtual void* mmap(std::size_t len, int prot, int fd, off_t offset) = 0;
  virtual int munmap(void* addr, std::size_t len) = 0;
  virtual ssize_t pread(int fd, void* buf, std::size_t len, off_t offset) = 0;
  virtual ssize_t pwrite(int fd, const void* buf, std::size_t len, off_t offset) = 0;
};

// The real system calls.
VfioSys& real_vfio_sys();

// Where the kernel's views live: sysfs (devices, drivers, IOMMU groups) and
// the VFIO character devices. Tests point them at fake trees.
struct VfioPaths {
  std::string sysfs = "/sys";
  std::string dev_vfio = "/dev/vfio";
};

}  // namespace norman::device
