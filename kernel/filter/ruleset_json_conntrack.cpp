// -m state and -m conntrack in the rule JSON: a "state" object
// {mask, negated} and a "conntrack" object with one key per option. Masks
// are the ctstate/ctstatus bits of ruleset_conntrack.hpp.
#include "ruleset_json_conntrack.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "json_read.hpp"

namespace norman::filter::detail {

namespace {

using json = nlohmann::json;

std::uint64_t uint_at(const json& j, const std::string& where, const char* key, std::uint64_t max) {
  const auto it = j.find(key);
  if (it == j.end()) bad(where, std::string("missing \"") + key + "\"");
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
    bad(where + "." + key, "expected a non-negative integer");
  const auto v = it->get<std::uint64_t>();
  if (v > max)
    bad(where + "." + key, "value " + std::to_string(v) + " is above " + std::to_string(max));
  return v;
}

bool negated_at(const json& j, const std::string& where) {
  const auto it = j.find("negated");
  if (it == j.end()) return false;
  if (!it->is_boolean()) bad(where + ".negated", "expected true or false");
  return it->get<bool>();
}

json states_json(const CtStates& s) { return json{{"mask", s.mask}, {"negated", s.negated}}; }

CtStates states_from(const json& j, const std::string& where, std::uint8_t allowed) {
  expect_object(j, where, {"mask", "negated"});
  CtStates s{static_cast<std::uint8_t>(uint_at(j, where, "mask", 255)), negated_at(j, where)};
  if (s.mask == 0 || (s.mask & ~allowed) != 0) bad(where + ".mask", "not a set of states");
  return s;
}

json addr_json(const CtAddr& a) {
  return json{{"addr", a.addr}, {"len", a.len}, {"negated", a.negated}};
}

CtAddr addr_from(const json& j, const std::string& where) {
  expect_object(j, where, {"addr", "len", "negated"});
  return CtAddr{static_cast<std::uint32_t>(uint_at(j, where, "addr", 0xFFFFFFFFu)),
                static_cast<std::uint8_t>(uint_at(j, where, "len", 32)), negated_at(j, where)};
}

json ports_json(const CtPorts& p) {
  return json{{"lo", p.lo}, {"hi", p.hi}, {"negated", p.negated}};
}

CtPorts ports_from(const json& j, const std::string& where) {
  expect_object(j, where, {"lo", "hi", "negated"});
  return CtPorts{static_cast<std::uint16_t>(uint_at(j, where, "lo", 65535)),
                 static_cast<std::uint16_t>(uint_at(j, where, "hi", 65535)), negated_at(j, where)};
}

bool has_module(const Rule& r, Module m) {
  return std::find(r.modules.begin(), r.modules.end(), m) != r.modules.end();
}

constexpr std::uint8_t kAllCtStates = 0x7F;
constexpr std::uint8_t kStateStates = 0x1F;  // -m state knows no SNAT/DNAT

}  // namespace

void conntrack_to_json(json& j, const Rule& r) {
  if (r.state) j["state"] = states_json(*r.state);
  if (!r.conntrack) return;
  const ConntrackMatch& m = *r.conntrack;
  json c = json::object();
  if (m.state) c["state"] = states_json(*m.state);
  if (m.proto) c["proto"] = json{{"number", m.proto->number}, {"negated", m.proto->negated}};
  if (m.orig_src) c["orig_src"] = addr_json(*m.orig_src);
  if (m.orig_dst) c["orig_dst"] = addr_json(*m.orig_dst);
  if (m.orig_sport) c["orig_sport"] = ports_json(*m.orig_sport);
  if (m.orig_dport) c["orig_dport"] = ports_json(*m.orig_dport);
  if (m.status) c["status"] = json{{"mask", m.status->mask}, {"negated", m.status->negated}};
  if (m.dir) c["dir"] = *m.dir == CtDir::kOriginal ? "ORIGINAL" : "REPLY";
  j["conntrack"] = std::move(c);
}

void conntrack_from_json(const json& j, Rule& r) {
  const std::string w = "rule";
  if (auto it = j.find("state"); it != j.end())
    r.state = states_from(*it, w + ".state", kStateStates);
  if (auto it = j.find("conntrack"); it != j.end()) {
    const std::string cw = w + ".conntrack";
    expect_object(
        *it, cw,
        {"state", "proto", "orig_src", "orig_dst", "orig_sport", "orig_dport", "status", "dir"});
    ConntrackMatch m;
    const json& c = *it;
    if (auto f = c.find("state"); f != c.end())
      m.state = states_from(*f, cw + ".state", kAllCtStates);
    if (auto f = c.find("proto"); f != c.end()) {
      expect_object(*f, cw + ".proto", {"number", "negated"});
      m.proto = CtProto{static_cast<std::uint8_t>(uint_at(*f, cw + ".proto", "number", 255)),
                        negated_at(*f, cw + ".proto")};
    }
    if (auto f = c.find("orig_src"); f != c.end()) m.orig_src = addr_from(*f, cw + ".orig_src");
    if (auto f = c.find("orig_dst"); f != c.end()) m.orig_dst = addr_from(*f, cw + ".orig_dst");
    if (auto f = c.find("orig_sport"); f != c.end())
      m.orig_sport = ports_from(*f, cw + ".orig_sport");
    if (auto f = c.find("orig_dport"); f != c.end())
      m.orig_dport = ports_from(*f, cw + ".orig_dport");
    if (auto f = c.find("status"); f != c.end()) {
      expect_object(*f, cw + ".status", {"mask", "negated"});
      m.status = CtStatus{static_cast<std::uint8_t>(uint_at(*f, cw + ".status", "mask", 15)),
                          negated_at(*f, cw + ".status")};
    }
    if (auto f = c.find("dir"); f != c.end()) {
      if (*f == "ORIGINAL") {
        m.dir = CtDir::kOriginal;
      } else if (*f == "REPLY") {
        m.dir = CtDir::kReply;
      } else {
        bad(cw + ".dir", "expected \"ORIGINAL\" or \"REPLY\"");
      }
    }
    if (m == ConntrackMatch{}) bad(cw, "needs at least one option");
    r.conntrack = std::move(m);
  }
  if (has_module(r, Module::kState) != r.state.has_value())
    bad(w, "state and module state go together");
  if (has_module(r, Module::kConntrack) != r.conntrack.has_value())
    bad(w, "conntrack and module conntrack go together");
}

}  // namespace norman::filter::detail
