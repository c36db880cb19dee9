#include "record_filter.hpp"

namespace norman::ndump {

bool record_selected(const Options& o, const CaptureRecord& rec) {
  if (rec.dir == Direction::in && !o.capture_in) return false;
  if (rec.dir == Direction::out && !o.capture_out) return false;
  const bool owner_filter = o.uid || o.pid || o.comm || o.cgroup;
  if (!owner_filter) return true;
  if (!rec.owner) return false;
  const Owner& w = *rec.owner;
  if (o.uid && w.uid != *o.uid) return false;
  if (o.pid && w.pid != *o.pid) return false;
  if (o.comm && w.comm != *o.comm) return false;
  if (o.cgroup) {
    // A cgroup selects itself and everything below it.
    const std::string& c = *o.cgroup;
    if (w.cgroup != c && !(w.cgroup.size() > c.size() && w.cgroup.compare(0, c.size(), c) == 0 &&
                           (c.back() == '/' || w.cgroup[c.size()] == '/')))
      return false;
  }
  return true;
}

}  // namespace norman::ndump
