// norman-echo-client: measures round-trip latency and throughput against a
// UDP echo server (norman-echo-server, or any other) through libnorman.
// Keeps --window datagrams in flight; each carries its sequence number and
// send time. Prints one JSON document.
//
//   norman-echo-client --server 10.11.0.1 --port 7000 --count 10000 --size 64 --window 8
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "ctl_socket.hpp"
#include "norman/norman.hpp"

namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

constexpr std::size_t kHeader = 16;  // seq (8) + send time in ns (8)

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"norman-echo-client: UDP echo round-trip latency and throughput (libnorman)"};
  std::string server;
  std::uint16_t port = 7000;
  std::string socket_path;
  std::uint64_t count = 10000;
  std::size_t size = 64;
  unsigned window = 1;
  unsigned timeout_ms = 1000;
  bool poll_mode = false;
  app.add_option("-s,--server", server, "server IPv4 address")->required();
  app.add_option("-p,--port", port, "server UDP port");
  app.add_option("--normand-socket", socket_path,
                 "normand's control socket (default $NORMAN_SOCKET or " +
                     std::string(norman::ctl::kDefaultSocketPath) + ")");
  app.add_option("-c,--count", count, "datagrams to send")->check(CLI::Range(1ULL, 1ULL << 40));
  app.add_option("--size", size,
                 "UDP payload bytes (16.." + std::to_string(norman::UdpSocket::kMaxPayload) + ")")
      ->check(CLI::Range(kHeader, norman::UdpSocket::kMaxPayload));
  app.add_option("-w,--window", window, "datagrams in flight")->check(CLI::Range(1, 4096));
  app.add_option("--timeout-ms", timeout_ms, "a datagram unanswered this long is lost");
  bool blocking_flag = false;
  auto* b =
      app.add_flag("--blocking", blocking_flag, "sleep on the interrupt while waiting (default)");
  app.add_flag("--poll", poll_mode, "busy-poll while waiting")->excludes(b);
  CLI11_PARSE(app, argc, argv);

  auto server_ip = norman::Ipv4::parse(server);
  if (!server_ip) {
    std::cerr << "norman-echo-client: bad --server address: " << server << std::endl;
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  try {
    norman::RuntimeOptions ro;
    ro.socket_path = socket_path;
    norman::Runtime rt(ro);
    norman::UdpOptions uo;
    uo.tx_log2 = std::max<unsigned>(norman::ctl::kDefaultTxLog2,
                                    static_cast<unsigned>(std::bit_width(window)));
    uo.rx_log2 = std::max<unsigned>(norman::ctl::kDefaultRxLog2,
                                    static_cast<unsigned>(std::bit_width(window)));
    const norman::Endpoint dst{*server_ip, port};
    auto sock = rt.udp_connect(dst, uo);
    std::cerr << "norman-echo-client: " << sock->local().to_string() << " -> " << dst.to_string()
              << ", " << count << " datagrams of " << size << " bytes, window " << window
              << std::endl;

    std::vector<std::uint8_t> payload(size, 0x5a);
    std::vector<std::uint8_t> buf(norman::UdpSocket::kMaxPayload);
    std::vector<double> rtt_us;
    rtt_us.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count, 50'000'000)));
    std::vector<bool> answered(count, false);
    std::uint64_t sent = 0, received = 0, lost = 0, unexpected = 0, in_flight = 0;
    std::uint64_t given_up = 0;  // sequence numbers below this were counted lost
    const auto timeout = std::chrono::milliseconds(timeout_ms);
    auto last_progress = Clock::now();
    const auto t0 = Clock::now();
    while (!g_stop.load(std::memory_order_relaxed) && received + lost < count) {
      while (in_flight < window && sent < count) {
        const std::uint64_t t = now_ns();
        std::memcpy(payload.data(), &sent, 8);
        std::memcpy(payload.data() + 8, &t, 8);
        if (!sock->send(payload, std::chrono::seconds(1)))
          throw std::runtime_error("TX ring stuck for 1 s");
        ++sent;
        ++in_flight;
      }
      std::optional<norman::RecvResult> r =
          poll_mode ? sock->try_recv(buf) : sock->recv(buf, std::chrono::milliseconds(100));
      if (!r) {
        if (poll_mode) norman::cpu_relax();
        if (Clock::now() - last_progress > timeout) {
          lost += in_flight;  // nothing came back in time: give up on what is in flight
          in_flight = 0;
          given_up = sent;
          last_progress = Clock::now();
        }
        continue;
      }
      const std::uint64_t t1 = now_ns();
      std::uint64_t seq = 0, ts = 0;
      if (r->len < kHeader || r->from != dst) {
        ++unexpected;
        continue;
      }
      std::memcpy(&seq, buf.data(), 8);
      std::memcpy(&ts, buf.data() + 8, 8);
      if (seq >= sent || seq < given_up || answered[seq]) {  // late, duplicate or foreign
        ++unexpected;
        continue;
      }
      answered[seq] = true;
      ++received;
      if (in_flight > 0) --in_flight;
      rtt_us.push_back(static_cast<double>(t1 - ts) / 1000.0);
      last_progress = Clock::now();
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> sorted = rtt_us;
    std::sort(sorted.begin(), sorted.end());
    double mean = 0;
    for (double v : sorted) mean += v;
    if (!sorted.empty()) mean /= static_cast<double>(sorted.size());
    const auto& st = sock->stats();
    nlohmann::json out = {{"server", dst.to_string()},
                          {"local", sock->local().to_string()},
                          {"mode", poll_mode ? "poll" : "blocking"},
                          {"count", count},
                          {"size", size},
                          {"window", window},
                          {"sent", sent},
                          {"received", received},
                          {"lost", lost},
                          {"unexpected", unexpected},
                          {"elapsed_s", secs},
                          {"rtt_us",
                           {{"min", sorted.empty() ? 0 : sorted.front()},
                            {"median", percentile(sorted, 0.5)},
                            {"p99", percentile(sorted, 0.99)},
                            {"max", sorted.empty() ? 0 : sorted.back()},
                            {"mean", mean}}},
                          {"throughput_dps", secs > 0 ? static_cast<double>(received) / secs : 0},
                          {"socket",
                           {{"tx_sent", st.tx_sent},
                            {"tx_dropped", st.tx_completed() - st.tx_sent},
                            {"rx_dropped", st.rx_dropped()}}}};
    std::cout << out.dump(2) << std::endl;
    return lost == 0 && !g_stop ? 0 : 3;
  } catch (const std::system_error& e) {
    std::cerr << "norman-echo-client: " << e.what() << " ("
              << norman::ctl::errno_name(e.code().value()) << ")" << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "norman-echo-client: " << e.what() << std::endl;
    return 1;
  }
}
