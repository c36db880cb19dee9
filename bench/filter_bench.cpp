// Filter-stage benchmark (not a test): the verilated filter_lookup at the
// NIC's capacity (FILTER_ENTRIES range slots and the register map's exact
// tables) with 16, 256, 1,024 and 4,096 random range rules, then 4,096
// range rules plus 4,000 and 12,000 exact entries (blocklist-shaped:
// addresses, address prefixes, address + port), installed through the write
// ports; random keys offered one per cycle, back to back. Prints JSON: keys
// accepted and verdicts produced per cycle, latency in cycles (min/max over
// every key), cycles per range slot write, per exact entry write and per
// commit. Every verdict is also checked against the C++ reference
// (norman::filter::matches and exact_matches, lowest priority wins), so the
// figures are of a lookup that is right.
//
// Assumptions stated with the figures: one key per cycle at the 250 MHz
// target clock (a 64 B frame per cycle is 250 Mpps); cycle counts are the
// RTL's, not a timing-closed implementation's.
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "Vfilter_lookup.h"
#include "filter_tb.hpp"

namespace {

namespace nf = norman::filter;
namespace rf = norman::regmap::filter;
using filter_tb::ExactSlot;
using filter_tb::Tb;
using FieldId = rf::FieldId;

std::uint32_t below(std::mt19937& rng, std::uint64_t n) {
  return static_cast<std::uint32_t>(std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng));
}

// Rules shaped like nfw's: address prefixes, port ranges, protocol, owner
// ranges, some negations and TCP flag patterns.
nf::Entry random_entry(std::mt19937& rng) {
  nf::Entry e;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (below(rng, 3) != 0) continue;
    const std::uint32_t max = nf::field_max(i);
    const std::uint32_t a = static_cast<std::uint32_t>(rng()) & max;
    const std::uint32_t span =
        below(rng, 2) != 0 ? 0 : static_cast<std::uint32_t>(rng()) & (max >> below(rng, 8));
    e.range[i] = {a, a + std::min(span, max - a)};
    if (below(rng, 8) == 0) e.neg = static_cast<std::uint16_t>(e.neg | (1u << i));
  }
  e.flags_mask = static_cast<std::uint16_t>(rng() & 0x0FFF & (below(rng, 2) != 0 ? 0x0F : 0xFFF));
  e.flags_value = static_cast<std::uint16_t>(rng() & e.flags_mask);
  e.action = static_cast<rf::Action>(below(rng, 3));
  return e;
}

// The exact tables' masks: source address; source /24; destination address
// and port with the protocol; source address again (a second choice of
// bucket for the busiest list). All on INPUT (DIR = 0).
std::array<nf::ExactVector, 4> blocklist_masks() {
  auto mask = [](std::initializer_list<std::pair<FieldId, std::uint32_t>> fields) {
    std::array<std::uint32_t, rf::kNumFields> m{};
    for (const auto& [f, v] : fields) m[static_cast<unsigned>(f)] = v;
    return nf::exact_vector(m, nf::flag_bit(rf::Flag::kDir));
  };
  return {
      mask({{FieldId::kSrcIp, 0xFFFFFFFFu}}), mask({{FieldId::kSrcIp, 0xFFFFFF00u}}),
      mask({{FieldId::kDstIp, 0xFFFFFFFFu}, {FieldId::kDport, 0xFFFFu}, {FieldId::kProto, 0xFFu}}),
      mask({{FieldId::kSrcIp, 0xFFFFFFFFu}})};
}

nf::Key random_key(std::mt19937& rng, const std::vector<nf::Entry>& rules,
                   const std::vector<nf::ExactVector>& exact_keys) {
  // A third of the keys aim at an exact entry (when there are any).
  if (!exact_keys.empty() && below(rng, 3) == 0) {
    nf::Key k = filter_tb::key_of_vector(exact_keys[below(rng, exact_keys.size())]);
    k[FieldId::kSport] = below(rng, 65536);
    k[FieldId::kUid] = static_cast<std::uint32_t>(rng());
    k.frame_bytes = 46 + below(rng, 1455);
    return k;
  }
  nf::Key k;
  // Half the others aim inside a rule, so that verdicts come from all over the table.
  const nf::Entry* aim =
      rules.empty() || below(rng, 2) == 0 ? nullptr : &rules[below(rng, rules.size())];
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (aim != nullptr) {
      const auto& r = aim->range[i];
      k.field[i] = r.lo + below(rng, std::uint64_t{r.hi} - r.lo + 1);
    } else {
      k.field[i] = static_cast<std::uint32_t>(rng()) & nf::field_max(i);
    }
  }
  k.flags = static_cast<std::uint16_t>(rng() & 0xFFF);
  k.frame_bytes = 46 + below(rng, 1455);
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const unsigned keys_per_size = quick ? 2000 : 20000;
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937 rng(7);
  Tb<Vfilter_lookup> tb(static_cast<unsigned>(norman::regmap::kFilterEntries));
  tb.reset();
  const filter_tb::ExactGeom& geom = tb.geom();
  const auto masks = blocklist_masks();
  nlohmann::json results = nlohmann::json::array();
  std::vector<nf::Entry> rules;
  std::vector<std::pair<std::uint32_t, ExactSlot>> exact;  // location, entry
  std::vector<nf::ExactVector> exact_keys;
  std::vector<unsigned> ways_used(geom.tables << geom.buckets_log2, 0);
  std::uint64_t write_cycles = 0, writes = 0, ex_write_cycles = 0, ex_writes = 0;
  std::uint64_t commit_cycles = 0, commits = 0;
  struct Stage {
    unsigned range, exact;
  };
  for (const Stage st : {Stage{16, 0}, Stage{256, 0}, Stage{1024, 0}, Stage{4096, 0},
                         Stage{4096, 4000}, Stage{4096, 12000}}) {
    // Both banks get the same rules (the shadow is rewritten after a commit,
    // as normand does), so the measured bank holds exactly these rules.
    std::vector<nf::Entry> add;
    while (rules.size() + add.size() < st.range) add.push_back(random_entry(rng));
    std::vector<std::pair<std::uint32_t, ExactSlot>> add_ex;
    while (exact.size() + add_ex.size() < st.exact) {
      // Table 0..3 in turn; a value of that table's shape, in a free way.
      const unsigned t = static_cast<unsigned>((exact.size() + add_ex.size()) % geom.tables);
      nf::Key k;
      k[FieldId::kSrcIp] = 0x0A000000u | below(rng, 1u << 24);
      k[FieldId::kDstIp] = 0xC0A80000u | below(rng, 1u << 16);
      k[FieldId::kDport] = below(rng, 65536);
      k[FieldId::kProto] = below(rng, 2) != 0 ? 6 : 17;
      ExactSlot x;
      x.valid = true;
      x.value = nf::exact_vector(k) & masks[t];
      // A blocklist sits near the head of its chain: low priorities, though
      // range rules still win some of its keys.
      x.prio = static_cast<std::uint16_t>(below(rng, 2048));
      x.action = static_cast<std::uint8_t>(below(rng, 3));
      const std::uint32_t b = geom.bucket(t, x.value);
      unsigned& used = ways_used[(t << geom.buckets_log2) | b];
      if (used == geom.ways) continue;  // bucket full: the driver would try another table
      add_ex.emplace_back(geom.location(t, b, used++), x);
    }
    for (int bank = 0; bank < 2; ++bank) {
      for (std::size_t i = 0; i < add.size(); ++i) {
        const auto w = tb.write(static_cast<unsigned>(rules.size() + i), add[i],
                                static_cast<std::uint16_t>(below(rng, 65536)));
        write_cycles += w.cycles;
        ++writes;
      }
      if (!add_ex.empty()) {
        for (unsigned t = 0; t < geom.tables; ++t) tb.ex_mask(t, masks[t]);
        const std::uint64_t c = tb.cycle();
        tb.ex_stream(add_ex);
        ex_write_cycles += tb.cycle() - c;
        ex_writes += add_ex.size();
      }
      const std::uint64_t c = tb.cycle();
      tb.commit();
      commit_cycles += tb.cycle() - c;
      ++commits;
    }
    rules.insert(rules.end(), add.begin(), add.end());
    for (const auto& e : add_ex) exact_keys.push_back(e.second.value);
    exact.insert(exact.end(), add_ex.begin(), add_ex.end());

    // Keys back to back: one offered every cycle; verdicts observed per cycle.
    std::map<std::uint16_t, std::uint64_t> sent_at;
    std::uint64_t results_seen = 0, lat_min = ~0ull, lat_max = 0, exact_won = 0;
    std::uint64_t first_out = 0, last_out = 0;
    const std::uint64_t hits_before = tb.hits();
    auto observe = [&] {
      if (!tb.m().res_valid_o) return;
      const auto tag = static_cast<std::uint16_t>(tb.m().res_tag_o);
      const auto it = sent_at.find(tag);
      if (it == sent_at.end()) return;
      const std::uint64_t lat = tb.cycle() - it->second;
      lat_min = std::min(lat_min, lat);
      lat_max = std::max(lat_max, lat);
      if (results_seen == 0) first_out = tb.cycle();
      last_out = tb.cycle();
      ++results_seen;
      if (tb.m().res_hit_o && tb.m().res_slot_o >= tb.entries()) ++exact_won;
      sent_at.erase(it);
    };
    for (unsigned i = 0; i < keys_per_size; ++i) {
      tb.key(random_key(rng, rules, exact_keys));  // sets tag_i to this key's tag
      sent_at[static_cast<std::uint16_t>(tb.m().tag_i)] = tb.cycle();
      tb.step();
      observe();
    }
    for (std::uint64_t i = 0; i < tb.latency() + 4; ++i) {
      tb.step();
      observe();
    }
    const std::uint64_t in_cycles = keys_per_size;  // one key offered per cycle, never refused
    const double out_rate = results_seen > 1 ? static_cast<double>(results_seen - 1) /
                                                   static_cast<double>(last_out - first_out)
                                             : 0;
    results.push_back(
        {{"rules", st.range},
         {"exact_entries", st.exact},
         {"keys", keys_per_size},
         {"keys_per_cycle_in", static_cast<double>(keys_per_size) / static_cast<double>(in_cycles)},
         {"verdicts_per_cycle", out_rate},
         {"verdicts", results_seen},
         {"rule_hits", tb.hits() - hits_before},
         {"exact_verdicts", exact_won},
         {"latency_cycles_min", lat_min},
         {"latency_cycles_max", lat_max}});
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto per = [](std::uint64_t a, std::uint64_t b) {
    return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  };
  nlohmann::json out{
      {"benchmark", "filter_stage"},
      {"assumptions",
       "filter_lookup RTL (Verilator) at FILTER_ENTRIES range slots and FILTER_EXACT_ENTRIES exact "
       "locations; 250 MHz target clock: 1 key/cycle = 250 Mpps (one 64 B frame per cycle); no "
       "synthesis or timing closure"},
      {"slots", norman::regmap::kFilterEntries},
      {"exact_locations", geom.entries()},
      {"latency_register_cycles", tb.latency()},
      {"results", results},
      {"write_cycles_per_slot", per(write_cycles, writes)},
      {"write_cycles_per_exact_entry", per(ex_write_cycles, ex_writes)},
      {"commit_cycles", per(commit_cycles, commits)},
      {"mismatches_against_reference", tb.mismatches()},
      {"checked", tb.checked()},
      {"wall_seconds", secs}};
  std::printf("%s\n", out.dump(2).c_str());
  return tb.mismatches() == 0 ? 0 : 1;
}
