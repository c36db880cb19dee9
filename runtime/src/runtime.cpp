#include "norman/runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include "destination.hpp"
#include "runtime_core.hpp"

namespace norman {

namespace detail {

Mapping::~Mapping() {
  if (p_ != nullptr) ::munmap(p_, n_);
}

UniqueFd take_fd(ctl::Message& m, std::string_view name, std::string_view what) {
  const auto& names = m.body.value("fds", nlohmann::json::array());
  if (names.is_array()) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].is_string() && names[i].get<std::string>() == name) {
        if (i < m.fds.size() && m.fds[i].valid()) return UniqueFd(m.fds[i].release());
        break;
      }
    }
  }
  throw_errno(EPROTO, std::string(what) + ": normand's reply carries no \"" + std::string(name) +
                          "\" descriptor");
}

std::unique_ptr<Mapping> map_fd(int fd, std::uint64_t bytes, std::string_view what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, std::string(what) + ": fstat");
  if (bytes == 0 || static_cast<std::uint64_t>(st.st_size) < bytes) {
    throw_errno(EPROTO, std::string(what) + ": the memory normand granted (" +
                            std::to_string(st.st_size) + " bytes) is smaller than its layout (" +
                            std::to_string(bytes) + " bytes)");
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) throw_errno(errno, std::string(what) + ": mmap");
  return std::make_unique<Mapping>(p, bytes);
}

Ipv4 json_ip(const nlohmann::json& v, std::string_view what) {
  if (v.is_string()) {
    if (auto a = Ipv4::parse(v.get<std::string>())) return *a;
  }
  throw_errno(EPROTO, std::string(what) + ": not an IPv4 address: " + v.dump());
}

MacAddr json_mac(const nlohmann::json& v, std::string_view what) {
  if (v.is_string()) {
    if (auto m = MacAddr::parse(v.get<std::string>())) return *m;
  }
  throw_errno(EPROTO, std::string(what) + ": not a MAC address: " + v.dump());
}

std::uint64_t json_u64(const nlohmann::json& body, std::string_view key, std::string_view what) {
  auto it = body.find(key);
  if (it != body.end()) {
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0)
      return static_cast<std::uint64_t>(it->get<std::int64_t>());
    if (it->is_string()) {  // "0x..." also accepted (64-bit ids)
      const std::string s = it->get<std::string>();
      char* end = nullptr;
      errno = 0;
      const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
      if (errno == 0 && end != nullptr && *end == '\0' && !s.empty()) return v;
    }
  }
  throw_errno(EPROTO,
              std::string(what) + ": normand's reply lacks a valid \"" + std::string(key) + "\"");
}

void RuntimeCore::check_session() {
  check_lost();
  pollfd p{ctl_fd, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) note_hangup();
}

}  // namespace detail

using detail::throw_errno;

std::string Runtime::default_socket_path() {
  const char* env = std::getenv("NORMAN_SOCKET");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(ctl::kDefaultSocketPath);
}

Runtime Runtime::connect(const std::string& socket_path) {
  RuntimeOptions o;
  o.socket_path = socket_path;
  return Runtime(o);
}

Runtime::Runtime(const RuntimeOptions& opts) : core_(std::make_shared<detail::RuntimeCore>()) {
  auto& c = *core_;
  c.socket_path = opts.socket_path.empty() ? default_socket_path() : opts.socket_path;
  c.ctl_timeout_ms = static_cast<int>(opts.ctl_timeout.count());
  c.spin = opts.spin;
  c.neighbors = std::make_unique<detail::NeighborResolver>(
      [&c](Ipv4 ip) {
        if (ip.is_unspecified()) throw_errno(EDESTADDRREQ, "no destination address (0.0.0.0)");
        ctl::Message m = c.call(ctl::op::kNeigh, {{"ip", ip.to_string()}});
        return detail::json_mac(m.body.value("mac", nlohmann::json()), "neigh " + ip.to_string());
      },
      opts.neighbor_failed_hold);
  c.ctl.emplace(ctl::Client::connect(c.socket_path));
  c.ctl_fd = c.ctl->fd();
  ctl::Message m = c.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
  c.hello = m.body;
  const std::uint64_t version = detail::json_u64(m.body, "version", "hello");
  if (version != static_cast<std::uint64_t>(ctl::kProtoVersion)) {
    throw_errno(EPROTO, "hello: normand speaks control protocol version " +
                            std::to_string(version) + ", this libnorman speaks " +
                            std::to_string(ctl::kProtoVersion));
  }
  const auto& nic = m.body.value("nic", nlohmann::json::object());
  if (!nic.is_object()) throw_errno(EPROTO, "hello: no \"nic\" object in normand's reply");
  c.nic.mac = detail::json_mac(nic.value("mac", nlohmann::json()), "hello nic.mac");
  c.nic.ip = detail::json_ip(nic.value("ip", nlohmann::json()), "hello nic.ip");
  c.nic.prefix_len = nic.value("prefix_len", 0U);
  c.nic.port = nic.value("port", 0U);
  c.nic.num_ports = nic.value("num_ports", 0U);
  if (nic.contains("build_id")) {
    c.nic.build_id = detail::json_u64(nic, "build_id", "hello nic");
    if (c.nic.build_id != regmap::kBuildId) {
      char buf[120];
      std::snprintf(buf, sizeof buf, "NIC build id 0x%016llx, libnorman was built for 0x%016llx",
                    static_cast<unsigned long long>(c.nic.build_id),
                    static_cast<unsigned long long>(regmap::kBuildId));
      throw_errno(EPROTO,
                  std::string("hello: register map mismatch: ") + buf + " (rebuild libnorman)");
    }
  }
  const std::string transport = m.body.value("doorbell", std::string());
  UniqueFd dbfd = detail::take_fd(m, "doorbells", "hello");
  if (transport == "nsim-mmio") {
    c.doorbell = std::make_unique<NsimMmioDoorbell>(dbfd.get());
  } else {
    throw_errno(EPROTONOSUPPORT, "hello: doorbell transport \"" + transport +
                                     "\" is not supported by this libnorman");
  }
}

const NicInfo& Runtime::nic() const { return core_->nic; }
const nlohmann::json& Runtime::hello() const { return core_->hello; }
Doorbell& Runtime::doorbell() const { return *core_->doorbell; }

std::shared_ptr<NotifyQueue> Runtime::open_notify_queue(unsigned log2) {
  ctl::Message m = core_->call(ctl::op::kNqOpen, {{"log2", log2}});
  const auto id = static_cast<std::uint32_t>(detail::json_u64(m.body, "nq_id", "nq_open"));
  const auto got_log2 = static_cast<unsigned>(detail::json_u64(m.body, "log2", "nq_open"));
  const std::uint64_t db_page = detail::json_u64(m.body, "db_page", "nq_open");
  UniqueFd ring = detail::take_fd(m, "ring", "nq_open");
  UniqueFd irq = detail::take_fd(m, "irq", "nq_open");
  try {
    if (got_log2 < ctl::kMinRingLog2 || got_log2 > ctl::kMaxNqLog2) {
      throw_errno(EPROTO, "nq_open: normand granted an invalid size 2^" + std::to_string(got_log2));
    }
    auto mem = detail::map_fd(ring.get(), ctl::nq_bytes(got_log2), "nq_open");
    // The runtime polls the eventfd; never block in read().
    const int fl = ::fcntl(irq.get(), F_GETFL);
    if (fl < 0 || ::fcntl(irq.get(), F_SETFL, fl | O_NONBLOCK) != 0)
      throw_errno(errno, "nq_open: irq eventfd");
    return std::make_shared<NotifyQueue>(NotifyQueue::PrivateTag{}, core_, id, got_log2, db_page,
                                         std::move(mem), std::move(irq));
  } catch (...) {
    core_->call_quiet(ctl::op::kNqClose, {{"nq_id", id}});
    throw;
  }
}

std::unique_ptr<UdpSocket> Runtime::udp_bind(std::uint16_t port, const UdpOptions& opts) {
  return open_udp(opts, Endpoint{opts.local_ip.value_or(Ipv4{}), port}, std::nullopt);
}

std::unique_ptr<UdpSocket> Runtime::udp_bind(const Endpoint& local, const UdpOptions& opts) {
  return open_udp(opts, local, std::nullopt);
}

std::unique_ptr<UdpSocket> Runtime::udp_connect(const Endpoint& remote, const UdpOptions& opts) {
  if (remote.ip.is_unspecified() || remote.port == 0) {
    throw_errno(EDESTADDRREQ,
                "udp_connect: remote " + remote.to_string() + " is not a destination");
  }
  detail::check_reachable(remote.ip, opts.broadcast, core_->nic, "udp_connect");
  return open_udp(opts, Endpoint{opts.local_ip.value_or(Ipv4{}), opts.local_port}, remote);
}

std::unique_ptr<UdpSocket> Runtime::open_udp(const UdpOptions& opts, std::optional<Endpoint> local,
                                             std::optional<Endpoint> remote) {
  std::shared_ptr<NotifyQueue> nq = opts.nq;
  if (!nq)
    nq = open_notify_queue(ctl::kMinRingLog2 +
                           6);  // 512 entries: one page, the smallest mapping anyway
  const std::uint32_t units = opts.notify_tx ? 2 : 1;
  nq->reserve(units);  // ENOSPC before asking normand for anything
  std::uint32_t conn_id = 0;
  bool opened = false;
  try {
    nlohmann::json args = {{"nq_id", nq->id()},
                           {"rx_log2", opts.rx_log2},
                           {"tx_log2", opts.tx_log2},
                           {"notify_tx", opts.notify_tx},
                           {"local_port", local ? local->port : 0}};
    if (opts.broadcast) args["broadcast"] = true;
    if (local && !local->ip.is_unspecified()) args["local_ip"] = local->ip.to_string();
    if (remote) {
      args["remote_ip"] = remote->ip.to_string();
      args["remote_port"] = remote->port;
    }
    ctl::Message m = core_->call(ctl::op::kUdpOpen, std::move(args));
    conn_id = static_cast<std::uint32_t>(detail::json_u64(m.body, "conn_id", "udp_open"));
    opened = true;
    UdpGrant g;
    g.conn_id = conn_id;
    g.local.ip = detail::json_ip(m.body.value("local_ip", nlohmann::json()), "udp_open local_ip");
    g.local.port = static_cast<std::uint16_t>(detail::json_u64(m.body, "local_port", "udp_open"));
    if (remote) {
      Endpoint r = *remote;
      if (m.body.contains("remote_ip") && m.body["remote_ip"].is_string()) {
        r.ip = detail::json_ip(m.body["remote_ip"], "udp_open remote_ip");
        r.port = static_cast<std::uint16_t>(detail::json_u64(m.body, "remote_port", "udp_open"));
      }
      g.remote = r;
    }
    g.mac = detail::json_mac(m.body.value("mac", nlohmann::json()), "udp_open mac");
    g.db_page = detail::json_u64(m.body, "db_page", "udp_open");
    g.rx_log2 = static_cast<unsigned>(detail::json_u64(m.body, "rx_log2", "udp_open"));
    g.tx_log2 = static_cast<unsigned>(detail::json_u64(m.body, "tx_log2", "udp_open"));
    if (g.rx_log2 < ctl::kMinRingLog2 || g.rx_log2 > ctl::kMaxRxLog2 ||
        g.tx_log2 < ctl::kMinRingLog2 || g.tx_log2 > ctl::kMaxTxLog2) {
      throw_errno(EPROTO, "udp_open: normand granted invalid ring sizes");
    }
    const auto& lay = m.body.value("layout", nlohmann::json::object());
    g.rx_off = detail::json_u64(lay, "rx_off", "udp_open layout");
    g.tx_desc_off = detail::json_u64(lay, "tx_desc_off", "udp_open layout");
    g.tx_data_off = detail::json_u64(lay, "tx_data_off", "udp_open layout");
    g.bytes = detail::json_u64(lay, "bytes", "udp_open layout");
    const std::uint64_t rx_end =
        g.rx_off + (std::uint64_t{regmap::rx_slot::kSlotBytes} << g.rx_log2);
    const std::uint64_t desc_end =
        g.tx_desc_off + (std::uint64_t{regmap::tx_desc::kDescBytes} << g.tx_log2);
    const std::uint64_t data_end =
        g.tx_data_off + (std::uint64_t{regmap::tx_desc::kSlotBytes} << g.tx_log2);
    if (rx_end > g.bytes || desc_end > g.bytes || data_end > g.bytes || g.tx_desc_off % 8 != 0) {
      throw_errno(EPROTO, "udp_open: normand's ring layout does not fit its memory");
    }
    UniqueFd ring = detail::take_fd(m, "ring", "udp_open");
    auto mem = detail::map_fd(ring.get(), g.bytes, "udp_open");
    std::optional<MacAddr> peer_mac;
    if (g.remote) {
      peer_mac = detail::is_broadcast(g.remote->ip, core_->nic)
                     ? MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
                     : core_->resolve(g.remote->ip);
    }
    // Attaches itself to nq (and from then on owns the connection and the budget).
    return std::make_unique<UdpSocket>(UdpSocket::PrivateTag{}, core_, nq, g, opts, std::move(mem),
                                       peer_mac);
  } catch (...) {
    nq->unreserve(units);
    if (opened) core_->call_quiet(ctl::op::kClose, {{"conn_id", conn_id}});
    throw;
  }
}

MacAddr Runtime::resolve(Ipv4 ip) { return core_->resolve(ip); }

void Runtime::flush_neighbors() {
  core_->neighbors->flush();
  core_->neigh_gen.fetch_add(1, std::memory_order_release);
}

nlohmann::json Runtime::status() { return core_->call(ctl::op::kStatus).body; }

void Runtime::check() { core_->check_session(); }

}  // namespace norman
