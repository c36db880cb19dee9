// Filter-stage benchmark (not a test): the verilated filter_classifier at
// the NIC's capacity (FILTER_ENTRIES slots) with 16, 256, 1,024 and 4,096
// random rules installed through its write port; random keys offered one per
// cycle, back to back. Prints JSON: keys accepted and verdicts produced per
// cycle, latency in cycles (min/max over every key), cycles per slot write
// and per commit. Every verdict is also checked against the C++ reference
// (norman::filter::matches, lowest priority wins), so the figures are of a
// classifier that is right.
//
// Assumptions stated with the figures: one key per cycle at the 250 MHz
// target clock (a 64 B frame per cycle is 250 Mpps); cycle counts are the
// RTL's, not a timing-closed implementation's.
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "Vfilter_classifier.h"
#include "filter_tb.hpp"

namespace {

namespace nf = norman::filter;
namespace rf = norman::regmap::filter;
using filter_tb::Tb;

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

nf::Key random_key(std::mt19937& rng, const std::vector<nf::Entry>& rules) {
  nf::Key k;
  // Half the keys aim inside a rule, so that verdicts come from all over the table.
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
  Tb<Vfilter_classifier> tb(static_cast<unsigned>(norman::regmap::kFilterEntries));
  tb.reset();
  nlohmann::json results = nlohmann::json::array();
  std::vector<nf::Entry> rules;
  std::uint64_t write_cycles = 0, writes = 0, commit_cycles = 0, commits = 0;
  for (const unsigned n : {16u, 256u, 1024u, 4096u}) {
    // Both banks get the same rules (the shadow is rewritten after a commit,
    // as normand does), so the measured bank holds exactly n rules.
    std::vector<nf::Entry> add;
    while (rules.size() + add.size() < n) add.push_back(random_entry(rng));
    for (int bank = 0; bank < 2; ++bank) {
      for (std::size_t i = 0; i < add.size(); ++i) {
        const auto w = tb.write(static_cast<unsigned>(rules.size() + i), add[i],
                                static_cast<std::uint16_t>(below(rng, 65536)));
        write_cycles += w.cycles;
        ++writes;
      }
      const std::uint64_t c = tb.cycle();
      tb.commit();
      commit_cycles += tb.cycle() - c;
      ++commits;
    }
    rules.insert(rules.end(), add.begin(), add.end());

    // Keys back to back: one offered every cycle; verdicts observed per cycle.
    std::map<std::uint16_t, std::uint64_t> sent_at;
    std::uint64_t results_seen = 0, lat_min = ~0ull, lat_max = 0;
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
      sent_at.erase(it);
    };
    for (unsigned i = 0; i < keys_per_size; ++i) {
      tb.key(random_key(rng, rules));  // sets tag_i to this key's tag
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
        {{"rules", n},
         {"keys", keys_per_size},
         {"keys_per_cycle_in", static_cast<double>(keys_per_size) / static_cast<double>(in_cycles)},
         {"verdicts_per_cycle", out_rate},
         {"verdicts", results_seen},
         {"rule_hits", tb.hits() - hits_before},
         {"latency_cycles_min", lat_min},
         {"latency_cycles_max", lat_max}});
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json out{
      {"benchmark", "filter_stage"},
      {"assumptions",
       "filter_classifier RTL (Verilator) at FILTER_ENTRIES slots; 250 MHz target clock: 1 "
       "key/cycle = 250 Mpps "
       "(one 64 B frame per cycle); no synthesis or timing closure"},
      {"slots", norman::regmap::kFilterEntries},
      {"latency_register_cycles", tb.latency()},
      {"results", results},
      {"write_cycles_per_slot",
       writes ? static_cast<double>(write_cycles) / static_cast<double>(writes) : 0},
      {"commit_cycles",
       commits ? static_cast<double>(commit_cycles) / static_cast<double>(commits) : 0},
      {"mismatches_against_reference", tb.mismatches()},
      {"checked", tb.checked()},
      {"wall_seconds", secs}};
  std::printf("%s\n", out.dump(2).c_str());
  return tb.mismatches() == 0 ? 0 : 1;
}
