// Pieces shared by the parsers and formatters of syntax.hpp: iptables'
// name tables (ICMP types, TCP flags, reject types, log levels), its string
// quoting, and the rule-option parser the command line and restore files
// both use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "syntax.hpp"

namespace norman::nfw::detail {

using filter::Chain;
using filter::Rule;

struct IcmpName {
  std::string_view name;
  std::uint8_t type;
  std::uint8_t code_min;
  std::uint8_t code_max;
};
// libxt_icmp's table, in its order (the first name for a type/code prints).
std::span<const IcmpName> icmp_names();

struct TcpFlagName {
  std::string_view name;
  std::uint8_t bits;
};
std::span<const TcpFlagName> tcp_flag_names();  // FIN..URG, then ALL and NONE
// "FIN,SYN" as iptables prints a flag set ("NONE" when empty).
std::string tcp_flags_string(std::uint8_t bits);

std::string_view reject_name(filter::RejectWith r);
std::optional<filter::RejectWith> reject_from_name(std::string_view name);  // names and aliases

// What -L prints for a log level without -n (iptables-nft's names).
std::string_view log_level_name(std::uint8_t level);

// xtables_save_string: a leading space, then the word bare when it is only
// [A-Za-z0-9_-], otherwise in double quotes with " \ ' escaped.
std::string save_string(std::string_view s);

std::string addr_string(std::uint32_t addr);
// "/len", or "/a.b.c.d" never (only prefixes exist in the model); "" for /32
// when omit32 (as -L prints).
std::string prefix_suffix(std::uint8_t len, bool omit32);

// Protocol name as iptables prints it (/etc/protocols, then its own table).
std::string proto_display(std::uint8_t number);

// User chains in the order iptables lists them (by name, strcmp order),
// after the built-in chains INPUT, (FORWARD), OUTPUT.
std::vector<const Chain*> user_chains_sorted(const filter::Ruleset& rules);

// The part of a rule after "-A CHAIN" as iptables-save writes it, with
// " -c P B" before the target when counters (iptables -S -v).
std::string rule_spec(const Rule& r, bool counters);

// A rule's -m state / -m conntrack as iptables-save (" -m conntrack --ctstate
// NEW") and iptables -L (" ctstate NEW") print it.
std::string conntrack_save(const Rule& r, filter::Module m);
std::string conntrack_list(const Rule& r, filter::Module m);

[[noreturn]] void syntax_error(std::string token, const std::string& message);

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), if any.
[[nodiscard]] std::optional<std::size_t> invalid_utf8_at(std::string_view s);
// The bytes as they can be shown in a message: control characters as \xNN,
// and every byte above 0x7f too when `s` is not valid UTF-8.
[[nodiscard]] std::string escape_bytes(std::string_view s);
// Throws a SyntaxError naming `word` when it is not valid UTF-8.
void check_utf8_word(const std::string& word);

// Reads the words of one command line in getopt's manner (bundled short
// options, --long=value, a lone "!" inverting the next option).
class Args {
 public:
  explicit Args(std::span<const std::string> args) : args_(args) {}
  [[nodiscard]] bool done() const { return pos_ >= args_.size() && pending_.empty(); }
  // The next option ("-A", "--append") with an attached value if one was
  // glued to it; sets *positional to the word when it is not an option.
  struct Item {
    std::string option;                   // empty: a positional word
    std::optional<std::string> attached;  // "--dport=22", "-ptcp"
    std::string word;                     // the positional word
    bool inverted = false;                // a "!" came before it
  };
  Item next();
  // The option's required argument (attached, or the next word).
  std::string value(Item& item);
  // The next word, if it exists and is not an option (optional arguments
  // such as -L's chain); `digits_only` for rule numbers.
  std::optional<std::string> optional_word(bool digits_only);
  [[nodiscard]] bool has_word() const;

 private:
  std::span<const std::string> args_;
  std::size_t pos_ = 0;
  std::string pending_;  // rest of a bundle of short options ("-nvL" -> "vL")
};

// -m limit and -m hashlimit (parse_match_limit.cpp): iptables 1.8.9's
// libxt_limit and libxt_hashlimit (revision 3) parsing and printing, with
// the kernel's checks made at parse time.
struct LimitParseState {
  std::vector<std::string> seen;
  std::uint32_t hashlimit_unit = 1;  // seconds per unit of the rate (expire's default)
};
// Consumes `opt` when it is an option of a loaded limit/hashlimit match.
bool limit_option(LimitParseState& st, Args& args, Args::Item& item, const std::string& opt,
                  Rule& rule);
// Defaults and final checks of module `m` (kLimit or kHashlimit).
void limit_finish(LimitParseState& st, Rule& rule, filter::Module m);
// " -m limit --limit 3/sec" etc. as iptables-save prints the match.
std::string save_limit(const Rule& r, filter::Module m);
// " limit: avg 3/sec burst 5" etc. as iptables -L prints it.
std::string list_limit(const Rule& r, filter::Module m);

// Rule options, one at a time, with the state needed for iptables' checks
// (duplicates, implicit tcp/udp/icmp module after -p, module options only
// after their -m).
class RuleParser {
 public:
  // Returns false when `item` is not a rule option.
  bool option(Args& args, Args::Item& item);
  // Final checks (module needs its -p, owner needs an option...).
  Rule finish();
  // The rules a rule with address lists or host names in -s/-d stands for,
  // in iptables' order (each source with each destination); empty when -s
  // and -d name one address each.
  [[nodiscard]] std::vector<Rule> expand(const Rule& rule) const;
  [[nodiscard]] bool any() const { return any_; }
  [[nodiscard]] const std::string& first_token() const { return first_token_; }

 private:
  bool module_option(Args& args, Args::Item& item, const std::string& name);
  // -m state / -m conntrack options (parse_match_conntrack.cpp).
  bool conntrack_option(Args& args, Args::Item& item, const std::string& name);
  void finish_conntrack(filter::Module m);
  void load_module(filter::Module m, const std::string& token);
  [[nodiscard]] bool loaded(filter::Module m) const;
  void once(const std::string& key, const std::string& token, const std::string& message);

  Rule rule_;
  std::vector<std::optional<filter::Addr>> srcs_;  // -s, one per address (nullopt: any)
  std::vector<std::optional<filter::Addr>> dsts_;
  bool any_ = false;
  std::string first_token_;
  std::vector<std::string> seen_;
  bool have_target_ = false;
  bool syn_or_flags_ = false;
  std::optional<std::string> proto_word_;
  LimitParseState limits_;  // -m limit, -m hashlimit
};

}  // namespace norman::nfw::detail
