// The policy normand installs, kept on disk so that a restarted normand
// (after a crash, SIGKILL or an upgrade) installs it again before any
// traffic flows. One JSON document per state directory:
//
//   {"format": "norman-policy", "version": 1, "filter": <the filter table>}
//
// "filter" is the table in its control-protocol JSON form (ruleset.hpp);
// traffic classes and captures join as further members later. Counters are
// not part of the policy: they restart from zero with the NIC.
//
// Writes are atomic (temporary file, fsync, rename, fsync of the
// directory): a crash leaves either the old or the new document, never a
// torn one. A document that cannot be read back is an error, never an
// empty policy. The directory and the file must belong to normand's user
// and be writable by nobody else (whoever could write them would choose the
// firewall); the same holds for the rules file.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ruleset.hpp"

namespace norman::normand {

class PolicyStore {
 public:
  // `dir` is created (mode 0700) on the first save.
  explicit PolicyStore(std::filesystem::path dir);

  [[nodiscard]] const std::filesystem::path& file() const { return file_; }

  // The stored filter table, nullopt if nothing was ever stored. Throws
  // std::runtime_error naming the file and the problem (unreadable, not
  // JSON, another format or version, a table that does not parse).
  [[nodiscard]] std::optional<filter::Ruleset> load_filter() const;

  // Stores `filter` atomically. Throws std::system_error naming the step.
  void save_filter(const filter::Ruleset& filter);

 private:
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

// An administrator's iptables-save file for the filter table (e.g.
// `nfw-save > /etc/norman/rules.v4`), as normand loads it at start. Throws
// std::runtime_error with the file, line and reason for anything but one
// complete *filter table (an empty, truncated or unparsable file is refused:
// loading it must never leave the NIC open by accident).
[[nodiscard]] filter::Ruleset load_rules_file(const std::filesystem::path& path);

}  // namespace norman::normand
