// What is kept between calls, and why reusing it is exact.
//
// Per rule (by id): the rule as compiled and its match. Matches depend on
// the rule, the options and the owner ids; the options and every owner id
// answer used are compared on each call, and any difference starts over.
//
// Per built-in chain rule: its contribution (a run of program entries), with
// the p (compiler.cpp) it was computed for, the p it hands on, and what else
// it read: whether it reached the policy, which user chains it entered and,
// for jump, LOG and no-target rules, the contexts it walked the rest of the
// chain in. A contribution is reused when its rule and p are the same and
// none of what it read changed:
//   - the rest of the chain: the walk only narrows its context, so a rule
//     that matches no key of those contexts is skipped there (no entry, no
//     effect on p), exactly as if it were absent; inserting, deleting or
//     replacing such rules changes nothing;
//   - p: it only prunes the conjunctions a rule takes. A terminal rule emits
//     what it takes as it is, so under another p that prunes alike (checked
//     field by field where the two p differ) its entries are the same; only
//     the p it hands on is recomputed.
// Program entries are kept only up to the capacity (what compile() stores);
// a contribution cut short there is recomputed when it has to fit.
//
// The checks compile() makes are redone for the changed rules only when that
// is enough to find every error (ids, directions, matches); when one fails, or
// jumps changed in a way only the whole rule set shows, the checks run on the
// whole rule set, and a failing one makes the whole compile run again as
// compile() does, which throws the same error.
#include "incremental_compiler.hpp"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chain_graph.hpp"
#include "compiler_conj.hpp"
#include "compiler_walk.hpp"
#include "rule_support.hpp"

namespace norman::filter {

namespace {

using detail::Conj;
using detail::Disj;

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

// Past this many changed rules in a built-in chain, contributions that walk
// the rest of it are recomputed without checking which changes they see.
constexpr std::size_t kMaxDirty = 64;

// Owner names remembered with their answers; past this many, start over to
// forget those of deleted rules.
constexpr std::size_t kMaxOwnerNames = 4096;

// Patching the program in place stops being worth it (and the full pass
// takes over) past this many rules recomputed after the changed ones...
constexpr std::size_t kMaxPatchWalk = 16;
// ...or once patches have left this many unused dependencies and p values,
// which the full pass drops.
constexpr std::size_t kMaxGarbage = 1024;

bool jumps(const Rule& r) {
  return r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto;
}

struct RuleInfo {
  Rule rule;  // as compiled, to compare with
  detail::RuleMatch rm;
};

using CmdAnswers = std::map<std::string, std::uint16_t, std::less<>>;
using CgroupAnswers = std::map<std::string, std::vector<std::uint16_t>, std::less<>>;

// Passes questions on and remembers the answers, so that the next compile
// can ask again and see whether a kept match is still right.
class RecordingIds : public OwnerIds {
 public:
  RecordingIds(OwnerIds& ids, CmdAnswers& cmds, CgroupAnswers& cgroups)
      : ids_(ids), cmds_(cmds), cgroups_(cgroups) {}
  std::uint16_t cmd_id(std::string_view comm) override {
    const std::uint16_t id = ids_.cmd_id(comm);
    if (cmds_.find(comm) == cmds_.end()) cmds_.emplace(std::string(comm), id);
    return id;
  }
  std::vector<std::uint16_t> cgroups_under(std::string_view path) override {
    std::vector<std::uint16_t> v = ids_.cgroups_under(path);
    if (cgroups_.find(path) == cgroups_.end()) cgroups_.emplace(std::string(path), v);
    return v;
  }

 private:
  OwnerIds& ids_;
  CmdAnswers& cmds_;
  CgroupAnswers& cgroups_;
};

// One built-in chain rule's contribution.
struct Seg {
  std::uint32_t off = 0;     // its first entry in the program
  std::uint32_t stored = 0;  // how many of its entries the program holds (a prefix)
  std::uint32_t count = 0;   // how many it has
  std::uint32_t p_in = 0;    // pool index of the p it was computed for
  std::uint32_t p_out = 0;   // and of the p it hands on
  std::uint32_t deps = kNone;
  bool valid = false;  // false: not computed (the walk stopped before the rule)
  bool final = false;
  bool policy = false;
  bool tail = false;
  bool terminal = false;  // the rule's target decides
};

struct SegDeps {
  Disj contexts;                      // Seg::tail: where it walked the rest of the chain
  std::vector<std::uint32_t> chains;  // user chains it entered
};

// Old rules [a, old_end) of a chain became new rules [a, new_end); the
// others are the same rules at shifted places.
struct Window {
  std::size_t a = 0;
  std::size_t old_end = 0;
  std::size_t new_end = 0;
  [[nodiscard]] bool empty() const { return a == old_end && a == new_end; }
};

bool intersects(const Disj& contexts, const std::vector<const Disj*>& dirty, Disj& scratch) {
  for (const Conj& x : contexts) {
    for (const Disj* m : dirty) {
      for (const Conj& d : *m) {
        scratch.clear();
        detail::intersect(x, d, scratch);
        if (!scratch.empty()) return true;
      }
    }
  }
  return false;
}

// Where two values of p differ: the fields, and whether the flags do.
struct PDiff {
  std::uint32_t old_p = kNone;  // pool indices the diff is of
  std::uint32_t new_p = kNone;
  bool equal = true;
  std::uint32_t fields = 0;
  bool flags = false;
};

PDiff diff_of(const Conj& a, const Conj& b) {
  PDiff d;
  for (unsigned i = 0; i < rf::kNumFields; ++i) {
    if (!(a.range[i] == b.range[i]) || (((a.neg ^ b.neg) >> i) & 1u) != 0) d.fields |= 1u << i;
  }
  d.flags = a.flags_mask != b.flags_mask || ((a.flags_value ^ b.flags_value) & a.flags_mask) != 0;
  d.equal = d.fields == 0 && !d.flags;
  return d;
}

// Whether a rule met at the top of a chain (context c, the direction flag
// alone) takes the same conjunctions under p2 as under p1. p only prunes the
// conjunctions t = c ∧ d of the match (d for d's fields, since c constrains
// none), keeping those that meet it; they meet it alike when they meet it
// alike on every field and on the flags where p1 and p2 differ.
bool same_pruning(const Disj& m, const Conj& c, const Conj& p1, const Conj& p2, const PDiff& diff) {
  if (std::any_of(m.begin(), m.end(), [&](const Conj& d) { return detail::subset(c, d); })) {
    return true;  // the whole context is taken, whatever p
  }
  for (const Conj& d : m) {
    if (!detail::flags_meet(c, d)) continue;  // no t
    if (diff.flags && detail::flags_meet(d, p1) != detail::flags_meet(d, p2)) return false;
    for (unsigned i = 0; i < rf::kNumFields; ++i) {
      if (((diff.fields >> i) & 1u) != 0 &&
          detail::field_meets(d, p1, i) != detail::field_meets(d, p2, i)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

struct IncrementalCompiler::State {
  struct ChainState {
    std::string name;
    std::optional<Policy> policy;
    std::vector<std::uint64_t> ids;
    std::vector<RuleInfo*> info;
  };

  bool cached = false;
  CompileOptions options;
  std::vector<ChainState> chains;
  // [chain][rule], as the walker reads them (parallel to ChainState::info).
  std::vector<std::vector<const detail::RuleMatch*>> matches;
  std::unordered_map<std::uint64_t, std::unique_ptr<RuleInfo>> live;
  std::size_t cgroup_rules = 0;
  std::array<int, 2> builtin{-1, -1};
  std::array<std::vector<bool>, 2> reachable;
  CmdAnswers cmds_seen;
  CgroupAnswers cgroups_seen;

  // Contributions per built-in chain (by Direction), their dependencies and
  // the p values they refer to; each with a spare the next pass builds into.
  std::array<std::vector<Seg>, 2> segs;
  std::array<std::vector<Seg>, 2> spare_segs;
  std::vector<SegDeps> deps;
  std::vector<SegDeps> spare_deps;
  std::vector<Conj> pool;
  std::vector<Conj> spare_pool;
  Program program;
  std::vector<CompiledEntry> spare_entries;
  std::size_t needed = 0;
  // Per built-in chain: the tail segs (ascending), where its entries end in
  // the program, and the pool index of the p its walk starts with.
  std::array<std::vector<std::uint32_t>, 2> tails;
  std::array<std::size_t, 2> ends{};
  std::array<std::uint32_t, 2> top_p{};
  std::size_t garbage = 0;
  Stats stats;

  void clear() {
    cached = false;
    chains.clear();
    matches.clear();
    live.clear();
    cgroup_rules = 0;
    cmds_seen.clear();
    cgroups_seen.clear();
    for (auto& s : segs) s.clear();
    deps.clear();
    pool.clear();
    program.entries.clear();
    needed = 0;
    for (auto& t : tails) t.clear();
    ends = {};
    top_p = {};
    garbage = 0;
  }

  void adopt(std::uint64_t id, std::unique_ptr<RuleInfo> info) {
    if (info->rule.cgroup) ++cgroup_rules;
    live.emplace(id, std::move(info));
  }

  // Same options and the same chains, but for user chains added at the end
  // (-N), which leave the chain indices kept here valid.
  [[nodiscard]] bool same_shape(const Ruleset& rules, const CompileOptions& o) const {
    if (o.capacity != options.capacity || o.ports != options.ports) return false;
    if (rules.chains.size() < chains.size()) return false;
    for (std::size_t c = 0; c < chains.size(); ++c) {
      if (rules.chains[c].name != chains[c].name ||
          rules.chains[c].builtin() != chains[c].policy.has_value()) {
        return false;
      }
    }
    for (std::size_t c = chains.size(); c < rules.chains.size(); ++c) {
      const Chain& chain = rules.chains[c];
      if (chain.builtin() || chain.name == "INPUT" || chain.name == "OUTPUT") return false;
    }
    return true;
  }

  [[nodiscard]] bool owners_changed(OwnerIds& ids) const {
    if (cmds_seen.size() + cgroups_seen.size() > kMaxOwnerNames) return true;
    for (const auto& [name, id] : cmds_seen) {
      if (ids.cmd_id(name) != id) return true;
    }
    for (const auto& [path, v] : cgroups_seen) {
      if (ids.cgroups_under(path) != v) return true;
    }
    return false;
  }

  const Program& rebuild(const Ruleset& rules, OwnerIds& ids, const CompileOptions& o) {
    clear();
    stats = {};
    stats.full = true;
    options = o;
    // compile()'s order: chain graph, ids, directions, matches.
    const detail::ChainGraph graph = detail::build_chain_graph(rules);
    detail::check_ids(rules);
    detail::check_directions(rules, graph);
    builtin = graph.builtin;
    reachable = graph.reachable;
    RecordingIds rec(ids, cmds_seen, cgroups_seen);
    const std::size_t n = rules.chains.size();
    chains.resize(n);
    matches.resize(n);
    std::size_t total_rules = 0;
    for (const Chain& chain : rules.chains) total_rules += chain.rules.size();
    live.reserve(total_rules);
    for (std::size_t c = 0; c < n; ++c) {
      const Chain& chain = rules.chains[c];
      ChainState& cs = chains[c];
      cs.name = chain.name;
      cs.policy = chain.policy;
      cs.ids.reserve(chain.rules.size());
      cs.info.reserve(chain.rules.size());
      matches[c].reserve(chain.rules.size());
      for (std::size_t i = 0; i < chain.rules.size(); ++i) {
        auto info = std::make_unique<RuleInfo>();
        info->rule = chain.rules[i];
        info->rm = detail::rule_match(chain, i, rec, options);
        info->rm.target = graph.target[c][i];
        cs.ids.push_back(chain.rules[i].id);
        cs.info.push_back(info.get());
        matches[c].push_back(&info->rm);
        adopt(chain.rules[i].id, std::move(info));
      }
    }
    stats.rules_matched = total_rules;
    cached = true;
    std::vector<Window> win(n);
    for (int b : builtin) {
      const auto c = static_cast<std::size_t>(b);
      win[c] = Window{0, 0, rules.chains[c].rules.size()};
    }
    pass(rules, win, {}, {}, std::vector<char>(n, 0));
    return program;
  }

  // The changed part of chain c, by ids (and by content unless the ids are
  // to be trusted).
  Window window(std::size_t c, const Chain& chain, Assume assume) const {
    const std::vector<std::uint64_t>& ids = chains[c].ids;
    const std::vector<Rule>& rules = chain.rules;
    const std::size_t n_old = ids.size();
    const std::size_t n_new = rules.size();
    std::size_t a = 0;
    while (a < n_old && a < n_new && rules[a].id == ids[a]) ++a;
    std::size_t e = 0;
    while (e < n_old - a && e < n_new - a && rules[n_new - 1 - e].id == ids[n_old - 1 - e]) ++e;
    Window w{a, n_old - e, n_new - e};
    if (assume == Assume::kNothing) {
      const std::vector<RuleInfo*>& info = chains[c].info;
      for (std::size_t i = 0; i < w.a; ++i) {
        if (!rules[i].same_spec(info[i]->rule)) {
          w.a = i;
          break;
        }
      }
      for (std::size_t i = n_new; i > w.new_end; --i) {
        const std::size_t k = i - 1;
        if (!rules[k].same_spec(info[k - w.new_end + w.old_end]->rule)) {
          w.old_end += i - w.new_end;
          w.new_end = i;
          break;
        }
      }
    }
    return w;
  }

  const Program& update(const Ruleset& rules, OwnerIds& ids, Assume assume) {
    stats = {};
    // New user chains: empty here, and reached by no rule kept (every kept
    // rule's target existed), so by none but the new rules below.
    for (std::size_t c = chains.size(); c < rules.chains.size(); ++c) {
      chains.push_back(ChainState{rules.chains[c].name, std::nullopt, {}, {}});
      matches.emplace_back();
      for (auto& reach : reachable) reach.push_back(false);
    }
    const std::size_t n = chains.size();
    std::vector<Window> win(n);
    bool any = false;
    for (std::size_t c = 0; c < n; ++c) {
      win[c] = window(c, rules.chains[c], assume);
      any = any || !win[c].empty() || rules.chains[c].policy != chains[c].policy;
    }
    if (!any) {
      if (needed > options.capacity) throw CapacityError(needed, options.capacity);
      return program;
    }

    // What changed in each built-in chain, for the contributions that walk
    // the rest of it: the match of every rule that left or arrived.
    std::array<std::vector<const Disj*>, 2> dirty;

    // Ids (compile()'s second check): the rules that left free their ids.
    std::unordered_map<std::uint64_t, std::unique_ptr<RuleInfo>> retired;
    bool edges = false;
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t i = win[c].a; i < win[c].old_end; ++i) {
        RuleInfo* info = chains[c].info[i];
        edges = edges || jumps(info->rule);
        for (unsigned d = 0; d < 2; ++d) {
          if (c == base_of(d)) dirty[d].push_back(&info->rm.match);
        }
        auto node = live.extract(chains[c].ids[i]);
        if (node.mapped()->rule.cgroup) --cgroup_rules;
        retired.insert(std::move(node));
      }
    }
    struct Fresh {
      std::size_t chain;
      std::size_t index;
      RuleInfo* info;
    };
    std::vector<Fresh> fresh;
    std::vector<std::vector<RuleInfo*>> arrived(n);
    for (std::size_t c = 0; c < n; ++c) {
      const Chain& chain = rules.chains[c];
      for (std::size_t i = win[c].a; i < win[c].new_end; ++i) {
        const Rule& r = chain.rules[i];
        if (r.id == 0 || live.contains(r.id)) return rebuild(rules, ids, options);
        std::unique_ptr<RuleInfo> info;
        if (auto it = retired.find(r.id); it != retired.end() && (assume == Assume::kStableIds ||
                                                                  r.same_spec(it->second->rule))) {
          info = std::move(it->second);
          retired.erase(it);
        } else {
          info = std::make_unique<RuleInfo>();
          info->rule = r;
          fresh.push_back(Fresh{c, i, info.get()});
        }
        edges = edges || jumps(r);
        arrived[c].push_back(info.get());
        adopt(r.id, std::move(info));
      }
    }

    // Jumps (the first check) and directions (the third): new jumps can
    // make loops or make chains reachable from elsewhere, which only the
    // whole rule set shows.
    if (edges) {
      detail::ChainGraph graph;
      try {
        graph = detail::build_chain_graph(rules);
        detail::check_directions(rules, graph);
      } catch (const CompileError&) {
        return rebuild(rules, ids, options);
      }
      reachable = graph.reachable;
      for (const Fresh& f : fresh) f.info->rm.target = graph.target[f.chain][f.index];
    } else {
      // Every rule that arrived, kept ones too: they may come from another chain.
      for (std::size_t c = 0; c < n; ++c) {
        for (const RuleInfo* info : arrived[c]) {
          const Rule& r = info->rule;
          if ((r.in && reachable[static_cast<unsigned>(Direction::kOutput)][c]) ||
              (r.out && reachable[static_cast<unsigned>(Direction::kInput)][c])) {
            return rebuild(rules, ids, options);
          }
        }
      }
    }

    // Matches (the fourth), in rule set order as compile() computes them.
    RecordingIds rec(ids, cmds_seen, cgroups_seen);
    for (const Fresh& f : fresh) {
      const int target = f.info->rm.target;
      try {
        f.info->rm = detail::rule_match(rules.chains[f.chain], f.index, rec, options);
      } catch (const CompileError&) {
        return rebuild(rules, ids, options);
      }
      f.info->rm.target = target;
      ++stats.rules_matched;
    }

    std::vector<char> changed(n, 0);
    std::array<bool, 2> policy_changed{};
    for (std::size_t c = 0; c < n; ++c) {
      ChainState& cs = chains[c];
      const Chain& chain = rules.chains[c];
      for (unsigned d = 0; d < 2; ++d) {
        if (c == base_of(d)) policy_changed[d] = cs.policy != chain.policy;
      }
      cs.policy = chain.policy;
      const Window& w = win[c];
      if (w.empty()) continue;
      if (!cs.policy) changed[c] = 1;
      const auto a = static_cast<std::ptrdiff_t>(w.a);
      const auto old_end = static_cast<std::ptrdiff_t>(w.old_end);
      cs.ids.erase(cs.ids.begin() + a, cs.ids.begin() + old_end);
      cs.info.erase(cs.info.begin() + a, cs.info.begin() + old_end);
      matches[c].erase(matches[c].begin() + a, matches[c].begin() + old_end);
      std::vector<std::uint64_t> new_ids;
      std::vector<const detail::RuleMatch*> new_matches;
      for (std::size_t i = w.a; i < w.new_end; ++i) new_ids.push_back(chain.rules[i].id);
      for (RuleInfo* info : arrived[c]) new_matches.push_back(&info->rm);
      cs.ids.insert(cs.ids.begin() + a, new_ids.begin(), new_ids.end());
      cs.info.insert(cs.info.begin() + a, arrived[c].begin(), arrived[c].end());
      matches[c].insert(matches[c].begin() + a, new_matches.begin(), new_matches.end());
      for (unsigned d = 0; d < 2; ++d) {
        if (c == base_of(d)) {
          for (const detail::RuleMatch* m : new_matches) dirty[d].push_back(&m->match);
        }
      }
    }
    if (!patch(rules, win, dirty, policy_changed, changed)) {
      pass(rules, win, dirty, policy_changed, changed);
    }
    return program;
  }

  // The common edit: rules changed in one built-in chain, and nothing else
  // to recompute but them and maybe a few rules after them, until the walk
  // gets back to the p it had there. The program is then patched in place
  // where that chain's entries changed rather than rebuilt. False, having
  // changed nothing pass() relies on, for other edits.
  bool patch(const Ruleset& rules, const std::vector<Window>& win,
             const std::array<std::vector<const Disj*>, 2>& dirty,
             const std::array<bool, 2>& policy_changed, const std::vector<char>& changed) {
    const std::size_t cap = options.capacity;
    if (needed > cap || garbage > kMaxGarbage || policy_changed[0] || policy_changed[1] ||
        std::any_of(changed.begin(), changed.end(), [](char c) { return c != 0; })) {
      return false;
    }
    const bool input = !win[base_of(0)].empty();
    if (input == !win[base_of(1)].empty()) return false;
    const unsigned d = input ? 0 : 1;
    const auto dir = static_cast<Direction>(d);
    const Window& w = win[base_of(d)];
    const std::vector<Seg>& olds = segs[d];
    const std::size_t n_old = olds.size();
    const std::size_t n_new = rules.chains[base_of(d)].rules.size();
    // A changed rule whose miss narrows p changes the p of every rule after
    // it: pass() reuses those for another p, which patching does not.
    for (const Disj* m : dirty[d]) {
      if (m->size() == 1 && detail::complement(m->front())) return false;
    }
    Disj scratch;
    for (std::uint32_t t : tails[d]) {
      if (t >= w.a) break;
      if (dirty[d].size() > kMaxDirty || intersects(deps[olds[t].deps].contexts, dirty[d], scratch))
        return false;
    }

    // The walk's state where the change starts, and the old entries from
    // there on: [first, last) once `last` is known.
    const auto ended = [](const Seg& s) { return !s.valid || s.final; };
    bool dead = w.a > 0 && ended(olds[w.a - 1]);
    std::uint32_t cur = w.a == 0 ? top_p[d] : olds[w.a - 1].p_out;
    const bool old_policy = n_old == 0 || !ended(olds.back());
    const std::size_t first = w.a < n_old ? olds[w.a].off : ends[d] - (old_policy ? 1 : 0);

    std::vector<CompiledEntry>& side = spare_entries;
    side.clear();
    std::vector<Seg> fresh;
    std::vector<SegDeps> fresh_deps;
    detail::Walker walker(rules, matches, builtin, options);
    detail::Walker::TopRule top;
    std::size_t walked = 0;
    std::size_t after = 0;     // rules recomputed after the changed ones
    std::size_t conv = n_old;  // old seg from which all is as before
    std::size_t j = w.a;
    for (; j < n_new; ++j) {
      if (j >= w.new_end) {
        const std::size_t oi = j - w.new_end + w.old_end;
        const Seg& o = olds[oi];
        if (dead ? !o.valid : o.valid && (o.p_in == cur || pool[o.p_in] == pool[cur])) {
          conv = oi;
          break;
        }
        if (!dead && ++after > kMaxPatchWalk) return false;
      }
      Seg& s = fresh.emplace_back();
      s.off = static_cast<std::uint32_t>(first + side.size());
      if (dead) continue;
      ++walked;
      s.valid = true;
      s.p_in = cur;
      walker.output(side, first + side.size(), cap);
      walker.top_rule(dir, static_cast<std::uint32_t>(j), pool[cur], top);
      if (walker.needed() != first + side.size()) return false;  // past the capacity
      s.count = static_cast<std::uint32_t>(side.size() - (s.off - first));
      s.stored = s.count;
      s.final = top.final;
      s.policy = top.policy;
      s.tail = top.tail;
      s.terminal = detail::terminal(rules.chains[base_of(d)].rules[j].target.kind);
      if (top.tail || !top.chains.empty()) {
        s.deps = static_cast<std::uint32_t>(deps.size() + fresh_deps.size());
        fresh_deps.push_back(SegDeps{std::move(top.contexts), std::move(top.chains)});
      }
      if (!top.final && !(top.p == pool[cur])) {
        pool.push_back(top.p);  // unused by pass() if this patch is dropped
        cur = static_cast<std::uint32_t>(pool.size() - 1);
        ++garbage;
      }
      s.p_out = cur;
      dead = s.final;
    }
    std::size_t last = ends[d];  // through the old policy entry
    if (j < n_new) {
      last = olds[conv].off;
    } else if (!dead) {
      walker.output(side, first + side.size(), cap);
      walker.top_policy(dir);
      if (walker.needed() != first + side.size()) return false;
    }
    const std::size_t total = needed - (last - first) + side.size();
    if (total > cap || total > detail::kCountLimit) return false;

    // Entries [first, last) become `side`; the segs of the rules walked
    // replace the old ones; everything after moves by the difference.
    const auto delta =
        static_cast<std::ptrdiff_t>(side.size()) - static_cast<std::ptrdiff_t>(last - first);
    std::vector<CompiledEntry>& e = program.entries;
    const auto at = [&e](std::size_t i) { return e.begin() + static_cast<std::ptrdiff_t>(i); };
    if (delta > 0) {
      e.insert(at(last), static_cast<std::size_t>(delta), CompiledEntry{});
    } else {
      e.erase(at(last) + delta, at(last));
    }
    std::move(side.begin(), side.end(), at(first));
    side.clear();
    const auto moved = [delta](std::size_t off) {
      return static_cast<std::size_t>(static_cast<std::ptrdiff_t>(off) + delta);
    };
    std::vector<Seg>& sv = segs[d];
    for (std::size_t k = w.a; k < conv; ++k) {
      if (sv[k].deps != kNone) ++garbage;
    }
    sv.erase(sv.begin() + static_cast<std::ptrdiff_t>(w.a),
             sv.begin() + static_cast<std::ptrdiff_t>(conv));
    sv.insert(sv.begin() + static_cast<std::ptrdiff_t>(w.a), fresh.begin(), fresh.end());
    const std::size_t next = w.a + fresh.size();
    for (std::size_t k = next; k < sv.size(); ++k)
      sv[k].off = static_cast<std::uint32_t>(moved(sv[k].off));
    if (d == 0) {
      for (Seg& x : segs[1]) x.off = static_cast<std::uint32_t>(moved(x.off));
      ends[1] = moved(ends[1]);
    }
    ends[d] = moved(ends[d]);
    for (SegDeps& x : fresh_deps) deps.push_back(std::move(x));
    std::vector<std::uint32_t> kept;
    for (std::uint32_t t : tails[d]) {
      if (t < w.a) kept.push_back(t);
    }
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      if (fresh[k].tail) kept.push_back(static_cast<std::uint32_t>(w.a + k));
    }
    for (std::uint32_t t : tails[d]) {
      if (t >= conv) kept.push_back(static_cast<std::uint32_t>(t - conv + next));
    }
    tails[d] = std::move(kept);
    needed = total;
    stats.rules_walked += walked;
    stats.patched = true;
    return true;
  }

  // Rebuilds the program from the built-in chains' contributions: kept ones
  // are moved over from the previous program, the others computed.
  void pass(const Ruleset& rules, const std::vector<Window>& win,
            const std::array<std::vector<const Disj*>, 2>& dirty,
            const std::array<bool, 2>& policy_changed, const std::vector<char>& changed) {
    std::vector<CompiledEntry>& old = program.entries;
    std::vector<CompiledEntry>& out = spare_entries;
    out.clear();  // empty unless the last pass stopped on an error
    const std::size_t cap = options.capacity;
    if (out.capacity() < old.size() + 16)
      out.reserve(std::min(cap, old.size() + old.size() / 4 + 16));
    spare_deps.clear();
    spare_pool.clear();
    std::vector<std::uint32_t> remap(pool.size(), kNone);
    const auto intern_old = [&](std::uint32_t i) {
      if (remap[i] == kNone) {
        remap[i] = static_cast<std::uint32_t>(spare_pool.size());
        spare_pool.push_back(pool[i]);
      }
      return remap[i];
    };
    const auto touches_changed = [&](const std::vector<std::uint32_t>& used) {
      return std::any_of(used.begin(), used.end(),
                         [&](std::uint32_t c) { return changed[c] != 0; });
    };
    detail::Walker walker(rules, matches, builtin, options);
    detail::Walker::TopRule top;
    const std::array<Conj, 2> top_of{detail::Walker::top(Direction::kInput),
                                     detail::Walker::top(Direction::kOutput)};
    PDiff diff;
    Disj scratch;
    std::size_t total = 0;
    for (Direction dir : {Direction::kInput, Direction::kOutput}) {
      const auto d = static_cast<unsigned>(dir);
      const std::size_t b = base_of(d);
      const Window& w = win[b];
      const std::size_t n = rules.chains[b].rules.size();
      const std::vector<Seg>& olds = segs[d];
      std::vector<Seg>& news = spare_segs[d];
      news.clear();
      news.reserve(n);
      spare_pool.push_back(top_of[d]);
      auto cur_new = static_cast<std::uint32_t>(spare_pool.size() - 1);
      top_p[d] = cur_new;
      tails[d].clear();
      std::uint32_t cur_old = kNone;
      bool dead = false;
      for (std::size_t j = 0; j < n; ++j) {
        Seg& s = news.emplace_back();
        if (dead) {
          s.off = static_cast<std::uint32_t>(out.size());
          continue;
        }
        const Seg* o = nullptr;
        if (j < w.a) {
          o = &olds[j];
        } else if (j >= w.new_end) {
          o = &olds[j - w.new_end + w.old_end];
        }
        bool reuse = o != nullptr && o->valid && !(policy_changed[d] && o->policy) &&
                     (o->stored == o->count || total + o->count > cap);
        if (reuse && o->deps != kNone) {
          const SegDeps& dep = deps[o->deps];
          reuse = !touches_changed(dep.chains) &&
                  !(o->tail && j < w.a &&
                    (dirty[d].size() > kMaxDirty || intersects(dep.contexts, dirty[d], scratch)));
        }
        // Computed for another p: still right for a rule that takes the
        // same conjunctions and emits them as they are (terminal), or none.
        bool other_p = false;
        if (reuse && cur_old != o->p_in) {
          if (diff.old_p != o->p_in || diff.new_p != cur_new) {
            diff = diff_of(pool[o->p_in], spare_pool[cur_new]);
            diff.old_p = o->p_in;
            diff.new_p = cur_new;
          }
          if (diff.equal) {
            cur_old = o->p_in;
          } else {
            other_p = (o->count == 0 || o->terminal) &&
                      same_pruning(matches[b][j]->match, top_of[d], pool[o->p_in],
                                   spare_pool[cur_new], diff);
            reuse = other_p;
          }
        }
        if (reuse) {
          s = *o;
          s.off = static_cast<std::uint32_t>(out.size());
          const std::size_t room = total < cap ? cap - total : 0;
          const std::size_t keep = std::min<std::size_t>(o->stored, room);
          const auto first = old.begin() + static_cast<std::ptrdiff_t>(o->off);
          std::move(first, first + static_cast<std::ptrdiff_t>(keep), std::back_inserter(out));
          s.stored = static_cast<std::uint32_t>(keep);
          s.p_in = cur_new;
          if (other_p) {
            // What the rule's step does after its entries (compiler.cpp);
            // a rule that took nothing leaves p as it was.
            const detail::RuleMatch& rm = *matches[b][j];
            s.final = false;
            if (o->count > 0 && detail::implies(spare_pool[cur_new], rm.match)) {
              s.final = true;
            } else if (o->count > 0 && rm.miss) {
              Conj p = spare_pool[cur_new];
              s.final = !detail::missed(rm, p, scratch);
              if (!s.final && !(p == spare_pool[cur_new])) {
                spare_pool.push_back(p);
                cur_new = static_cast<std::uint32_t>(spare_pool.size() - 1);
              }
            }
            cur_old = kNone;
          } else if (o->p_out != o->p_in) {
            cur_old = o->p_out;
            cur_new = intern_old(o->p_out);
          }
          s.p_out = cur_new;
          if (o->deps != kNone) {
            spare_deps.push_back(std::move(deps[o->deps]));
            s.deps = static_cast<std::uint32_t>(spare_deps.size() - 1);
          }
          total += s.count;
          if (total > detail::kCountLimit) throw detail::count_limit_error(options);
        } else {
          ++stats.rules_walked;
          s.valid = true;
          s.off = static_cast<std::uint32_t>(out.size());
          s.p_in = cur_new;
          walker.output(out, total, cap);
          walker.top_rule(dir, static_cast<std::uint32_t>(j), spare_pool[cur_new], top);
          s.count = static_cast<std::uint32_t>(walker.needed() - total);
          s.stored = static_cast<std::uint32_t>(out.size() - s.off);
          total = walker.needed();
          s.final = top.final;
          s.policy = top.policy;
          s.tail = top.tail;
          s.terminal = detail::terminal(rules.chains[b].rules[j].target.kind);
          if (top.tail || !top.chains.empty()) {
            spare_deps.push_back(SegDeps{std::move(top.contexts), std::move(top.chains)});
            s.deps = static_cast<std::uint32_t>(spare_deps.size() - 1);
          }
          if (!top.final && !(top.p == spare_pool[cur_new])) {
            spare_pool.push_back(top.p);
            cur_new = static_cast<std::uint32_t>(spare_pool.size() - 1);
            cur_old = kNone;
          }
          s.p_out = cur_new;
        }
        if (s.tail) tails[d].push_back(static_cast<std::uint32_t>(j));
        dead = s.final;
      }
      if (!dead) {
        walker.output(out, total, cap);
        walker.top_policy(dir);
        total = walker.needed();
      }
      ends[d] = out.size();
    }
    garbage = 0;
    std::swap(program.entries, spare_entries);
    std::swap(segs, spare_segs);
    std::swap(deps, spare_deps);
    std::swap(pool, spare_pool);
    // The old program, moved from: cheaper to drop now, while it is in cache.
    spare_entries.clear();
    needed = total;
    if (total > cap) throw CapacityError(total, cap);
  }

  [[nodiscard]] std::size_t base_of(unsigned d) const {
    return static_cast<std::size_t>(builtin[d]);
  }
};

IncrementalCompiler::IncrementalCompiler() : state_(std::make_unique<State>()) {}

IncrementalCompiler::~IncrementalCompiler() = default;

const Program& IncrementalCompiler::compile(const Ruleset& rules, OwnerIds& ids,
                                            const CompileOptions& options, Assume assume) {
  State& s = *state_;
  try {
    if (!s.cached || !s.same_shape(rules, options) || s.owners_changed(ids)) {
      return s.rebuild(rules, ids, options);
    }
    return s.update(rules, ids, assume);
  } catch (const CapacityError&) {
    // Thrown once the program is complete: what is kept describes `rules`.
    throw;
  } catch (...) {
    s.clear();
    throw;
  }
}

void IncrementalCompiler::reset() { state_ = std::make_unique<State>(); }

bool IncrementalCompiler::uses_cgroups() const { return state_->cgroup_rules > 0; }

const IncrementalCompiler::Stats& IncrementalCompiler::stats() const { return state_->stats; }

}  // namespace norman::filter
