// nfw: iptables for the NIC's filter table. Same command line as iptables
// (filter table, IPv4), enforced by the NIC on every packet of every
// application and of the host kernel's nic0.
//
// Exit status as iptables: 0 success, 1 failure (including -C finding no
// rule, -L/-S of a chain that does not exist), 2 bad command line, 4 no
// privilege, no room on the NIC or no normand. Extra options: --socket PATH
// (normand's control socket; default $NORMAN_SOCKET or
// /run/norman/normand.sock), --json for listings.
#include <algorithm>
#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "host_syntax.hpp"
#include "normand_link.hpp"
#include "syntax.hpp"

namespace nfw = norman::nfw;
using norman::filter::Command;

namespace {

// iptables -h, with nfw's chains, interfaces, matches and targets.
constexpr const char* kHelp =
    "Usage: nfw -[ACD] chain rule-specification [options]\n"
    "       nfw -I chain [rulenum] rule-specification [options]\n"
    "       nfw -R chain rulenum rule-specification [options]\n"
    "       nfw -D chain rulenum [options]\n"
    "       nfw -[LS] [chain [rulenum]] [options]\n"
    "       nfw -[FZ] [chain] [options]\n"
    "       nfw -[NX] chain\n"
    "       nfw -E old-chain-name new-chain-name\n"
    "       nfw -P chain target [options]\n"
    "       nfw -h (print this help information)\n"
    "\n"
    "Commands:\n"
    "Either long or short options are allowed.\n"
    "  --append  -A chain\t\tAppend to chain\n"
    "  --check   -C chain\t\tCheck for the existence of a rule\n"
    "  --delete  -D chain\t\tDelete matching rule from chain\n"
    "  --delete  -D chain rulenum\n"
    "\t\t\t\tDelete rule rulenum (1 = first) from chain\n"
    "  --insert  -I chain [rulenum]\n"
    "\t\t\t\tInsert in chain as rulenum (default 1=first)\n"
    "  --replace -R chain rulenum\n"
    "\t\t\t\tReplace rule rulenum (1 = first) in chain\n"
    "  --list    -L [chain [rulenum]]\n"
    "\t\t\t\tList the rules in a chain or all chains\n"
    "  --list-rules -S [chain [rulenum]]\n"
    "\t\t\t\tPrint the rules in a chain or all chains\n"
    "  --flush   -F [chain]\t\tDelete all rules in  chain or all chains\n"
    "  --zero    -Z [chain [rulenum]]\n"
    "\t\t\t\tZero counters in chain or all chains\n"
    "  --new     -N chain\t\tCreate a new user-defined chain\n"
    "  --delete-chain\n"
    "            -X [chain]\t\tDelete a user-defined chain\n"
    "  --policy  -P chain target\n"
    "\t\t\t\tChange policy on chain to target\n"
    "  --rename-chain\n"
    "            -E old-chain new-chain\n"
    "\t\t\t\tChange chain name, (moving any references)\n"
    "\n"
    "Options:\n"
    "    --ipv4\t-4\t\tNothing (nfw is IPv4 only)\n"
    "    --ipv6\t-6\t\tError (IPv6 is not supported)\n"
    "[!] --protocol\t-p proto\tprotocol: by number or name, eg. `tcp'\n"
    "[!] --source\t-s address[/mask][...]\n"
    "\t\t\t\tsource specification (a list or a host name adds\n"
    "\t\t\t\tone rule per address)\n"
    "[!] --destination -d address[/mask][...]\n"
    "\t\t\t\tdestination specification\n"
    "[!] --in-interface -i input name[+]\n"
    "\t\t\t\tnetwork interface name ([+] for wildcard);\n"
    "\t\t\t\tthe NIC's ports are nic0, nic1\n"
    " --jump\t-j target\n"
    "\t\t\t\ttarget for rule: ACCEPT, DROP, REJECT, RETURN, LOG\n"
    "\t\t\t\tor a user chain\n"
    "  --goto      -g chain\n"
    "\t\t\t       jump to chain with no return\n"
    "  --match\t-m match\n"
    "\t\t\t\textended match: tcp, udp, icmp, multiport, owner,\n"
    "\t\t\t\tcgroup, comment, state, conntrack\n"
    "  --numeric\t-n\t\tnumeric output of addresses and ports\n"
    "[!] --out-interface -o output name[+]\n"
    "\t\t\t\tnetwork interface name ([+] for wildcard)\n"
    "  --table\t-t table\ttable to manipulate (filter, or the host's nat,\n"
    "\t\t\t\tmangle, raw, security: see nfw(8))\n"
    "  --verbose\t-v\t\tverbose mode\n"
    "  --wait\t-w [seconds]\taccepted and ignored (normand applies one change\n"
    "\t\t\t\tat a time)\n"
    "  --line-numbers\t\tprint line numbers when listing\n"
    "  --exact\t-x\t\texpand numbers (display exact values)\n"
    "[!] --fragment\t-f\t\tmatch second or further fragments only\n"
    "  --set-counters -c PKTS BYTES\tset the counter during insert/append\n"
    "  --version\t-V\t\tprint package version.\n"
    "\n"
    "nfw's own options:\n"
    "  --json\t\t\tthe table (-L, -S) as JSON\n"
    "  --socket PATH\t\t\tnormand's control socket (default $NORMAN_SOCKET\n"
    "\t\t\t\tor /run/norman/normand.sock)\n"
    "\n"
    "Match options (after -p tcp|udp or -m tcp|udp|icmp|multiport|owner|cgroup|comment):\n"
    "[!] --sport port[:port]  [!] --dport port[:port]\n"
    "[!] --tcp-flags mask comp  [!] --syn\n"
    "[!] --sports|--dports|--ports port[,port|,port:port]...   (-m multiport)\n"
    "[!] --icmp-type type[/code] | typename\n"
    "[!] --uid-owner user[-user]  [!] --gid-owner group[-group]  [!] --cmd-owner name\n"
    "[!] --path path   (-m cgroup)     --comment text   (-m comment)\n"
    "[!] --state states (-m state)   [!] --ctstate states  [!] --ctproto proto\n"
    "[!] --ctorigsrc|--ctorigdst addr[/mask]  [!] --ctorigsrcport|--ctorigdstport port[:port]\n"
    "[!] --ctstatus statuses  --ctdir ORIGINAL|REPLY   (-m conntrack; refused by the NIC\n"
    "    until it tracks connections)\n"
    "--limit N/sec|min|hour|day  --limit-burst N   (-m limit)\n"
    "[!] --hashlimit-upto|--hashlimit-above N/unit  --hashlimit-burst N\n"
    "    --hashlimit-mode srcip,srcport,dstip,dstport  --hashlimit-name NAME\n"
    "    --hashlimit-srcmask|--hashlimit-dstmask LEN  --hashlimit-htable-size|-max|\n"
    "    -expire|-gcinterval N   (-m hashlimit; refused at load until the NIC enforces it)\n"
    "Target options: REJECT --reject-with type; LOG --log-prefix text --log-level level\n"
    "\n"
    "See nfw(8), nfw-save(8), nfw-restore(8).\n";

constexpr const char* kTry = "Try `nfw -h' or 'nfw --help' for more information.\n";

// nfw -t nat|mangle|raw|security: the host's tables, kept as text by
// normand and loaded into the host's netfilter (docs/nfw-host.md). The
// edit is made on the table as read and sent whole, as nfw-restore does,
// retried if another change came in between.
int run_host_table(const std::string& socket, const std::string& table,
                   const std::vector<std::string>& args) {
  nfw::NormandLink link(socket);
  for (int attempt = 0;; ++attempt) {
    auto cur = link.get();
    nfw::HostCommandResult res;
    try {
      res = nfw::host_command(cur.rules, table, args);
    } catch (const nfw::SyntaxError& e) {
      std::cerr << nfw::tool_message("nfw", e.what()) << "\n" << kTry;
      return nfw::kExitUsage;
    } catch (const norman::filter::CommandError& e) {
      std::cerr << nfw::tool_message("nfw", e.what()) << "\n";
      return nfw::kExitOther;
    }
    std::cout << res.out;
    if (!res.check) {
      std::cerr << "nfw: Bad rule (does a matching rule exist in that chain?).\n";
      return nfw::kExitOther;
    }
    if (!res.changed) return 0;
    try {
      link.replace(cur.rules, true, cur.generation);
      return 0;
    } catch (const std::system_error& e) {
      if (e.code().value() != EAGAIN || attempt >= 5) throw;
    }
  }
}

bool listing(const Command& cmd) {
  return cmd.op == Command::Op::kList || cmd.op == Command::Op::kListRules;
}

int run(std::vector<std::string> args) {
  const std::string socket = nfw::take_socket_option(args);
  if (args.empty()) {
    std::cerr << "nfw: no command specified\n" << kTry;
    return nfw::kExitUsage;
  }
  // As iptables, -h and -V answer whatever else the line holds.
  if (std::find(args.begin(), args.end(), "-h") != args.end() ||
      std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << nfw::version_line("nfw") << "\n\n" << kHelp;
    return 0;
  }
  if (std::find(args.begin(), args.end(), "-V") != args.end() ||
      std::find(args.begin(), args.end(), "--version") != args.end()) {
    std::cout << nfw::version_line("nfw") << "\n";
    return 0;
  }
  if (const std::string table = nfw::table_option(args); norman::filter::is_host_table(table))
    return run_host_table(socket, table, args);
  Command cmd;
  try {
    cmd = nfw::parse_command(args);
  } catch (const nfw::SyntaxError& e) {
    std::cerr << nfw::tool_message("nfw", e.what()) << "\n" << kTry;
    return nfw::kExitUsage;
  }
  nfw::NormandLink link(socket);
  if (listing(cmd)) {
    const auto table = link.get();
    if (!cmd.chain.empty() && table.rules.find(cmd.chain) == nullptr) {
      // iptables' answer, which the `nfw -L X || nfw -N X' idiom relies on.
      std::cerr << "nfw: No chain/target/match by that name.\n";
      return nfw::kExitOther;
    }
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
    return nfw::kExitOther;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return run(std::move(args));
  } catch (const std::system_error& e) {
    std::cerr << nfw::tool_message("nfw", nfw::describe_error(e)) << "\n";
    return nfw::exit_status(e);
  } catch (const std::exception& e) {
    std::cerr << nfw::tool_message("nfw", e.what()) << "\n";
    return nfw::kExitOther;
  }
}
