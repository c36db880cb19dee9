#include "host_tables.hpp"

#include <algorithm>
#include <array>

namespace norman::filter {

namespace {

// iptables-nft-save's order of the IPv4 tables.
constexpr std::array<std::string_view, 5> kOrder{"mangle", "security", "raw", "filter", "nat"};

}  // namespace

HostChain* HostTable::find(std::string_view chain) {
  auto it =
      std::find_if(chains.begin(), chains.end(), [&](const auto& c) { return c.name == chain; });
  return it == chains.end() ? nullptr : &*it;
}

const HostChain* HostTable::find(std::string_view chain) const {
  auto it =
      std::find_if(chains.begin(), chains.end(), [&](const auto& c) { return c.name == chain; });
  return it == chains.end() ? nullptr : &*it;
}

bool is_host_table(std::string_view name) { return name != "filter" && host_table_rank(name) >= 0; }

int host_table_rank(std::string_view name) {
  const auto it = std::find(kOrder.begin(), kOrder.end(), name);
  return it == kOrder.end() ? -1 : static_cast<int>(it - kOrder.begin());
}

std::vector<std::string_view> host_builtin_chains(std::string_view table) {
  if (table == "raw") return {"PREROUTING", "OUTPUT"};
  if (table == "nat") return {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"};
  if (table == "security") return {"INPUT", "FORWARD", "OUTPUT"};
  if (table == "mangle") return {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
  return {};
}

}  // namespace norman::filter
