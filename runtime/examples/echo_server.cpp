// norman-echo-server: a UDP echo server on libnorman. Every datagram goes
// back to its sender, zero-copy on receive (peek) and on send (alloc/commit:
// the payload is copied once, RX slot -> TX slot).
//
//   norman-echo-server --port 7000                 # blocking: sleeps when idle
//   norman-echo-server --port 7000 --poll          # busy-polls a core
//   norman-echo-server --port 7000 --count 1000    # exits after 1000 echoes
//
// When normand goes away (exits, is killed, loses the NIC) the server exits
// with status 1 and says so (ENETDOWN); run it under a supervisor to have
// it reconnect to the restarted normand.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ctl_socket.hpp"
#include "norman/norman.hpp"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

nlohmann::json stats_json(const norman::SocketStats& s) {
  return {{"rx_datagrams", s.rx_datagrams},
          {"rx_bytes", s.rx_bytes},
          {"rx_dropped", s.rx_dropped()},
          {"rx_drop_malformed", s.rx_drop_malformed},
          {"rx_drop_fragment", s.rx_drop_fragment},
          {"rx_drop_not_ipv4", s.rx_drop_not_ipv4},
          {"rx_drop_not_udp", s.rx_drop_not_udp},
          {"rx_drop_bad_length", s.rx_drop_bad_length},
          {"rx_drop_bad_checksum", s.rx_drop_bad_checksum},
          {"tx_datagrams", s.tx_datagrams},
          {"tx_ring_full", s.tx_ring_full},
          {"tx_sent", s.tx_sent},
          {"tx_drop_spoof", s.tx_drop_spoof},
          {"tx_drop_bad_len", s.tx_drop_bad_len},
          {"tx_drop_filter", s.tx_drop_filter},
          {"tx_drop_refused", s.tx_drop_refused},
          {"tx_drop_closed", s.tx_drop_closed},
          {"tx_status_unknown", s.tx_status_unknown},
          {"tx_held_unresolved", s.tx_held_unresolved},
          {"tx_drop_unresolved", s.tx_drop_unresolved},
          {"tx_drop_unreachable", s.tx_drop_unreachable},
          {"tx_drop_held_overflow", s.tx_drop_held_overflow},
          {"tx_errors_lost", s.tx_errors_lost}};
}

// A reply that cannot go out (a spoofed or vanished sender: off the subnet,
// or nobody answers ARP for it) costs that reply only. Logged at most once
// a second, so a flood of them cannot flood the log either.
class ErrorLog {
 public:
  void add(const norman::Endpoint& to, int err) {
    ++count_;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + std::chrono::seconds(1);
    std::cerr << "norman-echo-server: cannot reply to " << to.to_string() << ": "
              << std::strerror(err) << " (" << norman::ctl::errno_name(err) << ")";
    if (count_ > 1) std::cerr << "; " << count_ - 1 << " more such errors since the last line";
    std::cerr << std::endl;
    count_ = 0;
  }

 private:
  std::uint64_t count_ = 0;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"norman-echo-server: echo every UDP datagram back to its sender (libnorman)"};
  std::uint16_t port = 7000;
  std::string socket_path;
  bool poll_mode = false;
  std::uint64_t count = 0;
  unsigned batch = 32;
  bool verbose = false;
  app.add_option("-p,--port", port, "UDP port to listen on");
  app.add_option("--normand-socket", socket_path,
                 "normand's control socket (default $NORMAN_SOCKET or " +
                     std::string(norman::ctl::kDefaultSocketPath) + ")");
  bool blocking_flag = false;
  auto* b = app.add_flag("--blocking", blocking_flag, "sleep on the interrupt when idle (default)");
  app.add_flag("--poll", poll_mode, "busy-poll the RX ring instead of sleeping")->excludes(b);
  app.add_option("-c,--count", count,
                 "exit after echoing this many datagrams (0: until SIGINT/SIGTERM)");
  app.add_option("--batch", batch, "datagrams per batch")->check(CLI::Range(1, 256));
  app.add_flag("-v,--verbose", verbose, "print every datagram");
  CLI11_PARSE(app, argc, argv);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  try {
    norman::RuntimeOptions ro;
    ro.socket_path = socket_path;
    norman::Runtime rt(ro);
    auto sock = rt.udp_bind(port);
    std::cout << "norman-echo-server: listening on " << sock->local().to_string() << " (connection "
              << sock->conn_id() << ", NIC " << rt.nic().mac.to_string() << "), "
              << (poll_mode ? "busy-polling" : "blocking: sleeps on the NIC interrupt when idle")
              << ", batch " << batch
              << (count != 0 ? ", exits after " + std::to_string(count) + " datagrams"
                             : std::string())
              << std::endl;

    std::vector<norman::RxDatagram> rx(batch);
    std::vector<norman::TxSlot> tx(batch);
    std::uint64_t echoed = 0;
    std::uint64_t idle_spins = 0;
    ErrorLog errors;
    const auto t0 = std::chrono::steady_clock::now();
    while (!g_stop.load(std::memory_order_relaxed) && (count == 0 || echoed < count)) {
      const std::size_t want = count == 0 ? batch : std::min<std::uint64_t>(batch, count - echoed);
      std::size_t n = sock->try_peek(std::span(rx).first(want));
      if (n == 0) {
        if (poll_mode) {
          norman::cpu_relax();
          // A busy-poller never sleeps where normand's exit would show:
          // look at the control connection now and then.
          if ((++idle_spins & 0xffff) == 0) rt.check();
        } else {
          sock->wait_readable(std::chrono::milliseconds(200));  // wakes up for signals too
        }
        while (auto e = sock->take_error())
          errors.add(e->to, e->error);  // held replies that failed
        continue;
      }
      std::size_t done = 0;
      while (done < n) {
        std::size_t k = sock->try_alloc(std::span(tx).first(n - done));
        if (k == 0) {
          // TX ring full: send one with a wait (it reaps completions), then retry.
          const auto& d = rx[done];
          try {
            if (!sock->send_to(d.payload, d.from, std::chrono::seconds(1))) {
              std::cerr << "norman-echo-server: TX ring stuck, dropping a reply to "
                        << d.from.to_string() << "\n";
            }
          } catch (const std::system_error& e) {
            errors.add(d.from, e.code().value());
          }
          ++done;
          continue;
        }
        for (std::size_t i = 0; i < k; ++i) {
          const auto& d = rx[done + i];
          std::memcpy(tx[i].buffer.data(), d.payload.data(), d.payload.size());
          tx[i].len = d.payload.size();
          tx[i].to = d.from;
          if (verbose)
            std::cout << "echo " << d.payload.size() << " bytes to " << d.from.to_string() << "\n";
        }
        sock->commit(std::span(tx).first(k));
        done += k;
      }
      sock->release();
      // commit() drops a reply it cannot route and queues the error.
      while (auto e = sock->take_error()) errors.add(e->to, e->error);
      echoed += n;
    }
    sock->flush(std::chrono::seconds(1));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json out = {{"echoed", echoed},
                          {"seconds", secs},
                          {"local", sock->local().to_string()},
                          {"stats", stats_json(sock->stats())}};
    std::cout << "norman-echo-server: done: " << out.dump() << std::endl;
    return 0;
  } catch (const std::system_error& e) {
    std::cerr << "norman-echo-server: " << e.what() << " ("
              << norman::ctl::errno_name(e.code().value()) << ")" << std::endl;
    // normand went away (ENETDOWN): exit rather than reconnect, so that a
    // supervisor (systemd Restart=) starts a fresh server against the new
    // normand, with fresh connections.
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "norman-echo-server: " << e.what() << std::endl;
    return 1;
  }
}
