// JSON form of -m limit and -m hashlimit (ruleset_json.cpp calls these for
// each rule). Internal to norman_filter.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ruleset.hpp"

namespace norman::filter::detail {

void limit_to_json(nlohmann::json& j, const Rule& r);
// Reads "limit" and "hashlimit" if present and checks them against the
// rule's modules; throws std::invalid_argument naming `where`.
void limit_from_json(const nlohmann::json& j, Rule& r, const std::string& where);

}  // namespace norman::filter::detail
