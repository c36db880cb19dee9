// ntc's command line in tc's grammar: `[OPTIONS] qdisc|class|filter VERB
// dev DEV ...`. What ntc supports is read as tc reads it; anything else is
// refused naming the token, before anything changes.
#pragma once

#include <span>
#include <string>

#include "tc_config.hpp"

namespace norman::ntc {

struct CommandLine {
  Options options;
  Command command;
  bool help = false;     // `ntc help`, `-h`: usage printed, nothing done
  bool version = false;  // -V
};

// argv without the program name. Throws TcError (status 1 as tc's parse
// errors, 255 for an unknown object as tc's).
[[nodiscard]] CommandLine parse_command_line(std::span<const std::string> args);

// The NIC ports ntc configures (normand's names).
[[nodiscard]] bool is_nic_port(const std::string& dev);

}  // namespace norman::ntc
