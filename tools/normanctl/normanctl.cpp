// normanctl: ask normand what it is doing.
//
//   normanctl [--socket PATH] status [-j|--json]   connections, owners, queues, memory,
//                                                 fallback bridge and NIC counters
//   normanctl [--socket PATH] neigh IP             the MAC normand resolves IP to (through
//                                                 the host kernel's neighbor table on nic0)
//
// The socket defaults to $NORMAN_SOCKET, else /run/norman/normand.sock.
// Errors are one line on stderr and a non-zero exit: 1 for a failure (normand
// not running, a refusal), 2 for bad usage.
#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "ctl_socket.hpp"
#include "normand_proto.hpp"

namespace ctl = norman::ctl;
using nlohmann::json;

namespace {

// A field of a reply as text, whatever its JSON type ("?" when absent).
std::string text(const json& j, const char* key) {
  if (!j.is_object()) return "?";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "?";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::uint64_t number(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    if (it != j.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0) {
      return static_cast<std::uint64_t>(it->get<std::int64_t>());
    }
    return 0;
  }
  return it->get<std::uint64_t>();
}

std::string bytes_text(std::uint64_t b) {
  char buf[64];
  if (b >= (1ULL << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1 << 20));
  } else if (b >= (1ULL << 10)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / (1 << 10));
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  }
  return buf;
}

// Left-aligned columns, two spaces apart, indented.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line = indent;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string endpoint(const json& c, const char* ip, const char* port) {
  const std::string a = text(c, ip);
  const std::uint64_t p = number(c, port);
  return (a == "0.0.0.0" ? std::string("*") : a) + ":" +
         (p == 0 ? std::string("*") : std::to_string(p));
}

std::string owner_text(const json& o) {
  if (!o.is_object()) return "?";
  return "uid " + text(o, "uid") + " pid " + text(o, "pid") + " " + text(o, "comm");
}

// "3 / 64" (used / limit; "-" for unlimited), dma_bytes in KiB/MiB.
std::string usage_cell(const json& used, const json& limits, const char* k) {
  const bool bytes = std::string(k) == "dma_bytes";
  auto show = [&](std::uint64_t v) { return bytes ? bytes_text(v) : std::to_string(v); };
  const json& lim = limits.is_object() && limits.contains(k) ? limits[k] : json();
  return show(number(used, k)) + " / " + (lim.is_number() ? show(lim.get<std::uint64_t>()) : "-");
}

// Quota usage per user against its limits, and the pools (docs/limits.md).
void print_quota(const json& q) {
  static constexpr const char* kCols[] = {"sessions", "channels",  "connections", "listen",
                                          "nqs",      "dma_bytes", "fds"};
  std::cout << "\nUsage per user (used / limit; - is unlimited; root has no per-user limit):\n";
  std::vector<std::vector<std::string>> rows{
      {"UID", "SESSIONS", "CHANNELS", "CONNECTIONS", "LISTEN", "NQS", "DMA", "FDS"}};
  for (const auto& u : q.value("users", json::array())) {
    std::vector<std::string> r{text(u, "uid")};
    for (const char* k : kCols)
      r.push_back(usage_cell(u.value("used", json()), u.value("limits", json()), k));
    rows.push_back(std::move(r));
  }
  std::vector<std::string> total{"total"};
  for (const char* k : kCols)
    total.push_back(usage_cell(q.value("total", json()), q.value("pool", json()), k));
  rows.push_back(std::move(total));
  print_table(rows, "  ");
  std::vector<std::string> reserve;
  for (const char* k : kCols) {
    const auto v = number(q.value("root_reserve", json()), k);
    if (v != 0)
      reserve.push_back(std::string(k) + " " +
                        (std::string(k) == "dma_bytes" ? bytes_text(v) : std::to_string(v)));
  }
  std::string list;
  for (const auto& r : reserve) list += (list.empty() ? "" : ", ") + r;
  std::cout << "  reserved for root in each pool: " << (list.empty() ? "nothing" : list) << "\n";
}

void print_status(const json& s) {
  const json& nic = s.value("nic", json::object());
  std::cout << "normand: NIC " << text(nic, "mac") << " " << text(nic, "ip") << " (port "
            << text(nic, "port") << ") on " << text(s, "device") << "\n";
  const json& totals = s.value("totals", json::object());
  std::cout << "clients: " << text(s, "clients") << " (this normanctl included)";
  if (totals.is_object()) {
    std::cout << "; in total " << text(totals, "connections") << " connection(s), "
              << text(totals, "nqs") << " notification queue(s)";
  }
  std::cout << "\n";
  const bool all = s.value("scope", std::string("all")) == "all";
  if (!all) std::cout << "(not root: only your own connections and queues are listed)\n";

  const json& conns = s.value("connections", json::array());
  std::cout << "\nConnections (" << conns.size()
            << (s.value("truncated", false) ? ", list truncated" : "") << "):\n";
  if (conns.empty()) {
    std::cout << "  none\n";
  } else {
    std::vector<std::vector<std::string>> rows{
        {"ID", "PROTO", "LOCAL", "REMOTE", "OWNER (uid pid command)", "CGROUP", "NQ", "RINGS"}};
    for (const auto& c : conns) {
      const json& o = c.value("owner", json());
      std::string rings =
          "rx " + std::to_string(1ULL << std::min<std::uint64_t>(number(c, "rx_log2"), 63)) +
          " tx " + std::to_string(1ULL << std::min<std::uint64_t>(number(c, "tx_log2"), 63)) +
          ", " + bytes_text(number(c, "bytes"));
      if (c.value("raw", false)) rings += ", raw";
      const std::string cg = o.is_object() ? text(o, "cgroup") : "?";
      rows.push_back({text(c, "conn_id"), text(c, "proto"), endpoint(c, "local_ip", "local_port"),
                      c.value("listen", false) ? std::string("* (listening)")
                                               : endpoint(c, "remote_ip", "remote_port"),
                      owner_text(o), cg.empty() ? "?" : cg, text(c, "nq_id"), rings});
    }
    print_table(rows, "  ");
  }

  const json& nqs = s.value("nqs", json::array());
  std::cout << "\nNotification queues (" << nqs.size() << "):\n";
  if (nqs.empty()) {
    std::cout << "  none\n";
  } else {
    std::vector<std::vector<std::string>> rows{
        {"ID", "OWNER (uid pid command)", "ENTRIES", "CONNECTIONS", "MEMORY"}};
    for (const auto& q : nqs) {
      std::string list;
      for (const auto& id : q.value("conns", json::array()))
        list += (list.empty() ? "" : ",") + id.dump();
      rows.push_back({text(q, "nq_id"), owner_text(q.value("owner", json())),
                      std::to_string(1ULL << std::min<std::uint64_t>(number(q, "log2"), 63)),
                      list.empty() ? "-" : list, bytes_text(number(q, "bytes"))});
    }
    print_table(rows, "  ");
  }

  std::cout << "\nDMA memory held by normand for the NIC: " << bytes_text(number(s, "dma_bytes"))
            << " (" << number(s, "dma_bytes") << " bytes)\n";
  if (s.contains("quota") && s["quota"].is_object()) print_quota(s["quota"]);

  if (s.contains("filter")) {
    const json& f = s["filter"];
    std::cout << "\nFilter overlay (nfw): " << number(f, "entries") << " entries on the NIC ("
              << number(f, "exact_entries")
              << " in exact tables, the rest in range slots), room for " << number(f, "capacity")
              << ", generation " << number(f, "generation") << "\n";
  }

  const json& fb = s.value("fallback", json::object());
  std::cout << "\nFallback bridge (traffic no connection claims, carried to and from the host "
               "kernel on nic0):\n";
  std::cout << "  NIC -> kernel: " << number(fb, "to_kernel_frames") << " frames, "
            << number(fb, "to_kernel_bytes") << " bytes (" << number(fb, "to_kernel_malformed")
            << " malformed)\n";
  std::cout << "  kernel -> NIC: " << number(fb, "from_kernel_frames") << " frames, "
            << number(fb, "from_kernel_bytes") << " bytes\n";
  std::uint64_t drops = 0;
  std::string drop_list;
  for (const char* k : {"drop_tap_write", "drop_tx_ring_full", "drop_too_big", "tx_failed"}) {
    const auto v = number(fb, k);
    drops += v;
    if (v != 0)
      drop_list += std::string(drop_list.empty() ? "" : ", ") + k + " " + std::to_string(v);
  }
  std::cout << "  lost on the way: " << (drops == 0 ? std::string("none") : drop_list) << "\n";

  const json& nc = s.value("nic_counters", json());
  if (nc.is_object()) {
    std::cout << "\nNIC counters (non-zero):\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, v] : nc.items()) {
      if (v.is_number() && v.get<std::uint64_t>() != 0) rows.push_back({name, v.dump()});
    }
    if (rows.empty()) rows.push_back({"all zero", ""});
    print_table(rows, "  ");
    if (s.contains("rx_balanced")) {
      std::cout << "  every received frame accounted for (rx_frames = delivered + dropped): "
                << (s.value("rx_balanced", false) ? "yes" : "NO (or a frame was in flight)")
                << "\n";
    }
  } else {
    std::cout << "\nNIC counters: not in normand's reply\n";
  }
}

bool valid_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"normanctl: ask normand (the Norman control plane) what it is doing"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string socket = ctl::kDefaultSocketPath;
  app.add_option("--socket", socket, "normand's control socket")
      ->envname("NORMAN_SOCKET")
      ->capture_default_str();

  auto* status = app.add_subcommand("status",
                                    "connections with their owners, notification queues, DMA "
                                    "memory, fallback bridge and NIC counters");
  bool as_json = false;
  status->add_flag("-j,--json", as_json, "print normand's reply as JSON");

  auto* neigh = app.add_subcommand(
      "neigh", "resolve an IPv4 address to a MAC on the NIC's link, as libnorman does");
  std::string ip;
  neigh->add_option("ip", ip, "IPv4 address on the NIC's subnet")->required();
  neigh->add_flag("-j,--json", as_json, "print normand's reply as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // "normanctl frob": name the word rather than "a subcommand is required".
    const auto rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty()) {
      std::cerr << "normanctl: unknown command \"" << rest.front()
                << "\" (commands: status, neigh; see normanctl --help)" << std::endl;
    } else {
      std::cerr << "normanctl: " << e.what() << " (see normanctl --help)" << std::endl;
    }
    return 2;
  }

  if (neigh->parsed() && !valid_ipv4(ip)) {
    std::cerr << "normanctl: neigh: \"" << ip << "\" is not an IPv4 address" << std::endl;
    return 2;
  }

  try {
    auto client = ctl::Client::connect(socket);
    // hello first (the protocol requires it); its doorbell channel is unused and
    // closed with the reply.
    (void)client.call(ctl::op::kHello, {{"version", ctl::kProtoVersion}});
    if (status->parsed()) {
      json body = client.call(ctl::op::kStatus).body;
      body.erase("seq");
      body.erase("ok");
      if (as_json) {
        std::cout << body.dump(2) << std::endl;
      } else {
        print_status(body);
        std::cout.flush();
      }
    } else {
      json body = client.call(ctl::op::kNeigh, {{"ip", ip}}).body;
      body.erase("seq");
      body.erase("ok");
      if (as_json) {
        std::cout << body.dump(2) << std::endl;
      } else {
        std::cout << text(body, "ip") << " is at " << text(body, "mac") << std::endl;
      }
    }
    return 0;
  } catch (const std::system_error& e) {
    std::cerr << "normanctl: " << e.what() << " (" << ctl::errno_name(e.code().value()) << ")"
              << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "normanctl: " << e.what() << std::endl;
    return 1;
  }
}
