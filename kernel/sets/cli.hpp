// ipset's command line over a Store: the same commands, options, output
// formats (`ipset list`, `ipset save`), messages and exit statuses.
// normand runs it for nipset (the sets live in normand); tests run it
// directly beside the real ipset.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store.hpp"

namespace norman::sets {

enum class Command {
  kNone,
  kCreate,
  kAdd,
  kDel,
  kTest,
  kDestroy,
  kFlush,
  kList,
  kSave,
  kRestore,
  kRename,
  kSwap,
  kHelp,
  kVersion
};

enum class OutputMode { kDefault, kPlain, kSave };

struct Invocation {
  Command command = Command::kNone;
  std::vector<std::string> args;  // the command's own arguments
  bool exist = false;
  bool quiet = false;
  bool names_only = false;  // -name
  bool terse = false;       // -terse
  OutputMode output = OutputMode::kDefault;
  std::optional<std::string> file;  // -file: where restore reads / list and save write
};

// Parses the arguments after the program name; throws Error (status 2 for a
// bad command line, as ipset).
Invocation parse_invocation(const std::vector<std::string>& args);

struct Outcome {
  int status = 0;
  std::string out;  // stdout (or the -file's contents)
  std::string err;  // stderr, every line already prefixed
};

// Runs one invocation (restore reads `input`) against the store, as one
// transaction: all of it applies or none. `prog` prefixes messages
// ("nipset" -> "nipset: The set with the given name does not exist").
Outcome run(Store& store, const std::vector<std::string>& args, std::string_view input,
            std::string_view prog);

// "nipset v7.17, protocol version: 7 (Norman: sets kept by normand)".
std::string version_text(std::string_view prog);

}  // namespace norman::sets
