// The host kernel's own tables in one rules.v4 (*raw, *mangle, *nat,
// *security): nfw keeps them as the text iptables-save prints and normand
// loads them into the host's netfilter with iptables-restore (see
// docs/nfw-host.md). They never see a packet the NIC judges, so nfw does
// not interpret their matches: it keeps, lists and saves them, and the real
// iptables-restore --test checks them before anything changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace norman::filter {

struct Counters;

struct HostRule {
  std::string spec;  // what follows "-A CHAIN " in iptables-save's line
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  friend bool operator==(const HostRule&, const HostRule&) = default;
};

struct HostChain {
  std::string name;
  std::string policy;         // "ACCEPT"/"DROP" for built-in chains, "-" for user chains
  std::uint64_t packets = 0;  // policy counters
  std::uint64_t bytes = 0;
  std::vector<HostRule> rules;
  [[nodiscard]] bool builtin() const { return policy != "-"; }
  friend bool operator==(const HostChain&, const HostChain&) = default;
};

struct HostTable {
  std::string name;  // raw, mangle, nat, security
  std::vector<HostChain> chains;
  [[nodiscard]] HostChain* find(std::string_view chain);
  [[nodiscard]] const HostChain* find(std::string_view chain) const;
  friend bool operator==(const HostTable&, const HostTable&) = default;
};

// The tables nfw keeps as text, in the order iptables-nft-save prints
// them around *filter: mangle, security and raw before it, nat after.
[[nodiscard]] bool is_host_table(std::string_view name);
[[nodiscard]] int host_table_rank(std::string_view name);  // filter is 3
// The built-in chains of a table, in iptables-save's order.
[[nodiscard]] std::vector<std::string_view> host_builtin_chains(std::string_view table);

}  // namespace norman::filter
