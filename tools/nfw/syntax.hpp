// iptables syntax for the filter table, in and out: command lines (nfw),
// iptables-save files (nfw-restore reads, nfw-save writes), and the -L and -S
// listings. Anything not supported is refused with a SyntaxError naming the
// offending token; nothing is silently ignored.
#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"
#include "ruleset.hpp"

namespace norman::nfw {

using filter::Command;
using filter::Ruleset;

class SyntaxError : public std::runtime_error {
 public:
  SyntaxError(std::string token, const std::string& message);
  std::string token;  // the offending token ("" at end of input)
  std::size_t line = 0;  // 1-based line of a restore file (0: command line)
  int status = 2;        // exit status, as iptables': 2 bad syntax, 1 bad file structure
};

// `nfw ARGS...` (argv without the program name), e.g.
// {"-A", "INPUT", "-p", "tcp", "--dport", "5432", "-m", "owner", "--uid-owner", "bob", "-j", "ACCEPT"}.
// User and group names resolve through the system databases (getpwnam/getgrnam).
[[nodiscard]] Command parse_command(std::span<const std::string> args);

// Splits a rule line the way iptables-restore does (double quotes group).
[[nodiscard]] std::vector<std::string> split_line(std::string_view line);

// An iptables-save file. Tables other than *filter are kept as text. Each
// *filter block lists its chains (":NAME POLICY [p:b]") and then command lines
// (-A, -I, -D, -R, -N, -X, -F, -Z, -E, -P, with optional "[p:b]" counters
// before them when -c was given) up to COMMIT.
struct RestoreFile {
  struct ChainDecl {
    std::string name;
    std::optional<filter::Policy> policy;  // "-" for user chains
    filter::Counters counters;
    std::size_t line = 0;  // 1-based line of the declaration, for errors
  };
  std::vector<ChainDecl> chains;
  std::vector<Command> commands;           // rules carry their [p:b] counters if given
  std::vector<std::size_t> command_lines;  // 1-based line of each command, for errors
  bool committed = false;
  // A *filter block was read. A file without one (empty, only comments or
  // empty lines) is no table at all: restoring it changes nothing.
  bool has_table = false;
  // The host's other tables (*nat, *mangle, *raw, *security), as text
  // (docs/nfw-host.md), and the line each block starts at.
  std::vector<filter::HostTable> host_tables;
  std::vector<std::size_t> host_table_lines;
};

[[nodiscard]] RestoreFile parse_restore(std::string_view text);

// Applies a parsed file to `rules`: without noflush the table is replaced by
// the file's content; with noflush chains are added and commands applied to
// what is there. All or nothing: throws (and leaves rules unchanged) on any
// error. A file without a table block leaves rules unchanged. with_counters: take the file's [p:b] counters (nfw-restore -c).
void apply_restore(Ruleset& rules, const RestoreFile& file, bool noflush, bool with_counters,
                   const std::function<std::uint64_t()>& next_id);

// iptables-save output for the filter table (with "[p:b]" when counters).
[[nodiscard]] std::string format_save(const Ruleset& rules, bool counters);

// iptables -S [chain [rulenum]] (-v adds counters "-c p b").
[[nodiscard]] std::string format_rules(const Ruleset& rules, const Command& cmd);

// iptables -L [chain [rulenum]] with -v -n -x --line-numbers.
[[nodiscard]] std::string format_list(const Ruleset& rules, const Command& cmd);

}  // namespace norman::nfw
