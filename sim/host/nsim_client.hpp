// Host-interface library for nsim: what the control plane and applications
// link to talk to the simulated NIC exactly as they would to a PCIe card.
//
// Every failure throws std::system_error whose what() names the operation
// and, for requests nsim refused, nsim's own explanation.
//
// Thread safety: an NsimClient may be shared between threads (requests are
// serialized); an MmioChannel must be used by one thread at a time.
//
// A failed request never puts the control connection out of step: responses
// are matched to requests by seq; a connection whose framing was lost stays
// lost (ENOTCONN, on_lost), since nsim releases what it created. A response whose descriptor could not be received
// (the process is at RLIMIT_NOFILE) fails with EMFILE, and what nsim created
// for it is released again.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nsim_proto.hpp"
#include "unique_fd.hpp"

namespace norman::nsim {

inline constexpr const char* kDefaultSocketPath = "/run/norman/nsim.sock";

namespace detail {
class Connection;
}

// A shared-memory MMIO channel: 64-bit register reads and writes.
class MmioChannel {
 public:
  // Attaches to a channel fd (from NsimClient::open_app_channel, possibly
  // received from another process). The fd is duplicated; the caller keeps
  // its own. A channel can be attached once.
  static MmioChannel attach(int fd);

  MmioChannel(MmioChannel&&) noexcept;
  MmioChannel& operator=(MmioChannel&&) noexcept;
  ~MmioChannel();

  // Posted write: returns once queued (spins while the ring is full).
  void write64(std::uint64_t addr, std::uint64_t value);
  // Blocks until nsim answers; a read nsim refused (outside the channel's
  // pages) or the core did not answer returns all ones, see last_status().
  std::uint64_t read64(std::uint64_t addr);
  [[nodiscard]] proto::MmioStatus last_status() const { return last_status_; }

  // Wall-clock limit for one read (or for room in a full ring); then
  // std::system_error(ETIMEDOUT). Default 10 s.
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }

  [[nodiscard]] std::uint32_t id() const;
  [[nodiscard]] proto::ChannelKind kind() const;
  // Accesses nsim refused on this channel so far.
  [[nodiscard]] std::uint64_t refused_writes() const;
  [[nodiscard]] std::uint64_t refused_reads() const;
  [[nodiscard]] bool closed() const;

 private:
  MmioChannel(UniqueFd fd, proto::MmioChannelShm* shm);
  void push(const proto::MmioReq& r);

  UniqueFd fd_;
  proto::MmioChannelShm* shm_ = nullptr;
  std::uint32_t seq_ = 0;
  proto::MmioStatus last_status_ = proto::MmioStatus::kOk;
  std::chrono::milliseconds timeout_{10000};
};

// Host memory the NIC may DMA to: a memfd (sealed against shrinking) mapped
// into this process. Registered with nsim at an IOVA either by
// NsimClient::alloc_dma (then unregistered on destruction) or by passing
// fd() to NsimClient::map_dma (e.g. from the control plane, for an app).
class DmaRegion {
 public:
  static DmaRegion create(std::size_t size, const std::string& name = "nsim-dma");
  DmaRegion() = default;
  DmaRegion(DmaRegion&&) noexcept;
  DmaRegion& operator=(DmaRegion&&) noexcept;
  ~DmaRegion();

  [[nodiscard]] std::uint8_t* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] std::uint64_t iova() const { return iova_; }  // 0 if not registered by alloc_dma

 private:
  friend class NsimClient;
  void release();

  UniqueFd fd_;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t iova_ = 0;
  std::weak_ptr<detail::Connection> owner_;  // set by alloc_dma
};

struct ConnectOptions {
  // Read ID.MAGIC and ID.BUILD_ID over MMIO and refuse a mismatch.
  bool check_identity = true;
  std::chrono::milliseconds timeout{10000};  // per request / per MMIO read
};

struct HelloInfo {
  std::uint32_t proto_version;
  std::uint32_t num_ports;
  std::uint64_t build_id;
  std::uint64_t cycles;
  std::uint64_t clock_hz;
};

struct AppChannel {
  std::uint32_t id;
  UniqueFd fd;  // hand it to the application (SCM_RIGHTS), attach there
};

// A privileged connection to nsim (the control plane's).
class NsimClient {
 public:
  static NsimClient connect(const std::string& socket_path = kDefaultSocketPath, const ConnectOptions& opts = {});
  NsimClient(NsimClient&&) noexcept;
  NsimClient& operator=(NsimClient&&) noexcept;
  ~NsimClient();

  [[nodiscard]] const HelloInfo& hello() const { return hello_; }
  // The privileged MMIO channel (whole register space).
  MmioChannel& mmio();

  void map_dma(int fd, std::uint64_t iova, std::uint64_t size, std::uint64_t offset = 0);
  void unmap_dma(std::uint64_t iova);
  // create() + map_dma(); the region unregisters itself when destroyed.
  DmaRegion alloc_dma(std::size_t size, std::uint64_t iova);

  // A new app channel limited to `pages` (doorbell page base addresses).
  AppChannel open_app_channel(std::span<const std::uint64_t> pages);
  // Another privileged channel (e.g. for a second control thread).
  MmioChannel open_privileged_channel();
  void grant_pages(std::uint32_t channel_id, std::span<const std::uint64_t> pages);
  void revoke_pages(std::uint32_t channel_id, std::span<const std::uint64_t> pages);
  void close_channel(std::uint32_t channel_id);

  // Interrupt vector -> eventfd (nsim keeps its own duplicate).
  void set_irq(std::uint32_t vector, int eventfd);
  void clear_irq(std::uint32_t vector);

  proto::StatsRsp stats();
  // Asks nsim to exit (it closes its ports and removes its socket).
  void shutdown();
  // Called once if the control connection loses its framing (every later
  // request then fails with ENOTCONN): what it set up on the NIC is gone.
  void on_lost(std::function<void(const std::string& why)> fn);

 private:
  NsimClient() = default;
  std::shared_ptr<detail::Connection> conn_;
  HelloInfo hello_{};
  std::unique_ptr<MmioChannel> mmio_;
};

// A non-blocking eventfd for SET_IRQ.
UniqueFd make_eventfd();

}  // namespace norman::nsim
