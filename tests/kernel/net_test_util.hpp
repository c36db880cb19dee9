// Helpers shared by normand's networking tests: root checks and running
// shell commands (ip, ping, socat) with their output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <utility>

namespace norman::normand::test {

// Creating TAP devices, neighbor entries and namespaces needs CAP_NET_ADMIN.
#define NORMAN_REQUIRE_ROOT()                                                              \
  do {                                                                                     \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates TAP devices / namespaces)"; \
  } while (0)

// Runs a shell command; returns {exit status, stdout+stderr}.
inline std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

inline bool have_tool(const std::string& name) { return sh("command -v " + name).first == 0; }

}  // namespace norman::normand::test
