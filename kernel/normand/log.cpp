#include "log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace norman::normand::log {

namespace {

Level g_level = Level::kInfo;

// systemd passes "DEV:INODE" of the journal stream; stderr goes to the
// journal if it is that very file.
bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (js == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

}  // namespace

std::optional<Level> parse_level(std::string_view s) {
  if (s == "error" || s == "err") return Level::kError;
  if (s == "warn" || s == "warning") return Level::kWarn;
  if (s == "info") return Level::kInfo;
  if (s == "debug") return Level::kDebug;
  return std::nullopt;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kError:
      return "error";
    case Level::kWarn:
      return "warning";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "?";
}

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(g_level); }

void write(Level l, std::string_view message) {
  if (!enabled(l)) return;
  static const bool journal = stderr_is_journal();
  std::string line;
  line.reserve(message.size() + 16);
  if (journal) {
    line += '<';
    line += std::to_string(static_cast<int>(l));
    line += '>';
  } else {
    line += "normand: ";
    line += level_name(l);
    line += ": ";
  }
  // One event, one line: a newline inside the message must not forge a
  // second entry.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace norman::normand::log
