// The nfw tools' connection to normand: the filter ops of the control
// protocol (kernel/proto/normand_proto.hpp), with the table carried as JSON in
// a memfd.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "command.hpp"
#include "ctl_socket.hpp"
#include "ruleset.hpp"

namespace norman::nfw {

// --socket PATH / --socket=PATH removed from args; else $NORMAN_SOCKET; else
// the default path.
std::string take_socket_option(std::vector<std::string>& args);

class NormandLink {
 public:
  explicit NormandLink(const std::string& socket_path);

  struct Table {
    filter::Ruleset rules;
    std::uint64_t generation = 0;
    std::size_t entries = 0;
    std::size_t capacity = 0;
  };
  Table get();
  bool command(const filter::Command& cmd);  // -C's answer, true otherwise
  std::uint64_t replace(const filter::Ruleset& rules, bool counters,
                        std::optional<std::uint64_t> generation);
  // normand compiles and places `rules` as replace() would, and installs
  // nothing: what nfw-restore --test asks, so that the test and the load
  // refuse exactly the same files.
  void check(const filter::Ruleset& rules);

 private:
  ctl::Client client_;
};

// Parses the remaining args with app (CLI11 wants them reversed); returns
// the exit status to leave with if parsing ended the program (--help, or
// an error CLI11 has printed).
std::optional<int> parse_options(CLI::App& app, std::vector<std::string>& args);

// Options every tool takes as iptables' tools do, removed from args before
// the tool's own parsing: -4/--ipv4 (nothing), -w/--wait [SECONDS] and
// -W/--wait-interval USECS (nothing to wait for: normand applies one change
// at a time). Returns a message for -6/--ipv6, which is refused.
std::optional<std::string> take_common_options(std::vector<std::string>& args);
// -V/--version among args.
bool wants_version(const std::vector<std::string>& args);

// The tools know one table; any other is refused with a message (false).
bool filter_table_only(const char* tool, const std::string& table);

// A refusal from normand as "nfw: <reason>" (errno name dropped unless useful).
std::string describe_error(const std::system_error& e);

// Thrown by NormandLink's constructor when normand cannot be reached (not
// running, no such socket, no right to connect).
class ConnectError : public std::system_error {
 public:
  using std::system_error::system_error;
};

// iptables' exit statuses, shared by the three tools.
inline constexpr int kExitOther = 1;     // OTHER_PROBLEM: a command failed
inline constexpr int kExitUsage = 2;     // PARAMETER_PROBLEM: bad command line or file
inline constexpr int kExitResource = 4;  // RESOURCE_PROBLEM: no privilege, no room, no normand

// The status for a failure reported by normand or the socket: no privilege
// (EPERM, EACCES), no room on the NIC (ENOSPC, ENOMEM) and no normand to talk
// to are resource problems (4, as iptables exits when it may not or cannot
// reach the kernel's table); every other refusal is 1.
int exit_status(const std::system_error& e);

// "TOOL: what", with any tool prefix `what` already carries removed
// (messages from the parser and from normand start with "nfw: "), so that
// no message reads "nfw: nfw: ...".
std::string tool_message(std::string_view tool, std::string what);

// "nfw v0.1 (Norman, IPv4 filter table on the NIC)": what -V prints.
std::string version_line(std::string_view tool);

}  // namespace norman::nfw
