// nipset: ipset's command line for the sets normand keeps (docs/sets.md).
// The command line is checked here (usage errors need no normand), -file
// is read or written here (normand never opens a client's file), and the
// command runs in normand, all or nothing, with ipset's output and exit
// status.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "cli.hpp"
#include "ctl_socket.hpp"
#include "error.hpp"

namespace {

constexpr const char* kProg = "nipset";

std::string socket_path(std::vector<std::string>& args) {
  std::string path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--socket" && i + 1 < args.size()) {
      path = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i + 2));
      break;
    }
    if (args[i].rfind("--socket=", 0) == 0) {
      path = args[i].substr(9);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  if (path.empty()) {
    const char* env = std::getenv("NORMAN_SOCKET");
    path = env != nullptr && *env != '\0' ? env : norman::ctl::kDefaultSocketPath;
  }
  return path;
}

// The arguments without -file and its value (nipset handles the file).
std::vector<std::string> without_file(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-file" || args[i] == "--file" || args[i] == "-f") {
      ++i;
      continue;
    }
    out.push_back(args[i]);
  }
  return out;
}

int fail(const std::string& what, int status = 1) {
  std::cerr << kProg << ": " << what << "\n";
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  namespace sets = norman::sets;
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string path = socket_path(args);
  sets::Invocation inv;
  try {
    inv = sets::parse_invocation(args);
  } catch (const sets::Error& e) {
    std::cerr << kProg << ": " << e.what() << "\n";
    if (e.usage()) std::cerr << "Try `" << kProg << " help' for more information.\n";
    return e.status();
  }
  if (inv.command == sets::Command::kHelp || inv.command == sets::Command::kVersion) {
    sets::Store none;
    const auto o = sets::run(none, args, {}, kProg);
    std::cout << o.out;
    return o.status;
  }
  std::string input;
  if (inv.command == sets::Command::kRestore) {
    if (inv.file) {
      std::ifstream f(*inv.file, std::ios::binary);
      if (!f) return fail("Cannot open " + *inv.file + " for reading: " + std::strerror(errno));
      input.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    } else {
      input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
  }
  nlohmann::json result;
  try {
    auto client = norman::ctl::Client::connect(path);
    nlohmann::json req = {{"args", without_file(args)}};
    norman::ctl::Message reply;
    if (inv.command == sets::Command::kRestore) {
      const auto fd = norman::ctl::json_to_memfd(nlohmann::json(input), "nipset-input");
      const int fds[] = {fd.get()};
      reply = client.call(norman::ctl::op::kSets, req, fds, 600000);
    } else {
      reply = client.call(norman::ctl::op::kSets, req, {}, 600000);
    }
    if (reply.fds.empty()) return fail("normand sent no result");
    result = norman::ctl::json_from_fd(reply.fds.front().get());
  } catch (const std::system_error& e) {
    // No normand, or normand refused (no privilege): ipset exits 1 when
    // the kernel refuses or cannot be reached, with the kernel's words.
    const int err = e.code().value();
    if (err == EPERM || err == EACCES) {
      return fail("Kernel error received: Operation not permitted (you must be root or have "
                  "CAP_NET_ADMIN in the initial user namespace)");
    }
    return fail("Cannot talk to normand: " + std::string(e.what()));
  } catch (const std::exception& e) {
    return fail(std::string("bad answer from normand: ") + e.what());
  }
  const int status = result.value("status", 1);
  const std::string out = result.value("out", "");
  if (inv.file && inv.command != sets::Command::kRestore && status == 0) {
    std::ofstream f(*inv.file, std::ios::binary | std::ios::trunc);
    if (!f || !(f << out) || !f.flush()) {
      return fail("Cannot write " + *inv.file + ": " + std::strerror(errno));
    }
  } else {
    std::cout << out;
  }
  std::cerr << result.value("err", "");
  return status;
}
