#include "cli.hpp"

#include <charconv>
#include <cstdlib>
#include <random>
#include <sstream>

#include "element.hpp"
#include "error.hpp"

namespace norman::sets {

namespace {

struct CommandName {
  const char* name;
  Command command;
};
constexpr CommandName kCommands[] = {
    {"create", Command::kCreate},   {"n", Command::kCreate},   {"-N", Command::kCreate},
    {"add", Command::kAdd},         {"-A", Command::kAdd},     {"del", Command::kDel},
    {"-D", Command::kDel},          {"test", Command::kTest},  {"-T", Command::kTest},
    {"destroy", Command::kDestroy}, {"x", Command::kDestroy},  {"-X", Command::kDestroy},
    {"flush", Command::kFlush},     {"-F", Command::kFlush},   {"list", Command::kList},
    {"-L", Command::kList},         {"save", Command::kSave},  {"-S", Command::kSave},
    {"restore", Command::kRestore}, {"-R", Command::kRestore}, {"rename", Command::kRename},
    {"e", Command::kRename},        {"-E", Command::kRename},  {"swap", Command::kSwap},
    {"w", Command::kSwap},          {"-W", Command::kSwap},    {"help", Command::kHelp},
    {"-H", Command::kHelp},         {"-h", Command::kHelp},    {"--help", Command::kHelp},
    {"version", Command::kVersion}, {"-V", Command::kVersion}, {"-v", Command::kVersion},
};

const char* command_word(Command c) {
  switch (c) {
    case Command::kCreate:
      return "create";
    case Command::kAdd:
      return "add";
    case Command::kDel:
      return "del";
    case Command::kTest:
      return "test";
    case Command::kDestroy:
      return "destroy";
    case Command::kFlush:
      return "flush";
    case Command::kList:
      return "list";
    case Command::kSave:
      return "save";
    case Command::kRestore:
      return "restore";
    case Command::kRename:
      return "rename";
    case Command::kSwap:
      return "swap";
    case Command::kHelp:
      return "help";
    case Command::kVersion:
      return "version";
    case Command::kNone:
      break;
  }
  return "";
}

// A global option (-exist, -output save, ...; one or two dashes).
// Returns false if `a` is not one.
bool take_option(Invocation& inv, const std::vector<std::string>& args, std::size_t& i) {
  std::string_view a = args[i];
  if (a == "-!") {
    inv.exist = true;
    return true;
  }
  if (a.size() < 2 || a[0] != '-') return false;
  std::string_view o = a.substr(a[1] == '-' ? 2 : 1);
  auto value = [&]() -> std::string {
    if (i + 1 >= args.size()) {
      throw usage_error("Missing mandatory argument to option " + std::string(a));
    }
    return args[++i];
  };
  if (o == "exist") {
    inv.exist = true;
  } else if (o == "quiet" || o == "q") {
    inv.quiet = true;
  } else if (o == "resolve" || o == "r" || o == "sorted" || o == "s") {
    // Nothing to do: no names are resolved, members are always sorted.
  } else if (o == "name" || o == "n") {
    inv.names_only = true;
  } else if (o == "terse" || o == "t") {
    inv.terse = true;
  } else if (o == "output" || o == "o") {
    const std::string m = value();
    if (m == "plain") {
      inv.output = OutputMode::kPlain;
    } else if (m == "save") {
      inv.output = OutputMode::kSave;
    } else if (m == "xml") {
      throw syntax_error("output mode 'xml' is not supported by nipset (plain, save)");
    } else {
      throw syntax_error("unknown output mode '" + m + "'");
    }
  } else if (o == "file" || o == "f") {
    inv.file = value();
  } else {
    return false;
  }
  return true;
}

std::uint32_t number32(std::string_view s) {
  // Decimal or 0x hex, as ipset's string_to_number (strtoull base 0).
  const std::string text(s);
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (text.empty() || *end != '\0' || text[0] == '-') {
    throw syntax_error("'" + text + "' is invalid as number");
  }
  if (errno == ERANGE || v > 0xffffffffULL) {
    throw syntax_error("'" + text + "' is out of range 0-4294967295");
  }
  return static_cast<std::uint32_t>(v);
}

std::uint32_t round_hashsize(std::uint32_t n) {
  std::uint64_t p = 64;
  while (p < n) p <<= 1;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(p, std::uint64_t{1} << 31));
}

bool known_to_ipset(std::string_view t) {
  for (const char* n : {"bitmap:ip", "bitmap:ip,mac", "hash:mac", "hash:ip,mac", "hash:ip,mark",
                        "hash:ip,port,ip", "hash:ip,port,net", "hash:net,net", "hash:net,port",
                        "hash:net,port,net", "hash:net,iface", "list:set"}) {
    if (t == n) return true;
  }
  return false;
}

Header parse_create(const std::vector<std::string>& args) {
  const std::string& tname = args[1];
  const auto type = type_from_name(tname);
  if (!type) {
    if (known_to_ipset(tname)) {
      throw syntax_error("typename '" + tname +
                         "' is not supported by nipset (hash:ip, hash:net, hash:ip,port, "
                         "bitmap:port)");
    }
    throw syntax_error("typename '" + tname + "' is unknown");
  }
  Header h;
  h.type = *type;
  static thread_local std::mt19937 rng{std::random_device{}()};
  h.initval = static_cast<std::uint32_t>(rng());
  bool have_range = false;
  std::vector<std::string> seen;
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& o = args[i];
    const bool hash_opt =
        o == "family" || o == "hashsize" || o == "maxelem" || o == "bucketsize" || o == "initval";
    const bool bitmap_opt = o == "range";
    const bool unsupported = o == "timeout" || o == "counters" || o == "comment" ||
                             o == "skbinfo" || o == "forceadd" || o == "netmask" ||
                             o == "bitmask" || o == "markmask" || o == "probes" || o == "resize" ||
                             o == "size";
    if (unsupported) {
      throw syntax_error("create option `" + o +
                         "' is not supported by nipset (hash types: family inet, hashsize, "
                         "maxelem, bucketsize, initval; bitmap:port: range)");
    }
    if ((!hash_opt && !bitmap_opt) || (hash_opt && !is_hash(h.type)) ||
        (bitmap_opt && is_hash(h.type))) {
      throw usage_error("Unknown argument: `" + o + "'");
    }
    if (i + 1 >= args.size()) throw usage_error("Missing mandatory argument of option `" + o + "'");
    if (std::find(seen.begin(), seen.end(), o) != seen.end()) {
      throw syntax_error(o + " already specified");
    }
    seen.push_back(o);
    const std::string& v = args[++i];
    if (o == "family") {
      if (v == "inet6") {
        throw syntax_error("family inet6 is not supported by nipset: its sets are IPv4 (inet)");
      }
      if (v != "inet") throw syntax_error("unknown family " + v);
    } else if (o == "hashsize") {
      h.hashsize = round_hashsize(number32(v));
    } else if (o == "maxelem") {
      h.maxelem = number32(v);
    } else if (o == "bucketsize") {
      const std::uint32_t b = number32(v);
      h.bucketsize = b >= 12 ? 12 : b < 2 ? 2 : (b + 1) / 2 * 2;
    } else if (o == "initval") {
      h.initval = number32(v);
    } else {
      // range FROM-TO of ports; the element parser words port errors.
      Header probe;
      probe.type = Type::kBitmapPort;
      probe.range_lo = 0;
      probe.range_hi = 65535;
      const Element e = parse_element(probe, v);
      h.range_lo = e.parts.front().port_lo;
      h.range_hi = e.parts.front().port_hi;
      have_range = true;
    }
  }
  if (h.type == Type::kBitmapPort && !have_range) {
    throw usage_error("Mandatory option `range' is missing");
  }
  return h;
}

// add/del/test: what may follow the element.
void check_adt_options(const std::vector<std::string>& args) {
  if (args.size() <= 2) return;
  const std::string& o = args[2];
  if (o == "timeout")
    throw Error("Timeout cannot be used: set was created without timeout support");
  if (o == "packets" || o == "bytes") {
    throw Error("Packet/byte counters cannot be used: set was created without counter support");
  }
  if (o == "comment")
    throw Error("Comment cannot be used: set was created without comment support");
  if (o == "skbmark" || o == "skbprio" || o == "skbqueue") {
    throw Error("Skbinfo mapping cannot be used:  set was created without skbinfo support");
  }
  if (o == "nomatch") throw syntax_error("element option `nomatch' is not supported by nipset");
  throw usage_error("Unknown argument: `" + o + "'");
}

std::string list_block(const Set& s, bool terse) {
  std::ostringstream o;
  o << "Name: " << s.name << "\nType: " << type_name(s.header.type)
    << "\nRevision: " << type_revision(s.header.type) << "\nHeader: " << format_header(s.header)
    << "\nSize in memory: " << memory_size(s) << "\nReferences: " << s.references
    << "\nNumber of entries: " << s.size() << "\n";
  if (!terse) {
    o << "Members:\n";
    for (const Key k : s.members) o << format_key(s.header, k) << "\n";
  }
  return o.str();
}

std::string save_block(const Set& s) {
  std::string out = "create " + s.name + " " + std::string(type_name(s.header.type)) + " " +
                    format_header(s.header) + "\n";
  for (const Key k : s.members) out += "add " + s.name + " " + format_key(s.header, k) + "\n";
  return out;
}

std::string listing(const Store& store, const Invocation& inv) {
  std::vector<const Set*> which;
  if (!inv.args.empty()) {
    const Set* s = store.find(inv.args[0]);
    if (s == nullptr) throw Error("The set with the given name does not exist");
    which.push_back(s);
  } else {
    which = store.sets();
  }
  std::string out;
  if (inv.names_only) {
    for (const Set* s : which) out += s->name + "\n";
    return out;
  }
  OutputMode mode = inv.output;
  if (mode == OutputMode::kDefault) {
    mode = inv.command == Command::kSave ? OutputMode::kSave : OutputMode::kPlain;
  }
  for (std::size_t i = 0; i < which.size(); ++i) {
    if (mode == OutputMode::kSave) {
      out += save_block(*which[i]);
    } else {
      if (i != 0) out += "\n";
      out += list_block(*which[i], inv.terse);
    }
  }
  return out;
}

std::string help_text(std::string_view prog) {
  std::string p(prog);
  return p + " v7.17\n\nUsage: " + p +
         " [options] COMMAND\n\nCommands:\n"
         "create SETNAME TYPENAME [type-specific-options]\n"
         "        Create a new set\n"
         "add SETNAME ENTRY\n        Add entry to the named set\n"
         "del SETNAME ENTRY\n        Delete entry from the named set\n"
         "test SETNAME ENTRY\n        Test entry in the named set\n"
         "destroy [SETNAME]\n        Destroy a named set or all sets\n"
         "list [SETNAME]\n        List the entries of a named set or all sets\n"
         "save [SETNAME]\n        Save the named set or all sets to stdout\n"
         "restore\n        Restore a saved state\n"
         "flush [SETNAME]\n        Flush a named set or all sets\n"
         "rename FROM-SETNAME TO-SETNAME\n        Rename two sets\n"
         "swap FROM-SETNAME TO-SETNAME\n        Swap the contect of two existing sets\n"
         "help [TYPENAME]\n        Print help, and settype specific help\n"
         "version\n        Print version information\n\n"
         "Options:\n"
         "-o plain|save\n        Specify output mode for listing sets.\n"
         "        Default value for \"list\" command is mode \"plain\"\n"
         "        and for \"save\" command is mode \"save\"\n"
         "-s        Print sorted output. When listing sets entries are sorted.\n"
         "-r        Try to resolve IP addresses in the output (slow!)\n"
         "-!        Ignore errors when exactly the same set is to be created\n"
         "        or already added entry is added or missing entry is deleted.\n"
         "-q        Suppress any notice or warning message.\n"
         "-n        When listing, just list setnames from the kernel.\n\n"
         "-t        When listing, list setnames and set headers\n"
         "        from kernel only.\n"
         "-f        Read from the given file instead of standard\n"
         "        input (restore) or write to given file instead\n"
         "        of standard output (list/save).\n\n"
         "Supported set types (sets are kept by normand, docs/sets.md):\n"
         "    hash:ip       family inet, hashsize, maxelem, bucketsize, initval\n"
         "    hash:net      family inet, hashsize, maxelem, bucketsize, initval\n"
         "    hash:ip,port  family inet, hashsize, maxelem, bucketsize, initval\n"
         "    bitmap:port   range FROM-TO\n";
}

// The element as ipset's test answer prints it: hash:ip,port's protocol
// and port as parsed ("10.0.0.1,80" is "10.0.0.1,tcp:80").
std::string test_text(const Set& s, const std::string& text) {
  if (s.header.type != Type::kHashIpPort) return text;
  const Element e = parse_element(s.header, text);
  const Part& p = e.parts.front();
  std::string out = text.substr(0, text.find(',')) + "," + proto_name(p.proto) + ":";
  if (p.proto == 1) {
    return out + icmp_name(static_cast<std::uint8_t>(p.port_lo >> 8),
                           static_cast<std::uint8_t>(p.port_lo & 0xff));
  }
  out += std::to_string(p.port_lo);
  if (p.port_hi != p.port_lo) out += "-" + std::to_string(p.port_hi);
  return out;
}

// One command (not restore) against the store; output appended to `o`.
void execute(Store& store, const Invocation& inv, Outcome& o, std::string_view prog) {
  const auto& a = inv.args;
  switch (inv.command) {
    case Command::kCreate:
      store.create(a[0], parse_create(a), inv.exist);
      break;
    case Command::kAdd:
      check_adt_options(a);
      store.add(a[0], a[1], inv.exist);
      break;
    case Command::kDel:
      check_adt_options(a);
      store.del(a[0], a[1], inv.exist);
      break;
    case Command::kTest: {
      check_adt_options(a);
      const bool in = store.test(a[0], a[1]);
      if (!inv.quiet) {
        const std::string what = test_text(*store.find(a[0]), a[1]);
        o.err += in ? "Warning: " + what + " is in set " + a[0] + ".\n"
                    : what + " is NOT in set " + a[0] + ".\n";
      }
      if (!in) o.status = 1;
      break;
    }
    case Command::kDestroy:
      store.destroy(a.empty() ? std::nullopt : std::optional<std::string_view>(a[0]));
      break;
    case Command::kFlush:
      store.flush(a.empty() ? std::nullopt : std::optional<std::string_view>(a[0]));
      break;
    case Command::kList:
    case Command::kSave:
      o.out += listing(store, inv);
      break;
    case Command::kRename:
      store.rename(a[0], a[1]);
      break;
    case Command::kSwap:
      store.swap(a[0], a[1]);
      break;
    case Command::kHelp:
      o.out += help_text(prog);
      break;
    case Command::kVersion:
      o.out += version_text(prog) + "\n";
      break;
    case Command::kRestore:
    case Command::kNone:
      break;
  }
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

void restore(Store& store, const Invocation& outer, std::string_view input, Outcome& o,
             std::string_view prog) {
  std::size_t lineno = 0;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t nl = input.find('\n', pos);
    const std::string_view line =
        input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? input.size() : nl + 1;
    ++lineno;
    const auto words = split_words(line);
    if (words.empty() || words[0][0] == '#' || words[0] == "COMMIT") continue;
    try {
      Invocation inv = parse_invocation(words);
      if (inv.command == Command::kRestore || inv.command == Command::kHelp ||
          inv.command == Command::kVersion) {
        throw syntax_error(std::string("command ") + command_word(inv.command) +
                           " is not allowed in restore mode");
      }
      // As ipset: options on a line do not count, those of the restore do.
      inv.exist = outer.exist;
      inv.quiet = outer.quiet;
      execute(store, inv, o, prog);
    } catch (const Error& e) {
      if (e.usage()) throw;
      throw Error("Error in line " + std::to_string(lineno) + ": " + e.what(), e.status());
    }
  }
}

}  // namespace

Invocation parse_invocation(const std::vector<std::string>& args) {
  Invocation inv;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (take_option(inv, args, i)) continue;
    if (inv.command == Command::kNone) {
      for (const auto& c : kCommands) {
        if (args[i] == c.name) inv.command = c.command;
      }
      if (inv.command == Command::kNone) {
        throw usage_error("No command specified: unknown argument " + args[i]);
      }
      continue;
    }
    inv.args.push_back(args[i]);
  }
  const std::string word = command_word(inv.command);
  const auto n = inv.args.size();
  switch (inv.command) {
    case Command::kNone:
      throw usage_error("No command specified.");
    case Command::kCreate:
    case Command::kAdd:
    case Command::kDel:
    case Command::kTest:
    case Command::kRename:
    case Command::kSwap:
      if (n == 0) throw usage_error("Missing mandatory argument to command " + word);
      if (n == 1) throw usage_error("Missing second mandatory argument to command " + word);
      if ((inv.command == Command::kRename || inv.command == Command::kSwap) && n > 2) {
        throw usage_error("Unknown argument " + inv.args[2]);
      }
      break;
    case Command::kDestroy:
    case Command::kFlush:
    case Command::kList:
    case Command::kSave:
      if (n > 1) throw usage_error("Unknown argument " + inv.args[1]);
      break;
    case Command::kRestore:
    case Command::kVersion:
      if (n > 0) throw usage_error("Unknown argument " + inv.args[0]);
      break;
    case Command::kHelp:
      break;
  }
  return inv;
}

Outcome run(Store& store, const std::vector<std::string>& args, std::string_view input,
            std::string_view prog) {
  Outcome o;
  Invocation inv;
  try {
    inv = parse_invocation(args);
    if (inv.command == Command::kRestore) {
      restore(store, inv, input, o, prog);
    } else {
      execute(store, inv, o, prog);
    }
    store.commit();
  } catch (const Error& e) {
    store.rollback();
    o.status = e.status();
    o.out.clear();
    if (!inv.quiet) {
      o.err += std::string(prog) + ": " + e.what() + "\n";
      if (e.usage()) o.err += "Try `" + std::string(prog) + " help' for more information.\n";
    }
  }
  return o;
}

std::string version_text(std::string_view prog) {
  return std::string(prog) + " v7.17, protocol version: 7";
}

}  // namespace norman::sets
