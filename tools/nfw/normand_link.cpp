#include "normand_link.hpp"

#include <algorithm>
#include <cerrno>
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

namespace {
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

std::optional<std::string> take_common_options(std::vector<std::string>& args) {
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-4" || a == "--ipv4") continue;
    if (a == "-6" || a == "--ipv6")
      return a +
             ": this is the IPv4 version (the NIC's filter table judges IPv4 only; IPv6 is "
             "not supported)";
    if (a == "-w" || a == "--wait") {
      if (i + 1 < args.size() && all_digits(args[i + 1])) ++i;
      continue;
    }
    if (a.starts_with("--wait=")) continue;
    if (a == "-W" || a == "--wait-interval") {
      if (i + 1 < args.size() && all_digits(args[i + 1])) ++i;
      continue;
    }
    if (a.starts_with("--wait-interval=")) continue;
    kept.push_back(a);
  }
  args = std::move(kept);
  return std::nullopt;
}

bool wants_version(const std::vector<std::string>& args) {
  return std::find(args.begin(), args.end(), "-V") != args.end() ||
         std::find(args.begin(), args.end(), "--version") != args.end();
}

std::optional<int> parse_options(CLI::App& app, std::vector<std::string>& args) {
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; any other error is a usage error, iptables' 2.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  return std::nullopt;
}

bool filter_table_only(const char* tool, const std::string& table) {
  if (table == "filter") return true;
  std::cerr << tool << ": table `" << table << "' does not exist (the NIC has only filter)\n";
  return false;
}

namespace {

ctl::Client connect_to(const std::string& socket_path) {
  try {
    return ctl::Client::connect(socket_path);
  } catch (const std::system_error& e) {
    const int err = e.code().value();
    std::string why = err == EACCES || err == EPERM
                          ? "Permission denied (you must be root)"
                          : "cannot reach normand at " + socket_path + ": " + e.code().message();
    throw ConnectError(e.code(), why);
  }
}

}  // namespace

NormandLink::NormandLink(const std::string& socket_path) : client_(connect_to(socket_path)) {}

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

int exit_status(const std::system_error& e) {
  if (dynamic_cast<const ConnectError*>(&e) != nullptr) return kExitResource;
  switch (e.code().value()) {
    case EPERM:
    case EACCES:
    case ENOSPC:
    case ENOMEM:
      return kExitResource;
    default:
      return kExitOther;
  }
}

std::string tool_message(std::string_view tool, std::string what) {
  for (bool again = true; again;) {
    again = false;
    for (std::string_view p : {"nfw: ", "nfw-save: ", "nfw-restore: "}) {
      if (what.starts_with(p)) {
        what.erase(0, p.size());
        again = true;
      }
    }
  }
  return std::string(tool) + ": " + what;
}

std::string version_line(std::string_view tool) {
  return std::string(tool) + " v" NFW_VERSION " (Norman: the IPv4 filter table on the NIC)";
}

void NormandLink::check(const filter::Ruleset& rules) {
  auto fd = ctl::json_to_memfd(nlohmann::json(rules), "nfw-restore");
  const int fds[] = {fd.get()};
  client_.call(ctl::op::kFilterReplace, {{"counters", false}, {"test", true}}, fds, 300000);
}

std::string describe_error(const std::system_error& e) {
  if (dynamic_cast<const ConnectError*>(&e) != nullptr) {
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();
    if (what.ends_with(suffix)) what.resize(what.size() - suffix.size());
    return what;
  }
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
