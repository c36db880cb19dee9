// Which rules of one rules.v4 run where (docs/nfw-host.md): on the NIC,
// which judges every packet it receives (INPUT) or sends (OUTPUT) on its
// ports nicN, or in the host kernel's own netfilter, which sees the rest
// (lo, docker0, wg0, eth1..., the FORWARD chain, the nat/mangle/raw
// tables). A rule that can see both kinds of packet runs in both places;
// the host's copy skips the NIC's host interfaces (a bypass normand puts
// first), so every packet is counted by one of them only.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "ruleset.hpp"

namespace norman::filter {

enum class RunsOn : std::uint8_t { kNowhere = 0, kNic = 1, kHost = 2, kBoth = 3 };

// The NIC's interface names are nicN (N a port number); a name of that
// form is the NIC's whatever the number (the compiler refuses a port the
// NIC does not have).
[[nodiscard]] bool is_nic_name(std::string_view name);

// Chains the NIC may run: all but those only FORWARD reaches (through
// jumps and gotos).
[[nodiscard]] std::set<std::string> nic_reachable(const Ruleset& rules);

// Where rule r of chain `chain` runs; on_nic: the chain is in nic_reachable.
[[nodiscard]] RunsOn runs_on(const Rule& r, std::string_view chain, bool on_nic);
[[nodiscard]] std::string_view runs_on_name(RunsOn w);  // "nic", "host", "nic+host", "none"

// The table the NIC's compiler gets: FORWARD and the host tables left out,
// and the rules that never see a NIC packet; an interface match that always
// holds on the NIC (`! -i lo`) is dropped. Rule ids are kept, so counters
// still name the rules of `rules`.
[[nodiscard]] Ruleset nic_view(const Ruleset& rules);

// The rules the host's copy holds (the NIC's own rules left out), with
// their positions in `rules` unchanged otherwise; FORWARD and the host
// tables as they are. Bypass rules are not added here (normand does).
[[nodiscard]] Ruleset host_view(const Ruleset& rules);

// Whether `rules` needs the host's netfilter at all: a rule that runs only
// there, FORWARD not empty with ACCEPT, or a host table.
[[nodiscard]] bool has_host_only_part(const Ruleset& rules);

}  // namespace norman::filter
