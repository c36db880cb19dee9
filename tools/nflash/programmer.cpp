#include "programmer.hpp"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace norman::nflash {

std::vector<std::string> programmer_command(const Options& o) {
  if (is_xilinx(o.board)) {
    std::vector<std::string> argv{
        o.programmer,        "-mode",   "batch",          "-nojournal", "-nolog",
        "-notrace",          "-source", o.program_script, "-tclargs",   o.bitstream,
        part_prefix(o.board)};
    if (!o.cable.empty()) argv.push_back(o.cable);
    return argv;
  }
  std::vector<std::string> argv{o.programmer};
  if (!o.cable.empty()) {
    argv.push_back("-c");
    argv.push_back(o.cable);
  }
  argv.insert(argv.end(),
              {"-m", "jtag", "-o", "p;" + o.bitstream + "@" + std::to_string(o.jtag_index)});
  return argv;
}

namespace {

bool executable_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::string resolve_programmer(const std::string& name, const std::string& path_env) {
  const std::string hint =
      " (install the vendor's programming tools and put them in PATH, or name the executable "
      "with --programmer)";
  if (name.empty()) throw std::runtime_error("no programmer given" + hint);
  if (name.find('/') != std::string::npos) {
    if (executable_file(name)) return name;
    throw std::runtime_error("programmer '" + name + "' is not an executable file" + hint);
  }
  std::istringstream dirs(path_env);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable_file(candidate)) return candidate;
  }
  throw std::runtime_error("programmer '" + name + "' not found in PATH" + hint);
}

int run_command(const std::string& exe, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, args.data(), environ);
  if (rc != 0) throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid: " + std::string(std::strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& a : argv) {
    if (!line.empty()) line += ' ';
    if (!a.empty() && a.find_first_of(" \t\"'\\$;&|<>*?()") == std::string::npos) {
      line += a;
      continue;
    }
    line += '\'';
    for (char c : a) line += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

}  // namespace norman::nflash
