#include "host_netfilter.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "command.hpp"
#include "host_split.hpp"
#include "syntax.hpp"

namespace norman::normand {

namespace {

constexpr const char* kBypassComment = "nfw-bypass";

filter::Rule bypass_rule(const std::string& iface, bool input) {
  filter::Rule r;
  (input ? r.in : r.out) = filter::Iface{iface, false};
  r.modules.push_back(filter::Module::kComment);
  r.comment = kBypassComment;
  r.target.kind = filter::TargetKind::kAccept;
  return r;
}

bool is_bypass(const filter::Rule& r) { return r.comment && *r.comment == kBypassComment; }

filter::CounterRef rule_ref(std::uint64_t id) {
  return filter::CounterRef{filter::CounterRef::Kind::kRule, id, filter::Direction::kInput};
}

int memfd_with(const std::string& text) {
  const int fd = ::memfd_create("nfw-host", MFD_CLOEXEC);
  if (fd < 0) return -1;
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    off += static_cast<std::size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace

HostNetfilter::HostNetfilter(std::string netns, std::vector<std::string> bypass)
    : netns_(std::move(netns)), bypass_(std::move(bypass)) {}

filter::CounterRef HostNetfilter::policy_ref(std::string_view chain) {
  // FORWARD's policy has no NIC counter; rule_id 1 keeps it apart from
  // INPUT's (both direction kInput).
  return filter::CounterRef{
      filter::CounterRef::Kind::kPolicy, chain == "FORWARD" ? 1u : 0u,
      chain == "OUTPUT" ? filter::Direction::kOutput : filter::Direction::kInput};
}

std::string HostNetfilter::render(
    const filter::Ruleset& rules,
    const std::map<filter::CounterRef, filter::Counters>& carry) const {
  filter::Ruleset view = filter::host_view(rules);
  auto counted = [&](filter::Chain& c) {
    auto pc = carry.find(policy_ref(c.name));
    c.policy_counters = pc == carry.end() ? filter::Counters{} : pc->second;
    for (auto& r : c.rules) {
      auto it = carry.find(rule_ref(r.id));
      r.counters = it == carry.end() ? filter::Counters{} : it->second;
    }
  };
  for (auto& c : view.chains) counted(c);
  counted(view.forward);
  for (const auto& name : bypass_) {
    if (auto* in = view.find("INPUT")) in->rules.insert(in->rules.begin(), bypass_rule(name, true));
    if (auto* out = view.find("OUTPUT"))
      out->rules.insert(out->rules.begin(), bypass_rule(name, false));
  }
  return nfw::format_save(view, true);
}

ProcessResult HostNetfilter::run(const std::vector<std::string>& argv,
                                 const std::string& input) const {
  ProcessResult res;
  const int in = memfd_with(input);
  const int out = ::memfd_create("nfw-host-out", MFD_CLOEXEC);
  if (in < 0 || out < 0) {
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
    res.output = "cannot create a memfd";
    return res;
  }
  int ns = -1;
  if (!netns_.empty()) {
    ns = ::open(("/run/netns/" + netns_).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      ::close(in);
      ::close(out);
      res.output = "no network namespace " + netns_;
      return res;
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (ns >= 0 && ::setns(ns, CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (ns >= 0) ::close(ns);
  ::close(in);
  if (pid < 0) {
    ::close(out);
    res.output = "cannot fork";
    return res;
  }
  // Bounded: iptables-restore of a large table takes well under a second;
  // one that hangs (a held xtables lock) is killed after 30 s.
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (status != -1 && WIFEXITED(status)) res.status = WEXITSTATUS(status);
  ::lseek(out, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = ::read(out, buf, sizeof buf)) > 0;)
    res.output.append(buf, static_cast<std::size_t>(n));
  ::close(out);
  if (res.status == 127) res.output = argv[0] + ": not found (the host part needs iptables)";
  return res;
}

void HostNetfilter::test(const std::string& text) const {
  const ProcessResult r = run({"iptables-restore", "--test", "-c"}, text);
  if (r.status != 0) {
    std::string msg = r.output;
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw filter::CommandError(EINVAL, "the host's iptables-restore refuses the host part: " + msg);
  }
}

void HostNetfilter::load(const std::string& text, const filter::Ruleset& rules) {
  const ProcessResult r = run({"iptables-restore", "-c"}, text);
  if (r.status != 0) {
    std::string msg = r.output;
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw filter::CommandError(EINVAL, "the host's iptables-restore refuses the host part: " + msg);
  }
  loaded_view_ = filter::host_view(rules);
  loaded_text_ = text;
}

filter::Ruleset HostNetfilter::read_back() const {
  const ProcessResult r = run({"iptables-save", "-c"}, "");
  filter::Ruleset k;
  if (r.status != 0) return k;
  try {
    const auto file = nfw::parse_restore(r.output);
    nfw::apply_restore(k, file, false, true, [] { return std::uint64_t{0}; });
  } catch (const std::exception&) {
    // Someone else's rules in the host's table that nfw cannot read: no
    // host counts rather than wrong ones.
    return filter::Ruleset{};
  }
  return k;
}

std::map<filter::CounterRef, filter::Counters> HostNetfilter::counts() const {
  std::map<filter::CounterRef, filter::Counters> out;
  if (!loaded()) return out;
  const filter::Ruleset k = read_back();
  auto match = [&](const filter::Chain& mine) {
    const filter::Chain* theirs = k.find(mine.name);
    if (theirs == nullptr) return;
    if (mine.builtin()) out[policy_ref(mine.name)] = theirs->policy_counters;
    std::size_t at = 0;
    while (at < theirs->rules.size() && is_bypass(theirs->rules[at])) ++at;
    for (std::size_t i = 0; i < mine.rules.size() && at + i < theirs->rules.size(); ++i)
      out[rule_ref(mine.rules[i].id)] = theirs->rules[at + i].counters;
  };
  for (const auto& c : loaded_view_.chains) match(c);
  match(loaded_view_.forward);
  return out;
}

std::vector<filter::HostTable> HostNetfilter::tables() const {
  if (!loaded()) return {};
  return read_back().host_tables;
}

}  // namespace norman::normand
