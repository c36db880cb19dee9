// How owner names in rules (--cmd-owner, -m cgroup --path) become the small
// ids the NIC carries. normand implements it with its owner registry; tests
// with a map.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace norman::filter {

class OwnerIds {
 public:
  virtual ~OwnerIds() = default;
  // The command's id (assigned on first use, so a process started later with
  // that name gets it too).
  virtual std::uint16_t cmd_id(std::string_view comm) = 0;
  // Ids of every known cgroup at `path` or below it (cgroup v2 paths such as
  // "/user.slice/user-1000.slice"). Empty when none is known yet.
  virtual std::vector<std::uint16_t> cgroups_under(std::string_view path) = 0;
};

}  // namespace norman::filter
