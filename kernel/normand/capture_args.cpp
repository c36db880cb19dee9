#include "capture_args.hpp"

#include <cerrno>
#include <initializer_list>
#include <limits>
#include <string_view>

#include "errors.hpp"
#include "normand_proto.hpp"

namespace norman::normand {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& what) { throw CtlError(EINVAL, what); }

void only(const json& req, std::initializer_list<std::string_view> allowed) {
  if (!req.is_object()) bad("a request is a JSON object");
  for (const auto& [k, v] : req.items()) {
    if (k == "op" || k == "seq") continue;
    bool ok = false;
    for (const auto a : allowed) ok = ok || k == a;
    if (!ok) bad("unknown argument \"" + k + "\"");
  }
}

std::uint64_t uint_arg(const json& req, const char* name, std::uint64_t max) {
  const auto& v = req.at(name);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
    bad(std::string(name) + ": a non-negative integer");
  const auto n = v.get<std::uint64_t>();
  if (n > max) bad(std::string(name) + ": at most " + std::to_string(max));
  return n;
}

bool bool_arg(const json& req, const char* name, bool dflt) {
  if (!req.contains(name)) return dflt;
  if (!req.at(name).is_boolean()) bad(std::string(name) + ": true or false");
  return req.at(name).get<bool>();
}

std::optional<std::string> text_arg(const json& req, const char* name) {
  if (!req.contains(name)) return std::nullopt;
  const auto& v = req.at(name);
  if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 4096)
    bad(std::string(name) + ": a non-empty string");
  return v.get<std::string>();
}

}  // namespace

bool CaptureOwnerFilter::matches(const ProcessInfo& o) const {
  if (uid && o.uid != *uid) return false;
  if (pid && o.pid != *pid) return false;
  if (comm && o.comm != *comm) return false;
  if (cgroup) {
    const std::string& want = *cgroup;
    if (o.cgroup != want) {
      // Under it: "/a" covers "/a/b", not "/ab"; "/" covers everything.
      const std::string prefix = want.ends_with('/') ? want : want + "/";
      if (!o.cgroup.starts_with(prefix)) return false;
    }
  }
  return true;
}

std::string CaptureOwnerFilter::describe() const {
  std::string s;
  auto add = [&s](const std::string& t) { s += (s.empty() ? "" : " ") + t; };
  if (uid) add("uid " + std::to_string(*uid));
  if (pid) add("pid " + std::to_string(*pid));
  if (comm) add("comm " + printable(*comm));
  if (cgroup) add("cgroup " + printable(*cgroup));
  return s.empty() ? "any owner" : s;
}

CaptureOpenArgs parse_cap_open(const json& req) {
  only(req,
       {"program", "interface", "in", "out", "snaplen", "log2", "uid", "pid", "comm", "cgroup"});
  CaptureOpenArgs a;
  if (!req.contains("program") || !req.at("program").is_array())
    bad("program: an array of [code, jt, jf, k] (pcap_compile's instructions)");
  const auto& prog = req.at("program");
  if (prog.empty() || prog.size() > BPF_MAXINSNS)
    bad("program: 1 to " + std::to_string(BPF_MAXINSNS) + " instructions");
  for (const auto& insn : prog) {
    if (!insn.is_array() || insn.size() != 4) bad("program: each instruction is [code, jt, jf, k]");
    for (const auto& f : insn)
      if (!f.is_number_unsigned() && !(f.is_number_integer() && f.get<std::int64_t>() >= 0))
        bad("program: instruction fields are non-negative integers");
    const auto code = insn[0].get<std::uint64_t>(), jt = insn[1].get<std::uint64_t>(),
               jf = insn[2].get<std::uint64_t>(), k = insn[3].get<std::uint64_t>();
    if (code > 0xFFFF || jt > 0xFF || jf > 0xFF || k > 0xFFFFFFFFu)
      bad("program: an instruction field is out of range");
    a.program.push_back(sock_filter{static_cast<std::uint16_t>(code), static_cast<std::uint8_t>(jt),
                                    static_cast<std::uint8_t>(jf), static_cast<std::uint32_t>(k)});
  }
  if (req.contains("interface")) {
    const auto i = text_arg(req, "interface");
    a.interface = *i;
  }
  a.in = bool_arg(req, "in", true);
  a.out = bool_arg(req, "out", true);
  if (!a.in && !a.out) bad("in, out: no direction selected");
  if (req.contains("snaplen"))
    a.snaplen = static_cast<std::uint32_t>(uint_arg(req, "snaplen", 262144));
  if (req.contains("log2")) {
    a.log2 = static_cast<unsigned>(uint_arg(req, "log2", ctl::kMaxCapLog2));
    if (a.log2 < ctl::kMinCapLog2)
      bad("log2: from " + std::to_string(ctl::kMinCapLog2) + " to " +
          std::to_string(ctl::kMaxCapLog2));
  }
  if (req.contains("uid"))
    a.owner.uid = static_cast<std::uint32_t>(uint_arg(req, "uid", 0xFFFFFFFEu));
  if (req.contains("pid"))
    a.owner.pid =
        static_cast<std::int32_t>(uint_arg(req, "pid", std::numeric_limits<std::int32_t>::max()));
  a.owner.comm = text_arg(req, "comm");
  a.owner.cgroup = text_arg(req, "cgroup");
  return a;
}

unsigned parse_cap_id(const json& req) {
  only(req, {"capture_id"});
  if (!req.contains("capture_id")) bad("capture_id: missing");
  return static_cast<unsigned>(uint_arg(req, "capture_id", 255));
}

std::pair<unsigned, std::uint16_t> parse_cap_cons(const json& req) {
  only(req, {"capture_id", "cons"});
  if (!req.contains("capture_id") || !req.contains("cons")) bad("capture_id, cons: missing");
  return {static_cast<unsigned>(uint_arg(req, "capture_id", 255)),
          static_cast<std::uint16_t>(uint_arg(req, "cons", 0xFFFF))};
}

std::uint32_t parse_cap_owner(const json& req) {
  only(req, {"conn_id"});
  if (!req.contains("conn_id")) bad("conn_id: missing");
  return static_cast<std::uint32_t>(uint_arg(req, "conn_id", 0xFFFFFFFFu));
}

}  // namespace norman::normand
