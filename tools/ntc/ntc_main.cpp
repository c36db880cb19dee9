// ntc: tc's commands for the NIC's QoS (docs/qos.md, ntc.8). Commands are
// parsed and checked here with tc's grammar and messages; normand owns the
// configuration and the NIC enforces it.
#include <cstdio>
#include <string>
#include <vector>

#include "parse_command.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: ntc [ OPTIONS ] OBJECT { COMMAND | help }\n"
    "where  OBJECT := { qdisc | class | filter }\n"
    "       OPTIONS := { -s[tatistics] | -d[etails] | -j[son] | -p[retty] | -V[ersion] }\n"
    "\n"
    "ntc qdisc { add | del | replace | show } dev nic0|nic1 root [ handle 1: ] htb [ default ID ]\n"
    "          [ r2q N ] [ direct_qlen P ]\n"
    "ntc qdisc { add | del | show } dev nic0|nic1 ingress\n"
    "ntc class { add | change | replace } dev DEV parent P classid C htb rate R [ ceil R2 ]\n"
    "          [ burst B ] [ cburst B2 ] [ prio P ] [ quantum Q ] [ mtu M ]\n"
    "ntc class { del | show } dev DEV [ classid C ]\n"
    "ntc filter { add | replace } dev DEV parent 1: [ protocol ip|all ] [ prio N ] KIND ...\n"
    "          KIND := flower [ ip_proto P ] [ src_ip A/N ] [ dst_ip A/N ] [ src_port N[-M] ]\n"
    "                         [ dst_port N[-M] ] classid C\n"
    "                | u32 match ip { src | dst } A/N | match ip { sport | dport } N 0xffff\n"
    "                      | match ip protocol N 0xff ... flowid C\n"
    "                | owner { uid U | gid G | comm NAME } ... classid C\n"
    "                | cgroup path /PATH classid C\n"
    "ntc filter add dev DEV parent ffff: ... action police rate R burst B drop\n"
    "ntc filter { del | show } dev DEV parent P [ prio N ]\n";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    const auto cl = norman::ntc::parse_command_line(args);
    if (cl.help) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (cl.version) {
      std::printf("ntc utility, norman %s\n", NTC_VERSION);
      return 0;
    }
  } catch (const norman::ntc::TcError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return e.status;
  }
  // The command is valid tc; what is missing is the NIC's side of it.
  std::fputs(
      "ntc: the NIC has no scheduler overlay and normand no QoS service yet: nothing changed\n",
      stderr);
  return 2;
}
