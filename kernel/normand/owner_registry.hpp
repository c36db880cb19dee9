// Small numbers for owner names, as the NIC carries them: a 16-bit command
// id per command name (/proc/PID/comm) and a 16-bit cgroup class per cgroup
// path. The same name keeps its id for normand's lifetime; ids start at 1;
// 0 means unknown (empty name, or all 65535 ids taken).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace norman::normand {

// One name space: name <-> id.
class NameIds {
 public:
  static constexpr std::uint16_t kUnknown = 0;
  static constexpr std::size_t kMaxIds = 65535;

  // The name's id, assigning the next free one on first sight.
  std::uint16_t assign(std::string_view name);
  // The id if the name was seen, without assigning.
  [[nodiscard]] std::optional<std::uint16_t> find(std::string_view name) const;
  // The name of an assigned id.
  [[nodiscard]] std::optional<std::string> name(std::uint16_t id) const;
  [[nodiscard]] std::size_t size() const { return names_.size(); }
  // Every assigned name; names()[id - 1] has id.
  [[nodiscard]] const std::vector<std::string>& names() const { return names_; }
  // {"name": id, ...}
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  std::map<std::string, std::uint16_t, std::less<>> ids_;
  std::vector<std::string> names_;  // names_[id - 1]
};

class OwnerRegistry {
 public:
  std::uint16_t cmd_id(std::string_view comm) { return cmds_.assign(comm); }
  std::uint16_t cgroup_class(std::string_view cgroup) { return cgroups_.assign(cgroup); }
  [[nodiscard]] const NameIds& commands() const { return cmds_; }
  [[nodiscard]] const NameIds& cgroups() const { return cgroups_; }
  // {"commands": {...}, "cgroups": {...}}
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  NameIds cmds_;
  NameIds cgroups_;
};

}  // namespace norman::normand
