// norman-probe: the application side of the whole-system tests, run as
// ordinary users by system_test. Subcommands:
//   hold   --port P      open a listening socket, print it as JSON, sleep
//   block  --port P      print "ready", block in recv(), print what woke it
//   talk   --port P --to IP:PORT --sends K --seconds S
//                        bind P, send K datagrams to IP:PORT, then answer
//                        every datagram that arrives for S seconds; print
//                        what arrived and every TX fate as JSON
//   attack --conn C --port P --pid PID
//                        as another user, try to reach conn C's doorbells,
//                        rings and port; print each attempt's outcome as JSON
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ctl_socket.hpp"
#include "norman/norman.hpp"
#include "norman/regmap.hpp"
#include "nsim_client.hpp"

namespace {

using nlohmann::json;
namespace rm = norman::regmap;

int hold(const std::string& sock, std::uint16_t port) {
  norman::RuntimeOptions ro;
  ro.socket_path = sock;
  norman::Runtime rt(ro);
  auto s = rt.udp_bind(port);
  std::cout
      << json{{"pid", ::getpid()}, {"conn_id", s->conn_id()}, {"port", s->local().port}}.dump()
      << std::endl;
  for (int i = 0; i < 600; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

int block(const std::string& sock, std::uint16_t port) {
  norman::RuntimeOptions ro;
  ro.socket_path = sock;
  norman::Runtime rt(ro);
  auto s = rt.udp_bind(port);
  std::cout << "ready" << std::endl;
  std::array<std::uint8_t, 2048> buf{};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = s->recv(buf, std::chrono::seconds(30));
  if (!r) {
    std::cout << "timeout" << std::endl;
    return 1;
  }
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "woke after " << us.count()
            << " us: " << std::string(reinterpret_cast<const char*>(buf.data()), r->len)
            << std::endl;
  return 0;
}

// Each attempt: {"refused": bool, "how": "..."}.
int attack(const std::string& sock, std::uint32_t conn, std::uint16_t port, int pid) {
  json out;
  // 1. Our own doorbell channel, aimed at the victim's doorbell page.
  auto client = norman::ctl::Client::connect(sock);
  auto hello = client.call(norman::ctl::op::kHello, {{"version", norman::ctl::kProtoVersion}});
  auto ch = norman::nsim::MmioChannel::attach(hello.fds.at(0).get());
  const std::uint64_t page = norman::ctl::conn_db_page(conn);
  ch.write64(page + rm::kDbConnTxProd, 5);
  ch.write64(page + rm::kDbConnRxCons, 7);
  const std::uint64_t v = ch.read64(page + rm::kDbConnRxCons);  // orders after the writes
  out["doorbell_write"] = {
      {"refused", ch.refused_writes() >= 2},
      {"how", "nsim refused " + std::to_string(ch.refused_writes()) + " writes"}};
  out["doorbell_read"] = {
      {"refused", ch.last_status() == norman::nsim::proto::MmioStatus::kRefused},
      {"how", "read returned " + std::to_string(v)}};
  // 2. Ask normand to close it, or to take over its port.
  auto try_call = [&](std::string_view op, json args) -> json {
    try {
      client.call(op, std::move(args));
      return {{"refused", false}, {"how", "accepted"}};
    } catch (const std::system_error& e) {
      return {{"refused", true},
              {"how", norman::ctl::errno_name(e.code().value()) + ": " + e.what()}};
    }
  };
  out["close_foreign"] = try_call(norman::ctl::op::kClose, {{"conn_id", conn}});
  auto nq = client.call(norman::ctl::op::kNqOpen, {{"log2", 6}});
  out["bind_same_port"] =
      try_call(norman::ctl::op::kUdpOpen, {{"nq_id", nq.body.at("nq_id")}, {"local_port", port}});
  // 3. The victim's memory through /proc (its ring memfds are mapped there).
  auto try_open = [](const std::string& path) -> json {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::close(fd);
      return {{"refused", false}, {"how", "opened " + path}};
    }
    return {{"refused", true}, {"how", path + ": " + std::strerror(errno)}};
  };
  out["proc_mem"] = try_open("/proc/" + std::to_string(pid) + "/mem");
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/map_files", ec);
  out["proc_map_files"] = {{"refused", static_cast<bool>(ec)},
                           {"how", ec ? ec.message() : "listed"}};
  std::filesystem::directory_iterator it2("/proc/" + std::to_string(pid) + "/fd", ec);
  out["proc_fd"] = {{"refused", static_cast<bool>(ec)}, {"how", ec ? ec.message() : "listed"}};
  std::cout << out.dump() << std::endl;
  return 0;
}

int talk(const std::string& sock, std::uint16_t port, const std::string& to, unsigned sends,
         unsigned seconds) {
  norman::RuntimeOptions ro;
  ro.socket_path = sock;
  norman::Runtime rt(ro);
  auto s = rt.udp_bind(port);
  const auto peer = norman::Endpoint::parse(to);
  if (!peer) throw std::invalid_argument("bad --to " + to);
  std::cout << json{{"pid", ::getpid()}, {"ready", true}}.dump() << std::endl;
  for (unsigned i = 0; i < sends; ++i) {
    const std::string msg = "hello " + std::to_string(i) + "\n";
    s->send_to({reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()}, *peer);
  }
  std::uint64_t received = 0;
  std::array<std::uint8_t, 2048> buf{};
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    s->poll_tx();
    if (auto r = s->try_recv(buf)) {
      ++received;
      s->send_to({buf.data(), r->len}, r->from);
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  s->poll_tx();
  const auto& st = s->stats();
  std::cout << json{{"received", received},
                    {"tx_datagrams", st.tx_datagrams},
                    {"tx_sent", st.tx_sent},
                    {"tx_drop_filter", st.tx_drop_filter},
                    {"tx_completed", st.tx_completed()}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"norman-probe: application side of Norman's whole-system tests"};
  std::string sock = norman::ctl::kDefaultSocketPath;
  std::uint16_t port = 0;
  std::uint32_t conn = 0;
  int pid = 0;
  app.add_option("--normand-socket", sock, "normand's control socket");
  app.require_subcommand(1);
  auto* h = app.add_subcommand("hold", "open a listening socket and sleep");
  h->add_option("--port", port)->required();
  auto* b = app.add_subcommand("block", "block in recv() until a datagram arrives");
  b->add_option("--port", port)->required();
  std::string to;
  unsigned sends = 0;
  unsigned seconds = 3;
  auto* t = app.add_subcommand("talk", "send to a peer, then answer what arrives");
  t->add_option("--port", port)->required();
  t->add_option("--to", to)->required();
  t->add_option("--sends", sends);
  t->add_option("--seconds", seconds);
  auto* a = app.add_subcommand("attack", "try to reach another application's connection");
  a->add_option("--conn", conn)->required();
  a->add_option("--port", port)->required();
  a->add_option("--pid", pid)->required();
  CLI11_PARSE(app, argc, argv);
  try {
    if (*h) return hold(sock, port);
    if (*b) return block(sock, port);
    if (*t) return talk(sock, port, to, sends, seconds);
    return attack(sock, conn, port, pid);
  } catch (const std::exception& e) {
    std::cerr << "norman-probe: " << e.what() << std::endl;
    return 2;
  }
}
