// One control-protocol datagram, as a client could send it to normand: the
// framing of kernel/proto (recv_message over a SOCK_SEQPACKET pair), then
// every op's argument decoding (normand's request_args), and the filter
// payloads (a Ruleset, a Command) from JSON. Bad input must be refused
// with the documented exceptions (std::system_error from the framing,
// CtlError from request_args, std::invalid_argument from the filter's JSON
// and nlohmann's json::exception for wrong types), never crash.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <system_error>

#include "command.hpp"
#include "ctl_socket.hpp"
#include "errors.hpp"
#include "fuzz_util.hpp"
#include "request_args.hpp"
#include "ruleset.hpp"

using namespace norman;

namespace {

template <typename F>
void refused_or_ok(F f) {
  try {
    f();
  } catch (const normand::CtlError&) {
  } catch (const std::invalid_argument&) {
  } catch (const nlohmann::json::exception&) {
  }
}

int g_pair[2] = {-1, -1};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > ctl::kMaxMessageBytes) return 0;
  if (g_pair[0] < 0 && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, g_pair) != 0) {
    std::abort();
  }
  if (::send(g_pair[0], data, size, 0) != static_cast<ssize_t>(size)) return 0;
  std::optional<ctl::Message> m;
  try {
    m = ctl::recv_message(g_pair[1], 0);
  } catch (const std::system_error& e) {
    FUZZ_CHECK(e.code().value() == EPROTO || e.code().value() == EMSGSIZE ||
               e.code().value() == ETIMEDOUT);
    return 0;
  }
  if (!m) return 0;  // empty datagram
  const nlohmann::json& req = m->body;
  FUZZ_CHECK(req.is_object());
  refused_or_ok([&] { (void)normand::request_seq(req); });
  refused_or_ok([&] { (void)normand::request_op(req); });
  refused_or_ok([&] { (void)normand::parse_hello(req); });
  refused_or_ok([&] { (void)normand::parse_nq_open(req); });
  refused_or_ok([&] { (void)normand::parse_udp_open(req); });
  refused_or_ok([&] { (void)normand::parse_nq_close(req); });
  refused_or_ok([&] { (void)normand::parse_close(req); });
  refused_or_ok([&] { (void)normand::parse_neigh(req); });
  refused_or_ok([&] { (void)normand::parse_status(req); });
  for (const char* key : {"ruleset", "command"}) {
    const auto it = req.find(key);
    const nlohmann::json& j = it == req.end() ? req : *it;
    refused_or_ok([&] {
      filter::Ruleset rs = j.get<filter::Ruleset>();
      // Whatever normand accepts it can send back (valid UTF-8 JSON).
      (void)nlohmann::json(rs).dump();
    });
    refused_or_ok([&] {
      filter::Command c = j.get<filter::Command>();
      (void)nlohmann::json(c).dump();
    });
  }
  // A reply carrying the request back never throws (normand's own dump).
  (void)req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
