#include "conn_manager.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "errors.hpp"
#include "log.hpp"
#include "norman/regmap.hpp"

namespace norman::normand {

namespace rm = norman::regmap;
using nlohmann::json;

namespace {

// TX settling: rounds of (1 ms pause + register round trip) until the ring's
// descriptors stop changing; bounded so a client scribbling on its own ring
// cannot hold normand.
constexpr int kSettleRounds = 50;

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
                         quota::Ledger* quota)
    : dev_(dev), nic_(nic), ports_(ports), quota_(quota) {}

quota::Charge ConnManager::charge(
    const ProcessInfo& who,
    std::initializer_list<std::pair<quota::Resource, std::uint64_t>> amounts) {
  if (quota_ == nullptr) return {};
  return quota_->charge(quota::principal_of(who), amounts);
}

ConnManager::~ConnManager() {
  while (!clients_.empty()) reclaim(clients_.begin()->first, "normand is shutting down");
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
  if (it == nqs_.end() || it->second.client != client) {
    throw CtlError(EBADF, "notification queue " + std::to_string(nq_id) + " is not yours");
  }
  if (!it->second.conns.empty()) {
    std::string ids;
    for (auto c : it->second.conns) ids += (ids.empty() ? "" : ", ") + std::to_string(c);
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
  if (qit == nqs_.end() || qit->second.client != client) {
    throw CtlError(EBADF, "notification queue " + std::to_string(a.nq_id) +
                              " is not yours (open one with nq_open)");
  }
  if (a.local_ip && *a.local_ip != Ipv4{} && *a.local_ip != nic_.ip) {
    throw CtlError(EADDRNOTAVAIL, "cannot bind " + to_string(*a.local_ip) +
                                      ": bypass connections use the NIC address " +
                                      to_string(nic_.ip));
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
  if (it == conns_.end() || it->second.client != client) {
    throw CtlError(EBADF, "connection " + std::to_string(conn_id) + " is not yours");
  }
  destroy_conn(conn_id, "closed by its owner");
}

void ConnManager::settle_tx(const Conn& c) noexcept {
  const std::size_t n = std::size_t{1} << c.tx_log2;
  if (c.mem.data == nullptr || c.layout.tx_desc_off + n * rm::tx_desc::kDescBytes > c.mem.size) {
    return;
  }
  const auto* desc = reinterpret_cast<const std::uint64_t*>(c.mem.data + c.layout.tx_desc_off);
  // Work the NIC may still hold: descriptors the client filled (LEN != 0)
  // that are not written back yet (STATUS PENDING).
  auto snapshot = [&](std::vector<std::uint64_t>& out) {
    bool pending = false;
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = __atomic_load_n(desc + i, __ATOMIC_ACQUIRE);
      pending = pending || (rm::tx_desc::kLen.get(out[i]) != 0 &&
                            rm::tx_desc::kStatus.get(out[i]) == rm::tx_desc::kStatusPending);
    }
    return pending;
  };
  std::vector<std::uint64_t> prev, cur;
  if (!snapshot(prev)) return;
  for (int round = 0; round < kSettleRounds; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    try {
      (void)dev_.nic().counter(rm::Counter::kTxFetched);
    } catch (const std::exception&) {
      return;  // the device is gone: nothing is in flight any more
    }
    const bool pending = snapshot(cur);
    if (!pending || cur == prev) return;
    prev.swap(cur);
  }
  log::warn("conn " + std::to_string(c.id) + ": TX ring still changing after " +
            std::to_string(kSettleRounds) + " ms; clearing it anyway");
}

void ConnManager::teardown(Conn& c, std::uint32_t doorbell) noexcept {
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
  if (c.conn_set) {
    // 3. A register round trip: frames and doorbells already accepted have
    // reached the core; then let TX work it fetched finish.
    step("register round trip", [&] { (void)dev_.nic().counter(rm::Counter::kRxFrames); });
    settle_tx(c);
    // 4. The context itself.
    step("CONN_CLEAR", [&] { dev_.nic().conn_clear(c.id); });
    c.conn_set = false;
  }
  // 5. Its memory (the client's mapping lives on, the NIC's access ends).
  if (c.mem.size != 0) step("DMA free", [&] { dev_.free_dma(c.mem); });
  // 6. The port.
  c.port.release();
  // 7. The id.
  if (c.id_held) {
    conn_ids_.free(c.id);
    c.id_held = false;
  }
}

void ConnManager::destroy_conn(std::uint16_t id, const std::string& how) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  const std::string text = conn_text(c);
  auto cit = clients_.find(c.client);
  teardown(c, cit != clients_.end() ? cit->second.doorbell : 0);
  log::info(text + ": " + how);
  if (auto q = nqs_.find(c.nq_id); q != nqs_.end()) q->second.conns.erase(id);
  if (cit != clients_.end()) cit->second.conns.erase(id);
  conns_.erase(it);
}

void ConnManager::reclaim(std::uint64_t client, const std::string& reason) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  const std::size_t nconn = it->second.conns.size();
  const std::size_t nnq = it->second.nqs.size();
  const std::uint64_t dma_before = dev_.dma_bytes();
  // Connections before their queues, queues before the doorbell channel.
  const std::set<std::uint16_t> conns = it->second.conns;
  for (auto id : conns) destroy_conn(id, "reclaimed (" + reason + ")");
  const std::set<std::uint16_t> nqs = it->second.nqs;
  for (auto id : nqs) destroy_nq(id, "reclaimed (" + reason + ")");
  try {
    dev_.close_doorbells(it->second.doorbell);
  } catch (const std::exception& e) {
    log::error("client " + std::to_string(client) + ": closing doorbell channel " +
               std::to_string(it->second.doorbell) + " failed: " + e.what());
  }
  const std::uint64_t dma_after = dev_.dma_bytes();
  log::info("client " + std::to_string(client) + " detached (" + reason +
            "): " + it->second.who.describe() + "; reclaimed " + std::to_string(nconn) +
            " connection(s), " + std::to_string(nnq) + " queue(s), doorbell channel " +
            std::to_string(it->second.doorbell) + ", " +
            bytes_text(dma_before >= dma_after ? dma_before - dma_after : 0) + " DMA");
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
    if (c.key.proto != proto || c.local.port != local_port) continue;
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

}  // namespace norman::normand
