#include "session.hpp"

#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "capture_args.hpp"
#include "ctl_socket.hpp"
#include "errors.hpp"
#include "log.hpp"
#include "norman/regmap.hpp"
#include "normand_proto.hpp"
#include "process_info.hpp"
#include "request_args.hpp"

namespace norman::normand {

namespace asio = boost::asio;
namespace rm = norman::regmap;
using nlohmann::json;

namespace {

std::string dump(const json& j) {
  // Strings normand puts in replies are printable ASCII or came from a
  // parsed (valid UTF-8) request; replace anything else rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Session::Session(DaemonContext& ctx, SeqPacketProtocol::socket sock, std::uint64_t id)
    : ctx_(ctx), sock_(std::move(sock)) {
  who_.id = id;
  boost::system::error_code ec;
  sock_.non_blocking(true, ec);
  // Only what the kernel took at connect: /proc may already show another
  // program (the client exec'd since), so it is read in the auth handshake.
  const auto cred = peer_credentials(sock_.native_handle());
  if (!cred || ec) return;
  // The kernel attaches the sender's pid to each message (auth's answer).
  const int on = 1;
  if (::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return;
  who_.proc.pid = cred->pid;
  who_.proc.uid = cred->uid;
  who_.proc.gid = cred->gid;
  identified_ = true;
}

void Session::start() {
  log::debug("client " + std::to_string(who_.id) + " connected: " + who_.describe());
  read_next();
}

void Session::stop(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  // Whatever ended the client (cap_close not sent, killed, socket dropped):
  // its capture sessions end with it.
  if (ctx_.capture != nullptr) ctx_.capture->release(who_.id, reason);
  if (hello_) {
    ctx_.conns.reclaim(who_.id, reason);
  } else {
    log::debug("client " + std::to_string(who_.id) + " (" + who_.proc.describe() +
               ") left before hello: " + reason);
  }
  boost::system::error_code ec;
  sock_.close(ec);
  out_ = {};
  if (ctx_.on_closed) ctx_.on_closed(who_.id);
}

void Session::read_next() {
  if (closed_) return;
  sock_.async_wait(SeqPacketProtocol::socket::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     if (self->closed_) return;
                     if (ec) {
                       self->stop("control socket error: " + ec.message());
                       return;
                     }
                     self->on_readable();
                   });
}

bool Session::peer_hung_up() {
  pollfd p{sock_.native_handle(), POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

void Session::on_readable() {
  std::optional<ctl::Message> m;
  try {
    m = ctl::recv_message(sock_.native_handle(), 0);
  } catch (const std::system_error& e) {
    const int err = e.code().value();
    if (err == ETIMEDOUT) {  // readiness without a datagram: wait again
      read_next();
      return;
    }
    if (err == EPROTO || err == EMSGSIZE) {
      log::debug("client " + std::to_string(who_.id) + ": bad datagram: " + e.what());
      send_error(0, err, e.what());
      return;
    }
    stop(std::string("control socket error: ") + e.what());
    return;
  }
  if (!m) {
    // recvmsg() returns 0 both at EOF and for an empty datagram.
    if (peer_hung_up()) {
      stop("client exited");
    } else {
      send_error(0, EPROTO, "empty message: a request is a JSON object");
    }
    return;
  }
  // Descriptors a client attaches are used only by the op that expects them
  // (filter_replace's payload); the rest are closed when the request ends.
  creds_ = m->creds;
  handle(m->body, std::move(m->fds));
}

void Session::handle(const json& req, std::vector<nsim::UniqueFd> fds) {
  std::uint64_t seq = 0;
  std::string op;
  try {
    seq = request_seq(req);
    op = request_op(req);
    dispatch(seq, op, req, fds);
  } catch (const CtlError& e) {
    log::write(e.err() == EACCES || e.err() == EPERM ? log::Level::kInfo : log::Level::kDebug,
               "refused " + (op.empty() ? std::string("request") : op) + " of client " +
                   std::to_string(who_.id) + " (" + who_.proc.describe() +
                   "): " + ctl::errno_name(e.err()) + ": " + e.what());
    send_error(seq, e.err(), e.what());
  } catch (const json::exception& e) {
    send_error(seq, EINVAL, std::string("bad request: ") + e.what());
  } catch (const std::exception& e) {
    log::error("client " + std::to_string(who_.id) + ": " + op + " failed: " + e.what());
    send_error(seq, EIO, op + " failed: " + e.what());
  }
}

void Session::dispatch(std::uint64_t seq, const std::string& op, const json& req,
                       std::vector<nsim::UniqueFd>& fds) {
  if (op == ctl::op::kAuth) {
    send_ok(seq, do_auth(req));
    return;
  }
  if (op == ctl::op::kHello) {
    send_ok(seq, do_hello(req));
    return;
  }
  // The filter table is the administrator's: no hello (no NIC resources).
  if (op == ctl::op::kFilterGet || op == ctl::op::kFilterCmd || op == ctl::op::kFilterReplace) {
    send_ok(seq, do_filter(op, req, fds));
    return;
  }
  // So are the sets (nipset): no hello.
  if (op == ctl::op::kSets) {
    send_ok(seq, do_sets(req, fds));
    return;
  }
  // Capture is the administrator's too (root or CAP_NET_RAW): no hello.
  if (op == ctl::op::kCapOpen || op == ctl::op::kCapStats || op == ctl::op::kCapCons ||
      op == ctl::op::kCapOwner || op == ctl::op::kCapClose) {
    send_ok(seq, do_capture(op, req));
    return;
  }
  const bool known = op == ctl::op::kNqOpen || op == ctl::op::kNqClose || op == ctl::op::kUdpOpen ||
                     op == ctl::op::kClose || op == ctl::op::kNeigh || op == ctl::op::kStatus;
  if (!known) throw CtlError(EINVAL, "unknown op \"" + op + "\"");
  if (!hello_) throw CtlError(EPROTO, "the first request must be hello");
  if (op == ctl::op::kNqOpen) {
    send_ok(seq, ctx_.conns.nq_open(who_.id, parse_nq_open(req)));
  } else if (op == ctl::op::kNqClose) {
    ctx_.conns.nq_close(who_.id, parse_nq_close(req));
    send_ok(seq, {});
  } else if (op == ctl::op::kUdpOpen) {
    send_ok(seq, ctx_.conns.udp_open(who_.id, parse_udp_open(req)));
  } else if (op == ctl::op::kClose) {
    ctx_.conns.close(who_.id, parse_close(req));
    send_ok(seq, {});
  } else if (op == ctl::op::kNeigh) {
    do_neigh(seq, req);
  } else {
    send_ok(seq, do_status(req));
  }
}

Grant Session::do_auth(const json& req) {
  if (hello_) {
    throw CtlError(EISCONN,
                   "auth comes before hello: the identity is fixed once the client "
                   "holds NIC resources");
  }
  const PeerCred cred{who_.proc.pid, who_.proc.uid, who_.proc.gid};
  if (!req.contains("nonce")) {
    // Read first, then make the nonce: whoever answers it ran after the read.
    pending_ = read_process_info(cred, ctx_.proc_root);
    std::array<std::uint8_t, ctl::kNonceBytes> raw{};
    std::size_t got = 0;
    while (got < raw.size()) {
      const ssize_t n = ::getrandom(raw.data() + got, raw.size() - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw CtlError(EIO, std::string("getrandom: ") + std::strerror(errno));
      got += static_cast<std::size_t>(n);
    }
    nonce_.clear();
    for (const auto b : raw) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", b);
      nonce_ += hex;
    }
    Grant g;
    g.results = {{"nonce", nonce_}};
    return g;
  }
  // One answer per nonce, right or wrong.
  std::optional<ProcessInfo> snap = std::exchange(pending_, std::nullopt);
  const std::string nonce = std::exchange(nonce_, std::string());
  if (!snap) throw CtlError(EPROTO, "auth with a nonce, but none is pending (send auth {} first)");
  const auto& answer = req.at("nonce");
  if (!answer.is_string() || answer.get<std::string>() != nonce) {
    throw CtlError(EACCES, "auth: wrong nonce");
  }
  // The kernel's word on who sent this message, not the client's.
  if (!creds_) throw CtlError(EPROTO, "auth: the message carries no sender credentials");
  if (creds_->pid != cred.pid || creds_->uid != cred.uid) {
    throw CtlError(EACCES, "auth: the answer must come from the process that connected (pid " +
                               std::to_string(cred.pid) + "), not from pid " +
                               std::to_string(creds_->pid));
  }
  // Capabilities held at the read and still now: an exec since the read
  // (or since the answer was sent) adds nothing.
  snap->cap_eff &= read_process_info(cred, ctx_.proc_root).cap_eff;
  who_.proc = std::move(*snap);
  confirmed_ = true;
  const auto& p = who_.proc;
  log::debug("client " + std::to_string(who_.id) + " confirmed: " + p.describe() +
             (p.initial_userns ? "" : ", in a user namespace (no capabilities)"));
  Grant g;
  g.results = {{"pid", p.pid},
               {"uid", p.uid},
               {"gid", p.gid},
               {"comm", p.comm},
               {"cgroup", p.cgroup},
               {"caps", cap_names(p.cap_eff)},
               {"initial_userns", p.initial_userns}};
  return g;
}

Grant Session::do_hello(const json& req) {
  const HelloArgs a = parse_hello(req);
  if (hello_) throw CtlError(EISCONN, "hello was already done on this connection");
  if (a.version != ctl::kProtoVersion) {
    throw CtlError(EPROTONOSUPPORT, "protocol version " + std::to_string(a.version) +
                                        " is not supported (normand speaks version " +
                                        std::to_string(ctl::kProtoVersion) + ")");
  }
  if (!confirmed_) {
    // Names for the owner match (comm, cgroup); no capabilities without auth.
    who_.proc = read_process_info({who_.proc.pid, who_.proc.uid, who_.proc.gid}, ctx_.proc_root);
    who_.proc.cap_eff = 0;
  }
  who_.cmd_id = ctx_.owners.cmd_id(who_.proc.comm);
  who_.cgroup_class = ctx_.owners.cgroup_class(who_.proc.cgroup);
  Grant g = ctx_.conns.attach(who_);
  hello_ = true;
  const auto& p = who_.proc;
  g.results = {{"version", ctl::kProtoVersion},
               {"pid", p.pid},
               {"uid", p.uid},
               {"gid", p.gid},
               {"comm", p.comm},
               {"cgroup", p.cgroup},
               {"cmd_id", who_.cmd_id},
               {"cgroup_class", who_.cgroup_class},
               {"confirmed", confirmed_},
               {"nic",
                {{"mac", to_string(ctx_.nic.mac)},
                 {"ip", to_string(ctx_.nic.ip)},
                 {"prefix_len", ctx_.nic.prefix_len},
                 {"port", ctx_.nic.port},
                 {"num_ports", ctx_.dev.num_ports()},
                 {"build_id", rm::kBuildId}}},
               {"doorbell", ctx_.dev.doorbell_transport()}};
  return g;
}

void Session::do_neigh(std::uint64_t seq, const json& req) {
  const Ipv4 ip = parse_neigh(req);
  // Only this session waits: normand keeps serving everyone else.
  ctx_.neigh.async_resolve(
      ip, ctx_.neigh_timeout, [w = weak_from_this(), seq, ip](std::error_code ec, Mac mac) {
        auto self = w.lock();
        if (!self || self->closed_) return;
        if (!ec) {
          Grant g;
          g.results = {{"ip", to_string(ip)}, {"mac", to_string(mac)}};
          self->send_ok(seq, std::move(g));
          return;
        }
        const bool generic =
            ec.category() == std::generic_category() || ec.category() == std::system_category();
        int err = generic && ec.value() != 0 ? ec.value() : EIO;
        if (ec == std::errc::operation_canceled) err = ECANCELED;
        std::string msg = to_string(ip) + ": ";
        if (err == EHOSTUNREACH) {
          msg += "no answer to ARP on the NIC's link";
        } else if (err == ENETUNREACH) {
          msg += "not on the NIC's subnet (no routing through gateways)";
        } else {
          msg += ec.message();
        }
        self->send_error(seq, err, msg);
      });
}

Grant Session::do_status(const json& req) {
  parse_status(req);
  const auto& p = who_.proc;
  Grant g;
  json s = ctx_.conns.status(p);
  s["clients"] = ctx_.num_clients ? ctx_.num_clients() : 0;
  s["dma_bytes"] = ctx_.dev.dma_bytes();
  s["device"] = ctx_.dev.describe();
  s["fallback"] = ctx_.fallback.status();
  s["nic"] = {{"mac", to_string(ctx_.nic.mac)},
              {"ip", to_string(ctx_.nic.ip) + "/" + std::to_string(ctx_.nic.prefix_len)},
              {"port", ctx_.nic.port}};
  if (p.is_root()) s["owners"] = ctx_.owners.to_json();
  // Who captures what is the administrator's business only.
  if (p.is_root() && ctx_.capture != nullptr) s["capture"] = ctx_.capture->status();
  if (ctx_.quota != nullptr) s["quota"] = ctx_.quota->to_json(quota::principal_of(p));
  if (ctx_.filter != nullptr) {
    const auto st = ctx_.filter->status();
    s["filter"] = {{"generation", st.generation},
                   {"entries", st.entries},
                   {"exact_entries", st.exact},
                   {"capacity", st.capacity}};
  }
  // The NIC's counters are aggregates (no owner in them): everyone sees them.
  // rx_balanced: every received frame has exactly one fate (delivered or
  // dropped with a reason); it can read false while a frame is in flight.
  std::array<std::uint64_t, rm::kNumCounters> values{};
  json counters = json::object();
  for (unsigned i = 0; i < rm::kNumCounters; ++i) {
    values[i] = ctx_.dev.nic().counter(static_cast<rm::Counter>(i));
    counters[std::string(rm::kCounterNames[i])] = values[i];
  }
  std::uint64_t fates = 0;
  for (const auto c : rm::kRxFates) fates += values[static_cast<unsigned>(c)];
  s["nic_counters"] = std::move(counters);
  s["rx_balanced"] = values[static_cast<unsigned>(rm::Counter::kRxFrames)] == fates;
  // One reply is one datagram: with very many connections, list fewer.
  while (dump(s).size() + 256 > ctl::kMaxMessageBytes) {
    auto& list = s["connections"];
    if (list.empty()) break;
    const std::size_t keep = list.size() / 2;
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(keep), list.end());
    s["truncated"] = true;
  }
  g.results = std::move(s);
  return g;
}

void Session::send_ok(std::uint64_t seq, Grant g) {
  json body = ctl::ok_reply(seq);
  for (auto& [k, v] : g.results.items()) body[k] = v;
  json names = json::array();
  std::vector<nsim::UniqueFd> fds;
  for (auto& [name, fd] : g.fds) {
    names.push_back(name);
    fds.push_back(std::move(fd));
  }
  if (!fds.empty()) body["fds"] = std::move(names);
  send(body, std::move(fds));
}

void Session::send_error(std::uint64_t seq, int err, const std::string& message) {
  send(ctl::error_reply(seq, err, message), {});
}

void Session::send(const json& body, std::vector<nsim::UniqueFd> fds) {
  out_.text = dump(body);
  out_.fds = std::move(fds);
  flush();
}

void Session::flush() {
  if (closed_) return;
  const auto& t = out_.text;
  iovec iov{const_cast<char*>(t.data()), t.size()};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * ctl::kMaxFds)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!out_.fds.empty()) {
    const std::size_t n = std::min(out_.fds.size(), ctl::kMaxFds);
    msg.msg_control = ctrl;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    for (std::size_t i = 0; i < n; ++i) {
      const int fd = out_.fds[i].get();
      std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
    }
  }
  for (;;) {
    if (::sendmsg(sock_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // The client does not read: wait for room without holding normand.
      sock_.async_wait(SeqPacketProtocol::socket::wait_write,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (self->closed_) return;
                         if (ec) {
                           self->stop("control socket error: " + ec.message());
                           return;
                         }
                         self->flush();
                       });
      return;
    }
    stop(std::string("cannot answer: ") + std::strerror(errno));
    return;
  }
  out_ = {};  // our copies of the descriptors: the client has its own now
  read_next();
}

namespace {
// "1.234": milliseconds since t0, for the log.
std::string ms_since(std::chrono::steady_clock::time_point t0) {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}
}  // namespace

Grant Session::do_capture(const std::string& op, const json& req) {
  // The rights are the identity normand confirmed at connect time (auth),
  // whatever the request says.
  CaptureService::check_rights(who_.proc);
  if (ctx_.capture == nullptr || !ctx_.capture->present())
    throw CtlError(EOPNOTSUPP,
                   "the NIC has no capture overlay (its register block chain lists no CAPTURE "
                   "block)");
  CaptureService& c = *ctx_.capture;
  Grant g;
  if (op == ctl::op::kCapOpen) return c.open(who_.id, who_.proc, parse_cap_open(req));
  if (op == ctl::op::kCapStats) {
    g.results = c.stats(who_.id, parse_cap_id(req));
  } else if (op == ctl::op::kCapCons) {
    const auto [id, cons] = parse_cap_cons(req);
    g.results = c.consume(who_.id, id, cons);
  } else if (op == ctl::op::kCapOwner) {
    g.results = c.owner(who_.proc, parse_cap_owner(req));
  } else {
    g.results = c.close(who_.id, parse_cap_id(req));
  }
  return g;
}

Grant Session::do_filter(const std::string& op, const json& req, std::vector<nsim::UniqueFd>& fds) {
  const ProcessInfo& p = who_.proc;
  if (!p.is_root() && !p.has_cap(kCapNetAdmin)) {
    throw CtlError(EPERM,
                   "Permission denied (you must be root or have CAP_NET_ADMIN in the initial user "
                   "namespace)");
  }
  if (ctx_.filter == nullptr) throw CtlError(EOPNOTSUPP, "the NIC has no filter overlay");
  FilterService& f = *ctx_.filter;
  // One log line per change: who, what the NIC now holds, what it cost.
  auto log_change = [&](const char* what, std::chrono::steady_clock::time_point t0) {
    const auto st = f.status();
    log::info("nfw: " + who_.proc.describe() + " " + what + " the filter table (generation " +
              std::to_string(st.generation) + ", " + std::to_string(st.entries) + " NIC entries (" +
              std::to_string(st.exact) + " exact), " + std::to_string(st.last.written) +
              " written, " + ms_since(t0) + " ms)");
  };
  Grant g;
  try {
    if (op == ctl::op::kFilterGet) {
      const auto st = f.status();
      g.results = {{"generation", st.generation},
                   {"entries", st.entries},
                   {"exact_entries", st.exact},
                   {"capacity", st.capacity}};
      g.fds.emplace_back("ruleset", ctl::json_to_memfd(json(f.snapshot()), "nfw-ruleset"));
    } else if (op == ctl::op::kFilterCmd) {
      filter::Command cmd;
      try {
        cmd = req.at("command").get<filter::Command>();
      } catch (const std::exception& e) {
        throw CtlError(EINVAL, std::string("bad command: ") + e.what());
      }
      const auto t0 = std::chrono::steady_clock::now();
      const bool result = f.command(cmd);
      if (cmd.changes_rules()) {
        log_change("changed", t0);
      }
      g.results = {{"result", result}, {"generation", f.generation()}};
    } else {
      if (fds.empty())
        throw CtlError(EINVAL, "filter_replace needs the table as a memfd (fds: [\"ruleset\"])");
      filter::Ruleset rules;
      try {
        rules = ctl::json_from_fd(fds.front().get()).get<filter::Ruleset>();
      } catch (const std::system_error& e) {
        // Not a sealed memfd, too large, not JSON: the client's error.
        throw CtlError(e.code().value(), std::string("bad table: ") + e.what());
      } catch (const std::exception& e) {
        throw CtlError(EINVAL, std::string("bad table: ") + e.what());
      }
      std::optional<std::uint64_t> gen;
      if (req.contains("generation")) gen = req.at("generation").get<std::uint64_t>();
      if (req.value("test", false)) {
        // nfw-restore --test: the load's checks, nothing installed.
        f.check(std::move(rules));
        g.results = {{"generation", f.generation()}};
        return g;
      }
      const auto t0 = std::chrono::steady_clock::now();
      f.replace(std::move(rules), gen, req.value("counters", false));
      log_change("replaced", t0);
      g.results = {{"generation", f.generation()}};
    }
  } catch (const filter::CommandError& e) {
    throw CtlError(e.errno_value, e.what());
  } catch (const filter::CapacityError& e) {
    throw CtlError(ENOSPC, e.what());
  } catch (const filter::CompileError& e) {
    throw CtlError(EINVAL, e.what());
  }
  return g;
}

Grant Session::do_sets(const json& req, std::vector<nsim::UniqueFd>& fds) {
  const ProcessInfo& p = who_.proc;
  // The sets decide what the filter table's set matches match: the
  // filter's rights (the kernel's view of the peer, at auth).
  if (!p.is_root() && !p.has_cap(kCapNetAdmin)) {
    throw CtlError(EPERM,
                   "Permission denied (you must be root or have CAP_NET_ADMIN in the initial user "
                   "namespace)");
  }
  if (ctx_.sets == nullptr) throw CtlError(EOPNOTSUPP, "normand keeps no sets");
  std::vector<std::string> args;
  std::string input;
  try {
    args = req.at("args").get<std::vector<std::string>>();
    if (!fds.empty()) input = ctl::json_from_fd(fds.front().get()).get<std::string>();
  } catch (const std::system_error& e) {
    throw CtlError(e.code().value(), std::string("bad input: ") + e.what());
  } catch (const std::exception& e) {
    throw CtlError(EINVAL, std::string("bad sets request: ") + e.what());
  }
  sets::Outcome o;
  try {
    const auto gen = ctx_.sets->store().generation();
    o = ctx_.sets->run(args, input);
    if (ctx_.sets->store().generation() != gen) {
      log::info("nipset: " + p.describe() + " changed the sets (" +
                std::to_string(ctx_.sets->store().entries()) + " entries)");
    }
  } catch (const std::invalid_argument& e) {
    throw CtlError(EINVAL, e.what());
  }
  Grant g;
  g.results = {{"status", o.status}};
  g.fds.emplace_back("result",
                     ctl::json_to_memfd(json{{"status", o.status}, {"out", o.out}, {"err", o.err}},
                                        "nipset-result"));
  return g;
}

}  // namespace norman::normand
