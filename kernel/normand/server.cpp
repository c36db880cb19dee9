#include "server.hpp"

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "ctl_socket.hpp"
#include "log.hpp"
#include "nic_filter_hw.hpp"
#include "nsim_backend.hpp"
#include "pci_device.hpp"
#include "reject_reply.hpp"

namespace norman::normand {

namespace asio = boost::asio;

namespace {

// Is some process answering on the UNIX socket at `path`?
bool socket_answers(const std::string& path) {
  nsim::UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// The pid of the process listening on a UNIX stream socket (the kernel
// gives a connecting client the listener's credentials).
std::optional<pid_t> listener_pid(const std::string& path) {
  nsim::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return std::nullopt;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return std::nullopt;
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &c, &len) != 0 || c.pid <= 0) {
    return std::nullopt;
  }
  return c.pid;
}

[[noreturn]] void fail(const std::string& step, const std::exception& e) {
  throw std::runtime_error(step + ": " + e.what());
}

}  // namespace

Server::Server(asio::io_context& io, const ServerConfig& cfg)
    : io_(io), cfg_(cfg), acceptor_(io), accept_retry_(io), device_watch_(io) {
  // Before touching the device: a second normand must not disturb the first.
  check_socket_path();
  if (cfg.device.kind == device::DeviceSpec::Kind::kPci) {
    try {
      // vfio-pci gives the device to one process at a time (the group fd):
      // a second normand fails here with the group busy.
      dev_ = std::make_unique<device::PciDevice>(cfg.device.pci);
    } catch (const std::exception& e) {
      fail("cannot attach to the NIC", e);
    }
  } else {
    try {
      auto nsim = std::make_unique<device::NsimDevice>(cfg.nsim_socket);
      // The NIC has one driver. Another control plane attached (a normand on
      // another socket) still holds channels; a dead one's are gone (nsim
      // released them and reset the NIC when its connection closed).
      const auto channels = nsim->client().stats().mmio_channels;
      if (channels > 1) {
        throw std::runtime_error("another control plane is attached (" +
                                 std::to_string(channels - 1) + " other MMIO channels open)");
      }
      // A control connection that lost its framing took the NIC's state with
      // it (nsim resets a driverless device): the clean way on is a restart.
      nsim->client().on_lost([this](const std::string& why) {
        asio::post(io_, [this, why] {
          if (!shut_down_ && device_lost_) {
            device_lost_("the control connection to the NIC was lost: " + why);
          }
        });
      });
      dev_ = std::move(nsim);
    } catch (const std::exception& e) {
      fail("cannot attach to the NIC (nsim at " + cfg.nsim_socket + ")", e);
    }
  }
  log::info("attached to " + dev_->describe());
  watch_device();
  // Nothing moves until the policy is installed (below): a NIC that a dead
  // normand left running, or one fresh from reset (RX and TX on), must not
  // deliver a frame that the policy would drop, not even to nic0.
  try {
    dev_->nic().io().write64(regmap::kRegCtrlEnable, 0);
  } catch (const std::exception& e) {
    fail("cannot hold the NIC's RX and TX (CTRL.ENABLE)", e);
  }
  if (cfg.port >= dev_->num_ports()) {
    throw std::runtime_error("--port " + std::to_string(cfg.port) + ": the NIC has only " +
                             std::to_string(dev_->num_ports()) + " port(s)");
  }
  try {
    tap_.emplace(TapDevice::create(cfg.tap));
  } catch (const std::exception& e) {
    fail("cannot create " + cfg.tap.name, e);
  }
  log::info(cfg.tap.name + " is up: " + to_string(cfg.tap.ip) + "/" +
            std::to_string(cfg.tap.prefix_len) + " " + to_string(cfg.tap.mac) + " (NIC port " +
            std::to_string(cfg.port) + ")");
  try {
    neigh_ = std::make_unique<NeighborTable>(io, tap_->ifindex(), cfg.tap.ip, cfg.tap.prefix_len);
  } catch (const std::exception& e) {
    fail("cannot open the neighbor table", e);
  }
  try {
    bridge_ = std::make_unique<FallbackBridge>(io, *dev_, *tap_, cfg.port);
    bridge_->start();
  } catch (const std::exception& e) {
    fail("cannot start the fallback bridge (conn 0 <-> " + cfg.tap.name + ")", e);
  }
  quota::Config qc = cfg.quota;
  if (qc.pool[quota::Resource::kFds] == quota::kUnlimited) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      qc.pool[quota::Resource::kFds] =
          rl.rlim_cur > cfg.fd_reserve ? rl.rlim_cur - cfg.fd_reserve : 0;
    }
  }
  quota_ = std::make_unique<quota::Ledger>(std::move(qc));
  ports_ = std::make_unique<PortRegistry>(cfg.tap.ip);
  NicInfo nic;
  nic.mac = cfg.tap.mac;
  nic.ip = cfg.tap.ip;
  nic.prefix_len = cfg.tap.prefix_len;
  nic.port = cfg.port;
  conns_ = std::make_unique<ConnManager>(*dev_, nic, *ports_, &io, quota_.get());
  try {
    link_watch_ = std::make_unique<LinkWatch>(io, dev_->nic(), cfg.port, tap_->ifindex(),
                                              cfg.tap.mac, subnet_broadcast(nic));
  } catch (const std::exception& e) {
    fail("cannot give NIC port " + std::to_string(cfg.port) + " nic0's link settings", e);
  }
  // The filter table starts empty (policy ACCEPT) and is installed at once,
  // so the policies count from the start. A NIC without the overlay still
  // serves connections; nfw then gets EOPNOTSUPP.
  try {
    filter_hw_ = std::make_unique<NicFilterHw>(dev_->nic());
    filter_ = std::make_unique<FilterService>(*filter_hw_, owners_, dev_->num_ports());
    log::info("filter overlay: " + std::to_string(filter_->status().capacity) + " entries");
    if (cfg.host_netfilter) {
      // The host part of the table in this network namespace's netfilter,
      // nic0's TAP bypassed (docs/nfw-host.md).
      host_nf_ = std::make_unique<HostNetfilter>(cfg.host_netns,
                                                 std::vector<std::string>{cfg.tap.name});
      filter_->set_host(host_nf_.get());
      log::info("host netfilter: the table's host part is loaded with iptables-restore");
    }
    filter_log_ = std::make_unique<FilterLog>(
        io, *dev_, cfg.log_rate, cfg.log_burst, [this](const LogRecord& r) {
          const auto cmd = owners_.commands().name(r.cmd_id);
          const std::string line = log_line(r, cmd.value_or(""));
          std::string text;
          for (const auto& prefix : filter_->log_prefixes(r.slot))
            text += (text.empty() ? "" : "\nnfw: ") + prefix + line;
          return text.empty() ? line : text;
        });
    // Packets the filter REJECTs on INPUT come to normand, which answers
    // them as Linux's REJECT would (the owner is the receiving connection's).
    bridge_->on_reject([this](std::span<const std::uint8_t> frame)
                           -> std::optional<std::vector<std::uint8_t>> {
      auto key = filter::key_of_frame(frame, filter::Direction::kInput, cfg_.port, std::nullopt);
      if (!key) return std::nullopt;
      namespace rf = filter::rf;
      const auto proto = static_cast<std::uint8_t>((*key)[rf::FieldId::kProto]);
      if ((proto == 6 || proto == 17) && (key->flags & filter::flag_bit(rf::Flag::kL4Valid)) != 0) {
        const std::uint32_t src = (*key)[rf::FieldId::kSrcIp];
        const Ipv4 remote{static_cast<std::uint8_t>(src >> 24),
                          static_cast<std::uint8_t>(src >> 16), static_cast<std::uint8_t>(src >> 8),
                          static_cast<std::uint8_t>(src)};
        if (auto owner = conns_->owner_of_flow(
                proto, static_cast<std::uint16_t>((*key)[rf::FieldId::kDport]), remote,
                static_cast<std::uint16_t>((*key)[rf::FieldId::kSport]))) {
          filter::set_owner(*key, *owner);
        }
      }
      const auto with = filter_->reject_with(*key);
      if (!with) return std::nullopt;
      return reject_reply(frame, *with);
    });
  } catch (const std::exception& e) {
    filter_.reset();
    log::warn(std::string("the NIC's filter overlay is unusable, nfw is unavailable: ") + e.what());
  }
  load_policy();
  sets_ = std::make_unique<SetsService>();
  // ndump's capture service. A NIC without the capture overlay (its block
  // chain lists no CAPTURE block) still serves everything else; cap_open
  // then answers that the overlay is missing.
  try {
    capture_hw_ = NicCaptureHw::discover(*dev_);
    capture_ = std::make_unique<CaptureService>(
        capture_hw_.get(),
        [this](const CaptureService::ConnVisitor& fn) { conns_->for_each_conn(fn); },
        [this](std::uint16_t id) { return conns_->owner_of_conn(id); }, &io, quota_.get());
    conns_->on_conn_open([this](std::uint16_t id, const ProcessInfo& owner) {
      if (capture_) capture_->conn_opened(id, owner);
    });
    log::info(capture_hw_ ? "capture overlay: " + std::to_string(capture_->sessions()) +
                                " sessions"
                          : std::string("the NIC has no capture overlay: ndump's live capture "
                                        "is unavailable"));
  } catch (const std::exception& e) {
    capture_.reset();
    capture_hw_.reset();
    log::warn(std::string("the NIC's capture overlay is unusable, live capture is unavailable: ") +
              e.what());
  }
  try {
    dev_->nic().io().write64(regmap::kRegCtrlEnable, 3);  // bit0 RX, bit1 TX
  } catch (const std::exception& e) {
    fail("cannot enable the NIC's RX and TX (CTRL.ENABLE)", e);
  }
  ctx_ = std::unique_ptr<DaemonContext>(new DaemonContext{
      .dev = *dev_,
      .conns = *conns_,
      .owners = owners_,
      .neigh = *neigh_,
      .fallback = *bridge_,
      .nic = nic,
      .proc_root = cfg.proc_root,
      .neigh_timeout = cfg.neigh_timeout,
      .num_clients = [this] { return sessions_.size(); },
      .filter = filter_.get(),
      .capture = capture_.get(),
      .on_closed =
          [this](std::uint64_t id) {
            sessions_.erase(id);
            session_charges_.erase(id);
          },
      .quota = quota_.get(),
      .sets = sets_.get(),
  });
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  open_socket();
  accept_next();
  log::info("listening on " + cfg.socket_path);
}

Server::~Server() { shutdown(); }

void Server::check_socket_path() const {
  struct stat st {};
  if (::lstat(cfg_.socket_path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) {
    throw std::runtime_error(cfg_.socket_path + " exists and is not a socket; not touching it");
  }
  if (socket_answers(cfg_.socket_path)) {
    throw std::runtime_error("another normand is already listening on " + cfg_.socket_path);
  }
}

void Server::open_socket() {
  namespace fs = std::filesystem;
  const fs::path path(cfg_.socket_path);
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      throw std::runtime_error("cannot create " + path.parent_path().string() + ": " +
                               ec.message());
    }
  }
  check_socket_path();
  struct stat st {};
  if (::lstat(cfg_.socket_path.c_str(), &st) == 0) {
    log::info("removing stale socket " + cfg_.socket_path);
    ::unlink(cfg_.socket_path.c_str());
  }
  try {
    const SeqPacketProtocol::endpoint ep(cfg_.socket_path);
    acceptor_.open(SeqPacketProtocol());
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    fail("cannot listen on " + cfg_.socket_path, e);
  }
  // Anyone may connect; what each client may do follows from its identity.
  if (::chmod(cfg_.socket_path.c_str(), 0666) != 0) {
    const int err = errno;
    ::unlink(cfg_.socket_path.c_str());
    throw std::runtime_error("chmod 0666 " + cfg_.socket_path + ": " + std::strerror(err));
  }
  if (::lstat(cfg_.socket_path.c_str(), &st) == 0) socket_ino_ = st.st_ino;
}

void Server::accept_next() {
  acceptor_.async_accept(
      [this](const boost::system::error_code& ec, SeqPacketProtocol::socket sock) {
        if (shut_down_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          if (ec.value() == EMFILE || ec.value() == ENFILE) shed_one();
          // Typically EMFILE/ENFILE: back off instead of spinning.
          log::warn("accept failed: " + ec.message());
          accept_retry_.expires_after(std::chrono::milliseconds(100));
          accept_retry_.async_wait([this](const boost::system::error_code& tec) {
            if (!tec && !shut_down_) accept_next();
          });
          return;
        }
        const std::uint64_t id = next_id_++;
        const int fd = sock.native_handle();
        auto s = std::make_shared<Session>(*ctx_, std::move(sock), id);
        if (!s->identified()) {
          log::warn("client " + std::to_string(id) + " refused: no peer credentials");
        } else if (auto [charge, no] = quota_->try_charge(
                       quota::principal_of(s->identity().proc),
                       {{quota::Resource::kSessions, 1}, {quota::Resource::kFds, 1}});
                   no) {
          // Refused at once: an unprivileged user cannot hold normand's
          // descriptors with connections it never uses.
          log::debug("client " + std::to_string(id) + " (" + s->identity().proc.describe() +
                     ") refused: " + no->message);
          refuse(fd, no->err, no->message);
        } else {
          session_charges_.emplace(id, std::move(charge));
          sessions_.emplace(id, s);
          s->start();
        }
        accept_next();
      });
}

void Server::load_policy() {
  namespace fs = std::filesystem;
  const fs::path dir = !cfg_.state_dir.empty() ? fs::path(cfg_.state_dir)
                                               : fs::path(cfg_.socket_path).parent_path() / "state";
  policy_ = std::make_unique<PolicyStore>(dir);
  // Precedence: the policy this normand's predecessor installed (it
  // includes every nfw change since the rules file was loaded), else the
  // administrator's rules file, else the empty table (policy ACCEPT).
  std::optional<filter::Ruleset> rules;
  std::string source;
  try {
    rules = policy_->load_filter();
    if (rules) source = "persisted policy " + policy_->file().string();
    if (!rules && !cfg_.rules_file.empty()) {
      std::error_code ec;
      if (fs::exists(cfg_.rules_file, ec)) {
        rules = load_rules_file(cfg_.rules_file);
        source = "rules file " + cfg_.rules_file;
      } else {
        log::info("no rules file " + cfg_.rules_file + ": the filter table starts empty");
      }
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("refusing to start with the NIC open: ") + e.what() +
                             " (fix or remove the file)");
  }
  if (rules) {
    if (!filter_) {
      throw std::runtime_error("refusing to start: the " + source +
                               " has a filter table, but the NIC's filter overlay is unusable");
    }
    try {
      filter_->replace(std::move(*rules), std::nullopt, /*with_counters=*/false);
    } catch (const std::exception& e) {
      throw std::runtime_error("refusing to start with the NIC open: cannot install the " + source +
                               ": " + e.what());
    }
    std::size_t n = 0;
    for (const auto& c : filter_->rules().chains) n += c.rules.size();
    log::info("installed the " + source + " (" + std::to_string(n) + " rules)");
  }
  if (filter_) {
    // What is installed now is what a successor installs; and so after
    // every change.
    persist_policy();
    filter_->on_change([this] { persist_policy(); });
  }
}

void Server::persist_policy() noexcept {
  try {
    policy_->save_filter(filter_->rules());
  } catch (const std::exception& e) {
    log::error(std::string(e.what()) + ": a restarted normand would install an older policy");
  }
}

void Server::refuse(int fd, int err, const std::string& message) {
  // One datagram into an empty socket buffer: never blocks.
  const std::string text = ctl::error_reply(0, err, message)
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  (void)::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  // Closing with requests unread would make the client's next recv fail
  // with ECONNRESET before it reads the answer: drop them first (with any
  // descriptors attached; a client's socket buffer holds only a few).
  char buf[256];
  for (int i = 0; i < 64 && ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0; ++i) {
  }
}

void Server::shed_one() {
  spare_fd_.reset();
  nsim::UniqueFd c(
      ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (c) {
    refuse(c.get(), EMFILE, "normand is out of file descriptors; try again later");
    c.reset();
  }
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

void Server::watch_device() {
  if (const int fd = dev_->loss_fd(); fd >= 0) {
    // The PCIe backend: the kernel asks for the device back (unbind,
    // hot-unplug; it waits until normand lets go) or reports an error.
    const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
      log::warn(std::string("cannot watch the device for loss: ") + std::strerror(errno));
      return;
    }
    device_watch_.assign(own);
    device_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                             [this](const boost::system::error_code& ec) {
                               if (ec || shut_down_) return;
                               const std::string why =
                                   "the NIC is gone: the kernel wants " + dev_->describe() +
                                   " back (unbind or hot-unplug) or it reported a PCIe error";
                               log::error(why);
                               remove_socket();
                               if (device_lost_) device_lost_(why);
                             });
    return;
  }
  if (cfg_.device.kind != device::DeviceSpec::Kind::kNsim) return;
  const auto pid = listener_pid(cfg_.nsim_socket);
  if (!pid) {
    log::warn("cannot tell nsim's pid: its exit will only show as failing requests");
    return;
  }
  const long fd = ::syscall(SYS_pidfd_open, *pid, 0);
  if (fd < 0) {
    log::warn(std::string("pidfd_open: ") + std::strerror(errno) +
              ": nsim's exit will only show as failing requests");
    return;
  }
  device_watch_.assign(static_cast<int>(fd));
  device_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                           [this, p = *pid](const boost::system::error_code& ec) {
                             if (ec || shut_down_) return;
                             const std::string why =
                                 "the NIC is gone: nsim (pid " + std::to_string(p) + ") exited";
                             log::error(why);
                             remove_socket();
                             if (device_lost_) device_lost_(why);
                           });
}

void Server::remove_socket() {
  if (!socket_ino_) return;
  struct stat st {};
  if (::lstat(cfg_.socket_path.c_str(), &st) == 0 && st.st_ino == *socket_ino_) {
    ::unlink(cfg_.socket_path.c_str());
  }
  socket_ino_.reset();
}

void Server::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  accept_retry_.cancel();
  device_watch_.close(ec);
  // stop() erases each session from sessions_ (on_closed): iterate a copy.
  const auto sessions = sessions_;
  for (const auto& [id, s] : sessions) s->stop("normand is shutting down");
  sessions_.clear();
  remove_socket();
}

}  // namespace norman::normand
