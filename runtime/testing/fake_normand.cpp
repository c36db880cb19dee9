#include "fake_normand.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "norman/regmap.hpp"
#include "normand_proto.hpp"

namespace norman::testing {

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

bool ip_less(const Ipv4& a, const Ipv4& b) { return a.be < b.be; }

struct Memfd {
  UniqueFd fd;
  std::uint8_t* p = nullptr;
  std::size_t n = 0;
  Memfd() = default;
  Memfd(const char* name, std::size_t bytes) : n(bytes) {
    fd = UniqueFd(::memfd_create(name, MFD_CLOEXEC));
    if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
      fail(errno, "fake normand: memfd");
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (m == MAP_FAILED) fail(errno, "fake normand: mmap");
    p = static_cast<std::uint8_t*>(m);
  }
  Memfd(Memfd&&) = delete;
  ~Memfd() {
    if (p != nullptr) ::munmap(p, n);
  }
};

class RequestError : public std::runtime_error {
 public:
  RequestError(int e, const std::string& m) : std::runtime_error(m), err(e) {}
  int err;
};
[[noreturn]] void refuse(int err, const std::string& msg) { throw RequestError(err, msg); }

}  // namespace

struct FakeNormand::Conn {
  std::uint32_t id;
  int owner;
  std::uint32_t nq;
  Endpoint local;
  std::optional<Endpoint> remote;
  std::unique_ptr<Memfd> mem;
};

struct FakeNormand::Nq {
  std::uint32_t id;
  int owner;
  unsigned log2;
  std::unique_ptr<Memfd> mem;
  UniqueFd irq;
  std::uint32_t conns = 0;
};

struct FakeNormand::Client {
  UniqueFd fd;
  bool hello = false;
};

FakeNormand::FakeNormand(SoftNic& nic, FakeNormandConfig cfg)
    : nic_(nic), cfg_(std::move(cfg)), neigh_(ip_less) {
  if (cfg_.build_id == 0) cfg_.build_id = regmap::kBuildId;
  char tmpl[] = "/tmp/norman-fake-normand-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) fail(errno, "fake normand: mkdtemp");
  dir_ = tmpl;
  path_ = dir_ + "/normand.sock";
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) fail(errno, "fake normand: socket");
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path_.c_str(), sizeof(a.sun_path) - 1);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    fail(errno, "fake normand: bind/listen " + path_);
  }
  thread_ = std::thread([this] { run(); });
}

FakeNormand::~FakeNormand() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
  for (auto& [id, c] : conns_) nic_.remove_conn(id);
  for (auto& [id, q] : nqs_) nic_.remove_nq(id);
}

void FakeNormand::add_neighbor(Ipv4 ip, const MacAddr& mac) {
  std::lock_guard lock(mu_);
  neigh_[ip] = mac;
}

void FakeNormand::set_neigh_delay(std::chrono::milliseconds d) {
  std::lock_guard lock(mu_);
  neigh_delay_ = d;
}

void FakeNormand::fail_next(const std::string& op, int err, const std::string& message) {
  std::lock_guard lock(mu_);
  fail_[op] = {err, message};
}

std::size_t FakeNormand::open_conns() {
  std::lock_guard lock(mu_);
  return conns_.size();
}

std::size_t FakeNormand::open_nqs() {
  std::lock_guard lock(mu_);
  return nqs_.size();
}

std::uint64_t FakeNormand::neigh_requests() {
  std::lock_guard lock(mu_);
  return neigh_requests_;
}

void FakeNormand::run() {
  std::vector<std::unique_ptr<Client>> clients;
  while (!stop_) {
    std::vector<pollfd> p;
    p.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : clients) p.push_back({c->fd.get(), POLLIN, 0});
    if (::poll(p.data(), p.size(), 20) <= 0) continue;
    if ((p[0].revents & POLLIN) != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) clients.push_back(std::make_unique<Client>(Client{UniqueFd(fd), false}));
    }
    for (std::size_t i = 1; i < p.size(); ++i) {
      if (p[i].revents == 0) continue;
      Client& c = *clients[i - 1];
      std::optional<ctl::Message> m;
      try {
        m = ctl::recv_message(c.fd.get(), 0);
      } catch (const std::exception&) {
        m.reset();
      }
      if (!m) {
        close_client(c);
        c.fd.reset();
        continue;
      }
      handle(c, *m);
    }
    std::erase_if(clients, [](const std::unique_ptr<Client>& c) { return !c->fd.valid(); });
  }
  for (auto& c : clients) close_client(*c);
}

void FakeNormand::close_client(Client& c) {
  std::lock_guard lock(mu_);
  const int owner = c.fd.get();
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->second->owner == owner) {
      nic_.remove_conn(it->first);
      if (auto q = nqs_.find(it->second->nq); q != nqs_.end()) --q->second->conns;
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = nqs_.begin(); it != nqs_.end();) {
    if (it->second->owner == owner) {
      nic_.remove_nq(it->first);
      it = nqs_.erase(it);
    } else {
      ++it;
    }
  }
}

void FakeNormand::handle(Client& c, ctl::Message& m) {
  const std::uint64_t seq = m.body.value("seq", std::uint64_t{0});
  const std::string op = m.body.value("op", std::string());
  nlohmann::json reply = ctl::ok_reply(seq);
  std::vector<int> fds;
  UniqueFd keep_irq;  // a dup sent to the client
  std::unique_lock lock(mu_);
  try {
    if (auto f = fail_.find(op); f != fail_.end()) {
      auto [err, msg] = f->second;
      fail_.erase(f);
      refuse(err, msg);
    }
    if (!c.hello && op != ctl::op::kHello && op != ctl::op::kAuth)
      refuse(EPROTO, "hello must be the first request");
    const int owner = c.fd.get();
    if (op == ctl::op::kAuth) {
      // The identity handshake (normand_proto.hpp): a nonce, then its echo.
      if (c.hello) refuse(EISCONN, "auth comes before hello");
      if (!m.body.contains("nonce")) {
        reply["nonce"] = "00112233445566778899aabbccddeeff";
      } else {
        reply["pid"] = ::getpid();
        reply["uid"] = ::getuid();
        reply["gid"] = ::getgid();
        reply["caps"] = nlohmann::json::array();
      }
    } else if (op == ctl::op::kHello) {
      c.hello = true;
      reply["version"] = ctl::kProtoVersion;
      reply["pid"] = ::getpid();
      reply["uid"] = ::getuid();
      reply["gid"] = ::getgid();
      reply["comm"] = "test";
      reply["nic"] = {{"mac", cfg_.nic_mac.to_string()},
                      {"ip", cfg_.nic_ip.to_string()},
                      {"prefix_len", cfg_.prefix_len},
                      {"port", 0},
                      {"num_ports", 2},
                      {"build_id", cfg_.build_id}};
      reply["doorbell"] = cfg_.doorbell;
      reply["fds"] = {"doorbells"};
      fds.push_back(nic_.open_channel());
    } else if (op == ctl::op::kNqOpen) {
      const unsigned log2 = m.body.value("log2", ctl::kDefaultNqLog2);
      if (log2 < ctl::kMinRingLog2 || log2 > ctl::kMaxNqLog2)
        refuse(EINVAL, "nq log2 out of range");
      auto q = std::make_unique<Nq>();
      q->id = next_nq_++;
      q->owner = owner;
      q->log2 = log2;
      q->mem = std::make_unique<Memfd>("fake-nq", ctl::nq_bytes(log2));
      q->irq = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      nic_.add_nq(SoftNq{q->id, q->mem->p, log2, q->irq.get()});
      reply["nq_id"] = q->id;
      reply["log2"] = log2;
      reply["db_page"] = ctl::nq_db_page(q->id);
      reply["bytes"] = ctl::nq_bytes(log2);
      reply["fds"] = {"ring", "irq"};
      fds.push_back(q->mem->fd.get());
      fds.push_back(q->irq.get());
      nqs_[q->id] = std::move(q);
    } else if (op == ctl::op::kNqClose) {
      const auto id = m.body.value("nq_id", 0U);
      auto it = nqs_.find(id);
      if (it == nqs_.end() || it->second->owner != owner)
        refuse(ENOENT, "no such notification queue");
      if (it->second->conns != 0) refuse(EBUSY, "connections still use this queue");
      nic_.remove_nq(id);
      nqs_.erase(it);
    } else if (op == ctl::op::kUdpOpen) {
      const auto nq_id = m.body.value("nq_id", 0U);
      auto qi = nqs_.find(nq_id);
      if (qi == nqs_.end() || qi->second->owner != owner)
        refuse(ENOENT, "no such notification queue");
      const unsigned rx_log2 = m.body.value("rx_log2", ctl::kDefaultRxLog2);
      const unsigned tx_log2 = m.body.value("tx_log2", ctl::kDefaultTxLog2);
      if (rx_log2 < ctl::kMinRingLog2 || rx_log2 > ctl::kMaxRxLog2 || tx_log2 < ctl::kMinRingLog2 ||
          tx_log2 > ctl::kMaxTxLog2) {
        refuse(EINVAL, "ring size out of range");
      }
      Endpoint local{cfg_.nic_ip, static_cast<std::uint16_t>(m.body.value("local_port", 0U))};
      if (m.body.contains("local_ip")) {
        auto ip = Ipv4::parse(m.body["local_ip"].get<std::string>());
        if (!ip) refuse(EINVAL, "bad local_ip");
        if (!(*ip == cfg_.nic_ip))
          refuse(EADDRNOTAVAIL, ip->to_string() + " is not the NIC's address");
        local.ip = *ip;
      }
      std::optional<Endpoint> remote;
      if (m.body.contains("remote_ip")) {
        auto ip = Ipv4::parse(m.body["remote_ip"].get<std::string>());
        if (!ip) refuse(EINVAL, "bad remote_ip");
        remote = Endpoint{*ip, static_cast<std::uint16_t>(m.body.value("remote_port", 0U))};
      }
      if (local.port != 0 && local.port < 1024 && !cfg_.allow_privileged_ports &&
          ::geteuid() != 0) {
        refuse(EACCES, "port " + std::to_string(local.port) + " needs root");
      }
      auto conflicts = [&](std::uint16_t port) {
        for (auto& [id, x] : conns_) {
          if (x->local.port != port) continue;
          if (x->remote && remote && !(*x->remote == *remote)) continue;
          return true;
        }
        return false;
      };
      if (local.port == 0) {
        do {
          local.port = next_port_++;
        } while (conflicts(local.port));
      } else if (conflicts(local.port)) {
        refuse(EADDRINUSE, local.to_string() + " is already in use");
      }
      auto conn = std::make_unique<Conn>();
      conn->id = next_conn_++;
      conn->owner = owner;
      conn->nq = nq_id;
      conn->local = local;
      conn->remote = remote;
      const ctl::ConnLayout lay = ctl::conn_layout(rx_log2, tx_log2);
      conn->mem = std::make_unique<Memfd>("fake-conn", lay.bytes);
      const bool notify_tx = m.body.value("notify_tx", false);
      SoftConn sc;
      sc.id = conn->id;
      sc.nq_id = nq_id;
      sc.mem = conn->mem->p;
      sc.rx_off = lay.rx_off;
      sc.tx_desc_off = lay.tx_desc_off;
      sc.tx_data_off = lay.tx_data_off;
      sc.bytes = lay.bytes;
      sc.rx_log2 = rx_log2;
      sc.tx_log2 = tx_log2;
      sc.notify_tx = notify_tx;
      sc.mac = cfg_.nic_mac;
      sc.local = local;
      sc.remote = remote;
      nic_.add_conn(sc);
      ++qi->second->conns;
      reply["conn_id"] = conn->id;
      reply["local_ip"] = local.ip.to_string();
      reply["local_port"] = local.port;
      if (remote) {
        reply["remote_ip"] = remote->ip.to_string();
        reply["remote_port"] = remote->port;
      }
      reply["mac"] = cfg_.nic_mac.to_string();
      reply["db_page"] = ctl::conn_db_page(conn->id);
      reply["rx_log2"] = rx_log2;
      reply["tx_log2"] = tx_log2;
      reply["layout"] = {{"rx_off", lay.rx_off},
                         {"tx_desc_off", lay.tx_desc_off},
                         {"tx_data_off", lay.tx_data_off},
                         {"bytes", lay.bytes}};
      reply["fds"] = {"ring"};
      fds.push_back(conn->mem->fd.get());
      conns_[conn->id] = std::move(conn);
    } else if (op == ctl::op::kClose) {
      const auto id = m.body.value("conn_id", 0U);
      auto it = conns_.find(id);
      if (it == conns_.end() || it->second->owner != owner) refuse(ENOENT, "no such connection");
      nic_.remove_conn(id);
      if (auto q = nqs_.find(it->second->nq); q != nqs_.end()) --q->second->conns;
      conns_.erase(it);
    } else if (op == ctl::op::kNeigh) {
      ++neigh_requests_;
      auto ip = Ipv4::parse(m.body.value("ip", std::string()));
      if (!ip) refuse(EINVAL, "bad ip");
      auto it = neigh_.find(*ip);
      // Like normand waiting for an ARP answer: one may come meanwhile
      // (add_neighbor), else EHOSTUNREACH after the delay.
      const auto until = std::chrono::steady_clock::now() + neigh_delay_;
      while (it == neigh_.end() && std::chrono::steady_clock::now() < until) {
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        lock.lock();
        it = neigh_.find(*ip);
      }
      if (it == neigh_.end()) refuse(EHOSTUNREACH, "nobody answered ARP for " + ip->to_string());
      reply["ip"] = ip->to_string();
      reply["mac"] = it->second.to_string();
    } else if (op == ctl::op::kStatus) {
      reply["clients"] = 1;
      reply["connections"] = nlohmann::json::array();
      for (auto& [id, x] : conns_) {
        if (x->owner == owner)
          reply["connections"].push_back({{"conn_id", id}, {"local", x->local.to_string()}});
      }
      reply["nqs"] = nqs_.size();
    } else {
      refuse(EOPNOTSUPP, "unknown op " + op);
    }
  } catch (const RequestError& e) {
    reply = ctl::error_reply(seq, e.err, e.what());
    fds.clear();
  } catch (const std::exception& e) {
    reply = ctl::error_reply(seq, EIO, e.what());
    fds.clear();
  }
  try {
    ctl::send_message(c.fd.get(), reply, fds);
  } catch (const std::exception&) {
  }
}

}  // namespace norman::testing
