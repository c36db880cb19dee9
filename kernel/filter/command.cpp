// Editing semantics of iptables' commands on the filter table. Every edit is
// made on a copy that replaces the table only when the whole command
// succeeded, which is what makes "nothing changes when it throws" hold
// without per-operation rollback code.
#include "command.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <map>
#include <set>
#include <string_view>
#include <vector>

namespace norman::filter {

CommandError::CommandError(int errno_value_in, const std::string& message)
    : std::runtime_error(message), errno_value(errno_value_in) {}

bool Command::changes_rules() const {
  switch (op) {
    case Op::kCheck:
    case Op::kListRules:
      return false;
    case Op::kList:
      return zero;
    default:
      return true;
  }
}

namespace {

// Targets iptables knows; a user chain with one of these names could never
// be jumped to unambiguously.
constexpr std::array<std::string_view, 9> kReservedNames{
    "ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "QUEUE", "NFQUEUE", "CONTINUE", "MARK"};

[[noreturn]] void fail(int e, const std::string& msg) { throw CommandError(e, msg); }

void check_new_chain_name(const std::string& name) {
  if (name.empty()) fail(EINVAL, "Invalid chain name `'");
  if (name.size() > 28) fail(EINVAL, "chain name `" + name + "' too long (must be under 29 chars)");
  if (name[0] == '-') fail(EINVAL, "chain name not allowed to start with `-'");
  if (name[0] == '!') fail(EINVAL, "chain name not allowed to start with `!'");
  if (std::find(kReservedNames.begin(), kReservedNames.end(), name) != kReservedNames.end()) {
    fail(EINVAL, "chain name may not clash with target name");
  }
  if (unsaveable_text(name, true)) fail(EINVAL, "Invalid chain name `" + name + "'");
}

Chain& rule_chain(Ruleset& rs, const std::string& name) {
  Chain* c = rs.find(name);
  if (c == nullptr) fail(ENOENT, "Chain '" + name + "' does not exist");
  return *c;
}

Chain& existing_chain(Ruleset& rs, const std::string& name) {
  Chain* c = rs.find(name);
  if (c == nullptr) fail(ENOENT, "No chain/target/match by that name");
  return *c;
}

void check_rule(const Ruleset& rs, const Chain& chain, const Rule& r) {
  if (r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto) {
    const Chain* t = rs.find(r.target.chain);
    if (t == nullptr) fail(ENOENT, "Couldn't load target `" + r.target.chain + "'");
    if (t->builtin()) fail(EINVAL, "Can't jump to built-in chain `" + r.target.chain + "'");
  }
  // iptables refuses these for the built-in chains where the interface can
  // never be known; in user chains it depends on the caller.
  if (chain.name == "INPUT" && r.out) fail(EINVAL, "Can't use -o with INPUT");
  if (chain.name == "OUTPUT" && r.in) fail(EINVAL, "Can't use -i with OUTPUT");
}

Rule& rule_at(Chain& c, std::uint32_t n, const char* what) {
  if (n == 0 || n > c.rules.size()) fail(E2BIG, std::string("Index of ") + what + " too big");
  return c.rules[n - 1];
}

// Jumps must form no cycle: the kernel refuses loops (ELOOP), and the NIC's
// compiler inlines chains, which a cycle would make infinite. A new edge
// from -> to closes a cycle exactly when `from` is reachable from `to`.
void check_no_loop(const Ruleset& rs, const std::string& from, const Rule& r) {
  if (r.target.kind != TargetKind::kJump && r.target.kind != TargetKind::kGoto) return;
  // Breadth-first from the new target, remembering how each chain was
  // reached, so that the error names the whole loop (iptables says only
  // ELOOP, which leaves the administrator to find it in a large table).
  std::map<std::string_view, std::string_view> came_from;  // chain -> chain that jumps to it
  std::deque<std::string_view> todo{r.target.chain};
  came_from.emplace(r.target.chain, from);
  while (!todo.empty()) {
    const std::string_view name = todo.front();
    todo.pop_front();
    if (name == from) {
      std::vector<std::string_view> path;
      for (std::string_view c = came_from.at(from); c != from; c = came_from.at(c))
        path.push_back(c);
      std::string loop(from);
      for (auto it = path.rbegin(); it != path.rend(); ++it) loop += " -> " + std::string(*it);
      loop += " -> " + from;
      fail(ELOOP, "Too many levels of symbolic links: the jump would make the loop " + loop);
    }
    const Chain* c = rs.find(name);
    if (c == nullptr) continue;
    for (const auto& x : c->rules) {
      if (x.target.kind != TargetKind::kJump && x.target.kind != TargetKind::kGoto) continue;
      if (came_from.emplace(x.target.chain, name).second) todo.push_back(x.target.chain);
    }
  }
}

void zero_chain(Chain& c) {
  for (auto& r : c.rules) r.counters = {};
  c.policy_counters = {};
}

Rule new_rule(const Command& cmd, const std::function<std::uint64_t()>& next_id) {
  if (!cmd.rule) fail(EINVAL, "no rule given");
  Rule r = *cmd.rule;
  r.id = next_id();
  return r;
}

}  // namespace

bool apply(Ruleset& rules, const Command& cmd, const std::function<std::uint64_t()>& next_id) {
  using Op = Command::Op;
  if (!cmd.expanded.empty()) {
    // One command per address, on a copy, so that the whole list applies
    // or nothing does (iptables-nft sends them in one transaction).
    if (cmd.op == Op::kReplace) fail(EINVAL, "Replacement rule does not specify a unique address");
    Ruleset rs = rules;
    bool all = true;
    for (const Rule& r : cmd.expanded) {
      Command one = cmd;
      one.expanded.clear();
      one.rule = r;
      all = apply(rs, one, next_id) && all;
    }
    if (cmd.op != Op::kCheck) rules = std::move(rs);
    return all;
  }
  // Commands on one rule or one policy validate everything before touching
  // the table, so they edit in place (restore files append thousands of
  // rules, normand applies each command to a table of thousands); the other
  // commands edit a copy.
  switch (cmd.op) {
    case Op::kAppend: {
      Chain& c = rule_chain(rules, cmd.chain);
      Rule r = new_rule(cmd, next_id);
      check_rule(rules, c, r);
      check_no_loop(rules, c.name, r);
      c.rules.push_back(std::move(r));
      return true;
    }
    case Op::kInsert: {
      Chain& c = rule_chain(rules, cmd.chain);
      const std::uint32_t n = cmd.rulenum.value_or(1);
      if (n == 0) fail(EINVAL, "Invalid rule number `0'");
      if (n > c.rules.size() + 1) fail(E2BIG, "Index of insertion too big");
      Rule r = new_rule(cmd, next_id);
      check_rule(rules, c, r);
      check_no_loop(rules, c.name, r);
      c.rules.insert(c.rules.begin() + (n - 1), std::move(r));
      return true;
    }
    case Op::kReplace: {
      Chain& c = rule_chain(rules, cmd.chain);
      if (!cmd.rulenum) fail(EINVAL, "-R needs a rule number");
      rule_at(c, *cmd.rulenum, "replacement");
      Rule r = new_rule(cmd, next_id);
      check_rule(rules, c, r);
      check_no_loop(rules, c.name, r);
      c.rules[*cmd.rulenum - 1] = std::move(r);
      return true;
    }
    case Op::kDelete: {
      Chain& c = rule_chain(rules, cmd.chain);
      if (cmd.rulenum) {
        rule_at(c, *cmd.rulenum, "deletion");
        c.rules.erase(c.rules.begin() + (*cmd.rulenum - 1));
      } else {
        if (!cmd.rule) fail(EINVAL, "-D needs a rule number or a rule");
        auto it = std::find_if(c.rules.begin(), c.rules.end(),
                               [&](const Rule& r) { return r.same_spec(*cmd.rule); });
        if (it == c.rules.end())
          fail(ENOENT, "Bad rule (does a matching rule exist in that chain?)");
        c.rules.erase(it);
      }
      return true;
    }
    case Op::kCheck: {
      Chain& c = rule_chain(rules, cmd.chain);
      if (!cmd.rule) fail(EINVAL, "-C needs a rule");
      return std::any_of(c.rules.begin(), c.rules.end(),
                         [&](const Rule& r) { return r.same_spec(*cmd.rule); });
    }
    case Op::kPolicy: {
      Chain* c = rules.find(cmd.chain);
      if (c == nullptr || !c->builtin()) fail(ENOENT, "Bad built-in chain name");
      c->policy = cmd.policy;
      return true;
    }
    default:
      break;
  }
  Ruleset rs = rules;
  switch (cmd.op) {
    case Op::kAppend:
    case Op::kInsert:
    case Op::kReplace:
    case Op::kDelete:
    case Op::kCheck:
    case Op::kPolicy:
      break;
    case Op::kList:
    case Op::kListRules: {
      if (!cmd.chain.empty() && rs.find(cmd.chain) == nullptr) {
        fail(ENOENT, "No chain/target/match by that name");
      }
      if (cmd.op == Op::kListRules || !cmd.zero) return true;
      if (cmd.chain.empty()) {
        for (auto& c : rs.chains) zero_chain(c);
        zero_chain(rs.forward);
      } else {
        zero_chain(*rs.find(cmd.chain));
      }
      break;
    }
    case Op::kFlush: {
      if (cmd.chain.empty()) {
        for (auto& c : rs.chains) c.rules.clear();
        rs.forward.rules.clear();
      } else {
        existing_chain(rs, cmd.chain).rules.clear();
      }
      break;
    }
    case Op::kZero: {
      if (cmd.chain.empty()) {
        if (cmd.rulenum) fail(EINVAL, "-Z with a rule number needs a chain");
        for (auto& c : rs.chains) zero_chain(c);
        zero_chain(rs.forward);
      } else {
        Chain& c = existing_chain(rs, cmd.chain);
        if (cmd.rulenum) {
          rule_at(c, *cmd.rulenum, "counter").counters = {};
        } else {
          zero_chain(c);
        }
      }
      break;
    }
    case Op::kNewChain: {
      if (rs.find(cmd.chain) != nullptr)
        fail(EEXIST, "Chain already exists");
      check_new_chain_name(cmd.chain);
      rs.chains.push_back(Chain{cmd.chain, std::nullopt, {}, {}});
      break;
    }
    case Op::kDeleteChain: {
      if (cmd.chain.empty()) {
        std::erase_if(rs.chains, [&](const Chain& c) {
          return !c.builtin() && c.rules.empty() && rs.references(c.name) == 0;
        });
        break;
      }
      Chain& c = existing_chain(rs, cmd.chain);
      if (c.builtin()) fail(EINVAL, "Can't delete built-in chain");
      if (rs.references(c.name) > 0) fail(EMLINK, "Too many links");
      if (!c.rules.empty()) fail(ENOTEMPTY, "Directory not empty");
      std::erase_if(rs.chains, [&](const Chain& x) { return x.name == cmd.chain; });
      break;
    }
    case Op::kRenameChain: {
      Chain& c = existing_chain(rs, cmd.chain);
      if (c.builtin()) fail(EINVAL, "Can't rename built-in chain");
      if (rs.find(cmd.new_name) != nullptr) fail(EEXIST, "File exists");
      check_new_chain_name(cmd.new_name);
      const std::string old = c.name;
      c.name = cmd.new_name;
      auto rename_in = [&](Chain& ch) {
        for (auto& r : ch.rules) {
          if ((r.target.kind == TargetKind::kJump || r.target.kind == TargetKind::kGoto) &&
              r.target.chain == old) {
            r.target.chain = cmd.new_name;
          }
        }
      };
      for (auto& ch : rs.chains) rename_in(ch);
      rename_in(rs.forward);
      break;
    }
  }
  rules = std::move(rs);
  return true;
}

namespace {

using nlohmann::json;

constexpr std::pair<Command::Op, const char*> kOpNames[] = {
    {Command::Op::kAppend, "append"},
    {Command::Op::kInsert, "insert"},
    {Command::Op::kDelete, "delete"},
    {Command::Op::kReplace, "replace"},
    {Command::Op::kCheck, "check"},
    {Command::Op::kList, "list"},
    {Command::Op::kListRules, "list-rules"},
    {Command::Op::kFlush, "flush"},
    {Command::Op::kZero, "zero"},
    {Command::Op::kNewChain, "new-chain"},
    {Command::Op::kDeleteChain, "delete-chain"},
    {Command::Op::kRenameChain, "rename-chain"},
    {Command::Op::kPolicy, "policy"},
};

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("bad command JSON: " + what);
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) bad(std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string()) bad(std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

void to_json(json& j, const Command& c) {
  const char* op = nullptr;
  for (const auto& [o, n] : kOpNames) {
    if (o == c.op) op = n;
  }
  j = json{{"op", op}, {"chain", c.chain}};
  if (c.rulenum) j["rulenum"] = *c.rulenum;
  if (c.rule) j["rule"] = *c.rule;
  if (!c.expanded.empty()) j["expanded"] = c.expanded;
  if (c.op == Command::Op::kRenameChain) j["new_name"] = c.new_name;
  if (c.op == Command::Op::kPolicy) j["policy"] = c.policy == Policy::kAccept ? "ACCEPT" : "DROP";
  j["verbose"] = c.verbose;
  j["numeric"] = c.numeric;
  j["exact"] = c.exact;
  j["line_numbers"] = c.line_numbers;
  j["zero"] = c.zero;
  j["json"] = c.json;
}

void from_json(const json& j, Command& out) {
  if (!j.is_object()) bad("expected an object");
  static constexpr std::array<std::string_view, 13> kKeys{
      "op",      "chain", "rulenum",      "rule", "new_name", "policy",  "verbose",
      "numeric", "exact", "line_numbers", "zero", "json",     "expanded"};
  for (const auto& [k, v] : j.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), k) == kKeys.end()) bad("unknown key \"" + k + "\"");
  }
  Command c;
  const std::string op = str(j, "op");
  bool found = false;
  for (const auto& [o, n] : kOpNames) {
    if (op == n) {
      c.op = o;
      found = true;
    }
  }
  if (!found) bad("unknown op \"" + op + "\"");
  c.chain = str(j, "chain");
  if (auto it = j.find("rulenum"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 ||
        it->get<std::uint64_t>() > 0xFFFFFFFFu) {
      bad("\"rulenum\" must be a positive 32-bit integer");
    }
    c.rulenum = it->get<std::uint32_t>();
  }
  if (auto it = j.find("rule"); it != j.end() && !it->is_null()) c.rule = it->get<Rule>();
  if (auto it = j.find("expanded"); it != j.end()) {
    if (!it->is_array()) bad("\"expanded\" must be an array of rules");
    // A bound on what one command may ask normand to add (iptables has
    // none; a name resolving to thousands of addresses is a mistake).
    if (it->size() > 65536) bad("\"expanded\" holds more than 65536 rules");
    for (const auto& r : *it) c.expanded.push_back(r.get<Rule>());
    if (!c.expanded.empty() && !c.rule) bad("\"expanded\" without \"rule\"");
  }
  c.new_name = str(j, "new_name");
  if (j.contains("policy")) {
    const std::string p = str(j, "policy");
    if (p == "ACCEPT") {
      c.policy = Policy::kAccept;
    } else if (p == "DROP") {
      c.policy = Policy::kDrop;
    } else {
      bad("\"policy\" must be ACCEPT or DROP");
    }
  }
  c.verbose = flag(j, "verbose");
  c.numeric = flag(j, "numeric");
  c.exact = flag(j, "exact");
  c.line_numbers = flag(j, "line_numbers");
  c.zero = flag(j, "zero");
  c.json = flag(j, "json");

  using Op = Command::Op;
  const bool needs_chain = c.op != Op::kList && c.op != Op::kListRules && c.op != Op::kFlush &&
                           c.op != Op::kZero && c.op != Op::kDeleteChain;
  if (needs_chain && c.chain.empty()) bad("op \"" + op + "\" needs a chain");
  const bool needs_rule =
      c.op == Op::kAppend || c.op == Op::kInsert || c.op == Op::kReplace || c.op == Op::kCheck;
  if (needs_rule && !c.rule) bad("op \"" + op + "\" needs a rule");
  if (c.op == Op::kReplace && !c.rulenum) bad("op \"replace\" needs a rulenum");
  if (c.op == Op::kDelete && c.rule.has_value() == c.rulenum.has_value())
    bad("op \"delete\" needs a rule or a rulenum");
  if (c.op == Op::kRenameChain && c.new_name.empty()) bad("op \"rename-chain\" needs new_name");
  out = std::move(c);
}

}  // namespace norman::filter
