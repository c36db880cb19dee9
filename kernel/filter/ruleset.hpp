// The filter table as an administrator writes it: chains of rules in
// iptables' terms (matches, a target, counters). nfw parses iptables syntax
// into this model, normand keeps it and compiles it for the NIC, and the JSON
// form below is what travels between them (one definition, used by both).
//
// Semantics are iptables' (filter table, IPv4): rules of a chain are tried in
// order; a rule matches when all of its matches do; a matching rule with a
// terminal target (ACCEPT, DROP, REJECT) decides; RETURN goes back to the
// calling chain (or, in a built-in chain, applies its policy); jump (-j CHAIN)
// calls a user chain and continues after the rule when it returns; goto (-g)
// continues in the chain and returns to the caller of the current chain;
// LOG and rules without a target count and go on. Every rule that matches
// counts the packet, including jump, RETURN and LOG rules.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ruleset_conntrack.hpp"
#include "host_tables.hpp"

namespace norman::filter {

// Inclusive range of an unsigned field (ports, uids, ICMP codes...).
struct Range {
  std::uint32_t lo = 0;
  std::uint32_t hi = 0;
  friend bool operator==(const Range&, const Range&) = default;
};

// An IPv4 prefix in host byte order (10.0.0.0/8 = {0x0A000000, 8}).
struct Prefix {
  std::uint32_t addr = 0;
  std::uint8_t len = 32;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

// -i/-o: "nic0", or a wildcard "nic+" (iptables: a trailing '+' matches any
// interface with that prefix). The NIC's interfaces are nicN, N = port.
struct Iface {
  std::string name;
  bool negated = false;
  friend bool operator==(const Iface&, const Iface&) = default;
};

struct Addr {
  Prefix prefix;
  bool negated = false;
  friend bool operator==(const Addr&, const Addr&) = default;
};

struct Proto {
  std::uint8_t number = 0;  // "all" is no Proto at all
  bool negated = false;
  friend bool operator==(const Proto&, const Proto&) = default;
};

// --sport/--dport (of -m tcp/-m udp): one port or a range, maybe negated.
struct PortMatch {
  Range range;
  bool negated = false;
  friend bool operator==(const PortMatch&, const PortMatch&) = default;
};

// -m multiport: up to 15 ports, a range counting as two.
struct Multiport {
  enum class Kind : std::uint8_t { kSource, kDestination, kEither };
  Kind kind = Kind::kDestination;
  std::vector<Range> ports;
  bool negated = false;
  friend bool operator==(const Multiport&, const Multiport&) = default;
};

// --tcp-flags MASK COMP (--syn is SYN,RST,ACK,FIN SYN). Bits as on the wire:
// FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80.
struct TcpFlags {
  std::uint8_t mask = 0;
  std::uint8_t comp = 0;
  bool negated = false;
  friend bool operator==(const TcpFlags&, const TcpFlags&) = default;
};

// -m icmp --icmp-type TYPE[/CODE] or a name; "any" is type 255.
struct IcmpType {
  std::uint8_t type = 255;
  std::optional<std::uint8_t> code;  // nullopt: any code
  bool negated = false;
  friend bool operator==(const IcmpType&, const IcmpType&) = default;
};

// -m owner: each part optional, each with its own '!'. A packet with no
// owner (the host kernel's traffic on nic0) matches an owner match only if
// every part present is negated, as in Linux for packets without a socket.
struct Owner {
  struct Ids {
    Range range;  // a single id is {id, id}
    bool negated = false;
    friend bool operator==(const Ids&, const Ids&) = default;
  };
  struct Name {
    std::string name;
    bool negated = false;
    friend bool operator==(const Name&, const Name&) = default;
  };
  std::optional<Ids> uid;
  std::optional<Ids> gid;
  std::optional<Name> cmd;  // --cmd-owner: /proc/PID/comm of the owner
  friend bool operator==(const Owner&, const Owner&) = default;
};

// -m cgroup --path P: the owner's cgroup (v2) is P or below it.
struct Cgroup {
  std::string path;
  bool negated = false;
  friend bool operator==(const Cgroup&, const Cgroup&) = default;
};

// -m limit: xt_limit's struct xt_rateinfo as iptables fills it. `avg` is the
// time between packets in 1/10000 s (10000 * seconds-per-unit / N for
// --limit N/unit), `burst` the bucket's depth in packets (--limit-burst).
// The kernel's arithmetic on them is in rate_limit.hpp.
struct Limit {
  std::uint32_t avg = 10000u * 3600u / 3u;  // iptables' default: 3/hour
  std::uint32_t burst = 5;
  friend bool operator==(const Limit&, const Limit&) = default;
};

// -m hashlimit: xt_hashlimit's struct hashlimit_cfg3 (revision 3, what
// iptables 1.8.9 uses), packet rates only. `avg` is in 1/1000000 s.
struct Hashlimit {
  // XT_HASHLIMIT_HASH_* bits of --hashlimit-mode.
  static constexpr std::uint32_t kDstIp = 1;
  static constexpr std::uint32_t kDstPort = 2;
  static constexpr std::uint32_t kSrcIp = 4;
  static constexpr std::uint32_t kSrcPort = 8;
  std::uint64_t avg = 0;
  std::uint64_t burst = 5;
  std::uint32_t mode = 0;
  bool above = false;             // --hashlimit-above (XT_HASHLIMIT_INVERT)
  std::uint32_t size = 0;         // --hashlimit-htable-size (0: the kernel's default)
  std::uint32_t max = 0;          // --hashlimit-htable-max (0: 8 * size)
  std::uint32_t gc_interval = 1000;  // ms
  std::uint32_t expire = 0;       // ms (iptables' default: the rate's unit)
  std::uint8_t srcmask = 32;
  std::uint8_t dstmask = 32;
  std::string name;               // --hashlimit-name: rules naming one table share it
  friend bool operator==(const Hashlimit&, const Hashlimit&) = default;
};

// A match module as written, in the order written (iptables-save keeps it).
// kState: -m state; kConntrack: -m conntrack.
enum class Module : std::uint8_t {
  kTcp,
  kUdp,
  kIcmp,
  kMultiport,
  kOwner,
  kCgroup,
  kComment,
  kState,
  kConntrack,
  kLimit,
  kHashlimit,
};

enum class TargetKind : std::uint8_t {
  kNone,    // no -j: count only
  kAccept,
  kDrop,
  kReject,
  kReturn,
  kLog,
  kJump,    // -j USERCHAIN
  kGoto,    // -g USERCHAIN
};

// --reject-with values (iptables' names; icmp-port-unreachable by default).
enum class RejectWith : std::uint8_t {
  kIcmpNetUnreachable,
  kIcmpHostUnreachable,
  kIcmpPortUnreachable,
  kIcmpProtoUnreachable,
  kIcmpNetProhibited,
  kIcmpHostProhibited,
  kIcmpAdminProhibited,
  kTcpReset,
};

struct Target {
  TargetKind kind = TargetKind::kNone;
  std::string chain;  // kJump / kGoto
  RejectWith reject_with = RejectWith::kIcmpPortUnreachable;
  std::string log_prefix;  // kLog: --log-prefix
  std::uint8_t log_level = 4;  // kLog: --log-level (syslog level, warning)
  friend bool operator==(const Target&, const Target&) = default;
};

struct Counters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  friend bool operator==(const Counters&, const Counters&) = default;
};

struct Rule {
  // Identity for counters across edits (normand assigns it; 0 = unassigned).
  // Not part of what a rule means: operator== ignores it and the counters.
  std::uint64_t id = 0;
  std::optional<Addr> src;      // -s
  std::optional<Addr> dst;      // -d
  std::optional<Iface> in;      // -i (INPUT and chains called only from it)
  std::optional<Iface> out;     // -o (OUTPUT and chains called only from it)
  std::optional<Proto> proto;   // -p
  std::optional<bool> fragment; // -f (true) / ! -f (false)
  std::vector<Module> modules;  // -m ... in the order written
  std::optional<PortMatch> sport;
  std::optional<PortMatch> dport;
  std::optional<TcpFlags> tcp_flags;
  std::optional<IcmpType> icmp;
  std::optional<Multiport> multiport;
  std::optional<Owner> owner;
  std::optional<Cgroup> cgroup;
  std::optional<std::string> comment;  // -m comment --comment
  std::optional<CtStates> state;       // -m state --state
  std::optional<ConntrackMatch> conntrack;  // -m conntrack
  Target target;
  Counters counters;  // as loaded (-c / [p:b]) or as read back from the NIC
  std::optional<Limit> limit;          // -m limit
  std::optional<Hashlimit> hashlimit;  // -m hashlimit

  // Same matches and target (what -D RULESPEC and -C compare).
  [[nodiscard]] bool same_spec(const Rule& other) const;
};

enum class Policy : std::uint8_t { kAccept, kDrop };

struct Chain {
  std::string name;
  std::optional<Policy> policy;  // built-in chains (INPUT, OUTPUT) only
  Counters policy_counters;      // packets the policy decided
  std::vector<Rule> rules;
  [[nodiscard]] bool builtin() const { return policy.has_value(); }
};

// The filter table. Always holds INPUT and OUTPUT (policy ACCEPT when
// new); user chains follow in creation order.
struct Ruleset {
  std::vector<Chain> chains;
  // FORWARD: the host kernel's chain (the NIC does not forward), kept out
  // of `chains` (which the NIC's compiler walks); find("FORWARD") returns
  // it. Its rules run in the host's netfilter only (docs/nfw-host.md).
  Chain forward{"FORWARD", Policy::kAccept, {}, {}};
  // The host's other tables (*mangle, *raw, *nat...), in save order.
  std::vector<HostTable> host_tables;

  Ruleset();  // INPUT and OUTPUT, empty, policy ACCEPT
  [[nodiscard]] Chain* find(std::string_view name);
  [[nodiscard]] const Chain* find(std::string_view name) const;
  // How many rules reference chain `name` (jump or goto): -X refuses > 0.
  [[nodiscard]] std::size_t references(std::string_view name) const;
};

// Names iptables uses: "tcp" <-> 6 etc. (numbers for the rest).
[[nodiscard]] std::optional<std::uint8_t> proto_number(std::string_view name);
[[nodiscard]] std::string proto_name(std::uint8_t number);

// The JSON form carried over normand's control socket (and by nfw -j).
// Every rule is saved as one line that nfw-restore reads back (iptables-save
// format), so no text in the model may hold a line break or another control
// character (a tab, inside quotes, is fine; `word` also refuses blanks and
// double quotes, for names that are written unquoted: chains, interfaces). Returns why `s`
// cannot be kept, or nothing. iptables refuses a newline in --log-prefix for
// this reason; it lets one into --comment and then cannot restore its own
// save, which is not copied here.
[[nodiscard]] std::optional<std::string> unsaveable_text(std::string_view s, bool word = false);

void to_json(nlohmann::json& j, const Ruleset& r);
void from_json(const nlohmann::json& j, Ruleset& r);  // throws std::invalid_argument on bad input
void to_json(nlohmann::json& j, const Rule& r);
void from_json(const nlohmann::json& j, Rule& r);

}  // namespace norman::filter
