// normand's log: one line per event on stderr, with a syslog priority
// prefix ("<6>") when stderr is connected to the journal (systemd sets
// JOURNAL_STREAM), so journalctl shows real levels; a plain "info: " prefix
// otherwise. Single-threaded (normand's io_context), no locking.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace norman::normand::log {

enum class Level { kError = 3, kWarn = 4, kInfo = 6, kDebug = 7 };

// "error", "warn"/"warning", "info", "debug" -> Level; nullopt otherwise.
std::optional<Level> parse_level(std::string_view s);
std::string_view level_name(Level l);

void set_level(Level l);
Level level();
// True if messages of level l are written.
bool enabled(Level l);

void write(Level l, std::string_view message);
inline void error(std::string_view m) { write(Level::kError, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void debug(std::string_view m) { write(Level::kDebug, m); }

}  // namespace norman::normand::log
