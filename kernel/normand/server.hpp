// normand as a whole: attaches to the device, creates nic0 (TAP), the
// neighbor table and the fallback bridge, then accepts clients on the
// control socket and runs one Session per client, all on one io_context.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "capture_hw.hpp"
#include "capture_service.hpp"
#include "conn_manager.hpp"
#include "device.hpp"
#include "device_spec.hpp"
#include "fallback_bridge.hpp"
#include "filter_log.hpp"
#include "filter_service.hpp"
#include "host_netfilter.hpp"
#include "link_watch.hpp"
#include "neighbor_table.hpp"
#include "normand_proto.hpp"
#include "owner_registry.hpp"
#include "policy_store.hpp"
#include "port_registry.hpp"
#include "quota.hpp"
#include "seq_packet.hpp"
#include "session.hpp"
#include "tap_device.hpp"

namespace norman::normand {

struct ServerConfig {
  std::string socket_path = ctl::kDefaultSocketPath;
  // The NIC: nsim (at nsim_socket) or a PCIe function through vfio-pci.
  device::DeviceSpec device;
  std::string nsim_socket = "/run/norman/nsim.sock";
  TapConfig tap;      // nic0: name, MAC, address
  unsigned port = 0;  // NIC port behind nic0
  std::chrono::milliseconds neigh_timeout{3000};
  std::string proc_root = "/proc";
  // nfw LOG records the NIC may write per second, and at once.
  unsigned log_rate = 1000;
  unsigned log_burst = 100;
  // Where the installed policy is kept across restarts (policy_store.hpp);
  // empty: the directory "state" beside socket_path (/run/norman/state).
  std::string state_dir;
  // An administrator's saved filter table (nfw-save output) installed at
  // start when the state directory holds no policy; empty: none.
  std::string rules_file;
  // Per-uid/per-cgroup limits, pools and root's reserve (docs/limits.md).
  // An unlimited fds pool is set to RLIMIT_NOFILE less fd_reserve, the
  // descriptors normand keeps for its own work.
  quota::Config quota = quota::Config::defaults();
  unsigned fd_reserve = 256;
  // Load the filter table's host part (FORWARD, *nat..., interfaces that
  // are not NIC ports, and the copy of the rules that see both) into the
  // host's own netfilter (docs/nfw-host.md); host_netns: a named network
  // namespace to do it in instead of normand's own (tests).
  bool host_netfilter = false;
  std::string host_netns;
};

class Server {
 public:
  // Brings everything up in order (device, nic0, neighbor table, fallback
  // bridge, control socket) and starts accepting. Throws std::exception
  // with a message naming the step that failed; whatever was set up is
  // torn down again.
  Server(boost::asio::io_context& io, const ServerConfig& cfg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting, ends every session (reclaiming its resources) and
  // removes the control socket. Idempotent.
  void shutdown();

  // Called when the device is gone for good (nsim exited). Nothing can be
  // cleared on a NIC that no longer exists, and every device call would
  // wait out its timeout: the control socket is already removed when this
  // runs, and the caller should exit (normand.service restarts normand).
  void on_device_lost(std::function<void(const std::string& why)> fn) {
    device_lost_ = std::move(fn);
  }

  [[nodiscard]] std::size_t num_clients() const { return sessions_.size(); }
  [[nodiscard]] device::Device& device() { return *dev_; }

 private:
  // Throws if the control socket path is taken (a live normand, or not a socket).
  void check_socket_path() const;
  void open_socket();
  void accept_next();
  // Watches the device for loss so that it is noticed at once: the
  // backend's loss_fd() (PCIe: VFIO's request and error interrupts), else
  // nsim's process (pidfd of the pid behind its socket).
  void watch_device();
  // Installs the persisted policy, else the rules file, else nothing (the
  // empty table); throws if the chosen source is unusable. Runs before RX
  // and TX are enabled.
  void load_policy();
  void persist_policy() noexcept;
  void remove_socket();
  // Accepted but refused: tells the client why in one datagram, closes it.
  static void refuse(int fd, int err, const std::string& message);
  // At EMFILE: gives up the spare descriptor to accept and refuse one client
  // (it gets EMFILE instead of waiting in the backlog), then takes it again.
  void shed_one();

  boost::asio::io_context& io_;
  ServerConfig cfg_;
  // Declaration order is construction order; destruction runs backwards
  // (sessions first, the device last).
  std::unique_ptr<device::Device> dev_;
  std::optional<TapDevice> tap_;
  std::unique_ptr<NeighborTable> neigh_;
  std::unique_ptr<FallbackBridge> bridge_;
  OwnerRegistry owners_;
  // Before everything that holds charges (destroyed after them).
  std::unique_ptr<quota::Ledger> quota_;
  std::unique_ptr<PortRegistry> ports_;
  std::unique_ptr<ConnManager> conns_;
  std::unique_ptr<LinkWatch> link_watch_;
  std::unique_ptr<FilterHw> filter_hw_;
  std::unique_ptr<HostNetfilter> host_nf_;  // before filter_, which uses it
  std::unique_ptr<FilterService> filter_;
  std::unique_ptr<SetsService> sets_;
  std::unique_ptr<FilterLog> filter_log_;
  std::unique_ptr<PolicyStore> policy_;
  std::unique_ptr<NicCaptureHw> capture_hw_;
  std::unique_ptr<CaptureService> capture_;
  std::unique_ptr<DaemonContext> ctx_;
  SeqPacketProtocol::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  boost::asio::posix::stream_descriptor device_watch_;
  std::function<void(const std::string&)> device_lost_;
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::map<std::uint64_t, quota::Charge> session_charges_;
  nsim::UniqueFd spare_fd_;
  std::uint64_t next_id_ = 1;
  // The socket file we created (removed only if it is still ours).
  std::optional<ino_t> socket_ino_;
  bool shut_down_ = false;
};

}  // namespace norman::normand
