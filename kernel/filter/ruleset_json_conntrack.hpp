// The JSON form of a rule's -m state / -m conntrack (internal to
// norman_filter; ruleset_json.cpp calls these for every rule).
#pragma once

#include <nlohmann/json.hpp>

#include "ruleset.hpp"

namespace norman::filter::detail {

void conntrack_to_json(nlohmann::json& j, const Rule& r);
// Reads "state" and "conntrack" of rule object `j` into `r` (whose modules
// are already read); throws std::invalid_argument on bad input.
void conntrack_from_json(const nlohmann::json& j, Rule& r);

}  // namespace norman::filter::detail
