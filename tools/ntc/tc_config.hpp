// The QoS configuration of a NIC port as tc describes it: a root HTB qdisc
// with its class tree, an ingress qdisc for policing, and the filters that
// put traffic into classes. ntc parses commands into this model, checks them
// with Linux's rules and messages, and prints it as tc shows it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tc_units.hpp"

namespace norman::ntc {

// A refused command: tc's message and exit status (1 for what tc itself
// refuses while parsing, 2 for what the kernel refuses). Nothing changed.
class TcError : public std::runtime_error {
 public:
  TcError(const std::string& message, int exit_status)
      : std::runtime_error(message), status(exit_status) {}
  int status;
};

struct HtbQdisc {
  Handle handle;
  std::uint32_t default_minor = 0;  // unclassified traffic's class minor (0: none)
  std::uint32_t r2q = 10;           // default quantum = rate / r2q
  std::uint32_t direct_qlen = 1000;
};

struct HtbClass {
  Handle id;
  Handle parent;           // the qdisc's handle (minor 0) for a root class
  std::uint64_t rate = 0;  // bytes per second
  std::uint64_t ceil = 0;
  std::uint32_t burst = 0;  // bytes
  std::uint32_t cburst = 0;
  std::uint32_t prio = 0;     // 0..7, lower first
  std::uint32_t quantum = 0;  // bytes per DRR round
  bool quantum_given = false;
};

// A token bucket for received traffic (`action police rate R burst B drop`).
struct Police {
  std::uint64_t rate = 0;  // bytes per second
  std::uint32_t burst = 0;
  std::uint32_t mtu = 0;  // 0: no limit
};

// What a filter matches: each field optional; all given fields must match.
struct FilterMatch {
  std::optional<std::uint8_t> ip_proto;
  std::optional<std::pair<std::uint32_t, std::uint8_t>> src_ip;  // address (host order), prefix
  std::optional<std::pair<std::uint32_t, std::uint8_t>> dst_ip;
  std::optional<std::pair<std::uint16_t, std::uint16_t>> src_port;  // range, inclusive
  std::optional<std::pair<std::uint16_t, std::uint16_t>> dst_port;
  // Owner and cgroup of the connection (ntc's classifiers, see ntc.8).
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  std::optional<std::string> comm;
  std::optional<std::string> cgroup;
};

struct Filter {
  Handle parent;                    // the qdisc it hangs from (1: or ffff:)
  std::uint16_t protocol = 0x0003;  // ETH_P_ALL (tc's default) or ETH_P_IP
  std::uint32_t prio = 0;
  std::string kind;  // "flower", "u32", "owner", "cgroup"
  FilterMatch match;
  std::optional<Handle> classid;  // flowid/classid
  std::optional<Police> police;
};

struct PortConfig {
  std::optional<HtbQdisc> root;
  std::optional<Handle> ingress;  // ffff: when present
  std::map<Handle, HtbClass> classes;
  std::vector<Filter> filters;  // in the order tc lists them (by parent, prio)
};

// One parsed ntc command line.
struct Command {
  enum class Object { kQdisc, kClass, kFilter };
  enum class Verb { kAdd, kDel, kChange, kReplace, kShow };
  Object object = Object::kQdisc;
  Verb verb = Verb::kShow;
  std::string dev;
  // qdisc
  bool root = false;
  bool ingress = false;
  std::optional<Handle> handle;
  std::optional<HtbQdisc> htb_qdisc;  // add/replace of an htb root
  // class
  std::optional<Handle> parent;
  std::optional<Handle> classid;
  std::optional<HtbClass> htb_class;  // parameters as given
  bool burst_given = false;
  bool cburst_given = false;
  bool ceil_given = false;
  std::uint32_t mtu = 1600;
  // filter
  std::optional<Filter> filter;
  // show: `class show dev D classid C`, `filter show dev D parent P`
};

struct Options {
  bool stats = false;
  bool details = false;
  bool json = false;
  bool pretty = false;
};

// Applies a change to the configuration with Linux's checks and messages;
// throws TcError and leaves `cfg` unchanged on refusal. Returns warnings tc
// would print (e.g. a quantum clamped), one per line.
std::vector<std::string> apply(PortConfig& cfg, const Command& cmd);

}  // namespace norman::ntc
