#include "normand_link.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <system_error>

namespace norman::nfw {

std::string take_socket_option(std::vector<std::string>& args) {
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--socket") {
      if (i + 1 >= args.size())
        throw std::invalid_argument("option \"--socket\" requires an argument");
      path = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      break;
    }
    if (args[i].rfind("--socket=", 0) == 0) {
      path = args[i].substr(9);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  if (!path.empty()) return path;
  if (const char* env = std::getenv("NORMAN_SOCKET"); env != nullptr && *env != '\0') return env;
  return ctl::kDefaultSocketPath;
}

std::optional<int> parse_options(CLI::App& app, std::vector<std::string>& args) {
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return std::nullopt;
}

bool filter_table_only(const char* tool, const std::string& table) {
  if (table == "filter") return true;
  std::cerr << tool << ": table `" << table << "' does not exist (the NIC has only filter)\n";
  return false;
}

NormandLink::NormandLink(const std::string& socket_path)
    : client_(ctl::Client::connect(socket_path)) {}

NormandLink::Table NormandLink::get() {
  auto m = client_.call(ctl::op::kFilterGet, nlohmann::json::object(), 30000);
  if (m.fds.empty())
    throw std::system_error(EPROTO, std::generic_category(), "normand sent no table");
  Table t;
  t.rules = ctl::json_from_fd(m.fds.front().get()).get<filter::Ruleset>();
  t.generation = m.body.value("generation", std::uint64_t{0});
  t.entries = m.body.value("entries", std::size_t{0});
  t.capacity = m.body.value("capacity", std::size_t{0});
  return t;
}

bool NormandLink::command(const filter::Command& cmd) {
  auto m = client_.call(ctl::op::kFilterCmd, {{"command", cmd}}, 60000);
  return m.body.value("result", true);
}

std::uint64_t NormandLink::replace(const filter::Ruleset& rules, bool counters,
                                   std::optional<std::uint64_t> generation) {
  auto fd = ctl::json_to_memfd(nlohmann::json(rules), "nfw-restore");
  nlohmann::json args{{"counters", counters}};
  if (generation) args["generation"] = *generation;
  const int fds[] = {fd.get()};
  auto m = client_.call(ctl::op::kFilterReplace, args, fds, 300000);
  return m.body.value("generation", std::uint64_t{0});
}

std::string describe_error(const std::system_error& e) {
  // Client::call's message is "<op>: <normand's reason> (<ERRNO>)"; the op
  // name means nothing to an administrator.
  std::string what = e.what();
  const std::string suffix = ": " + e.code().message();
  if (what.size() > suffix.size() &&
      what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0) {
    what.resize(what.size() - suffix.size());
  }
  for (const char* op : {"filter_get: ", "filter_cmd: ", "filter_replace: "}) {
    if (what.rfind(op, 0) == 0) what = what.substr(std::string(op).size());
  }
  return what;
}

}  // namespace norman::nfw
