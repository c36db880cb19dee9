// The host's other tables (*nat, *mangle, *raw, *security) in nfw's
// tools: saved around *filter as iptables-save prints them, and the
// `nfw -t TABLE ...` commands on their text (docs/nfw-host.md).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ruleset.hpp"

namespace norman::nfw {

// The host tables that iptables-save prints before *filter
// (before_filter: mangle, security, raw) or after it (nat).
[[nodiscard]] std::string save_host_tables(const filter::Ruleset& rules, bool counters,
                                           const std::string& when, bool before_filter);

// `nfw -t TABLE ARGS` for a host table. Edits `rules` (changed = true) or
// returns a listing in `out`. Throws SyntaxError (exit 2) for a bad command
// line, filter::CommandError (exit 1) for a chain or rule that is not there.
struct HostCommandResult {
  bool changed = false;
  bool check = true;  // -C: whether the rule exists
  std::string out;
};
[[nodiscard]] HostCommandResult host_command(filter::Ruleset& rules, const std::string& table,
                                             std::span<const std::string> args);

// The time stamp nfw-save writes in its comment lines.
[[nodiscard]] std::string detail_now();

// The table named by `-t NAME` / `--table NAME` / `-tNAME` in args, or "".
[[nodiscard]] std::string table_option(std::span<const std::string> args);

}  // namespace norman::nfw
