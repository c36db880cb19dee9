#include "owner_registry.hpp"

namespace norman::normand {

std::uint16_t NameIds::assign(std::string_view name) {
  if (name.empty()) return kUnknown;
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  if (names_.size() >= kMaxIds) return kUnknown;
  names_.emplace_back(name);
  const auto id = static_cast<std::uint16_t>(names_.size());
  ids_.emplace(std::string(name), id);
  return id;
}

std::optional<std::uint16_t> NameIds::find(std::string_view name) const {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> NameIds::name(std::uint16_t id) const {
  if (id == kUnknown || id > names_.size()) return std::nullopt;
  return names_[id - 1U];
}

nlohmann::json NameIds::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [n, id] : ids_) j[n] = id;
  return j;
}

nlohmann::json OwnerRegistry::to_json() const {
  return {{"commands", cmds_.to_json()}, {"cgroups", cgroups_.to_json()}};
}

}  // namespace norman::normand
