// nfw-restore: load an iptables-save file into the NIC's filter table, as a
// whole or not at all.
//   nfw-restore [-c|--counters] [-n|--noflush] [-t|--test] [-T filter] [-v] [-w [SECS]] [FILE]
//               [--socket PATH]
// The file is parsed and applied here; normand compiles it and swaps it in
// atomically. With --noflush the current table is the base, and the swap is
// refused (and retried) if someone changed the table meanwhile. --test goes
// the same way and asks normand to compile and place the table without
// installing it, so that a file --test passes is one the load takes.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "normand_link.hpp"
#include "syntax.hpp"

namespace nfw = norman::nfw;

namespace {

int run(std::vector<std::string> args) {
  const std::string socket = nfw::take_socket_option(args);
  if (nfw::wants_version(args)) {
    std::cout << nfw::version_line("nfw-restore") << "\n";
    return 0;
  }
  if (auto refused = nfw::take_common_options(args)) {
    std::cerr << nfw::tool_message("nfw-restore", *refused) << "\n";
    return nfw::kExitUsage;
  }
  CLI::App app{"nfw-restore: load an iptables-save file into the NIC's filter table"};
  app.footer(
      "Also accepted as by iptables-restore: -4/--ipv4, -w/--wait [SECONDS], "
      "-W/--wait-interval USECS (nothing to wait for), -V/--version.\n"
      "--socket PATH: normand's control socket. See nfw-restore(8).");
  bool counters = false;
  bool noflush = false;
  bool test = false;
  bool verbose = false;
  std::string table;  // all the file's tables, as iptables-restore
  std::string file;
  app.add_flag("-c,--counters", counters, "restore the file's packet and byte counters");
  app.add_flag("-n,--noflush", noflush, "add to the current table instead of replacing it");
  app.add_flag("-t,--test", test, "only check the file (normand compiles it, installs nothing)");
  app.add_flag("-v,--verbose", verbose, "say what was done");
  app.add_option("-T,--table", table,
                 "restore only this table (filter, or the host's nat, mangle, raw, security)");
  app.add_option("file", file, "the file (default: standard input)");
  if (auto status = nfw::parse_options(app, args)) return *status;
  if (!table.empty() && !norman::filter::is_host_table(table) &&
      !nfw::filter_table_only("nfw-restore", table))
    return nfw::kExitOther;
  std::string text;
  if (file.empty() || file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "nfw-restore: cannot open " << file << "\n";
      return nfw::kExitOther;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  nfw::RestoreFile parsed;
  try {
    parsed = nfw::parse_restore(text);
  } catch (const nfw::SyntaxError& e) {
    std::cerr << nfw::tool_message("nfw-restore", e.what()) << "\n";
    return e.status;
  }
  if (table == "filter") {
    parsed.host_tables.clear();
  } else if (!table.empty()) {
    // -T nat: that block only; the filter table stays as it is.
    std::erase_if(parsed.host_tables, [&](const auto& t) { return t.name != table; });
    parsed.has_table = false;
  }
  if (!parsed.has_table && parsed.host_tables.empty()) {
    // As iptables-restore: a file with no table block (empty, comments
    // only) changes nothing; it never flushes.
    if (verbose) std::cerr << "nfw-restore: no *filter block: the table is unchanged\n";
    return 0;
  }
  auto none = [] { return std::uint64_t{0}; };  // normand assigns rule ids
  nfw::NormandLink link(socket);
  for (int attempt = 0;; ++attempt) {
    // The current table: --noflush edits it, and as iptables-restore, a
    // host table (*nat...) the file does not hold is left as it is.
    std::optional<std::uint64_t> gen;
    norman::filter::Ruleset base;
    {
      auto cur = link.get();
      base = std::move(cur.rules);
      gen = cur.generation;
    }
    nfw::apply_restore(base, parsed, noflush, counters, none);
    if (test) {
      link.check(base);
      if (verbose) std::cerr << "nfw-restore: the file would load\n";
      return 0;
    }
    try {
      // A flushing restore starts every counter from the file's (-c) or
      // from zero, policies included, as iptables-restore does; --noflush
      // leaves the current ones alone unless -c gives others.
      const auto g = link.replace(base, counters || !noflush, gen);
      if (verbose) std::cerr << "nfw-restore: filter table loaded (generation " << g << ")\n";
      return 0;
    } catch (const std::system_error& e) {
      if (e.code().value() != EAGAIN || attempt >= 5) throw;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(std::move(args));
  } catch (const norman::filter::CommandError& e) {
    std::cerr << nfw::tool_message("nfw-restore", e.what()) << "\n";
    return nfw::kExitOther;
  } catch (const std::system_error& e) {
    std::cerr << nfw::tool_message("nfw-restore", nfw::describe_error(e)) << "\n";
    return nfw::exit_status(e);
  } catch (const std::exception& e) {
    std::cerr << nfw::tool_message("nfw-restore", e.what()) << "\n";
    return nfw::kExitOther;
  }
}
