// Linux's checks for qdisc, class and filter changes, with its messages, so a
// script written for tc fails at the same line with ntc. Where ntc refuses
// what Linux accepts, the reason is the NIC's (docs/qos.md lists them).
#include <algorithm>
#include <cstdio>

#include "tc_config.hpp"

namespace norman::ntc {
namespace {

constexpr Handle kRootParent{0xffff, 0xffff};
constexpr Handle kIngress{0xffff, 0};
// The NIC scheduler's class memory (hw/rtl/sched), and HTB's prio range.
constexpr std::size_t kMaxClasses = 4096;
constexpr std::uint32_t kMaxPrio = 7;
// The scheduler holds four levels and the port is the first (model_tree.hpp);
// Linux allows eight (TC_HTB_MAXDEPTH).
constexpr std::size_t kMaxDepth = 3;
// Linux's default burst is rate/HZ + mtu with the packet scheduler's HZ of
// 10^9 on current kernels (/proc/net/psched), i.e. about one MTU.
constexpr std::uint64_t kPschedHz = 1000000000;

[[noreturn]] void rtnl(const char* what) {
  throw TcError(std::string("RTNETLINK answers: ") + what, 2);
}
[[noreturn]] void kernel_error(const std::string& what) { throw TcError("Error: " + what, 2); }

std::string class_hex(Handle h) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%X", (static_cast<unsigned>(h.major) << 16) | h.minor);
  return buf;
}

std::size_t depth_of(const PortConfig& cfg, Handle id) {
  std::size_t d = 1;
  for (auto it = cfg.classes.find(id); it != cfg.classes.end() && it->second.parent.minor != 0;
       it = cfg.classes.find(it->second.parent)) {
    ++d;
  }
  return d;
}

bool has_children(const PortConfig& cfg, Handle id) {
  return std::any_of(cfg.classes.begin(), cfg.classes.end(),
                     [&](const auto& kv) { return kv.second.parent == id; });
}

std::vector<std::string> apply_qdisc(PortConfig& cfg, const Command& c) {
  using V = Command::Verb;
  if (c.ingress) {
    if (c.verb == V::kDel) {
      if (!cfg.ingress) rtnl("Invalid argument");
      cfg.ingress.reset();
      std::erase_if(cfg.filters, [](const Filter& f) { return f.parent == kIngress; });
      return {};
    }
    if (cfg.ingress) {
      if (c.verb == V::kReplace) return {};
      kernel_error("Exclusivity flag on, cannot modify.");
    }
    cfg.ingress = kIngress;
    return {};
  }
  if (c.verb == V::kDel) {
    if (!cfg.root) kernel_error("Cannot delete qdisc with handle of zero.");
    if (c.handle && *c.handle != cfg.root->handle) rtnl("Invalid argument");
    const Handle h = cfg.root->handle;
    cfg.root.reset();
    cfg.classes.clear();
    std::erase_if(cfg.filters, [&](const Filter& f) { return f.parent.major == h.major; });
    return {};
  }
  const HtbQdisc& q = *c.htb_qdisc;
  if (q.handle.major == 0 || q.handle.major == 0xffff) rtnl("Invalid argument");
  if (cfg.root) {
    if (c.verb == V::kAdd) kernel_error("Exclusivity flag on, cannot modify.");
    // HTB has no change operation in Linux: its parameters are set once.
    if (cfg.root->handle == q.handle)
      kernel_error("Change operation not supported by specified qdisc.");
    // Another handle grafts a new qdisc: the old tree goes with the old one.
    cfg.classes.clear();
    std::erase_if(cfg.filters,
                  [&](const Filter& f) { return f.parent.major == cfg.root->handle.major; });
  }
  cfg.root = q;
  return {};
}

std::vector<std::string> apply_class(PortConfig& cfg, const Command& c) {
  using V = Command::Verb;
  const Handle id = *c.classid;
  if (c.verb == V::kDel) {
    auto it = cfg.classes.find(id);
    if (it == cfg.classes.end()) rtnl("No such file or directory");
    const bool filtered = std::any_of(cfg.filters.begin(), cfg.filters.end(),
                                      [&](const Filter& f) { return f.classid == id; });
    if (has_children(cfg, id) || filtered) kernel_error("HTB class in use.");
    cfg.classes.erase(it);
    return {};
  }
  if (!cfg.root) rtnl("No such file or directory");
  const HtbQdisc& q = *cfg.root;
  const auto existing = cfg.classes.find(id);
  // tc takes the parent from the classid's major when none is given; a change
  // without one keeps the class where it is.
  Handle parent = c.parent.value_or(existing != cfg.classes.end() ? existing->second.parent
                                                                  : Handle{id.major, 0});
  if (parent == kRootParent) parent = q.handle;
  if (parent.major != q.handle.major) rtnl("No such file or directory");
  if (id.major != q.handle.major || id.minor == 0) rtnl("Invalid argument");
  if (existing != cfg.classes.end()) {
    if (c.verb == V::kAdd) rtnl("File exists");
    if (c.parent && parent != existing->second.parent) {
      kernel_error("Cannot change the parent of an existing class.");
    }
  } else if (c.verb == V::kChange) {
    rtnl("No such file or directory");
  }
  // Linux makes a class whose parent class does not exist a root class; a
  // mistyped parent then silently escapes its tree's ceiling, so ntc refuses.
  if (parent.minor != 0 && !cfg.classes.contains(parent)) rtnl("No such file or directory");
  if (parent == id) rtnl("Invalid argument");
  if (existing == cfg.classes.end()) {
    if (cfg.classes.size() >= kMaxClasses) {
      kernel_error("The NIC's scheduler holds at most 4096 classes.");
    }
    if (parent.minor != 0 && depth_of(cfg, parent) + 1 > kMaxDepth) {
      kernel_error("HTB classes nest at most 3 levels deep on the NIC (the port is the fourth).");
    }
  }
  HtbClass cl = *c.htb_class;
  cl.id = id;
  cl.parent = parent;
  if (!c.ceil_given) cl.ceil = cl.rate;
  if (!c.burst_given) cl.burst = static_cast<std::uint32_t>(cl.rate / kPschedHz + c.mtu);
  if (!c.cburst_given) cl.cburst = static_cast<std::uint32_t>(cl.ceil / kPschedHz + c.mtu);
  cl.prio = std::min(cl.prio, kMaxPrio);
  std::vector<std::string> warnings;
  if (!cl.quantum_given) {
    const std::uint64_t quantum = cl.rate / q.r2q;
    cl.quantum = static_cast<std::uint32_t>(std::min<std::uint64_t>(quantum, 0xffffffffu));
    if (cl.quantum < 1000) {
      warnings.push_back("Warning: sch_htb: quantum of class " + class_hex(id) +
                         " is small. Consider r2q change.");
      cl.quantum = 1000;
    }
    if (cl.quantum > 200000) {
      warnings.push_back("Warning: sch_htb: quantum of class " + class_hex(id) +
                         " is big. Consider r2q change.");
      cl.quantum = 200000;
    }
  }
  cfg.classes[id] = cl;
  return warnings;
}

std::vector<std::string> apply_filter(PortConfig& cfg, const Command& c) {
  using V = Command::Verb;
  const Filter& f = *c.filter;
  const bool to_ingress = f.parent == kIngress;
  const bool parent_ok =
      to_ingress
          ? cfg.ingress.has_value()
          : (cfg.root && (f.parent.major == cfg.root->handle.major || f.parent == kRootParent));
  if (c.verb == V::kDel) {
    if (!parent_ok) kernel_error("Parent Qdisc doesn't exists.");
    const auto removed = std::erase_if(cfg.filters, [&](const Filter& g) {
      return g.parent.major == f.parent.major && (f.prio == 0 || g.prio == f.prio);
    });
    if (removed == 0 && f.prio != 0)
      kernel_error("Filter with specified priority/protocol not found.");
    return {};
  }
  if (!parent_ok) kernel_error("Parent Qdisc doesn't exists.");
  Filter added = f;
  if (f.parent == kRootParent) added.parent = cfg.root->handle;
  if (to_ingress) {
    if (!added.police) {
      throw TcError(
          "A filter on the ingress qdisc needs \"action police\" (the NIC polices, it does not "
          "queue, received traffic).",
          1);
    }
  } else {
    if (!added.classid) throw TcError("A filter on the HTB qdisc needs \"classid\".", 1);
    if (added.police) {
      throw TcError("\"police\" is supported on the ingress qdisc only (the HTB qdisc shapes).", 1);
    }
    if (added.classid->major != cfg.root->handle.major) rtnl("Invalid argument");
  }
  // Linux numbers an unprioritised filter below the lowest one on the qdisc.
  if (added.prio == 0) {
    std::uint32_t lowest = 0xc000 + 1;
    for (const Filter& g : cfg.filters) {
      if (g.parent.major == added.parent.major) lowest = std::min(lowest, g.prio);
    }
    added.prio = lowest - 1;
    if (added.prio == 0)
      kernel_error("No priority below the lowest filter's is free: give \"prio\".");
  }
  for (const Filter& g : cfg.filters) {
    if (g.parent.major == added.parent.major && g.prio == added.prio &&
        (g.kind != added.kind || g.protocol != added.protocol)) {
      kernel_error(
          "Filter kind and protocol must match existing filters already on this priority.");
    }
  }
  if (c.verb == V::kReplace) {
    std::erase_if(cfg.filters, [&](const Filter& g) {
      return g.parent.major == added.parent.major && g.prio == added.prio;
    });
  }
  // tc lists filters by priority; within a priority, in the order added.
  auto pos = std::find_if(cfg.filters.begin(), cfg.filters.end(), [&](const Filter& g) {
    return g.parent.major > added.parent.major ||
           (g.parent.major == added.parent.major && g.prio > added.prio);
  });
  cfg.filters.insert(pos, added);
  return {};
}

}  // namespace

std::vector<std::string> apply(PortConfig& cfg, const Command& cmd) {
  // Work on a copy: a refused command changes nothing.
  PortConfig next = cfg;
  std::vector<std::string> warnings;
  switch (cmd.object) {
    case Command::Object::kQdisc:
      warnings = apply_qdisc(next, cmd);
      break;
    case Command::Object::kClass:
      warnings = apply_class(next, cmd);
      break;
    case Command::Object::kFilter:
      warnings = apply_filter(next, cmd);
      break;
  }
  cfg = std::move(next);
  return warnings;
}

}  // namespace norman::ntc
