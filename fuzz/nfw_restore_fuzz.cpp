// nfw-restore files through the whole tool chain: parse (iptables-restore's
// format), apply to a table, compile for the NIC, and check what must hold
// for every input: no crash or sanitizer report; errors only as the
// documented exceptions; what nfw-save writes restores to the same table
// (save/restore round-trips); the table survives the JSON trip to normand;
// and the compiled first-match program agrees with the reference classifier
// on the frame that follows the rules in the input (after a line
// "#--frame", as raw bytes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "command.hpp"
#include "compiler.hpp"
#include "evaluate.hpp"
#include "fuzz_util.hpp"
#include "syntax.hpp"

using namespace norman;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view frame;
  if (const auto at = in.find("\n#--frame\n"); at != std::string_view::npos) {
    frame = in.substr(at + 10);
    in = in.substr(0, at + 1);
  }
  filter::Ruleset rs;
  std::uint64_t next = 1;
  auto ids = [&next] { return next++; };
  try {
    const nfw::RestoreFile file = nfw::parse_restore(in);
    nfw::apply_restore(rs, file, false, true, ids);
  } catch (const nfw::SyntaxError& e) {
    FUZZ_CHECK(e.status == 1 || e.status == 2);
    return 0;
  } catch (const filter::CommandError&) {
    return 0;
  }
  // What is saved restores, to the same table.
  const std::string saved = fuzz::without_comments(nfw::format_save(rs, true));
  filter::Ruleset back;
  nfw::apply_restore(back, nfw::parse_restore(saved), false, true, ids);
  FUZZ_CHECK(fuzz::without_comments(nfw::format_save(back, true)) == saved);
  // The JSON form normand receives holds the same table.
  const nlohmann::json j = rs;
  FUZZ_CHECK(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict).size() > 0);
  const filter::Ruleset from_json = j.get<filter::Ruleset>();
  FUZZ_CHECK(fuzz::without_comments(nfw::format_save(from_json, true)) == saved);

  fuzz::FixedIds owners;
  filter::Program prog;
  try {
    prog = filter::compile(rs, owners);
  } catch (const filter::CompileError&) {
    return 0;  // refused with a reason (too large, unsupported shape)
  }
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(frame.data()),
                                            frame.size());
  std::vector<filter::Entry> entries;
  entries.reserve(prog.entries.size());
  for (const auto& e : prog.entries) entries.push_back(e.entry);
  for (const auto dir : {filter::Direction::kInput, filter::Direction::kOutput}) {
    const auto key = filter::key_of_frame(bytes, dir, 0, std::nullopt);
    if (!key) continue;
    const filter::Verdict v = filter::evaluate(rs, *key, owners);
    const auto hit = filter::first_match(entries, *key);
    FUZZ_CHECK(hit.has_value());
    FUZZ_CHECK(prog.entries[*hit].path == v.path);
    FUZZ_CHECK(prog.entries[*hit].entry.action == v.action);
  }
  return 0;
}
