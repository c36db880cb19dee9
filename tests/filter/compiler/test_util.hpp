// Helpers shared by the filter compiler tests: an OwnerIds backed by maps,
// rule and key builders, and a frame builder.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler.hpp"
#include "flat.hpp"
#include "owner_ids.hpp"
#include "ruleset.hpp"

namespace norman::filter::test {

namespace rf = norman::regmap::filter;

class MapIds : public OwnerIds {
 public:
  std::map<std::string, std::uint16_t, std::less<>> cmds;
  std::map<std::string, std::uint16_t, std::less<>> cgroups;  // path -> id

  std::uint16_t cmd_id(std::string_view comm) override {
    auto it = cmds.find(comm);
    if (it != cmds.end()) return it->second;
    const auto id = static_cast<std::uint16_t>(cmds.size() + 1);
    cmds.emplace(std::string(comm), id);
    return id;
  }

  std::vector<std::uint16_t> cgroups_under(std::string_view path) override {
    std::vector<std::uint16_t> out;
    std::string prefix(path);
    if (prefix.empty() || prefix.back() != '/') prefix += '/';
    for (const auto& [p, id] : cgroups) {
      if (p == path || p.starts_with(prefix) || path == "/") out.push_back(id);
    }
    return out;
  }
};

inline Rule make_rule(std::uint64_t id, TargetKind kind, std::string chain = {}) {
  Rule r;
  r.id = id;
  r.target.kind = kind;
  r.target.chain = std::move(chain);
  return r;
}

inline std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

inline Chain& chain(Ruleset& rs, std::string_view name) {
  if (Chain* c = rs.find(name)) return *c;
  rs.chains.push_back(Chain{std::string(name), std::nullopt, {}, {}});
  return rs.chains.back();
}

// INPUT with n terminal rules `-s 10.a.b.1/32 -p tcp --dport P`, every
// seventh DROP: a large table whose rules each flatten to one entry.
inline Ruleset flat_host_port_chain(std::size_t n) {
  Ruleset rs;
  auto& rules = chain(rs, "INPUT").rules;
  rules.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Rule r = make_rule(i + 1, i % 7 == 0 ? TargetKind::kDrop : TargetKind::kAccept);
    r.src =
        Addr{{ip(10, static_cast<unsigned>(i >> 8) & 0xFF, static_cast<unsigned>(i) & 0xFF, 1), 32},
             false};
    r.proto = Proto{6, false};
    r.modules = {Module::kTcp};
    const auto port = static_cast<std::uint32_t>(1000 + i % 5000);
    r.dport = PortMatch{{port, port}, false};
    rules.push_back(std::move(r));
  }
  return rs;
}

struct KeySpec {
  Direction dir = Direction::kInput;
  unsigned iface = 0;
  std::uint8_t proto = 6;
  std::uint32_t src = 0;
  std::uint32_t dst = 0;
  std::uint32_t sport = 0;
  std::uint32_t dport = 0;
  bool l4 = true;
  bool frag = false;
  std::uint8_t tcp_flags = 0;
  bool owner = false;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint16_t cmd = 0;
  std::uint16_t cgroup = 0;
  std::uint32_t bytes = 100;
};

inline Key make_key(const KeySpec& s) {
  Key k;
  k[rf::FieldId::kIface] = s.iface;
  k[rf::FieldId::kProto] = s.proto;
  k[rf::FieldId::kSrcIp] = s.src;
  k[rf::FieldId::kDstIp] = s.dst;
  k[rf::FieldId::kSport] = s.sport;
  k[rf::FieldId::kDport] = s.dport;
  if (s.dir == Direction::kOutput) k.flags |= flag_bit(rf::Flag::kDir);
  if (s.frag) k.flags |= flag_bit(rf::Flag::kFrag);
  if (s.l4) k.flags |= flag_bit(rf::Flag::kL4Valid);
  k.flags |= static_cast<std::uint16_t>(s.tcp_flags << static_cast<unsigned>(rf::Flag::kTcpFin));
  if (s.owner) {
    k.flags |= flag_bit(rf::Flag::kOwnerValid);
    k[rf::FieldId::kUid] = s.uid;
    k[rf::FieldId::kGid] = s.gid;
    k[rf::FieldId::kCmdId] = s.cmd;
    k[rf::FieldId::kCgroup] = s.cgroup;
  }
  k.frame_bytes = s.bytes;
  return k;
}

inline CounterRef rule_ref(std::uint64_t id) {
  return CounterRef{CounterRef::Kind::kRule, id, Direction::kInput};
}
inline CounterRef policy_ref(Direction d) { return CounterRef{CounterRef::Kind::kPolicy, 0, d}; }

}  // namespace norman::filter::test
