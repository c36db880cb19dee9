// getopt_long with tcpdump's option letters: clustered short flags (-nnvc 5),
// options after the expression (glibc permutes), "--" ends the options.
#include <getopt.h>
#include <pwd.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <mutex>

#include "options.hpp"

namespace norman::ndump {
namespace {

enum LongOnly : int {
  opt_pcapng = 1000,
  opt_uid,
  opt_pid,
  opt_comm,
  opt_cgroup,
  opt_socket,
  opt_version,
};

const option long_options[] = {
    {"interface", required_argument, nullptr, 'i'},
    {"direction", required_argument, nullptr, 'Q'},
    {"snapshot-length", required_argument, nullptr, 's'},
    {"help", no_argument, nullptr, 'h'},
    {"pcapng", no_argument, nullptr, opt_pcapng},
    {"uid", required_argument, nullptr, opt_uid},
    {"pid", required_argument, nullptr, opt_pid},
    {"comm", required_argument, nullptr, opt_comm},
    {"cgroup", required_argument, nullptr, opt_cgroup},
    {"socket", required_argument, nullptr, opt_socket},
    {"version", no_argument, nullptr, opt_version},
    {nullptr, 0, nullptr, 0},
};

// Leading '+' would stop at the first non-option; tcpdump lets options
// follow the expression, so keep glibc's permutation. ':' first reports a
// missing argument as ':' rather than '?'.
constexpr const char* short_options = ":C:c:ehi:lnQ:r:s:Uvw:";

template <typename T>
std::optional<T> to_number(const char* s) {
  T v{};
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, v);
  if (ec != std::errc{} || p != end || p == s) return std::nullopt;
  return v;
}

std::uint32_t parse_uid(const char* s) {
  if (auto v = to_number<std::uint32_t>(s)) return *v;
  if (passwd* pw = getpwnam(s)) return pw->pw_uid;
  throw UsageError(std::string("invalid user ") + s);
}

std::mutex getopt_mutex;  // getopt keeps global state

}  // namespace

std::string usage_text() {
  return "Usage: ndump [-elnUv] [-c count] [-C file_size] [-i nic0|nic1|any] [-Q in|out|inout]\n"
         "\t\t[-r file] [-s snaplen] [-w file] [--pcapng]\n"
         "\t\t[--uid user] [--pid pid] [--comm name] [--cgroup path]\n"
         "\t\t[--socket path] [ expression ]\n";
}

Options parse_args(int argc, char* const argv[]) {
  std::lock_guard lock(getopt_mutex);
  Options o;
  opterr = 0;
  optind = 0;  // glibc: full reinitialisation, so parse_args can run twice
  for (;;) {
    int long_index = -1;
    int c = getopt_long(argc, argv, short_options, long_options, &long_index);
    if (c == -1) break;
    switch (c) {
      case 'c': {
        auto v = to_number<std::uint64_t>(optarg);
        if (!v || *v == 0) throw UsageError(std::string("invalid packet count ") + optarg);
        o.count = *v;
        break;
      }
      case 'C': {
        // tcpdump's -C: millions of bytes, checked before each packet.
        auto v = to_number<std::int64_t>(optarg);
        if (!v || *v <= 0) throw UsageError(std::string("invalid file size ") + optarg);
        if (*v > INT64_MAX / 1000000)
          throw UsageError(std::string("file size ") + optarg + " is too large");
        o.rotate_bytes = static_cast<std::uint64_t>(*v) * 1000000u;
        break;
      }
      case 'e':
        o.link_header = true;
        break;
      case 'h':
        o.help = true;
        break;
      case 'l':
        o.line_buffered = true;
        break;
      case 'U':
        o.packet_buffered = true;
        break;
      case 'i':
        o.interface = optarg;
        break;
      case 'n':
        o.numeric = true;
        break;
      case 'Q':
        if (std::strcmp(optarg, "in") == 0) {
          o.capture_in = true, o.capture_out = false;
        } else if (std::strcmp(optarg, "out") == 0) {
          o.capture_in = false, o.capture_out = true;
        } else if (std::strcmp(optarg, "inout") == 0) {
          o.capture_in = o.capture_out = true;
        } else {
          throw UsageError(std::string("unknown capture direction `") + optarg + "'");
        }
        break;
      case 'r':
        o.read_file = optarg;
        break;
      case 's': {
        auto v = to_number<std::int64_t>(optarg);
        if (!v || *v < 0 || *v > 262144)
          throw UsageError(std::string("invalid snaplen ") + optarg +
                           " (must be >= 0 and <= 262144)");
        o.snaplen = *v == 0 ? 262144u : static_cast<std::uint32_t>(*v);
        break;
      }
      case 'v':
        ++o.verbose;
        break;
      case 'w':
        o.write_file = optarg;
        break;
      case opt_pcapng:
        o.pcapng = true;
        break;
      case opt_uid:
        o.uid = parse_uid(optarg);
        break;
      case opt_pid: {
        auto v = to_number<std::int32_t>(optarg);
        if (!v || *v <= 0) throw UsageError(std::string("invalid pid ") + optarg);
        o.pid = *v;
        break;
      }
      case opt_comm:
        if (*optarg == '\0' || std::strlen(optarg) > 15)
          throw UsageError(std::string("invalid process name `") + optarg +
                           "' (1 to 15 characters, as /proc/PID/comm)");
        o.comm = optarg;
        break;
      case opt_cgroup:
        if (*optarg != '/')
          throw UsageError(std::string("invalid cgroup `") + optarg +
                           "' (an absolute cgroup v2 path)");
        o.cgroup = optarg;
        break;
      case opt_socket:
        o.normand_socket = optarg;
        break;
      case opt_version:
        o.version = true;
        break;
      case ':':
        if (optopt > 0 && optopt < 256)
          throw UsageError(std::string("option requires an argument -- '") +
                           static_cast<char>(optopt) + "'");
        throw UsageError(std::string("option '") + argv[optind - 1] + "' requires an argument");
      default:  // '?'
        if (optopt != 0)
          throw UsageError(std::string("invalid option -- '") + static_cast<char>(optopt) + "'");
        throw UsageError(std::string("unrecognized option '") + argv[optind - 1] + "'");
    }
  }
  // tcpdump joins the remaining arguments with spaces into one expression.
  for (int i = optind; i < argc; ++i) {
    if (!o.expression.empty()) o.expression += ' ';
    o.expression += argv[i];
  }
  if (o.rotate_bytes && (!o.write_file || *o.write_file == "-"))
    throw UsageError("-C needs -w with a file name");
  if (o.write_file && o.write_file->size() > 7 &&
      o.write_file->compare(o.write_file->size() - 7, 7, ".pcapng") == 0)
    o.pcapng = true;
  return o;
}

Options parse_args(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;  // getopt permutes argv
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_args(static_cast<int>(copy.size()), argv.data());
}

}  // namespace norman::ndump
