// cap_* requests (normand_proto.hpp) decoded and checked before anything is
// touched, and the owner filter of a capture session. Every failure is a
// CtlError(EINVAL) naming the bad argument; unknown arguments are refused.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "process_info.hpp"

namespace norman::normand {

// --uid/--pid/--comm/--cgroup: every given one must match the owner of the
// connection (as the kernel named it when the client connected). cgroup
// matches the path itself and every cgroup under it.
struct CaptureOwnerFilter {
  std::optional<std::uint32_t> uid;
  std::optional<std::int32_t> pid;
  std::optional<std::string> comm;
  std::optional<std::string> cgroup;
  [[nodiscard]] bool any() const { return uid || pid || comm || cgroup; }
  [[nodiscard]] bool matches(const ProcessInfo& owner) const;
  [[nodiscard]] std::string describe() const;
};

struct CaptureOpenArgs {
  std::vector<sock_filter> program;
  std::string interface = "nic0";  // nicN or any
  bool in = true;
  bool out = true;
  std::uint32_t snaplen = 0;  // 0: whole frame
  unsigned log2 = 0;          // 0: the default
  CaptureOwnerFilter owner;
};

CaptureOpenArgs parse_cap_open(const nlohmann::json& req);
// cap_stats / cap_close {capture_id}.
unsigned parse_cap_id(const nlohmann::json& req);
// cap_cons {capture_id, cons}.
std::pair<unsigned, std::uint16_t> parse_cap_cons(const nlohmann::json& req);
// cap_owner {conn_id}.
std::uint32_t parse_cap_owner(const nlohmann::json& req);

}  // namespace norman::normand
