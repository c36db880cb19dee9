#include "request_args.hpp"

#include <cerrno>
#include <initializer_list>
#include <string_view>

#include "errors.hpp"

namespace norman::normand {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& msg) { throw CtlError(EINVAL, msg); }

// Refuses arguments the op does not know ("op" and "seq" always allowed).
void only(const json& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : req.items()) {
    if (k == "op" || k == "seq") continue;
    bool known = false;
    for (auto a : allowed) known = known || k == a;
    if (!known) bad("unknown argument \"" + k + "\" for op " + req.value("op", std::string("?")));
  }
}

// A present, non-null argument.
const json* arg(const json& req, const char* key) {
  auto it = req.find(key);
  if (it == req.end() || it->is_null()) return nullptr;
  return &*it;
}

std::uint64_t uint_arg(const json& v, const char* key, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t x = 0;
  if (v.is_number_unsigned()) {
    x = v.get<std::uint64_t>();
  } else if (v.is_number_integer()) {
    const auto s = v.get<std::int64_t>();
    if (s < 0)
      bad(std::string(key) + " must be between " + std::to_string(lo) + " and " +
          std::to_string(hi));
    x = static_cast<std::uint64_t>(s);
  } else {
    bad(std::string(key) + " must be an integer");
  }
  if (x < lo || x > hi) {
    bad(std::string(key) + " " + std::to_string(x) + " is out of range (" + std::to_string(lo) +
        ".." + std::to_string(hi) + ")");
  }
  return x;
}

std::uint64_t uint_or(const json& req, const char* key, std::uint64_t def, std::uint64_t lo,
                      std::uint64_t hi) {
  const json* v = arg(req, key);
  return v == nullptr ? def : uint_arg(*v, key, lo, hi);
}

std::uint64_t uint_req(const json& req, const char* key, std::uint64_t lo, std::uint64_t hi) {
  const json* v = arg(req, key);
  if (v == nullptr) bad(std::string("missing argument ") + key);
  return uint_arg(*v, key, lo, hi);
}

bool bool_or(const json& req, const char* key, bool def) {
  const json* v = arg(req, key);
  if (v == nullptr) return def;
  if (!v->is_boolean()) bad(std::string(key) + " must be true or false");
  return v->get<bool>();
}

Ipv4 ip_arg(const json& v, const char* key) {
  if (!v.is_string()) bad(std::string(key) + " must be a dotted-quad IPv4 address string");
  auto ip = parse_ipv4(v.get<std::string>());
  if (!ip) bad(std::string(key) + " \"" + v.get<std::string>() + "\" is not an IPv4 address");
  return *ip;
}

}  // namespace

std::uint64_t request_seq(const json& req) {
  auto it = req.find("seq");
  if (it == req.end()) bad("missing \"seq\"");
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(it->get<std::int64_t>());
  }
  bad("\"seq\" must be a non-negative integer");
}

std::string request_op(const json& req) {
  auto it = req.find("op");
  if (it == req.end() || !it->is_string()) bad("missing \"op\" (a string)");
  return it->get<std::string>();
}

HelloArgs parse_hello(const json& req) {
  only(req, {"version"});
  HelloArgs a;
  a.version = static_cast<int>(uint_req(req, "version", 0, 0x7fffffff));
  return a;
}

NqOpenArgs parse_nq_open(const json& req) {
  only(req, {"log2"});
  NqOpenArgs a;
  a.log2 = static_cast<unsigned>(
      uint_or(req, "log2", ctl::kDefaultNqLog2, ctl::kMinRingLog2, ctl::kMaxNqLog2));
  return a;
}

UdpOpenArgs parse_udp_open(const json& req) {
  only(req, {"nq_id", "local_ip", "local_port", "remote_ip", "remote_port", "rx_log2", "tx_log2",
             "notify_tx", "raw", "broadcast"});
  UdpOpenArgs a;
  a.nq_id = static_cast<std::uint16_t>(uint_req(req, "nq_id", 0, 0xFFFF));
  if (const json* v = arg(req, "local_ip")) a.local_ip = ip_arg(*v, "local_ip");
  a.local_port = static_cast<std::uint16_t>(uint_or(req, "local_port", 0, 0, 0xFFFF));
  const json* rip = arg(req, "remote_ip");
  const json* rport = arg(req, "remote_port");
  if ((rip == nullptr) != (rport == nullptr)) {
    bad("remote_ip and remote_port go together: both for a connected socket, neither to listen");
  }
  if (rip != nullptr) {
    Endpoint r;
    r.ip = ip_arg(*rip, "remote_ip");
    if (r.ip == Ipv4{}) bad("remote_ip 0.0.0.0 is not a peer");
    r.port = static_cast<std::uint16_t>(uint_arg(*rport, "remote_port", 1, 0xFFFF));
    a.remote = r;
  }
  a.rx_log2 = static_cast<unsigned>(
      uint_or(req, "rx_log2", ctl::kDefaultRxLog2, ctl::kMinRingLog2, ctl::kMaxRxLog2));
  a.tx_log2 = static_cast<unsigned>(
      uint_or(req, "tx_log2", ctl::kDefaultTxLog2, ctl::kMinRingLog2, ctl::kMaxTxLog2));
  a.notify_tx = bool_or(req, "notify_tx", false);
  a.raw = bool_or(req, "raw", false);
  a.broadcast = bool_or(req, "broadcast", false);
  return a;
}

std::uint16_t parse_nq_close(const json& req) {
  only(req, {"nq_id"});
  return static_cast<std::uint16_t>(uint_req(req, "nq_id", 0, 0xFFFF));
}

std::uint16_t parse_close(const json& req) {
  only(req, {"conn_id"});
  return static_cast<std::uint16_t>(uint_req(req, "conn_id", 0, 0xFFFF));
}

Ipv4 parse_neigh(const json& req) {
  only(req, {"ip"});
  const json* v = arg(req, "ip");
  if (v == nullptr) bad("missing argument ip");
  return ip_arg(*v, "ip");
}

void parse_status(const json& req) { only(req, {}); }

}  // namespace norman::normand
