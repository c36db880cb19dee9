// One nfw/iptables command on the filter table (-A -I -D -R -C -L -S -F -Z
// -N -X -E -P), as nfw parses it and normand applies it. Editing is done here,
// once, so nfw, nfw-restore and normand agree on what a command does.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ruleset.hpp"

namespace norman::filter {

struct Command {
  enum class Op : std::uint8_t {
    kAppend,       // -A chain rule
    kInsert,       // -I chain [rulenum] rule        (rulenum default 1)
    kDelete,       // -D chain rule | -D chain rulenum
    kReplace,      // -R chain rulenum rule
    kCheck,        // -C chain rule                   (exit 0 if present, 1 if not)
    kList,         // -L [chain [rulenum]]
    kListRules,    // -S [chain [rulenum]]
    kFlush,        // -F [chain]
    kZero,         // -Z [chain [rulenum]]
    kNewChain,     // -N chain
    kDeleteChain,  // -X [chain]
    kRenameChain,  // -E old new
    kPolicy,       // -P chain ACCEPT|DROP
  };
  Op op = Op::kList;
  std::string chain;                   // empty: all chains (-L -S -F -Z -X)
  std::optional<std::uint32_t> rulenum;  // 1-based
  std::optional<Rule> rule;
  // Set when -s/-d held an address list or a host name with several
  // addresses: the rules iptables makes of the one written (each source
  // with each destination, in that order); `rule` is then the first. -A
  // appends them all, -I inserts each at rulenum (so they end up in reverse
  // order, as with iptables), -D deletes each, -C holds if all exist; all or
  // nothing.
  std::vector<Rule> expanded;
  std::string new_name;                // -E
  Policy policy = Policy::kAccept;     // -P
  // Listing options (-L/-S): -v -n -x --line-numbers, and -Z with -L.
  bool verbose = false;
  bool numeric = false;
  bool exact = false;
  bool line_numbers = false;
  bool zero = false;
  bool json = false;                   // -j/--json

  [[nodiscard]] bool changes_rules() const;  // everything but -C -L -S (and -L without -Z)
};

// A refusal, worded like iptables' ("Bad rule (does a matching rule exist in
// that chain?)", "Chain 'X' does not exist", "Index of insertion too big",
// "Chain already exists", "Too many links" for -X of a referenced chain,
// "Directory not empty" for -X of a non-empty chain, "Can't delete built-in
// chain"...). errno_value is the errno iptables would report (ENOENT,
// EEXIST, EBUSY, ENOTEMPTY, EINVAL, E2BIG).
class CommandError : public std::runtime_error {
 public:
  CommandError(int errno_value, const std::string& message);
  int errno_value;
};

// Applies an editing command to `rules` (nothing changes if it throws).
// New rules get ids from next_id. -C returns whether the rule exists; every
// other op returns true. -L/-S are not edits (-L -Z zeroes counters).
bool apply(Ruleset& rules, const Command& cmd, const std::function<std::uint64_t()>& next_id);

void to_json(nlohmann::json& j, const Command& c);
void from_json(const nlohmann::json& j, Command& c);  // throws std::invalid_argument

}  // namespace norman::filter
