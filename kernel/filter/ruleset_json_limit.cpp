// Strict, like the rest of the JSON reader: every value range-checked, the
// same ranges iptables' parser allows, so that whatever normand accepts
// nfw-save can print and iptables-restore can read.
#include "ruleset_json_limit.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "json_read.hpp"

namespace norman::filter::detail {

namespace {

using nlohmann::json;

std::uint64_t uint_in(const json& j, const std::string& where, const char* key, std::uint64_t lo,
                      std::uint64_t hi) {
  auto it = j.find(key);
  if (it == j.end()) bad(where, std::string("missing \"") + key + "\"");
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
    bad(where + "." + key, "expected a non-negative integer");
  const auto v = it->get<std::uint64_t>();
  if (v < lo || v > hi) {
    bad(where + "." + key, "value " + std::to_string(v) + " is outside " + std::to_string(lo) +
                               ".." + std::to_string(hi));
  }
  return v;
}

bool has(const Rule& r, Module m) {
  return std::find(r.modules.begin(), r.modules.end(), m) != r.modules.end();
}

}  // namespace

void limit_to_json(json& j, const Rule& r) {
  if (r.limit) j["limit"] = json{{"avg", r.limit->avg}, {"burst", r.limit->burst}};
  if (r.hashlimit) {
    const Hashlimit& h = *r.hashlimit;
    j["hashlimit"] = json{{"avg", h.avg},
                          {"burst", h.burst},
                          {"mode", h.mode},
                          {"above", h.above},
                          {"size", h.size},
                          {"max", h.max},
                          {"gc_interval", h.gc_interval},
                          {"expire", h.expire},
                          {"srcmask", h.srcmask},
                          {"dstmask", h.dstmask},
                          {"name", h.name}};
  }
}

void limit_from_json(const json& j, Rule& r, const std::string& w) {
  constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
  if (auto it = j.find("limit"); it != j.end()) {
    const std::string lw = w + ".limit";
    expect_object(*it, lw, {"avg", "burst"});
    Limit l;
    // avg: 1 (10000/s) to 10000 * 86400 (1/day), as iptables' parser.
    l.avg = static_cast<std::uint32_t>(uint_in(*it, lw, "avg", 1, 864'000'000));
    l.burst = static_cast<std::uint32_t>(uint_in(*it, lw, "burst", 1, 10000));
    r.limit = l;
  }
  if (auto it = j.find("hashlimit"); it != j.end()) {
    const std::string hw = w + ".hashlimit";
    expect_object(*it, hw,
                  {"avg", "burst", "mode", "above", "size", "max", "gc_interval", "expire",
                   "srcmask", "dstmask", "name"});
    Hashlimit h;
    h.avg = uint_in(*it, hw, "avg", 1, 86'400'000'000);
    h.burst = uint_in(*it, hw, "burst", 1, 1'000'000);
    h.mode = static_cast<std::uint32_t>(uint_in(*it, hw, "mode", 0, 15));
    const auto above = it->find("above");
    if (above == it->end() || !above->is_boolean()) bad(hw + ".above", "expected true or false");
    h.above = above->get<bool>();
    h.size = static_cast<std::uint32_t>(uint_in(*it, hw, "size", 0, kU32));
    h.max = static_cast<std::uint32_t>(uint_in(*it, hw, "max", 0, kU32));
    h.gc_interval = static_cast<std::uint32_t>(uint_in(*it, hw, "gc_interval", 1, kU32));
    h.expire = static_cast<std::uint32_t>(uint_in(*it, hw, "expire", 1, kU32));
    h.srcmask = static_cast<std::uint8_t>(uint_in(*it, hw, "srcmask", 0, 32));
    h.dstmask = static_cast<std::uint8_t>(uint_in(*it, hw, "dstmask", 0, 32));
    const auto name = it->find("name");
    if (name == it->end() || !name->is_string()) bad(hw + ".name", "expected a string");
    h.name = name->get<std::string>();
    if (h.name.empty() || h.name.size() > 31) bad(hw + ".name", "must have 1 to 31 characters");
    if (auto why = unsaveable_text(h.name, true)) bad(hw + ".name", *why);
    r.hashlimit = std::move(h);
  }
  if (has(r, Module::kLimit) != r.limit.has_value()) bad(w, "limit and module limit go together");
  if (has(r, Module::kHashlimit) != r.hashlimit.has_value())
    bad(w, "hashlimit and module hashlimit go together");
}

}  // namespace norman::filter::detail
