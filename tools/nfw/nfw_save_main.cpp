// nfw-save: the NIC's filter table in iptables-save format.
//   nfw-save [-c|--counters] [-t filter] [-f FILE] [-4] [-V] [--socket PATH]
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "host_syntax.hpp"
#include "normand_link.hpp"
#include "syntax.hpp"

namespace nfw = norman::nfw;

namespace {

int run(std::vector<std::string> args) {
  const std::string socket = nfw::take_socket_option(args);
  if (nfw::wants_version(args)) {
    std::cout << nfw::version_line("nfw-save") << "\n";
    return 0;
  }
  if (auto refused = nfw::take_common_options(args)) {
    std::cerr << nfw::tool_message("nfw-save", *refused) << "\n";
    return nfw::kExitUsage;
  }
  CLI::App app{"nfw-save: print the NIC's filter table in iptables-save format"};
  app.footer("Also: -4/--ipv4, -V/--version, --socket PATH. See nfw-save(8).");
  bool counters = false;
  std::string table;  // all tables, as iptables-save
  std::string file;
  app.add_flag("-c,--counters", counters, "include packet and byte counters ([packets:bytes])");
  app.add_option("-t,--table", table,
                 "only this table: filter, or the host's nat, mangle, raw, security");
  app.add_option("-f,--file", file, "write to FILE instead of standard output");
  if (auto status = nfw::parse_options(app, args)) return *status;
  if (!table.empty() && !norman::filter::is_host_table(table) &&
      !nfw::filter_table_only("nfw-save", table))
    return nfw::kExitOther;
  nfw::NormandLink link(socket);
  auto rules = link.get().rules;
  std::string text;
  if (table.empty()) {
    text = nfw::format_save(rules, counters);
  } else if (table == "filter") {
    rules.host_tables.clear();
    text = nfw::format_save(rules, counters);
  } else {
    // One of the host's tables (docs/nfw-host.md): only that block.
    std::erase_if(rules.host_tables, [&](const auto& t) { return t.name != table; });
    text = nfw::save_host_tables(rules, counters, nfw::detail_now(), true) +
           nfw::save_host_tables(rules, counters, nfw::detail_now(), false);
  }
  if (file.empty()) {
    std::cout << text;
  } else {
    std::ofstream out(file);
    out << text;
    if (!out) {
      std::cerr << "nfw-save: cannot write " << file << "\n";
      return nfw::kExitOther;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(std::move(args));
  } catch (const std::system_error& e) {
    std::cerr << nfw::tool_message("nfw-save", nfw::describe_error(e)) << "\n";
    return nfw::exit_status(e);
  } catch (const std::exception& e) {
    std::cerr << nfw::tool_message("nfw-save", e.what()) << "\n";
    return nfw::kExitOther;
  }
}
