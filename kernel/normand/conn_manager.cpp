#include "conn_manager.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "errors.hpp"
#include "log.hpp"
#include "norman/regmap.hpp"

namespace norman::normand {

namespace rm = norman::regmap;
using nlohmann::json;

namespace {

std::string endpoint_text(const Ipv4& ip, std::uint16_t port) {
  return to_string(ip) + ":" + std::to_string(port);
}

std::string bytes_text(std::uint64_t b) {
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b >> 10) + " KiB";
  return std::to_string(b) + " B";
}

nsim::UniqueFd dup_fd(int fd) {
  nsim::UniqueFd d(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!d) throw CtlError(errno, std::string("dup: ") + std::strerror(errno));
  return d;
}

// A failure of the device itself (nsim gone, IOVA space exhausted...): the
// client gets the errno if there is one, else EIO.
[[noreturn]] void device_failure(const std::string& what, const std::exception& e) {
  if (const auto* se = dynamic_cast<const std::system_error*>(&e)) {
    throw CtlError(se->code().value() != 0 ? se->code().value() : EIO, what + ": " + se->what());
  }
  throw CtlError(EIO, what + ": " + e.what());
}

}  // namespace

Ipv4 subnet_broadcast(const NicInfo& nic) {
  if (nic.prefix_len == 0 || nic.prefix_len >= 31) return Ipv4{};
  std::uint32_t ip = 0;
  for (auto b : nic.ip) ip = (ip << 8) | b;
  ip |= ~std::uint32_t{0} >> nic.prefix_len;
  return Ipv4{static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
              static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)};
}

std::string ClientIdentity::describe() const {
  return proc.describe() + " cmd_id " + std::to_string(cmd_id) + " cgroup_class " +
         std::to_string(cgroup_class);
}

// --- IdAllocator -------------------------------------------------------------

IdAllocator::IdAllocator(std::uint32_t lo, std::uint32_t hi)
    : lo_(lo), hi_(hi), next_(lo), used_(static_cast<std::size_t>(hi) + 1, false) {}

std::optional<std::uint32_t> IdAllocator::alloc() {
  const std::uint32_t span = hi_ - lo_ + 1;
  for (std::uint32_t i = 0; i < span; ++i) {
    const std::uint32_t id = next_;
    next_ = next_ == hi_ ? lo_ : next_ + 1;
    if (!used_[id]) {
      used_[id] = true;
      ++in_use_;
      return id;
    }
  }
  return std::nullopt;
}

void IdAllocator::free(std::uint32_t id) {
  if (id < lo_ || id > hi_ || !used_[id]) return;
  used_[id] = false;
  --in_use_;
}

bool IdAllocator::used(std::uint32_t id) const { return id >= lo_ && id <= hi_ && used_[id]; }

// --- ConnManager -------------------------------------------------------------

ConnManager::ConnManager(device::Device& dev, const NicInfo& nic, PortRegistry& ports,
                         boost::asio::io_context* io, quota::Ledger* quota)
    : dev_(dev), nic_(nic), ports_(ports), io_(io), quota_(quota) {
  if (io_ != nullptr) settle_timer_.emplace(*io_);
}

quota::Charge ConnManager::charge(
    const ProcessInfo& who,
    std::initializer_list<std::pair<quota::Resource, std::uint64_t>> amounts) {
  if (quota_ == nullptr) return {};
  return quota_->charge(quota::principal_of(who), amounts);
}

ConnManager::~ConnManager() {
  while (!clients_.empty()) reclaim(clients_.begin()->first, "normand is shutting down");
  // Nothing waits any more: clear what is still closing now.
  io_ = nullptr;
  while (!closing_.empty()) {
    const std::uint16_t id = closing_.front();
    closing_.pop_front();
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    stop_conn(it->second, 0);
    if (!finish_close(it->second)) {
      log::warn("conn " + std::to_string(id) + ": TX still busy at shutdown; releasing it anyway");
    }
    forget_conn(id);
  }
}

ConnManager::Client& ConnManager::client_of(std::uint64_t client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) throw CtlError(EPROTO, "say hello first");
  return it->second;
}

Grant ConnManager::attach(const ClientIdentity& c) {
  if (clients_.contains(c.id)) throw CtlError(EISCONN, "hello was already done on this connection");
  quota::Charge ch = charge(c.proc, {{quota::Resource::kChannels, 1}});
  device::DoorbellGrant g;
  try {
    g = dev_.open_doorbells();
  } catch (const std::exception& e) {
    device_failure("cannot open a doorbell channel", e);
  }
  Client cl;
  cl.who = c;
  cl.doorbell = g.id;
  cl.charge = std::move(ch);
  clients_.emplace(c.id, std::move(cl));
  log::info("client " + std::to_string(c.id) + " attached: " + c.describe() + ", cgroup " +
            (c.proc.cgroup.empty() ? "?" : c.proc.cgroup) + ", doorbell channel " +
            std::to_string(g.id));
  Grant out;
  out.fds.emplace_back("doorbells", std::move(g.fd));
  return out;
}

std::string ConnManager::conn_text(const Conn& c) const {
  std::string s =
      "conn " + std::to_string(c.id) + " udp " + endpoint_text(c.local.ip, c.local.port);
  s += c.remote ? " <-> " + endpoint_text(c.remote->ip, c.remote->port) : " (listening)";
  s += " nq " + std::to_string(c.nq_id);
  if (c.raw) s += " raw";
  s += ", " + bytes_text(c.layout.bytes) + " DMA";
  if (auto it = clients_.find(c.client); it != clients_.end()) {
    s += ", owner " + it->second.who.describe();
  }
  return s;
}

// --- notification queues -----------------------------------------------------

Grant ConnManager::nq_open(std::uint64_t client, const NqOpenArgs& a) {
  Client& cl = client_of(client);
  // Its memory fd stays in normand (the eventfd only passes through).
  quota::Charge ch = charge(cl.who.proc, {{quota::Resource::kNqs, 1},
                                          {quota::Resource::kFds, 1},
                                          {quota::Resource::kDmaBytes, ctl::nq_bytes(a.log2)}});
  const auto id = nq_ids_.alloc();
  if (!id)
    throw CtlError(ENOSPC, "all " + std::to_string(kLastNq) + " notification queues are in use");
  Nq q;
  q.charge = std::move(ch);
  q.id = static_cast<std::uint16_t>(*id);
  q.client = client;
  q.log2 = a.log2;
  q.id_held = true;
  Grant out;
  nsim::UniqueFd efd;
  try {
    try {
      q.mem = dev_.alloc_dma(ctl::nq_bytes(a.log2), "norman-nq" + std::to_string(q.id));
    } catch (const std::exception& e) {
      device_failure("cannot allocate the queue's memory", e);
    }
    efd.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!efd) throw CtlError(errno, std::string("eventfd: ") + std::strerror(errno));
    try {
      // The interrupt route exists before the queue can raise it.
      dev_.bind_irq(q.id, efd.get());
      q.irq_bound = true;
      dev_.nic().nq_set({.nq_id = q.id, .vector = q.id, .log2 = q.log2, .base = q.mem.iova});
      q.nq_set = true;
      const std::uint64_t page = ctl::nq_db_page(q.id);
      dev_.grant_doorbells(cl.doorbell, std::span(&page, 1));
      q.granted = true;
    } catch (const std::exception& e) {
      device_failure("cannot configure notification queue " + std::to_string(q.id), e);
    }
    out.fds.emplace_back("ring", dup_fd(q.mem.fd.get()));
    out.fds.emplace_back("irq", std::move(efd));
  } catch (...) {
    teardown(q, cl.doorbell);
    throw;
  }
  out.results = {
      {"nq_id", q.id}, {"log2", q.log2}, {"db_page", ctl::nq_db_page(q.id)}, {"bytes", q.mem.size}};
  log::info("nq " + std::to_string(q.id) + " opened: " + std::to_string(1U << q.log2) +
            " entries, vector " + std::to_string(q.id) + ", " + bytes_text(q.mem.size) +
            " DMA, owner " + cl.who.describe());
  cl.nqs.insert(q.id);
  nqs_.emplace(q.id, std::move(q));
  return out;
}

void ConnManager::nq_close(std::uint64_t client, std::uint16_t nq_id) {
  client_of(client);
  auto it = nqs_.find(nq_id);
  if (it == nqs_.end() || it->second.client != client || it->second.closing) {
    throw CtlError(EBADF, "notification queue " + std::to_string(nq_id) + " is not yours");
  }
  std::string ids;
  for (auto c : it->second.conns) {
    if (!conns_.at(c).closing) ids += (ids.empty() ? "" : ", ") + std::to_string(c);
  }
  if (!ids.empty()) {
    throw CtlError(EBUSY, "notification queue " + std::to_string(nq_id) +
                              " still serves connection(s) " + ids + ": close them first");
  }
  destroy_nq(nq_id, "closed by its owner");
}

void ConnManager::teardown(Nq& q, std::uint32_t doorbell) noexcept {
  auto step = [&](const char* what, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("nq " + std::to_string(q.id) + ": " + what + " failed: " + e.what());
    }
  };
  if (q.granted) {
    step("doorbell revoke", [&] {
      const std::uint64_t page = ctl::nq_db_page(q.id);
      dev_.revoke_doorbells(doorbell, std::span(&page, 1));
    });
    q.granted = false;
  }
  if (q.nq_set) {
    // Round trip: doorbell writes already accepted reach the core first.
    step("register round trip", [&] { (void)dev_.nic().counter(rm::Counter::kIrqs); });
    step("NQ_CLEAR", [&] { dev_.nic().nq_clear(q.id); });
    q.nq_set = false;
  }
  if (q.irq_bound) {
    step("interrupt unbind", [&] { dev_.unbind_irq(q.id); });
    q.irq_bound = false;
  }
  if (q.mem.size != 0) step("DMA free", [&] { dev_.free_dma(q.mem); });
  if (q.id_held) {
    nq_ids_.free(q.id);
    q.id_held = false;
  }
}

void ConnManager::destroy_nq(std::uint16_t id, const std::string& how) {
  auto it = nqs_.find(id);
  if (it == nqs_.end()) return;
  Nq& q = it->second;
  auto cit = clients_.find(q.client);
  const std::uint32_t doorbell = cit != clients_.end() ? cit->second.doorbell : 0;
  const std::uint64_t bytes = q.mem.size;
  if (!q.conns.empty()) {
    // Connections of it are still closing (their TX_DONE notifications may
    // still come): the client loses it now, the NIC keeps it until then.
    if (q.granted) {
      try {
        const std::uint64_t page = ctl::nq_db_page(q.id);
        dev_.revoke_doorbells(doorbell, std::span(&page, 1));
      } catch (const std::exception& e) {
        log::error("nq " + std::to_string(q.id) + ": doorbell revoke failed: " + e.what());
      }
      q.granted = false;
    }
    q.closing = true;
    q.close_text = how + (cit != clients_.end() ? ", owner " + cit->second.who.describe() : "");
    if (cit != clients_.end()) cit->second.nqs.erase(id);
    log::info("nq " + std::to_string(id) + " " + how + ": cleared once its " +
              std::to_string(q.conns.size()) + " closing connection(s) are");
    return;
  }
  teardown(q, doorbell);
  log::info("nq " + std::to_string(id) + " " + how + ": " + bytes_text(bytes) + " DMA released" +
            (cit != clients_.end() ? ", owner " + cit->second.who.describe() : std::string()));
  if (cit != clients_.end()) cit->second.nqs.erase(id);
  nqs_.erase(it);
}

// --- connections ---------------------------------------------------------------

Grant ConnManager::udp_open(std::uint64_t client, const UdpOpenArgs& a) {
  Client& cl = client_of(client);
  const ProcessInfo& who = cl.who.proc;
  if (a.raw && raw_permission(who) != 0) {
    throw CtlError(EPERM,
                   "a raw connection (TX headers unchecked) needs root or CAP_NET_RAW, and " +
                       who.describe() + " has neither");
  }
  auto qit = nqs_.find(a.nq_id);
  if (qit == nqs_.end() || qit->second.client != client || qit->second.closing) {
    throw CtlError(EBADF, "notification queue " + std::to_string(a.nq_id) +
                              " is not yours (open one with nq_open)");
  }
  if (a.local_ip && *a.local_ip != Ipv4{} && *a.local_ip != nic_.ip) {
    throw CtlError(EADDRNOTAVAIL, "cannot bind " + to_string(*a.local_ip) +
                                      ": bypass connections use the NIC address " +
                                      to_string(nic_.ip));
  }
  if (a.remote) {
    // As Linux's connect(): the NIC would drop every datagram anyway.
    const Ipv4& r = a.remote->ip;
    if (r[0] == 0 || r[0] == 127) {
      throw CtlError(EINVAL, "cannot connect to " + to_string(r) +
                                 ": bypass connections cannot reach 0.0.0.0/8 or 127.0.0.0/8");
    }
    if (!a.broadcast && (r == Ipv4{255, 255, 255, 255} || r == subnet_broadcast(nic_))) {
      throw CtlError(EACCES, "cannot connect to the broadcast address " + to_string(r) +
                                 " without broadcast permission (SO_BROADCAST)");
    }
  }
  // normand holds two descriptors per connection: its memory and the port
  // reservation socket.
  quota::Charge ch =
      charge(who, {{quota::Resource::kConnections, 1},
                   {quota::Resource::kListen, a.remote.has_value() ? 0U : 1U},
                   {quota::Resource::kFds, 2},
                   {quota::Resource::kDmaBytes, ctl::conn_layout(a.rx_log2, a.tx_log2).bytes}});
  const auto id = conn_ids_.alloc();
  if (!id) throw CtlError(ENOSPC, "all NIC connection contexts are in use");

  Conn c;
  c.charge = std::move(ch);
  c.id = static_cast<std::uint16_t>(*id);
  c.id_held = true;
  c.client = client;
  c.nq_id = a.nq_id;
  c.listen = !a.remote.has_value();
  c.raw = a.raw;
  c.notify_tx = a.notify_tx;
  c.broadcast = a.broadcast;
  c.rx_log2 = a.rx_log2;
  c.tx_log2 = a.tx_log2;
  c.layout = ctl::conn_layout(a.rx_log2, a.tx_log2);
  c.local.ip = nic_.ip;
  c.remote = a.remote;
  Grant out;
  try {
    c.port = ports_.reserve(who, a.local_port, a.remote,
                            "conn " + std::to_string(c.id) + " of " + who.describe());
    c.local.port = c.port.port();

    c.key.proto = 17;
    std::copy(nic_.ip.begin(), nic_.ip.end(), c.key.local_ip.begin());
    c.key.local_port = c.local.port;
    if (c.remote) {
      std::copy(c.remote->ip.begin(), c.remote->ip.end(), c.key.remote_ip.begin());
      c.key.remote_port = c.remote->port;
    }

    try {
      c.mem = dev_.alloc_dma(c.layout.bytes, "norman-conn" + std::to_string(c.id));
    } catch (const std::exception& e) {
      device_failure("cannot allocate the connection's memory", e);
    }

    device::ConnConfig cc{};
    cc.conn_id = c.id;
    cc.nq_id = c.nq_id;
    cc.port = static_cast<std::uint8_t>(nic_.port);
    cc.raw = c.raw;
    cc.notify_tx = c.notify_tx;
    cc.broadcast = c.broadcast;
    cc.rx_base = c.mem.iova + c.layout.rx_off;
    cc.rx_log2 = c.rx_log2;
    cc.tx_desc_base = c.mem.iova + c.layout.tx_desc_off;
    cc.tx_data_base = c.mem.iova + c.layout.tx_data_off;
    cc.tx_log2 = c.tx_log2;
    cc.owner = {static_cast<std::uint32_t>(who.pid), who.uid, who.gid, cl.who.cmd_id,
                cl.who.cgroup_class};
    cc.src_mac = nic_.mac;
    cc.proto = 17;
    cc.src_port = c.local.port;
    std::copy(nic_.ip.begin(), nic_.ip.end(), cc.src_ip.begin());
    try {
      dev_.nic().conn_set(cc);
      c.conn_set = true;
    } catch (const std::exception& e) {
      device_failure("CONN_SET of conn " + std::to_string(c.id), e);
    }
    // Capture owner bits before the first frame can flow (FLOW_INSERT).
    if (on_conn_open_) on_conn_open_(c.id, cl.who.proc);

    try {
      dev_.nic().flow_insert(c.key, c.id, c.listen);
      c.flow = true;
    } catch (const device::CommandError& e) {
      if (e.status() == rm::Status::kExists) {
        throw CtlError(EADDRINUSE, "the NIC already steers " +
                                       endpoint_text(nic_.ip, c.local.port) +
                                       " to another connection");
      }
      if (e.status() == rm::Status::kFull) {
        throw CtlError(ENOBUFS, std::string("the NIC's ") + (c.listen ? "listen" : "flow") +
                                    " table has no room for this key");
      }
      device_failure("FLOW_INSERT", e);
    } catch (const std::exception& e) {
      device_failure("FLOW_INSERT", e);
    }

    try {
      const std::uint64_t page = ctl::conn_db_page(c.id);
      dev_.grant_doorbells(cl.doorbell, std::span(&page, 1));
      c.granted = true;
    } catch (const std::exception& e) {
      device_failure("doorbell grant", e);
    }
    out.fds.emplace_back("ring", dup_fd(c.mem.fd.get()));
  } catch (...) {
    teardown(c, cl.doorbell);
    throw;
  }

  out.results = {{"conn_id", c.id},
                 {"nq_id", c.nq_id},
                 {"local_ip", to_string(c.local.ip)},
                 {"local_port", c.local.port},
                 {"remote_ip", c.remote ? to_string(c.remote->ip) : "0.0.0.0"},
                 {"remote_port", c.remote ? c.remote->port : 0},
                 {"listen", c.listen},
                 {"raw", c.raw},
                 {"notify_tx", c.notify_tx},
                 {"broadcast", c.broadcast},
                 {"mac", to_string(nic_.mac)},
                 {"db_page", ctl::conn_db_page(c.id)},
                 {"rx_log2", c.rx_log2},
                 {"tx_log2", c.tx_log2},
                 {"layout",
                  {{"rx_off", c.layout.rx_off},
                   {"tx_desc_off", c.layout.tx_desc_off},
                   {"tx_data_off", c.layout.tx_data_off},
                   {"bytes", c.layout.bytes}}}};
  qit->second.conns.insert(c.id);
  cl.conns.insert(c.id);
  const std::uint16_t cid = c.id;
  auto [it, inserted] = conns_.emplace(cid, std::move(c));
  (void)inserted;
  log::info(conn_text(it->second) + ": opened");
  return out;
}

void ConnManager::close(std::uint64_t client, std::uint16_t conn_id) {
  client_of(client);
  auto it = conns_.find(conn_id);
  if (it == conns_.end() || it->second.client != client || it->second.closing) {
    throw CtlError(EBADF, "connection " + std::to_string(conn_id) + " is not yours");
  }
  destroy_conn(conn_id, "closed by its owner");
}

void ConnManager::stop_conn(Conn& c, std::uint32_t doorbell) noexcept {
  auto step = [&](const char* what, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("conn " + std::to_string(c.id) + ": " + what + " failed: " + e.what());
    }
  };
  // 1. No new frames steered to it.
  if (c.flow) {
    step("FLOW_DELETE", [&] { dev_.nic().flow_delete(c.key, c.listen); });
    c.flow = false;
  }
  // 2. No new doorbells from the client.
  if (c.granted) {
    step("doorbell revoke", [&] {
      const std::uint64_t page = ctl::conn_db_page(c.id);
      dev_.revoke_doorbells(doorbell, std::span(&page, 1));
    });
    c.granted = false;
  }
}

bool ConnManager::tx_settled(const Conn& c) noexcept {
  if (!c.conn_set) return true;
  try {
    // A command is a register round trip: doorbells already accepted have
    // reached the core, so the producer index it reports is final.
    return dev_.nic().conn_tx_state(c.id).idle();
  } catch (const std::exception& e) {
    log::error("conn " + std::to_string(c.id) + ": CONN_TX_STATE failed: " + e.what());
    return true;  // the device is gone or refuses: nothing to wait for
  }
}

bool ConnManager::finish_close(Conn& c) noexcept {
  auto step = [&](const char* what, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("conn " + std::to_string(c.id) + ": " + what + " failed: " + e.what());
    }
  };
  if (c.conn_set) {
    // 3. The context. The NIC drains what it still holds of the connection
    // (completing it DROP_CLOSED) before it answers, so the memory may go.
    try {
      dev_.nic().conn_clear(c.id);
    } catch (const device::CommandError& e) {
      if (e.status() == rm::Status::kBusy && io_ != nullptr) {
        if (!c.busy_logged) {
          log::warn("conn " + std::to_string(c.id) +
                    ": the NIC cannot drain its TX (transmission paused?); its memory is kept "
                    "until it can");
          c.busy_logged = true;
        }
        return false;
      }
      log::error("conn " + std::to_string(c.id) + ": CONN_CLEAR failed: " + e.what());
    } catch (const std::exception& e) {
      log::error("conn " + std::to_string(c.id) + ": CONN_CLEAR failed: " + e.what());
    }
    c.conn_set = false;
  }
  // 4. Its memory (the client's mapping lives on, the NIC's access ends).
  if (c.mem.size != 0) step("DMA free", [&] { dev_.free_dma(c.mem); });
  // 5. The port.
  c.port.release();
  // 6. The id.
  if (c.id_held) {
    conn_ids_.free(c.id);
    c.id_held = false;
  }
  return true;
}

void ConnManager::teardown(Conn& c, std::uint32_t doorbell) noexcept {
  stop_conn(c, doorbell);
  (void)finish_close(c);
}

// Drops a finished connection from the tables, and clears its queue if that
// was closed meanwhile and this was its last connection.
void ConnManager::forget_conn(std::uint16_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  const std::uint16_t nq = it->second.nq_id;
  if (auto cit = clients_.find(it->second.client); cit != clients_.end()) {
    cit->second.conns.erase(id);
  }
  conns_.erase(it);
  auto q = nqs_.find(nq);
  if (q == nqs_.end()) return;
  q->second.conns.erase(id);
  if (q->second.closing && q->second.conns.empty()) {
    const std::uint64_t bytes = q->second.mem.size;
    const std::string text = q->second.close_text;
    teardown(q->second, 0);
    log::info("nq " + std::to_string(nq) + " " + text + ": " + bytes_text(bytes) +
              " DMA released after its connections");
    nqs_.erase(q);
  }
}

void ConnManager::destroy_conn(std::uint16_t id, const std::string& how, bool defer_stop) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second.closing) return;
  Conn& c = it->second;
  const std::string text = conn_text(c);
  auto cit = clients_.find(c.client);
  if (!defer_stop) {
    stop_conn(c, cit != clients_.end() ? cit->second.doorbell : 0);
    // Nothing posted, or no timer to wait with: close at once.
    if (io_ == nullptr || tx_settled(c)) {
      if (finish_close(c)) {
        log::info(text + ": " + how);
        forget_conn(id);
        return;
      }
    }
  }
  // The client no longer has it; the NIC may still be sending from it.
  if (cit != clients_.end()) cit->second.conns.erase(id);
  c.closing = true;
  c.close_start = std::chrono::steady_clock::now();
  c.close_deadline = c.close_start + kSettleLimit;
  c.close_text = text + ": " + how;
  closing_.push_back(id);
  arm_settle_timer();
}

void ConnManager::arm_settle_timer() {
  if (!settle_timer_ || settle_armed_ || closing_.empty()) return;
  settle_armed_ = true;
  settle_timer_->expires_after(kSettlePoll);
  settle_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the manager is going away
    settle_armed_ = false;
    poll_closing();
    arm_settle_timer();
  });
}

// One turn: closing connections round robin, one or two NIC commands each,
// until kSettleBudget is spent, so a client with thousands of them delays
// others by a bounded amount per turn.
void ConnManager::poll_closing() {
  const auto now = std::chrono::steady_clock::now();
  const std::size_t n = closing_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0 && std::chrono::steady_clock::now() - now >= kSettleBudget) break;
    const std::uint16_t id = closing_.front();
    closing_.pop_front();
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn& c = it->second;
    if (c.flow || c.granted) {
      stop_conn(c, 0);  // queued by a reclaim; its doorbell channel is closed already
      closing_.push_back(id);
      continue;
    }
    const bool settled = tx_settled(c);
    const bool late = now >= c.close_deadline;
    if (!settled && late && c.busy_logged) {
      // CONN_CLEAR answered BUSY before (TX paused): each try holds the
      // command interface for CONN_DRAIN_CYCLES, so try once a second.
      c.close_deadline = now + std::chrono::seconds(1);
    }
    if ((settled || late) && finish_close(c)) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - c.close_start).count();
      log::info(c.close_text + (settled ? "; TX settled in " + std::to_string(ms) + " ms"
                                        : "; TX still sending after " + std::to_string(ms) +
                                              " ms, the rest dropped"));
      forget_conn(id);
    } else {
      closing_.push_back(id);
    }
  }
}

void ConnManager::reclaim(std::uint64_t client, const std::string& reason) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  const std::size_t nconn = it->second.conns.size();
  const std::size_t nnq = it->second.nqs.size();
  const std::uint64_t dma_before = dev_.dma_bytes();
  // The doorbell channel first: one call ends all the client's doorbell
  // access; then its connections are queued for closing (no NIC command per
  // connection in this turn when there is a timer), then its queues.
  try {
    dev_.close_doorbells(it->second.doorbell);
  } catch (const std::exception& e) {
    log::error("client " + std::to_string(client) + ": closing doorbell channel " +
               std::to_string(it->second.doorbell) + " failed: " + e.what());
  }
  const std::set<std::uint16_t> conns = it->second.conns;
  for (auto id : conns) {
    if (auto c = conns_.find(id); c != conns_.end()) c->second.granted = false;
  }
  for (auto& [qid, q] : nqs_) {
    if (q.client == client) q.granted = false;
  }
  for (auto id : conns) destroy_conn(id, "reclaimed (" + reason + ")", io_ != nullptr);
  const std::set<std::uint16_t> nqs = it->second.nqs;
  for (auto id : nqs) destroy_nq(id, "reclaimed (" + reason + ")");
  const std::uint64_t dma_after = dev_.dma_bytes();
  log::info(
      "client " + std::to_string(client) + " detached (" + reason + "): " +
      it->second.who.describe() + "; reclaimed " + std::to_string(nconn) + " connection(s), " +
      std::to_string(nnq) + " queue(s), doorbell channel " + std::to_string(it->second.doorbell) +
      ", " + bytes_text(dma_before >= dma_after ? dma_before - dma_after : 0) + " DMA" +
      (closing_.empty() ? ""
                        : "; " + std::to_string(closing_.size()) + " connection(s) still closing"));
  clients_.erase(it);
}

// --- status ------------------------------------------------------------------------

json ConnManager::conn_json(const Conn& c) const {
  json j = {{"conn_id", c.id},
            {"nq_id", c.nq_id},
            {"proto", "udp"},
            {"local_ip", to_string(c.local.ip)},
            {"local_port", c.local.port},
            {"remote_ip", c.remote ? to_string(c.remote->ip) : "0.0.0.0"},
            {"remote_port", c.remote ? c.remote->port : 0},
            {"listen", c.listen},
            {"raw", c.raw},
            {"notify_tx", c.notify_tx},
            {"broadcast", c.broadcast},
            {"closing", c.closing},
            {"rx_log2", c.rx_log2},
            {"tx_log2", c.tx_log2},
            {"bytes", c.layout.bytes}};
  if (auto it = clients_.find(c.client); it != clients_.end()) {
    const auto& w = it->second.who;
    j["owner"] = {{"pid", w.proc.pid},
                  {"uid", w.proc.uid},
                  {"gid", w.proc.gid},
                  {"comm", w.proc.comm},
                  {"cgroup", w.proc.cgroup},
                  {"cmd_id", w.cmd_id},
                  {"cgroup_class", w.cgroup_class}};
  }
  return j;
}

json ConnManager::nq_json(const Nq& q) const {
  json j = {{"nq_id", q.id},
            {"log2", q.log2},
            {"vector", q.id},
            {"bytes", q.mem.size},
            {"conns", std::vector<std::uint16_t>(q.conns.begin(), q.conns.end())}};
  if (auto it = clients_.find(q.client); it != clients_.end()) {
    const auto& w = it->second.who;
    j["owner"] = {{"pid", w.proc.pid}, {"uid", w.proc.uid}, {"comm", w.proc.comm}};
  }
  return j;
}

json ConnManager::status(const ProcessInfo& viewer) const {
  const bool all = viewer.is_root();
  auto visible = [&](std::uint64_t client) {
    if (all) return true;
    auto it = clients_.find(client);
    return it != clients_.end() && it->second.who.proc.uid == viewer.uid;
  };
  json conns = json::array();
  for (const auto& [id, c] : conns_) {
    if (visible(c.client)) conns.push_back(conn_json(c));
  }
  json nqs = json::array();
  for (const auto& [id, q] : nqs_) {
    if (visible(q.client)) nqs.push_back(nq_json(q));
  }
  return {{"connections", std::move(conns)},
          {"nqs", std::move(nqs)},
          {"totals",
           {{"clients", clients_.size()},
            {"connections", conns_.size()},
            {"nqs", nqs_.size()},
            {"ports", ports_.size()}}},
          {"scope", all ? "all" : "own"}};
}

std::optional<filter::OwnerMeta> ConnManager::owner_of_flow(std::uint8_t proto,
                                                            std::uint16_t local_port,
                                                            const Ipv4& remote_ip,
                                                            std::uint16_t remote_port) const {
  const Conn* listening = nullptr;
  const Conn* connected = nullptr;
  for (const auto& [id, c] : conns_) {
    if (c.closing || c.key.proto != proto || c.local.port != local_port) continue;
    if (!c.remote) {
      listening = &c;
    } else if (c.remote->ip == remote_ip && c.remote->port == remote_port) {
      connected = &c;
    }
  }
  const Conn* c = connected != nullptr ? connected : listening;
  if (c == nullptr) return std::nullopt;
  const auto it = clients_.find(c->client);
  if (it == clients_.end()) return std::nullopt;
  const auto& who = it->second.who;
  return filter::OwnerMeta{static_cast<std::uint32_t>(who.proc.uid),
                           static_cast<std::uint32_t>(who.proc.gid), who.cmd_id, who.cgroup_class};
}

std::optional<ProcessInfo> ConnManager::owner_of_conn(std::uint16_t conn_id) const {
  const auto c = conns_.find(conn_id);
  if (c == conns_.end() || c->second.closing) return std::nullopt;
  const auto it = clients_.find(c->second.client);
  if (it == clients_.end()) return std::nullopt;
  return it->second.who.proc;
}

void ConnManager::for_each_conn(
    const std::function<void(std::uint16_t, const ProcessInfo&)>& fn) const {
  for (const auto& [id, c] : conns_) {
    if (c.closing || !c.conn_set) continue;
    const auto it = clients_.find(c.client);
    if (it != clients_.end()) fn(id, it->second.who.proc);
  }
}

}  // namespace norman::normand
