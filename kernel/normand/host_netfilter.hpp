// The host part of the filter table (docs/nfw-host.md): what the host
// kernel's own netfilter enforces from the same rules.v4, loaded with the
// real iptables-restore, run by normand (never by a client) in normand's
// network namespace or, for tests, in a named one (ip netns).
//
// The host's filter table is nfw's table less the NIC's own rules (an
// interface nicN), with a bypass first in INPUT and OUTPUT: packets on the
// NIC's host interfaces (the fallback path's TAP) were judged and counted
// by the NIC, so the host accepts them before any rule counts them. The
// bypass rules carry the comment "nfw-bypass" and never appear in nfw's
// listings. *nat, *mangle, *raw and *security follow as nfw keeps them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "ruleset.hpp"

namespace norman::normand {

// What a command printed and how it ended.
struct ProcessResult {
  int status = -1;     // exit status; -1: killed or could not start
  std::string output;  // stdout and stderr together
};

class HostNetfilter {
 public:
  // netns: "" for normand's own network namespace, or the name of one
  // under /run/netns (tests). bypass: the NIC's host interfaces (nic0's TAP).
  HostNetfilter(std::string netns, std::vector<std::string> bypass);

  // The iptables-restore file for `rules`, rule counters taken from
  // `carry` (by rule id; the host's counts so far) so that reloading the
  // table does not lose them.
  [[nodiscard]] std::string render(
      const filter::Ruleset& rules,
      const std::map<filter::CounterRef, filter::Counters>& carry) const;

  // iptables-restore --test: throws filter::CommandError (EINVAL) with
  // iptables-restore's own message when it refuses the file.
  void test(const std::string& text) const;
  // Loads it (tables the file holds are replaced); throws as test() does.
  // `rules`: what the file was rendered from (for counts()).
  void load(const std::string& text, const filter::Ruleset& rules);

  // The host's counters of the rules and policies last loaded, by the ids
  // of that table (bypass rules left out), from iptables-save -c.
  [[nodiscard]] std::map<filter::CounterRef, filter::Counters> counts() const;
  // The host tables (*nat...) as the kernel holds them now: canonical
  // text (as iptables-save prints it) and live counters.
  [[nodiscard]] std::vector<filter::HostTable> tables() const;

  [[nodiscard]] bool loaded() const { return !loaded_text_.empty(); }
  [[nodiscard]] const std::string& loaded_text() const { return loaded_text_; }

  static filter::CounterRef policy_ref(std::string_view chain);

 private:
  [[nodiscard]] ProcessResult run(const std::vector<std::string>& argv,
                                  const std::string& input) const;
  [[nodiscard]] filter::Ruleset read_back() const;

  std::string netns_;
  std::vector<std::string> bypass_;
  filter::Ruleset loaded_view_;  // host_view() of what was loaded
  std::string loaded_text_;
};

}  // namespace norman::normand
