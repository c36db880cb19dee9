// normand: the Norman control-plane daemon. Owns the NIC (through the Device
// interface: nsim, or a card through vfio-pci), creates nic0, carries
// unmatched traffic between the NIC and the host kernel, and serves
// applications on its control socket (normand_proto.hpp). Runs as root; logs
// to stderr (the journal).
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "device_spec.hpp"
#include "log.hpp"
#include "net_types.hpp"
#include "normand_proto.hpp"
#include "server.hpp"

namespace nd = norman::normand;

namespace {

// Every connection holds a reservation socket and its memory's fd: allow as
// many descriptors as the hard limit permits.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

constexpr const char* kDefaultConfig = "/etc/norman/normand.json";

// {"quota": {...}, "fd_reserve": N} (docs/limits.md). A missing default
// file is fine; a missing file named with --config, or a bad one, is not.
bool read_config(const std::string& path, bool explicit_path, nd::ServerConfig& cfg) {
  std::ifstream f(path);
  if (!f) {
    if (!explicit_path) return true;
    std::cerr << "normand: --config: cannot read " << path << "\n";
    return false;
  }
  try {
    const auto j = nlohmann::json::parse(f);
    if (!j.is_object()) throw std::invalid_argument("must be a JSON object");
    for (const auto& [k, v] : j.items()) {
      if (k == "quota") {
        cfg.quota = nd::quota::parse_config(v, cfg.quota);
      } else if (k == "fd_reserve") {
        cfg.fd_reserve = v.get<unsigned>();
      } else {
        throw std::invalid_argument("unknown key \"" + k + "\" (known: quota, fd_reserve)");
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "normand: " << path << ": " << e.what() << "\n";
    return false;
  }
  return true;
}

// --quota connections=16: per-uid limits from the command line (over the file).
bool apply_quota_options(const std::vector<std::string>& opts, nd::ServerConfig& cfg) {
  for (const auto& o : opts) {
    const auto eq = o.find('=');
    const auto r =
        eq == std::string::npos ? std::nullopt : nd::quota::parse_resource(o.substr(0, eq));
    std::uint64_t n = 0;
    try {
      std::size_t pos = 0;
      n = eq == std::string::npos ? 0 : std::stoull(o.substr(eq + 1), &pos);
      if (pos != o.size() - eq - 1) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      std::cerr << "normand: --quota: \"" << o << "\": expected RESOURCE=N\n";
      return false;
    }
    if (!r) {
      std::cerr << "normand: --quota: \"" << o
                << "\": RESOURCE is one of sessions, channels, connections, listen, nqs, "
                   "dma_bytes, fds\n";
      return false;
    }
    cfg.quota.per_uid[*r] = n == 0 ? nd::quota::kUnlimited : n;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "normand: the Norman control-plane daemon. It attaches to the NIC (the nsim simulator,\n"
      "or a card through vfio-pci), creates the TAP interface through which the host kernel\n"
      "uses the NIC (nic0), and gives applications kernel-bypass UDP connections on its\n"
      "control socket, with the rules Linux applies to sockets (privileged ports, port\n"
      "conflicts, raw access).\n"
      "Needs root. Logs to stderr."};
  nd::ServerConfig cfg;
  std::string address = "10.11.0.2/24";
  std::string mac = "02:00:00:00:00:02";
  std::string level = "info";
  unsigned neigh_ms = 3000;
  std::string config_path = kDefaultConfig;
  std::vector<std::string> quota_opts;
  app.add_option("--socket", cfg.socket_path,
                 "control socket for applications and tools (its directory is created; mode 0666)")
      ->capture_default_str();
  std::string device_spec = "nsim";
  app.add_option("--device", device_spec,
                 "the NIC: \"nsim\" (the simulator, at --nsim-socket) or \"pci:DOMAIN:BUS:DEV.FN\" "
                 "(a card bound to vfio-pci, e.g. pci:0000:03:00.0; docs/pcie.md)")
      ->capture_default_str();
  auto* nsim_socket_opt =
      app.add_option("--nsim-socket", cfg.nsim_socket, "nsim's control socket (the simulated NIC)")
          ->capture_default_str();
  app.add_option("--tap", cfg.tap.name, "name of the TAP interface that stands for the NIC port")
      ->capture_default_str();
  app.add_option("--address", address, "IPv4 address/prefix of the NIC port (and of the TAP)")
      ->capture_default_str();
  app.add_option("--mac", mac, "MAC address of the NIC port (and of the TAP)")
      ->capture_default_str();
  app.add_option("--port", cfg.port, "NIC port number behind the TAP interface")
      ->capture_default_str();
  app.add_option("--neigh-timeout-ms", neigh_ms,
                 "how long a neigh request waits for an ARP answer before EHOSTUNREACH")
      ->capture_default_str()
      ->check(CLI::Range(1U, 60000U));
  app.add_option("--nfw-log-rate", cfg.log_rate,
                 "nfw LOG records per second the NIC may write (token bucket; 0: unlimited)")
      ->capture_default_str();
  app.add_option("--nfw-log-burst", cfg.log_burst, "nfw LOG records the NIC may write at once")
      ->capture_default_str();
  app.add_option("--state-dir", cfg.state_dir,
                 "where the installed policy is kept, to be installed again by a restarted "
                 "normand before traffic flows (default: \"state\" beside --socket, e.g. "
                 "/run/norman/state)");
  app.add_option("--rules-file", cfg.rules_file,
                 "an nfw-save file (e.g. /etc/norman/rules.v4) installed at start when the state "
                 "directory holds no policy (a missing file means none; a bad one stops normand)");
  app.add_flag("--host-netfilter", cfg.host_netfilter,
               "also enforce the filter table's host part (FORWARD, *nat/*mangle/*raw, rules on "
               "interfaces that are not NIC ports) in the host's own netfilter, loaded with "
               "iptables-restore (docs/nfw-host.md); without it such tables are refused");
  app.add_option("--host-netns", cfg.host_netns,
                 "with --host-netfilter: the named network namespace (/run/netns/NAME) whose "
                 "netfilter gets the host part, instead of normand's own");
  auto* config_opt =
      app.add_option("--config", config_path,
                     "JSON config: per-uid/per-cgroup quotas, pools, root's reserve, fd_reserve "
                     "(docs/limits.md); a missing default file means the built-in defaults")
          ->capture_default_str();
  app.add_option("--quota", quota_opts,
                 "per-uid limit RESOURCE=N over the config (sessions, channels, connections, "
                 "listen, nqs, dma_bytes, fds; 0: unlimited); repeatable");
  app.add_option("--log-level", level, "error, warn, info or debug")
      ->capture_default_str()
      ->check(CLI::IsMember({"error", "warn", "warning", "info", "debug"}));
  CLI11_PARSE(app, argc, argv);

  try {
    cfg.device = norman::device::parse_device_spec(device_spec);
  } catch (const std::invalid_argument& e) {
    std::cerr << "normand: --device: " << e.what() << "\n";
    return 2;
  }
  if (cfg.device.kind != norman::device::DeviceSpec::Kind::kNsim && nsim_socket_opt->count() > 0) {
    std::cerr << "normand: --nsim-socket applies to --device nsim only\n";
    return 2;
  }
  const auto addr = nd::parse_ipv4_prefix(address);
  if (!addr) {
    std::cerr << "normand: --address: \"" << address
              << "\" is not an IPv4 address/prefix (like 10.11.0.2/24)\n";
    return 2;
  }
  const auto m = nd::parse_mac(mac);
  if (!m) {
    std::cerr << "normand: --mac: \"" << mac
              << "\" is not a MAC address (like 02:00:00:00:00:02)\n";
    return 2;
  }
  cfg.tap.ip = addr->first;
  cfg.tap.prefix_len = addr->second;
  cfg.tap.mac = *m;
  cfg.neigh_timeout = std::chrono::milliseconds(neigh_ms);
  nd::log::set_level(*nd::log::parse_level(level));
  if (!read_config(config_path, config_opt->count() > 0, cfg) ||
      !apply_quota_options(quota_opts, cfg)) {
    return 2;
  }

  ::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  boost::asio::io_context io(1);
  std::optional<nd::Server> server;
  try {
    server.emplace(io, cfg);
  } catch (const std::exception& e) {
    nd::log::error(e.what());
    return 1;
  }
  server->on_device_lost([](const std::string& why) {
    // Every resource left is this process's own (TAP, sockets, memory): the
    // kernel frees them at exit. Running destructors would only wait out
    // timeouts against a NIC that no longer answers.
    nd::log::error(why + "; exiting (clients' connections died with the NIC)");
    std::_Exit(3);
  });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    nd::log::info(std::string("caught ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                  ", shutting down");
    server->shutdown();
    io.stop();
  });

  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      // A handler failed (a bug, or the device went away): log it and keep
      // serving; a dead normand would strand every client.
      nd::log::error(std::string("unexpected error: ") + e.what());
    }
  }
  server.reset();
  nd::log::info("stopped");
  return 0;
}
