// nfw command lines (one argument per line of the input) applied to a table
// with user chains, as normand applies them: parse, edit, compile. Errors
// must be SyntaxError, CommandError or CompileError; the table must stay
// savable and restorable after every accepted command.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "command.hpp"
#include "compiler.hpp"
#include "fuzz_util.hpp"
#include "syntax.hpp"

using namespace norman;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::uint64_t next = 1;
  auto ids = [&next] { return next++; };
  filter::Ruleset rs;
  for (const char* setup : {"-N web", "-N ssh", "-A web -j ssh", "-A INPUT -p tcp -j web"}) {
    (void)filter::apply(rs, nfw::parse_command(nfw::split_line(setup)), ids);
  }
  // Several commands, separated by an empty line; arguments one per line.
  std::vector<std::string> args;
  std::size_t start = 0;
  auto run = [&] {
    if (args.empty()) return;
    try {
      const filter::Command cmd = nfw::parse_command(args);
      (void)filter::apply(rs, cmd, ids);
    } catch (const nfw::SyntaxError&) {
    } catch (const filter::CommandError&) {
    }
    args.clear();
  };
  while (start <= in.size()) {
    auto nl = in.find('\n', start);
    if (nl == std::string::npos) nl = in.size();
    const std::string word = in.substr(start, nl - start);
    if (word.empty()) {
      run();
    } else {
      args.push_back(word);
    }
    start = nl + 1;
  }
  run();
  const std::string saved = fuzz::without_comments(nfw::format_save(rs, true));
  filter::Ruleset back;
  nfw::apply_restore(back, nfw::parse_restore(saved), false, true, ids);
  FUZZ_CHECK(fuzz::without_comments(nfw::format_save(back, true)) == saved);
  (void)nfw::format_list(rs, nfw::parse_command(nfw::split_line("-L -v -n -x --line-numbers")));
  (void)nfw::format_rules(rs, nfw::parse_command(nfw::split_line("-S -v")));
  fuzz::FixedIds owners;
  try {
    (void)filter::compile(rs, owners);
  } catch (const filter::CompileError&) {
  }
  return 0;
}
