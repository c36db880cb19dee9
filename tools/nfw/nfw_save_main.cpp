// nfw-save: the NIC's filter table in iptables-save format.
//   nfw-save [-c|--counters] [-t filter] [-f FILE] [--socket PATH]
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "normand_link.hpp"
#include "syntax.hpp"

namespace nfw = norman::nfw;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    const std::string socket = nfw::take_socket_option(args);
    CLI::App app{"nfw-save: print the NIC's filter table in iptables-save format"};
    bool counters = false;
    std::string table = "filter";
    std::string file;
    app.add_flag("-c,--counters", counters, "include packet and byte counters ([packets:bytes])");
    app.add_option("-t,--table", table, "table (only filter exists)");
    app.add_option("-f,--file", file, "write to FILE instead of standard output");
    if (auto status = nfw::parse_options(app, args)) return *status;
    if (!nfw::filter_table_only("nfw-save", table)) return 1;
    nfw::NormandLink link(socket);
    const std::string text = nfw::format_save(link.get().rules, counters);
    if (file.empty()) {
      std::cout << text;
    } else {
      std::ofstream out(file);
      out << text;
      if (!out) {
        std::cerr << "nfw-save: cannot write " << file << "\n";
        return 1;
      }
    }
    return 0;
  } catch (const std::system_error& e) {
    std::cerr << "nfw-save: " << nfw::describe_error(e) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "nfw-save: " << e.what() << "\n";
    return 1;
  }
}
