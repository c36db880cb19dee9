// Doorbells: how libnorman tells the NIC that it consumed RX slots, posted TX
// descriptors or consumed notifications, and arms interrupts.
//
// A doorbell write is a 64-bit store to an address in the NIC's doorbell space
// (a connection's or notification queue's page + a register offset from the
// register map). The rings call Doorbell::write64 once per batch, never per
// packet, so one virtual call per batch is the whole abstraction cost.
//
// Transports:
//   NsimMmioDoorbell  the simulated NIC: nsim's shared-memory MMIO channel (a
//                     ring push, no system call), made safe for several
//                     threads with a spinlock.
//   MappedDoorbell    a memory-mapped doorbell region (a PCIe BAR mapping, or
//                     plain memory as a sink): one release store per write.
//   RecordingDoorbell a log of every write, for tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace norman {

namespace nsim {
class MmioChannel;
}

class Doorbell {
 public:
  virtual ~Doorbell() = default;
  // Posted write of `value` to doorbell address `addr` (page + offset). Never
  // blocks for long; may throw std::system_error if the transport is gone.
  virtual void write64(std::uint64_t addr, std::uint64_t value) = 0;
  // A short name for reports ("nsim-mmio", "mapped", "recording").
  [[nodiscard]] virtual std::string_view transport() const = 0;
};

// A tiny test-and-test-and-set spinlock (doorbell writes hold it for a few ns).
class SpinLock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// nsim's app MMIO channel ("nsim-mmio" in normand's hello). Attached with
// nsim::MmioChannel::attach (which claims it); a write is pushed straight
// into the channel's shared-memory request ring (the SPSC protocol of
// sim/proto/nsim_proto.hpp) with a cached copy of nsim's tail index, so the
// common case is one slot write and one release store; when the ring looks
// full it falls back to MmioChannel::write64 (spins with a timeout, EPIPE
// when nsim closed the channel).
class NsimMmioDoorbell final : public Doorbell {
 public:
  // Attaches to the channel fd (duplicated; the caller keeps its own).
  explicit NsimMmioDoorbell(int channel_fd);
  ~NsimMmioDoorbell() override;
  void write64(std::uint64_t addr, std::uint64_t value) override;
  [[nodiscard]] std::string_view transport() const override { return "nsim-mmio"; }
  nsim::MmioChannel& channel() { return *channel_; }

 private:
  SpinLock lock_;
  std::unique_ptr<nsim::MmioChannel> channel_;
  void* shm_ = nullptr;          // nsim::proto::MmioChannelShm, mapped a second time
  std::uint64_t tail_seen_ = 0;  // nsim's req_tail as last read
};

// A mapped doorbell region: address `base_addr` is at `base`; writes outside
// [base_addr, base_addr + bytes) are ignored (and counted).
class MappedDoorbell final : public Doorbell {
 public:
  MappedDoorbell(void* base, std::uint64_t base_addr, std::uint64_t bytes)
      : base_(static_cast<std::uint8_t*>(base)), base_addr_(base_addr), bytes_(bytes) {}
  void write64(std::uint64_t addr, std::uint64_t value) override {
    const std::uint64_t o = addr - base_addr_;
    if (addr < base_addr_ || o + 8 > bytes_ || o % 8 != 0) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    __atomic_store_n(reinterpret_cast<std::uint64_t*>(base_ + o), value, __ATOMIC_RELEASE);
  }
  [[nodiscard]] std::string_view transport() const override { return "mapped"; }
  [[nodiscard]] std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  std::uint8_t* base_;
  std::uint64_t base_addr_;
  std::uint64_t bytes_;
  std::atomic<std::uint64_t> rejected_{0};
};

// Records every write (thread-safe).
class RecordingDoorbell final : public Doorbell {
 public:
  struct Write {
    std::uint64_t addr;
    std::uint64_t value;
    friend bool operator==(const Write&, const Write&) = default;
  };
  void write64(std::uint64_t addr, std::uint64_t value) override {
    std::lock_guard lock(mu_);
    writes_.push_back({addr, value});
  }
  [[nodiscard]] std::string_view transport() const override { return "recording"; }
  std::vector<Write> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  std::vector<Write> take() {
    std::lock_guard lock(mu_);
    return std::exchange(writes_, {});
  }

 private:
  mutable std::mutex mu_;
  std::vector<Write> writes_;
};

}  // namespace norman
