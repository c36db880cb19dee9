// normand's side of nfw: the filter table as administrators edit it, compiled
// for the NIC and kept installed there (FilterInstaller), with per-rule
// counters that come from the NIC's per-slot counters.
//
// Displayed counters = NIC counts (installed + retired entries) + an offset
// per rule: -Z sets the offset to minus the current count, and a restore
// with -c sets it so that the rule shows the counters from the file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "command.hpp"
#include "compiler.hpp"
#include "filter_installer.hpp"
#include "host_netfilter.hpp"
#include "incremental_compiler.hpp"
#include "owner_registry.hpp"
#include "ruleset.hpp"

namespace norman::normand {

// OwnerIds over normand's registry: command names and cgroup paths as seen
// in /proc of the clients.
class RegistryOwnerIds : public filter::OwnerIds {
 public:
  explicit RegistryOwnerIds(OwnerRegistry& reg) : reg_(reg) {}
  std::uint16_t cmd_id(std::string_view comm) override { return reg_.cmd_id(comm); }
  std::vector<std::uint16_t> cgroups_under(std::string_view path) override;

 private:
  OwnerRegistry& reg_;
};

struct FilterStatus {
  std::uint64_t generation = 0;
  std::size_t entries = 0;  // flattened entries on the NIC
  std::size_t exact = 0;    // of which in exact tables
  std::size_t capacity = 0;  // range slots + exact entries
  InstallStats last;  // what the last change wrote
};

class FilterService {
 public:
  FilterService(FilterHw& hw, OwnerRegistry& owners, unsigned ports);

  // The table with current counters.
  [[nodiscard]] filter::Ruleset snapshot();

  // Applies one command (-A -I -D -R -C -F -Z -N -X -E -P; -L -Z zeroes).
  // Returns -C's answer (true otherwise). Throws filter::CommandError,
  // filter::CompileError (incl. CapacityError); nothing changes then.
  bool command(const filter::Command& cmd);

  // Replaces the whole table atomically (nfw-restore). Rules whose id
  // matches a current rule keep their counters; with_counters takes the
  // counters given in `rules`. expected_generation: refuse (EAGAIN) if the
  // table changed since the caller read it.
  void replace(filter::Ruleset rules, std::optional<std::uint64_t> expected_generation,
               bool with_counters);

  // Everything replace(rules) checks (structure, compilation, room on the
  // NIC), changing nothing: nfw-restore --test, which must refuse exactly
  // what the load refuses. Throws as replace() does.
  void check(filter::Ruleset rules);

  // What the table says about a packet the NIC REJECTed on INPUT (the NIC
  // hands those to normand): the --reject-with to answer with, or nullopt
  // if the current table does not reject it (it changed meanwhile).
  [[nodiscard]] std::optional<filter::rf::RejectWith> reject_with(const filter::Key& key);

  // The --log-prefix of every LOG rule a packet judged by `slot` went
  // through (one log line each, as Linux logs once per LOG rule).
  [[nodiscard]] std::vector<std::string> log_prefixes(std::uint16_t slot) const;

  // The host's netfilter, which runs the host part of the table
  // (docs/nfw-host.md); without it, a table with rules only the host can
  // run is refused. Set before the first change.
  // Loads the host part of the current table at once (throws as install).
  void set_host(HostNetfilter* host);

  // A new owner (e.g. a cgroup) appeared: cgroup matches may now cover it.
  void owners_changed();

  // The table as installed (counters as loaded, not live: see snapshot()).
  [[nodiscard]] const filter::Ruleset& rules() const { return rules_; }
  // Called after every change of the table (normand persists it).
  void on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

  [[nodiscard]] FilterStatus status() const;
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

 private:
  // compile + install, throws. `assume`: what the compiler may take for
  // granted about `rules` compared with the last compiled table.
  void install(const filter::Ruleset& rules, filter::IncrementalCompiler::Assume assume);
  // Gives every rule of `rules` that is new, or whose id is unknown or taken
  // twice, a fresh id; returns the ids of the current table.
  std::set<std::uint64_t> assign_ids(filter::Ruleset& rules);
  // -A -I -R -D -P, edited in rules_ itself (and put back if the NIC refuses
  // the result) rather than on a copy of the whole table.
  bool edit_in_place(const filter::Command& cmd);
  // Drops the offsets and retired counts of rules and policies that `next`
  // (about to replace rules_) no longer has.
  void forget_removed(const filter::Ruleset& next);
  void forget(const filter::CounterRef& ref);
  // The NIC's counts and the host's, summed per rule and policy.
  std::map<filter::CounterRef, filter::Counters> raw_counts(
      const std::set<filter::CounterRef>& only = {});
  void zero(const filter::Command& cmd, const std::map<filter::CounterRef, filter::Counters>& raw);

  FilterHw& hw_;
  RegistryOwnerIds ids_;
  filter::CompileOptions options_;
  FilterInstaller installer_;
  filter::IncrementalCompiler compiler_;
  filter::Ruleset rules_;
  std::uint64_t generation_ = 0;
  std::uint64_t next_id_ = 1;
  // Signed offsets per counter (see above).
  std::map<filter::CounterRef, std::pair<std::int64_t, std::int64_t>> offset_;
  InstallStats last_;
  bool uses_cgroups_ = false;
  std::function<void()> on_change_;
  HostNetfilter* host_ = nullptr;
  filter::Ruleset installed_;  // the last table installed on both sides
  bool keep_host_table_counts_ = true;
  void changed() {
    ++generation_;
    if (on_change_) on_change_();
  }
};

}  // namespace norman::normand
