// Rule installation benchmark (not a test): how long an administrator waits.
// The same iptables-save file of N rules is loaded with iptables-restore
// into a network namespace and with nfw-restore into the simulated NIC
// (nsim + normand), one run each, wall clock including process start; then
// one rule is inserted in the middle of the loaded set with `iptables -I`
// and `nfw -I`. Also the host-side compile time of the same sets, in process.
// Prints JSON. Needs root (namespaces, TAP); prints {"skipped": why} otherwise.
//
// Assumptions stated with the figures: nsim runs the RTL at simulation speed
// (well under 1 M cycles/s), so nfw's wall times include simulated register
// traffic; "device_seconds_at_250mhz" models that part on a card.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "compiler.hpp"
#include "incremental_compiler.hpp"
#include "syntax.hpp"
#include "system_env.hpp"

namespace {

using norman::system_test::sh;
using norman::system_test::SystemConfig;
using norman::system_test::SystemEnv;
using Clock = std::chrono::steady_clock;

std::string rule_file(unsigned n) {
  std::ostringstream f;
  f << "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  for (unsigned i = 0; i < n; ++i) {
    f << "-A INPUT -s 10." << (i >> 16) % 256 << "." << (i >> 8) % 256 << "." << i % 256
      << "/32 -p tcp -m tcp --dport " << 1000 + i % 60000 << " -j ACCEPT\n";
  }
  f << "COMMIT\n";
  return f.str();
}

double timed(const std::string& cmd, int& rc, std::string& out) {
  const auto t0 = Clock::now();
  std::tie(rc, out) = sh(cmd);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class Ids : public norman::filter::OwnerIds {
 public:
  std::uint16_t cmd_id(std::string_view) override { return 1; }
  std::vector<std::uint16_t> cgroups_under(std::string_view) override { return {}; }
};

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  nlohmann::json out{{"benchmark", "nfw_install"}};
  if (::geteuid() != 0) {
    out["skipped"] = "needs root (network namespaces, TAP devices)";
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  const unsigned fit = quick ? 200 : 4000;  // fits the range slots alone
  const unsigned big = quick ? 1000 : 10000;
  const std::string dir = "/tmp/nfw-install-bench-" + std::to_string(::getpid());
  sh("mkdir -p " + dir);
  for (unsigned n : {fit, big}) {
    std::FILE* f = std::fopen((dir + "/rules-" + std::to_string(n)).c_str(), "w");
    const std::string text = rule_file(n);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string insert_spec = " -s 192.0.2.1/32 -p tcp -m tcp --dport 4242 -j DROP";

  // Host-side compile (parse + flatten), in process.
  {
    nlohmann::json c = nlohmann::json::object();
    for (unsigned n : {fit, big}) {
      const auto t0 = Clock::now();
      norman::filter::Ruleset rs;
      std::uint64_t id = 1;
      norman::nfw::apply_restore(rs, norman::nfw::parse_restore(rule_file(n)), false, false,
                                 [&id] { return id++; });
      const auto t1 = Clock::now();
      Ids ids;
      norman::filter::CompileOptions opt;
      opt.capacity = 1u << 20;
      const auto p = norman::filter::compile(rs, ids, opt);
      const auto t2 = Clock::now();
      // What normand spends compiling after `nfw -I` into the middle of the
      // set: the incremental compiler, median of 20 inserts.
      norman::filter::IncrementalCompiler inc;
      (void)inc.compile(rs, ids, opt);
      std::vector<double> insert;
      for (int k = 0; k < 20; ++k) {
        norman::filter::apply(rs,
                              norman::nfw::parse_command(norman::nfw::split_line(
                                  "-I INPUT " + std::to_string(n / 2) + insert_spec)),
                              [&id] { return id++; });
        const auto t3 = Clock::now();
        (void)inc.compile(rs, ids, opt, norman::filter::IncrementalCompiler::Assume::kStableIds);
        insert.push_back(std::chrono::duration<double>(Clock::now() - t3).count());
      }
      std::sort(insert.begin(), insert.end());
      c[std::to_string(n)] = {{"parse_seconds", std::chrono::duration<double>(t1 - t0).count()},
                              {"compile_seconds", std::chrono::duration<double>(t2 - t1).count()},
                              {"entries", p.entries.size()},
                              {"incremental_insert_compile_seconds", insert[insert.size() / 2]}};
    }
    out["host_compile"] = c;
  }

  // Linux: iptables-restore in a private namespace.
  {
    const std::string ns = "nfwbench-" + std::to_string(::getpid() % 100000);
    sh("ip netns add " + ns);
    nlohmann::json l = nlohmann::json::object();
    int rc = 0;
    std::string o;
    for (unsigned n : {fit, big}) {
      sh("ip netns exec " + ns + " iptables -F");
      const double t =
          timed("ip netns exec " + ns + " iptables-restore " + dir + "/rules-" + std::to_string(n),
                rc, o);
      l["restore_" + std::to_string(n) + "_seconds"] = t;
      l["restore_" + std::to_string(n) + "_ok"] = rc == 0;
      if (n == big) {
        l["insert_into_" + std::to_string(n) + "_seconds"] = timed(
            "ip netns exec " + ns + " iptables -I INPUT " + std::to_string(big / 2) + insert_spec,
            rc, o);
      }
    }
    out["iptables"] = l;
    sh("ip netns del " + ns);
  }

  // Norman: nfw-restore into the simulated NIC.
  {
    SystemEnv env(SystemConfig{NSIM_BINARY, NORMAND_BINARY, "10.54.0"});
    std::string why;
    nlohmann::json n = nlohmann::json::object();
    if (!env.start(why)) {
      n["error"] = why;
    } else {
      const std::string sock = " --socket " + env.normand_socket() + " ";
      int rc = 0;
      std::string o;
      for (unsigned count : {fit, big}) {
        const double t =
            timed(std::string(NFW_RESTORE_BINARY) + sock + dir + "/rules-" + std::to_string(count),
                  rc, o);
        n["restore_" + std::to_string(count) + "_seconds"] = t;
        n["restore_" + std::to_string(count) + "_ok"] = rc == 0;
        if (rc != 0) n["restore_" + std::to_string(count) + "_error"] = o;
        if (count == big && rc == 0) {
          n["insert_into_" + std::to_string(count) + "_seconds"] = timed(
              std::string(NFW_BINARY) + sock + "-I INPUT " + std::to_string(big / 2) + insert_spec,
              rc, o);
          n["insert_ok"] = rc == 0;
        }
      }
      // normand logs, per change, the slots written (per bank) and its own
      // time (compile, diff, NIC writes, commit): the part an insert costs
      // without process start and socket setup.
      const std::string log = env.normand().err();
      auto logged_ms = [&log](const std::string& what) -> nlohmann::json {
        const auto at = log.rfind(what);
        if (at == std::string::npos) return nullptr;
        const auto end = log.find(" ms)", at);
        const auto start = log.rfind(", ", end);
        if (end == std::string::npos || start == std::string::npos) return nullptr;
        return std::stod(log.substr(start + 2, end - start - 2));
      };
      n["normand_restore_ms"] = logged_ms("replaced the filter table");
      n["normand_insert_ms"] = logged_ms("changed the filter table");
      // Where the big restore's entries went ("N NIC entries (E exact)").
      double entries = 0;
      double exact = 0;
      if (const auto at = log.rfind("replaced the filter table"); at != std::string::npos) {
        const auto e = log.find(" NIC entries (", at);
        const auto x = log.find(" exact)", at);
        if (e != std::string::npos && x != std::string::npos) {
          entries = std::stod(log.substr(log.rfind(", ", e) + 2, e - log.rfind(", ", e) - 2));
          exact = std::stod(log.substr(e + 14, x - e - 14));
        }
      }
      n["restore_" + std::to_string(big) + "_entries"] = entries;
      n["restore_" + std::to_string(big) + "_exact_entries"] = exact;
      // Modeled device time of that restore on a 250 MHz card, per bank
      // (two banks): an exact entry is up to 5 posted 8-byte register
      // writes taken one per cycle (1 cycle to store); a range slot is a
      // FILTER_WRITE command: 13 posted writes, 17 cycles, and a status
      // read of about 250 cycles over PCIe (nsim's read latency).
      const double range = entries - exact;
      const double cycles = 2.0 * (exact * 5.0 + range * (13.0 + 17.0 + 250.0)) + 2.0 * 260.0;
      n["restore_" + std::to_string(big) + "_device_cycles_modeled"] = cycles;
      n["restore_" + std::to_string(big) + "_device_seconds_at_250mhz"] = cycles / 250e6;
    }
    out["nfw"] = n;
  }
  const auto& l = out["iptables"];
  const auto& n = out["nfw"];
  for (unsigned count : {fit, big}) {
    const std::string k = "restore_" + std::to_string(count) + "_seconds";
    if (n.contains(k) && l.contains(k))
      out["ratio_nfw_over_iptables_restore_" + std::to_string(count)] =
          n[k].get<double>() / l[k].get<double>();
  }
  out["assumptions"] =
      "one run each on a shared 2-core machine; nfw wall times include nsim simulating the NIC "
      "(about 0.3 M cycles/s) and its register traffic; the device_seconds figure models a 250 MHz "
      "card with nsim's PCIe read latency; the NIC has 4096 range slots and 16384 exact entries";
  sh("rm -rf " + dir);
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
