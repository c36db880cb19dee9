#include "model_tree.hpp"

#include <algorithm>

namespace norman::ntc {

ModelTree model_tree(const PortConfig& cfg, std::uint64_t line_rate_bytes) {
  if (!cfg.root) throw TcError("the port has no HTB qdisc", 2);
  ModelTree t;
  qos::HtbClassSpec port;
  port.id = kPortClassId;
  port.rate = port.ceil = line_rate_bytes;
  // The port's bucket only has to cover what may be in flight at once.
  port.burst = port.cburst = 64 * 1024;
  t.classes.push_back(port);
  for (const auto& [id, cl] : cfg.classes) {
    qos::HtbClassSpec c;
    c.id = id.minor;
    c.parent = cl.parent.minor == 0 ? kPortClassId : std::uint32_t{cl.parent.minor};
    c.ceil = cl.ceil;
    c.rate = std::min(cl.rate, cl.ceil);
    c.burst = std::max<std::uint32_t>(cl.burst, 1);
    c.cburst = std::max<std::uint32_t>(cl.cburst, 1);
    c.prio = cl.prio;
    c.quantum = cl.quantum;
    t.classes.push_back(c);
  }
  if (cfg.root->default_minor != 0 &&
      cfg.classes.contains(
          Handle{cfg.root->handle.major, static_cast<std::uint16_t>(cfg.root->default_minor)})) {
    t.params.default_class = cfg.root->default_minor;
  }
  return t;
}

}  // namespace norman::ntc
