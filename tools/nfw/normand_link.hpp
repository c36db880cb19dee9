// The nfw tools' connection to normand: the filter ops of the control
// protocol (kernel/proto/normand_proto.hpp), with the table carried as JSON in
// a memfd.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
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

 private:
  ctl::Client client_;
};

// Parses the remaining args with app (CLI11 wants them reversed); returns
// the exit status to leave with if parsing ended the program (--help, or
// an error CLI11 has printed).
std::optional<int> parse_options(CLI::App& app, std::vector<std::string>& args);

// The tools know one table; any other is refused with a message (false).
bool filter_table_only(const char* tool, const std::string& table);

// A refusal from normand as "nfw: <reason>" (errno name dropped unless useful).
std::string describe_error(const std::system_error& e);

}  // namespace norman::nfw
