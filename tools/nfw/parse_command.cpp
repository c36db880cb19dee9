// The command line: which command, its chain/number arguments, the listing
// flags; rule options go to RuleParser. Options may come in any order, as
// with iptables' getopt loop.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "syntax_internal.hpp"

namespace norman::nfw {

namespace detail {

namespace {

// Short options whose argument may be glued to them ("-ptcp", "-AINPUT",
// and, as with getopt's optional arguments, "-LINPUT").
bool short_takes_value(char c) {
  return std::string_view("ACDIRNEPpsdiojgmtcLSFZXw").find(c) != std::string_view::npos;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Args::Item Args::next() {
  Item item;
  if (!pending_.empty()) {
    const char c = pending_[0];
    pending_.erase(0, 1);
    item.option = std::string("-") + c;
    if (short_takes_value(c) && !pending_.empty()) {
      item.attached = pending_;
      pending_.clear();
    }
    return item;
  }
  std::string tok = args_[pos_++];
  if (tok == "!") {
    if (pos_ < args_.size() && args_[pos_] == "!")
      syntax_error("!", "nfw: multiple consecutive ! not allowed");
    if (pos_ >= args_.size()) syntax_error("!", "nfw: `!' at the end of the command line");
    Item inner = next();
    inner.inverted = true;
    if (inner.option.empty())
      syntax_error(inner.word,
                   "nfw: `!' must come before an option, not before `" + inner.word + "'");
    return inner;
  }
  if (tok.size() > 2 && tok.starts_with("--")) {
    const auto eq = tok.find('=');
    item.option = tok.substr(0, eq);
    if (eq != std::string::npos) item.attached = tok.substr(eq + 1);
    return item;
  }
  if (tok.size() >= 2 && tok[0] == '-' && tok != "--") {
    const char c = tok[1];
    item.option = std::string("-") + c;
    std::string rest = tok.substr(2);
    if (short_takes_value(c) && !rest.empty()) {
      item.attached = rest;
    } else {
      pending_ = rest;
    }
    return item;
  }
  item.word = tok;
  return item;
}

std::string Args::value(Item& item) {
  if (item.attached) {
    std::string v = *item.attached;
    item.attached.reset();
    return v;
  }
  if (!pending_.empty() || pos_ >= args_.size()) {
    syntax_error(item.option, "nfw: option `" + item.option + "' requires an argument");
  }
  return args_[pos_++];
}

bool Args::has_word() const {
  return pending_.empty() && pos_ < args_.size() && !args_[pos_].starts_with("-") &&
         args_[pos_] != "!";
}

std::optional<std::string> Args::optional_word(bool digits_only) {
  if (!has_word()) return std::nullopt;
  if (digits_only && !is_digits(args_[pos_])) return std::nullopt;
  return args_[pos_++];
}

}  // namespace detail

namespace {

using detail::Args;
using detail::syntax_error;
using Op = Command::Op;

bool is_seconds(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct CommandName {
  std::string_view short_name;
  std::string_view long_name;
  Op op;
};
constexpr CommandName kCommands[] = {
    {"-A", "--append", Op::kAppend},
    {"-C", "--check", Op::kCheck},
    {"-D", "--delete", Op::kDelete},
    {"-I", "--insert", Op::kInsert},
    {"-R", "--replace", Op::kReplace},
    {"-L", "--list", Op::kList},
    {"-S", "--list-rules", Op::kListRules},
    {"-F", "--flush", Op::kFlush},
    {"-Z", "--zero", Op::kZero},
    {"-N", "--new-chain", Op::kNewChain},
    {"-N", "--new", Op::kNewChain},
    {"-X", "--delete-chain", Op::kDeleteChain},
    {"-E", "--rename-chain", Op::kRenameChain},
    {"-P", "--policy", Op::kPolicy},
};

std::uint32_t rule_number(const std::string& word) {
  std::uint32_t n = 0;
  auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
  if (ec != std::errc{} || p != word.data() + word.size() || n == 0) {
    syntax_error(word, "nfw: Invalid rule number `" + word + "'");
  }
  return n;
}

std::string chain_arg(Args& args, Args::Item& item) {
  std::string c = args.value(item);
  if (c.empty() || c[0] == '-' || c == "!") {
    syntax_error(c, "nfw: option `" + item.option + "' needs a chain name, not `" + c + "'");
  }
  return c;
}

}  // namespace

Command parse_command(std::span<const std::string> argv) {
  // Names, comments and paths travel to normand as JSON, UTF-8 only, and
  // come back in nfw-save's one line per rule: no line breaks or other
  // control characters (iptables refuses a newline in --log-prefix; it takes
  // one in --comment and cannot restore its own save afterwards).
  for (const auto& word : argv) {
    detail::check_utf8_word(word);
    if (auto why = filter::unsaveable_text(word)) {
      const std::string shown = detail::escape_bytes(word);
      detail::syntax_error(
          shown, "nfw: `" + shown + "' " + *why + ": nfw-save writes each rule as one line");
    }
  }
  Args args(argv);
  Command cmd;
  std::optional<std::string> cmd_token;
  detail::RuleParser rules;
  std::optional<std::string> table_token;
  std::optional<std::string> numeric_token;
  std::optional<std::string> exact_token;
  std::optional<std::string> line_numbers_token;
  std::optional<std::string> json_token;
  bool listing_zero = false;

  auto set_command = [&](Op op, const std::string& token) {
    if (cmd_token) {
      // iptables -L -Z lists and then zeroes; every other pair is refused.
      const bool list_zero =
          (cmd.op == Op::kList && op == Op::kZero) || (cmd.op == Op::kZero && op == Op::kList);
      if (!list_zero || listing_zero) {
        syntax_error(token, "nfw: Can't use " + token + " with " + *cmd_token);
      }
      listing_zero = true;
      if (cmd.rulenum) syntax_error(token, "nfw: -L -Z takes no rule number");
      cmd.op = Op::kList;
      cmd.zero = true;
      return false;
    }
    cmd_token = token;
    cmd.op = op;
    return true;
  };

  while (!args.done()) {
    Args::Item item = args.next();
    if (item.option.empty()) syntax_error(item.word, "nfw: Bad argument `" + item.word + "'");
    const std::string& opt = item.option;

    const auto command = std::find_if(
        std::begin(kCommands), std::end(kCommands),
        [&](const CommandName& c) { return c.short_name == opt || c.long_name == opt; });
    if (command != std::end(kCommands)) {
      if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
      const bool fresh = set_command(command->op, opt);
      switch (command->op) {
        case Op::kAppend:
        case Op::kCheck:
        case Op::kNewChain:
          cmd.chain = chain_arg(args, item);
          break;
        case Op::kDelete:
        case Op::kInsert:
          cmd.chain = chain_arg(args, item);
          if (auto n = args.optional_word(true)) cmd.rulenum = rule_number(*n);
          break;
        case Op::kReplace: {
          cmd.chain = chain_arg(args, item);
          auto n = args.optional_word(false);
          if (!n) syntax_error(opt, "nfw: " + opt + " requires a rule number");
          cmd.rulenum = rule_number(*n);
          break;
        }
        case Op::kList:
        case Op::kListRules:
        case Op::kZero:
        case Op::kFlush:
        case Op::kDeleteChain: {
          std::optional<std::string> chain = item.attached
                                                 ? std::optional<std::string>(args.value(item))
                                                 : args.optional_word(false);
          if (chain) {
            if (!cmd.chain.empty() && !fresh)
              syntax_error(*chain, "nfw: chain given twice (`" + *chain + "')");
            cmd.chain = *chain;
            const bool numbered = command->op == Op::kList || command->op == Op::kListRules ||
                                  command->op == Op::kZero;
            if (numbered) {
              if (auto n = args.optional_word(false)) cmd.rulenum = rule_number(*n);
            }
          }
          if (!fresh && cmd.rulenum) syntax_error(opt, "nfw: -L -Z takes no rule number");
          break;
        }
        case Op::kRenameChain: {
          cmd.chain = chain_arg(args, item);
          auto n = args.optional_word(false);
          if (!n) syntax_error(opt, "nfw: -E requires old-chain-name and new-chain-name");
          cmd.new_name = *n;
          break;
        }
        case Op::kPolicy: {
          cmd.chain = chain_arg(args, item);
          auto p = args.optional_word(false);
          if (!p) syntax_error(opt, "nfw: -P requires a chain and a policy");
          if (*p == "ACCEPT") {
            cmd.policy = filter::Policy::kAccept;
          } else if (*p == "DROP") {
            cmd.policy = filter::Policy::kDrop;
          } else {
            syntax_error(*p, "nfw: Bad policy name `" + *p + "' (ACCEPT or DROP)");
          }
          break;
        }
      }
      continue;
    }

    // --json only: iptables reads a lone -j as a jump missing its target
    // (option "-j" requires an argument), and so does nfw.
    if (opt == "--json") {
      if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
      if (json_token) syntax_error(opt, "nfw: multiple " + opt + " flags not allowed");
      json_token = opt;
      cmd.json = true;
      continue;
    }
    if (rules.option(args, item)) continue;

    auto flag = [&](std::optional<std::string>& seen, bool& field) {
      if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
      seen = opt;
      field = true;
    };
    if (opt == "-v" || opt == "--verbose") {
      std::optional<std::string> ignored;
      flag(ignored, cmd.verbose);
    } else if (opt == "-n" || opt == "--numeric") {
      flag(numeric_token, cmd.numeric);
    } else if (opt == "-x" || opt == "--exact") {
      flag(exact_token, cmd.exact);
    } else if (opt == "--line-numbers") {
      flag(line_numbers_token, cmd.line_numbers);
    } else if (opt == "-t" || opt == "--table") {
      if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
      if (table_token) syntax_error(opt, "nfw: multiple -t flags not allowed");
      table_token = opt;
      const std::string t = args.value(item);
      // nat, mangle, raw and security are the host's tables, edited as
      // text (nfw_main's host_command, docs/nfw-host.md).
      if (t != "filter") {
        syntax_error(t, filter::is_host_table(t)
                            ? "nfw: table `" + t + "' is edited with `nfw -t " + t + "' only"
                            : "nfw: table `" + t + "' does not exist (filter, nat, mangle, raw, "
                              "security)");
      }
    } else if (opt == "-4" || opt == "--ipv4") {
      // The family nfw always works in (iptables accepts -4 too).
      if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
    } else if (opt == "-6" || opt == "--ipv6") {
      syntax_error(opt, "nfw: " + opt +
                            ": this is the IPv4 version of iptables (the NIC's filter table judges "
                            "IPv4 only; IPv6 is not supported)");
    } else if (opt == "-w" || opt == "--wait") {
      // Accepted for scripts written for iptables; there is nothing to wait
      // for, as normand applies one update at a time.
      if (item.inverted) syntax_error("!", "nfw: cannot have ! before " + opt);
      std::optional<std::string> secs = item.attached ? item.attached : args.optional_word(true);
      if (secs && !is_seconds(*secs))
        syntax_error(*secs, "nfw: wait seconds `" + *secs + "' not numeric");
    } else {
      syntax_error(opt, "nfw: unknown option `" + opt + "'");
    }
  }

  if (!cmd_token)
    syntax_error(
        "", "nfw: no command specified (-A, -I, -D, -R, -C, -L, -S, -F, -Z, -N, -X, -E or -P)");

  const bool rule_op = cmd.op == Op::kAppend || cmd.op == Op::kInsert || cmd.op == Op::kReplace ||
                       cmd.op == Op::kCheck || (cmd.op == Op::kDelete && !cmd.rulenum);
  if (rules.any() && !rule_op) {
    syntax_error(rules.first_token(),
                 "nfw: Illegal option `" + rules.first_token() + "' with this command");
  }
  if (rule_op) {
    cmd.rule = rules.finish();
    cmd.expanded = rules.expand(*cmd.rule);
    if (cmd.op == Op::kReplace && !cmd.expanded.empty()) {
      syntax_error(rules.first_token(), "nfw: Replacement rule does not specify a unique address");
    }
  }
  const bool list = cmd.op == Op::kList;
  const bool list_rules = cmd.op == Op::kListRules;
  if (numeric_token && !list && !list_rules)
    syntax_error(*numeric_token, "nfw: Illegal option `" + *numeric_token + "' with this command");
  if (exact_token && !list)
    syntax_error(*exact_token, "nfw: Illegal option `" + *exact_token + "' with this command");
  if (line_numbers_token && !list) {
    syntax_error(*line_numbers_token,
                 "nfw: Illegal option `" + *line_numbers_token + "' with this command");
  }
  if (json_token && !list && !list_rules)
    syntax_error(*json_token, "nfw: Illegal option `" + *json_token + "' with this command");
  return cmd;
}

}  // namespace norman::nfw
