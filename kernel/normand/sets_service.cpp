#include "sets_service.hpp"

#include <stdexcept>

namespace norman::normand {

sets::Outcome SetsService::run(const std::vector<std::string>& args, std::string_view input) {
  if (args.size() > kMaxArgs) {
    throw std::invalid_argument("at most " + std::to_string(kMaxArgs) + " arguments");
  }
  for (const auto& a : args) {
    if (a.size() > kMaxArgBytes) {
      throw std::invalid_argument("an argument longer than " + std::to_string(kMaxArgBytes) +
                                  " bytes");
    }
    // normand never opens a client's file: nipset reads and writes it.
    if (a == "-file" || a == "--file" || a == "-f") {
      throw std::invalid_argument("-file is nipset's (it reads and writes the file itself)");
    }
  }
  return sets::run(store_, args, input, "nipset");
}

}  // namespace norman::normand
