#include "format_show.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace norman::ntc {
namespace {

using nlohmann::json;

bool is_leaf(const PortConfig& cfg, Handle id) {
  return std::none_of(cfg.classes.begin(), cfg.classes.end(),
                      [&](const auto& kv) { return kv.second.parent == id; });
}

std::string ip_text(std::uint32_t host, std::uint8_t len) {
  in_addr a{};
  a.s_addr = htonl(host);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  std::string s = buf;
  if (len != 32) s += "/" + std::to_string(len);
  return s;
}

std::string range_text(std::pair<std::uint16_t, std::uint16_t> r) {
  return r.first == r.second ? std::to_string(r.first)
                             : std::to_string(r.first) + "-" + std::to_string(r.second);
}

std::string proto_text(std::uint8_t p) {
  switch (p) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 132:
      return "sctp";
    default:
      return std::to_string(p);
  }
}

std::string dump(const json& j, const Options& opt) {
  return (opt.pretty ? j.dump(4) : j.dump()) + "\n";
}

void stats_text(std::ostringstream& out, const ClassStats& s) {
  out << " Sent " << s.bytes << " bytes " << s.packets << " pkt (dropped " << s.drops
      << ", overlimits " << s.overlimits << " requeues 0) \n";
  out << " rate " << format_rate(s.rate_bps / 8) << " 0pps backlog 0b 0p requeues 0\n";
  out << " lended: " << s.lended << " borrowed: " << s.borrowed << " giants: 0\n\n";
}

}  // namespace

std::string show_qdiscs(const ShowInput& in, const Options& opt) {
  const std::string dev = in.all_ports ? " dev " + in.dev : "";
  const PortConfig& cfg = *in.cfg;
  std::ostringstream out;
  json arr = json::array();
  if (cfg.root) {
    const HtbQdisc& q = *cfg.root;
    char def[16];
    std::snprintf(def, sizeof def, "0x%x", q.default_minor);
    if (opt.json) {
      arr.push_back({{"kind", "htb"},
                     {"handle", format_handle(q.handle)},
                     {"dev", in.dev},
                     {"root", true},
                     {"options",
                      {{"r2q", q.r2q},
                       {"default", def},
                       {"direct_packets_stat", 0},
                       {"direct_qlen", q.direct_qlen}}}});
    } else {
      out << "qdisc htb " << format_handle(q.handle) << dev << " root r2q " << q.r2q << " default "
          << def << " direct_packets_stat 0 direct_qlen " << q.direct_qlen << "\n";
    }
  }
  if (cfg.ingress) {
    if (opt.json) {
      arr.push_back(
          {{"kind", "ingress"}, {"handle", "ffff:"}, {"dev", in.dev}, {"parent", "ffff:fff1"}});
    } else {
      out << "qdisc ingress ffff:" << dev << " parent ffff:fff1 ---------------- \n";
    }
  }
  return opt.json ? dump(arr, opt) : out.str();
}

std::string show_classes(const ShowInput& in, const Options& opt, std::optional<Handle> only) {
  const std::string dev = in.all_ports ? " dev " + in.dev : "";
  const PortConfig& cfg = *in.cfg;
  std::ostringstream out;
  json arr = json::array();
  for (const auto& [id, cl] : cfg.classes) {
    if (only && *only != id) continue;
    const bool leaf = is_leaf(cfg, id);
    const bool root = cl.parent.minor == 0;
    const ClassStats* st = nullptr;
    if (in.stats != nullptr) {
      auto it = in.stats->find(id);
      if (it != in.stats->end()) st = &it->second;
    }
    if (opt.json) {
      json j{{"class", "htb"}, {"handle", format_handle(id)}, {"dev", in.dev}};
      if (root) {
        j["root"] = true;
      } else {
        j["parent"] = format_handle(cl.parent);
      }
      if (leaf) j["prio"] = cl.prio;
      j["rate"] = cl.rate;
      j["ceil"] = cl.ceil;
      j["burst"] = cl.burst;
      j["cburst"] = cl.cburst;
      if (opt.details) j["quantum"] = cl.quantum;
      if (opt.stats && st != nullptr) {
        j["stats"] = {{"bytes", st->bytes},       {"packets", st->packets},
                      {"drops", st->drops},       {"overlimits", st->overlimits},
                      {"rate", st->rate_bps / 8}, {"lended", st->lended},
                      {"borrowed", st->borrowed}};
      }
      arr.push_back(j);
      continue;
    }
    // tc's line: "class htb 1:10 parent 1:1 [leaf H:] [prio P] rate R ceil C burst B cburst CB "
    out << "class htb " << format_handle(id) << dev;
    if (root) {
      out << " root";
    } else {
      out << " parent " << format_handle(cl.parent);
    }
    if (leaf) out << " prio " << cl.prio;
    if (opt.details && leaf) out << " quantum " << cl.quantum;
    out << " rate " << format_rate(cl.rate) << " ceil " << format_rate(cl.ceil);
    if (opt.details) {
      out << " burst " << format_size(cl.burst) << "/1 mpu 0b cburst " << format_size(cl.cburst)
          << "/1 mpu 0b level " << 0;
    } else {
      out << " burst " << format_size(cl.burst) << " cburst " << format_size(cl.cburst);
    }
    out << " \n";
    if (opt.stats && st != nullptr) stats_text(out, *st);
  }
  return opt.json ? dump(arr, opt) : out.str();
}

std::string show_filters(const ShowInput& in, const Options& opt, std::optional<Handle> parent) {
  const std::string dev = in.all_ports ? " dev " + in.dev : "";
  const PortConfig& cfg = *in.cfg;
  std::ostringstream out;
  json arr = json::array();
  for (const Filter& f : cfg.filters) {
    if (parent && parent->major != f.parent.major) continue;
    json m = json::object();
    std::ostringstream text;
    if (f.match.ip_proto) {
      m["ip_proto"] = proto_text(*f.match.ip_proto);
      text << "  ip_proto " << proto_text(*f.match.ip_proto) << "\n";
    }
    if (f.match.src_ip) {
      m["src_ip"] = ip_text(f.match.src_ip->first, f.match.src_ip->second);
      text << "  src_ip " << m["src_ip"].get<std::string>() << "\n";
    }
    if (f.match.dst_ip) {
      m["dst_ip"] = ip_text(f.match.dst_ip->first, f.match.dst_ip->second);
      text << "  dst_ip " << m["dst_ip"].get<std::string>() << "\n";
    }
    if (f.match.src_port) {
      m["src_port"] = range_text(*f.match.src_port);
      text << "  src_port " << m["src_port"].get<std::string>() << "\n";
    }
    if (f.match.dst_port) {
      m["dst_port"] = range_text(*f.match.dst_port);
      text << "  dst_port " << m["dst_port"].get<std::string>() << "\n";
    }
    if (f.match.uid) {
      m["uid"] = *f.match.uid;
      text << "  uid " << *f.match.uid << "\n";
    }
    if (f.match.gid) {
      m["gid"] = *f.match.gid;
      text << "  gid " << *f.match.gid << "\n";
    }
    if (f.match.comm) {
      m["comm"] = *f.match.comm;
      text << "  comm " << *f.match.comm << "\n";
    }
    if (f.match.cgroup) {
      m["cgroup"] = *f.match.cgroup;
      text << "  path " << *f.match.cgroup << "\n";
    }
    const std::string proto = f.protocol == 0x0800 ? "ip" : "all";
    if (opt.json) {
      json j{{"parent", format_handle(f.parent)},
             {"protocol", proto},
             {"pref", f.prio},
             {"kind", f.kind},
             {"options", {{"keys", m}}}};
      if (f.classid) j["options"]["classid"] = format_handle(*f.classid);
      if (f.police) {
        j["options"]["actions"] = json::array({{{"kind", "police"},
                                                {"rate", f.police->rate},
                                                {"burst", f.police->burst},
                                                {"control_action", {{"type", "drop"}}}}});
      }
      arr.push_back(j);
      continue;
    }
    out << "filter" << dev << " parent " << format_handle(f.parent) << " protocol " << proto
        << " pref " << f.prio << " " << f.kind;
    if (f.classid) out << " classid " << format_handle(*f.classid);
    out << " \n" << text.str();
    if (f.police) {
      out << "\taction order 1:  police rate " << format_rate(f.police->rate) << " burst "
          << format_size(f.police->burst) << " mtu " << format_size(f.police->mtu)
          << " action drop overhead 0b \n";
    }
    out << "\n";
  }
  return opt.json ? dump(arr, opt) : out.str();
}

}  // namespace norman::ntc
