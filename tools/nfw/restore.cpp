// iptables-save files in (nfw-restore): tokenizing as iptables-restore does,
// the *filter/COMMIT structure, chain declarations and counters, and
// applying a whole file as one change.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <limits>

#include "syntax_internal.hpp"
#include "host_tables.hpp"

namespace norman::nfw {

namespace {

using Op = Command::Op;

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_blanks(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = s.find_first_not_of(" \t", i);
    if (b == std::string_view::npos) break;
    auto e = s.find_first_of(" \t", b);
    if (e == std::string_view::npos) e = s.size();
    out.emplace_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

std::string strip_prefix(const std::string& msg) {
  return msg.starts_with("nfw: ") ? msg.substr(5) : msg;
}

// status: nfw-restore's exit status, as iptables-restore's: 2 for a line it
// cannot parse, 1 for a file whose structure is wrong (outside a table, no
// COMMIT).
[[noreturn]] void line_error(std::size_t line, std::string token, const std::string& msg,
                             int status = 2) {
  SyntaxError e(std::move(token),
                "nfw-restore: line " + std::to_string(line) + ": " + strip_prefix(msg));
  e.line = line;
  e.status = status;
  throw e;
}

// Rules travel to normand as JSON, which holds only UTF-8 text: refuse
// anything else here, naming the line and the word it is in.
void check_utf8(std::size_t lineno, std::string_view line) {
  const auto bad = detail::invalid_utf8_at(line);
  if (!bad) return;
  const auto b = line.find_last_of(" \t", *bad);
  const auto from = b == std::string_view::npos ? 0 : b + 1;
  const auto to = line.find_first_of(" \t", *bad);
  const std::string word = detail::escape_bytes(
      line.substr(from, to == std::string_view::npos ? std::string_view::npos : to - from));
  line_error(lineno, word,
             "`" + word + "' is not valid UTF-8 (byte " + std::to_string(*bad - from + 1) +
                 " of the word); rules are UTF-8 text");
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// "[packets:bytes]"
std::optional<filter::Counters> parse_counters(std::string_view s) {
  if (s.size() < 5 || s.front() != '[' || s.back() != ']') return std::nullopt;
  s = s.substr(1, s.size() - 2);
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  filter::Counters c;
  if (!parse_u64(s.substr(0, colon), c.packets) || !parse_u64(s.substr(colon + 1), c.bytes))
    return std::nullopt;
  return c;
}

// "[p:b]" as a chain declaration's third word; anything else stops the file.
filter::Counters counters_word(std::size_t lineno, const std::string& word) {
  auto c = parse_counters(word);
  if (!c) line_error(lineno, word, "bad counters `" + word + "' (expected [packets:bytes])");
  return *c;
}

// The "[p:b] " in front of a rule (iptables-save -c), taken off `rest`.
filter::Counters leading_counters(std::size_t lineno, std::string_view& rest) {
  const auto close = rest.find(']');
  const std::string_view c =
      rest.substr(0, close == std::string_view::npos ? rest.size() : close + 1);
  const auto counters = parse_counters(c);
  if (!counters)
    line_error(lineno, std::string(c),
               "bad counters `" + std::string(c) + "' (expected [packets:bytes])");
  rest = trim(rest.substr(c.size()));
  return *counters;
}

// One line of a *nat/*mangle/*raw/*security block, kept as text: a chain
// declaration or an appended rule (what iptables-save writes there). The
// real iptables-restore --test judges the rules themselves when normand
// loads them into the host's netfilter.
void host_table_line(filter::HostTable& t, std::size_t lineno, std::string_view line) {
  const auto builtins = filter::host_builtin_chains(t.name);
  auto is_builtin = [&](std::string_view c) {
    return std::find(builtins.begin(), builtins.end(), c) != builtins.end();
  };
  if (line.front() == ':') {
    const std::vector<std::string> words = split_blanks(line.substr(1));
    if (words.size() < 2 || words.size() > 3) {
      line_error(lineno, std::string(line),
                 "chain declaration `" + std::string(line) + "' is not `:NAME POLICY [p:b]'");
    }
    filter::HostChain c{words[0], words[1], 0, 0, {}};
    if (auto why = filter::unsaveable_text(c.name, true))
      line_error(lineno, c.name, "chain name `" + c.name + "' " + *why);
    if (words.size() == 3) {
      const filter::Counters k = counters_word(lineno, words[2]);
      c.packets = k.packets;
      c.bytes = k.bytes;
    }
    if (is_builtin(c.name)) {
      if (c.policy != "ACCEPT" && c.policy != "DROP")
        line_error(lineno, c.policy,
                   "Bad policy name `" + c.policy + "' for built-in chain " + c.name, 1);
    } else if (c.policy != "-") {
      line_error(lineno, c.policy,
                 "user chain " + c.name + " cannot have a policy (`" + c.policy + "'; write `-')");
    }
    if (t.find(c.name) != nullptr)
      line_error(lineno, c.name, "chain " + c.name + " declared twice");
    t.chains.push_back(std::move(c));
    return;
  }
  std::optional<filter::Counters> counters;
  std::string_view rest = line;
  if (rest.front() == '[') counters = leading_counters(lineno, rest);
  if (!rest.starts_with("-A ") && !rest.starts_with("--append ")) {
    const std::string word(rest.substr(0, rest.find(' ')));
    line_error(lineno, word,
               "`" + word + "' in *" + t.name +
                   ": nfw keeps this table as iptables-save writes it (chain declarations and "
                   "-A rules)");
  }
  rest = trim(rest.substr(rest.find(' ')));
  const auto sp = rest.find_first_of(" \t");
  const std::string chain(rest.substr(0, sp));
  const std::string_view spec = sp == std::string_view::npos ? "" : trim(rest.substr(sp));
  filter::HostChain* c = t.find(chain);
  if (c == nullptr && is_builtin(chain)) {
    t.chains.push_back(filter::HostChain{chain, "ACCEPT", 0, 0, {}});
    c = &t.chains.back();
  }
  if (c == nullptr) line_error(lineno, chain, "Chain '" + chain + "' does not exist", 1);
  (void)split_line(spec);  // quotes must close, as iptables-restore requires
  filter::HostRule r{std::string(spec), 0, 0};
  if (counters) {
    r.packets = counters->packets;
    r.bytes = counters->bytes;
  }
  c->rules.push_back(std::move(r));
}

// The host tables of a file into rs: each table the file holds replaces
// the one there (with noflush: its declared chains are flushed, or
// created, and its rules appended), as iptables-restore does; tables the
// file does not hold stay as they are.
void apply_host_tables(Ruleset& rs, const RestoreFile& file, bool noflush, bool with_counters) {
  for (filter::HostTable t : file.host_tables) {
    if (!with_counters) {
      for (auto& c : t.chains) {
        c.packets = c.bytes = 0;
        for (auto& r : c.rules) r.packets = r.bytes = 0;
      }
    }
    auto it = std::find_if(rs.host_tables.begin(), rs.host_tables.end(),
                           [&](const auto& x) { return x.name == t.name; });
    if (it == rs.host_tables.end()) {
      const auto pos = std::find_if(rs.host_tables.begin(), rs.host_tables.end(), [&](const auto& x) {
        return filter::host_table_rank(x.name) > filter::host_table_rank(t.name);
      });
      rs.host_tables.insert(pos, std::move(t));
      continue;
    }
    if (!noflush) {
      *it = std::move(t);
      continue;
    }
    for (auto& c : t.chains) {
      filter::HostChain* have = it->find(c.name);
      if (have == nullptr) {
        it->chains.push_back(std::move(c));
        continue;
      }
      if (!c.builtin()) {
        *have = std::move(c);  // a declared user chain is flushed
        continue;
      }
      have->policy = c.policy;
      if (with_counters) {
        have->packets = c.packets;
        have->bytes = c.bytes;
      }
      for (auto& r : c.rules) have->rules.push_back(std::move(r));
    }
  }
}

}  // namespace

std::vector<std::string> split_line(std::string_view line) {
  // iptables-restore's tokenizer: blanks separate words, double quotes group
  // (and end a word when they close), and inside quotes a backslash takes
  // the next character literally.
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size()) {
        word += line[++i];
      } else if (c == '"') {
        quoted = false;
        out.push_back(word);
        word.clear();
        in_word = false;
      } else {
        word += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) detail::syntax_error("\"", "nfw: unterminated quote");
  if (in_word) out.push_back(word);
  return out;
}

RestoreFile parse_restore(std::string_view text) {
  // Lines as iptables-restore reads them: split at '\n' only; a line that is
  // empty or starts with '#' is skipped, anything else counts. A file with
  // no table block (empty, comments, empty lines) changes nothing: it is not
  // an empty table. A line of blanks, an indented comment or a carriage
  // return is refused (iptables-restore refuses them too), so a file mangled
  // by an editor or cut short never loads as something else.
  RestoreFile file;
  bool in_table = false;
  bool seen_table = false;
  // The block being read is one of the host's other tables (*nat...),
  // kept as text: host_tables.back().
  bool in_host = false;
  std::size_t lineno = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    const std::string_view raw =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    if (raw.empty() || raw.front() == '#') continue;
    check_utf8(lineno, raw);

    if (raw.front() == '*') {
      // "*filter" with trailing blanks is fine (iptables-restore strtok()s it).
      const std::string table(raw.substr(1, raw.find_last_not_of(" \t")));
      if (in_table)
        line_error(lineno, std::string(raw),
                   "`" + std::string(raw) + "' before COMMIT of the previous table", 1);
      if (table.find('\r') != std::string::npos) {
        line_error(lineno, "\r",
                   "carriage return in table name (a file with DOS or old Mac line endings?)");
      }
      if (filter::is_host_table(table)) {
        for (const auto& t : file.host_tables) {
          if (t.name == table)
            line_error(lineno, std::string(raw), "more than one *" + table + " block", 1);
        }
        file.host_tables.push_back(filter::HostTable{table, {}});
        file.host_table_lines.push_back(lineno);
        in_table = in_host = true;
        continue;
      }
      if (table != "filter") {
        line_error(lineno, table,
                   "unknown table `*" + table + "' (filter, nat, mangle, raw or security)");
      }
      if (seen_table) line_error(lineno, std::string(raw), "more than one *filter block", 1);
      in_table = seen_table = true;
      in_host = false;
      continue;
    }
    if (!in_table) {
      line_error(lineno, std::string(raw),
                 "`" + detail::escape_bytes(raw) + "' outside of a table (no `*filter' before it)",
                 1);
    }
    if (raw.find('\r') != std::string_view::npos) {
      line_error(lineno, "\r",
                 "carriage return in the line (a file with DOS or old Mac line endings?)");
    }
    const std::string_view line = trim(raw);
    if (line.empty()) line_error(lineno, "", "a line of blanks (no command specified)");
    if (raw == "COMMIT") {
      in_table = in_host = false;
      file.committed = true;
      continue;
    }
    if (in_host) {
      host_table_line(file.host_tables.back(), lineno, line);
      continue;
    }
    if (raw.front() == ':') {
      // iptables-restore reads a chain declaration as blank-separated words
      // with no quoting, so a chain named with a quote (which -N accepts)
      // round-trips.
      const std::vector<std::string> words = split_blanks(line.substr(1));
      if (words.size() < 2 || words.size() > 3) {
        line_error(lineno, std::string(line),
                   "chain declaration `" + std::string(line) + "' is not `:NAME POLICY [p:b]'");
      }
      RestoreFile::ChainDecl decl;
      decl.name = words[0];
      decl.line = lineno;
      if (words.size() == 3) decl.counters = counters_word(lineno, words[2]);
      const bool builtin = decl.name == "INPUT" || decl.name == "OUTPUT" || decl.name == "FORWARD";
      const std::string& pol = words[1];
      if (builtin) {
        if (pol == "ACCEPT") {
          decl.policy = filter::Policy::kAccept;
        } else if (pol == "DROP") {
          decl.policy = filter::Policy::kDrop;
        } else {
          // iptables-restore: "Can't set policy", OTHER_PROBLEM (1).
          line_error(lineno, pol, "Bad policy name `" + pol + "' for built-in chain " + decl.name,
                     1);
        }
      } else if (pol != "-") {
        line_error(lineno, pol,
                   "user chain " + decl.name + " cannot have a policy (`" + pol + "'; write `-')");
      }
      if (std::any_of(file.chains.begin(), file.chains.end(),
                      [&](const auto& d) { return d.name == decl.name; })) {
        line_error(lineno, decl.name, "chain " + decl.name + " declared twice");
      }
      file.chains.push_back(std::move(decl));
      continue;
    }

    std::optional<filter::Counters> counters;
    std::string_view rest = line;
    if (raw.front() == '[') counters = leading_counters(lineno, rest);
    Command cmd;
    try {
      const auto words = split_line(rest);
      cmd = parse_command(words);
    } catch (const SyntaxError& e) {
      line_error(lineno, e.token, e.what());
    }
    switch (cmd.op) {
      case Op::kCheck:
      case Op::kList:
      case Op::kListRules:
        line_error(lineno, std::string(rest.substr(0, rest.find(' '))),
                   "listing and checking commands are not allowed in a restore file");
      default:
        break;
    }
    if (counters) {
      if (!cmd.rule)
        line_error(lineno, std::string(line), "counters given for a command without a rule");
      cmd.rule->counters = *counters;
      for (auto& r : cmd.expanded) r.counters = *counters;
    }
    file.commands.push_back(std::move(cmd));
    file.command_lines.push_back(lineno);
  }
  if (in_table) line_error(lineno, "", "COMMIT expected at the end of the file", 1);
  file.has_table = seen_table;
  return file;
}

void apply_restore(Ruleset& rules, const RestoreFile& file, bool noflush, bool with_counters,
                   const std::function<std::uint64_t()>& next_id) {
  // Nothing to restore is not an empty table; and as iptables-restore, a
  // table the file does not hold is left as it is.
  if (!file.has_table && file.host_tables.empty()) return;
  Ruleset rs = noflush || !file.has_table ? rules : Ruleset{};
  rs.host_tables = rules.host_tables;
  apply_host_tables(rs, file, noflush, with_counters);
  if (!file.has_table) {
    rules = std::move(rs);
    return;
  }
  auto fail_at = [](std::size_t line, const filter::CommandError& e) {
    throw filter::CommandError(e.errno_value,
                               "nfw-restore: line " + std::to_string(line) + ": " + e.what());
  };
  for (const auto& decl : file.chains) {
    if (decl.policy) {
      filter::Chain* c = rs.find(decl.name);
      if (c == nullptr || !c->builtin()) {
        fail_at(decl.line, filter::CommandError(ENOENT, "Bad built-in chain name"));
      }
      c->policy = decl.policy;
      if (with_counters) c->policy_counters = decl.counters;
      continue;
    }
    if (filter::Chain* c = rs.find(decl.name)) {
      // iptables-restore --noflush flushes a user chain it sees declared.
      if (c->builtin())
        fail_at(decl.line,
                filter::CommandError(EINVAL, "built-in chain " + decl.name + " needs a policy"));
      c->rules.clear();
      continue;
    }
    Command create;
    create.op = Op::kNewChain;
    create.chain = decl.name;
    try {
      filter::apply(rs, create, next_id);
    } catch (const filter::CommandError& e) {
      fail_at(decl.line, e);
    }
  }
  for (std::size_t i = 0; i < file.commands.size(); ++i) {
    const Command* cmd = &file.commands[i];
    Command stripped;
    if (!with_counters && cmd->rule) {
      stripped = *cmd;
      stripped.rule->counters = {};
      for (auto& r : stripped.expanded) r.counters = {};
      cmd = &stripped;
    }
    try {
      filter::apply(rs, *cmd, next_id);
    } catch (const filter::CommandError& e) {
      fail_at(i < file.command_lines.size() ? file.command_lines[i] : 0, e);
    }
  }
  rules = std::move(rs);
}

}  // namespace norman::nfw
