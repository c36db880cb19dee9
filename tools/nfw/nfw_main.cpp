// nfw: iptables for the NIC's filter table. Same command line as iptables
// (filter table, IPv4), enforced by the NIC on every packet of every
// application and of the host kernel's nic0.
//
// Exit status as iptables: 0 success, 1 failure (including -C finding no
// rule), 2 bad command line. Extra options: --socket PATH (normand's
// control socket; default $NORMAN_SOCKET or /run/norman/normand.sock),
// -j/--json for listings.
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "normand_link.hpp"
#include "syntax.hpp"

namespace nfw = norman::nfw;
using norman::filter::Command;

namespace {

constexpr const char* kUsage =
    "Usage: nfw -[ACD] chain rule-specification\n"
    "       nfw -I chain [rulenum] rule-specification\n"
    "       nfw -R chain rulenum rule-specification\n"
    "       nfw -D chain rulenum\n"
    "       nfw -[LS] [chain [rulenum]] [-v] [-n] [-x] [--line-numbers] [-j|--json]\n"
    "       nfw -[FZ] [chain]\n"
    "       nfw -[NX] chain\n"
    "       nfw -E old-chain-name new-chain-name\n"
    "       nfw -P chain target\n"
    "Chains: INPUT (everything the NIC receives), OUTPUT (everything it sends),\n"
    "and user chains. Interfaces: nic0, nic1 (NIC ports). Matches: -p -s -d -i -o -f,\n"
    "-m tcp|udp (--sport --dport --tcp-flags --syn), -m multiport, -m icmp,\n"
    "-m owner (--uid-owner --gid-owner --cmd-owner), -m cgroup --path, -m comment.\n"
    "Targets: ACCEPT DROP REJECT RETURN LOG, a user chain, or -g chain.\n"
    "Options: --socket PATH (normand's control socket)\n";

int run(std::vector<std::string> args) {
  const std::string socket = nfw::take_socket_option(args);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  Command cmd;
  try {
    cmd = nfw::parse_command(args);
  } catch (const nfw::SyntaxError& e) {
    std::cerr << "nfw: " << e.what() << "\nTry `nfw -h' for more information.\n";
    return 2;
  }
  nfw::NormandLink link(socket);
  if (cmd.op == Command::Op::kList || cmd.op == Command::Op::kListRules) {
    const auto table = link.get();
    if (cmd.json) {
      std::cout << nlohmann::json(table.rules).dump(2) << "\n";
    } else if (cmd.op == Command::Op::kList) {
      std::cout << nfw::format_list(table.rules, cmd);
    } else {
      std::cout << nfw::format_rules(table.rules, cmd);
    }
    if (cmd.zero) link.command(cmd);
    return 0;
  }
  if (!link.command(cmd)) {
    std::cerr << "nfw: Bad rule (does a matching rule exist in that chain?).\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(std::move(args));
  } catch (const std::system_error& e) {
    std::cerr << "nfw: " << nfw::describe_error(e) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "nfw: " << e.what() << "\n";
    return 1;
  }
}
