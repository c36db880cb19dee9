// normand's capture service (docs/capture.md, "normand's capture service"):
// ndump's sessions on the NIC's capture overlay. A session is one of the
// NIC's CAPTURE_REC.SESSIONS slots with its cBPF program, ring, direction,
// port and owner filter. Rights come from the kernel's view of the client
// (root or CAP_NET_RAW in the initial user namespace, from the identity
// the session confirmed at connect time), never from the client.
//
// The ring is host memory the NIC writes; the client gets it as a
// read-only descriptor of its memfd (sealed against resizing, its inode
// mode 0400 root so it cannot be reopened writable through /proc), so it
// can read records without normand relaying them but never write what the
// NIC writes. Owner filters become per-connection capture bits (OWNER_SET)
// for the connections open at cap_open and for every connection opened
// while the session runs; when a session ends (cap_close, the client's
// control connection closes for any reason) it is disabled, its ring freed
// and its bits swept (OWNER_SWEEP); its slot is reused only after the
// sweep completed. Work the NIC cannot take yet (a sweep or an owner write
// while a sweep runs) waits for a timer, never in normand's loop.
//
// Single-threaded: called from normand's io_context only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture_args.hpp"
#include "capture_hw.hpp"
#include "clock_fit.hpp"
#include "conn_manager.hpp"
#include "process_info.hpp"
#include "quota.hpp"

namespace norman::normand {

class CaptureService {
 public:
  // Sessions a user other than root may hold at once (of the NIC's four).
  static constexpr unsigned kDefaultPerUser = 2;
  using ConnVisitor = std::function<void(std::uint16_t, const ProcessInfo&)>;
  using ForEachConn = std::function<void(const ConnVisitor&)>;
  using OwnerOf = std::function<std::optional<ProcessInfo>(std::uint16_t)>;

  // hw: the NIC's overlay, or null when it has none (every op but the
  // rights check then answers EOPNOTSUPP). io: where the timer runs (clock
  // samples, deferred NIC work); null in tests, which call tick(). quota:
  // where ring memory is charged (dma_bytes, as connection rings are); null:
  // no quotas.
  CaptureService(CaptureHw* hw, ForEachConn for_each_conn, OwnerOf owner_of,
                 boost::asio::io_context* io = nullptr, quota::Ledger* quota = nullptr,
                 unsigned per_user = kDefaultPerUser);
  // Ends every session (normand shutting down).
  ~CaptureService();
  CaptureService(const CaptureService&) = delete;
  CaptureService& operator=(const CaptureService&) = delete;

  // EPERM unless root or CAP_NET_RAW in the initial user namespace.
  static void check_rights(const ProcessInfo& who);

  // cap_open: results and the ring descriptor. Throws CtlError.
  Grant open(std::uint64_t client, const ProcessInfo& who, const CaptureOpenArgs& a);
  nlohmann::json stats(std::uint64_t client, unsigned id);
  nlohmann::json consume(std::uint64_t client, unsigned id, std::uint16_t cons);
  nlohmann::json close(std::uint64_t client, unsigned id);
  nlohmann::json owner(const ProcessInfo& who, std::uint32_t conn_id) const;
  // Ends every session of the client (its control connection closed).
  void release(std::uint64_t client, const std::string& reason) noexcept;

  // ConnManager's hook: a connection was set up on the NIC.
  void conn_opened(std::uint16_t conn_id, const ProcessInfo& owner) noexcept;

  // Deferred NIC work (sweeps, owner writes refused during a sweep) and a
  // clock sample; the timer calls it.
  void tick() noexcept;

  [[nodiscard]] bool present() const { return hw_ != nullptr; }
  [[nodiscard]] unsigned sessions() const { return static_cast<unsigned>(slots_.size()); }
  [[nodiscard]] unsigned active() const;
  // Slots waiting for their owner bits to be swept.
  [[nodiscard]] unsigned sweeping() const { return sweep_pending_ | sweep_issued_; }
  [[nodiscard]] nlohmann::json status() const;

 private:
  struct Slot {
    bool active = false;
    std::uint64_t client = 0;
    std::uint32_t uid = 0;
    std::string who;  // for logs
    CaptureOwnerFilter owner;
    device::DmaBuffer ring;
    std::uint64_t base_matched = 0, base_captured = 0, base_dropped = 0;
    quota::Charge charge;  // the ring's dma_bytes, released with the slot
  };

  Slot& own(std::uint64_t client, unsigned id);
  [[nodiscard]] unsigned owner_bits(const ProcessInfo& owner) const;
  [[nodiscard]] bool owner_sessions() const;
  [[nodiscard]] bool sweep_busy();
  void end(unsigned s, const std::string& reason) noexcept;
  // Issues what waits for the NIC (owner writes, then sweeps) if no sweep
  // runs; returns true when nothing is left waiting.
  bool advance() noexcept;
  void sample_clock() noexcept;
  [[nodiscard]] nlohmann::json clock_json() const;
  nlohmann::json counts(const Slot& sl, unsigned s);
  void arm(std::chrono::milliseconds after);

  CaptureHw* hw_;
  ForEachConn for_each_conn_;
  OwnerOf owner_of_;
  quota::Ledger* quota_;
  unsigned per_user_;
  std::vector<Slot> slots_;
  unsigned sweep_pending_ = 0;  // to sweep once no sweep runs
  unsigned sweep_issued_ = 0;   // swept, waiting for STATUS.SWEEP_BUSY to fall
  std::set<std::uint16_t> pending_sets_;
  capture::ClockFit fit_;
  std::chrono::steady_clock::time_point last_sample_{};
  std::optional<boost::asio::steady_timer> timer_;
  bool armed_ = false;
  // Lives as long as the service: the timer's handler checks it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A read-only descriptor of `memfd` that cannot be made writable: the inode
// is made mode 0400 (normand's uid) so /proc/PID/fd cannot reopen it for
// writing, then it is reopened O_RDONLY. Throws std::system_error.
nsim::UniqueFd read_only_ring_fd(int memfd);

}  // namespace norman::normand
