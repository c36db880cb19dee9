// ntc's grammar and Linux's checks on the port configuration model.
#include <gtest/gtest.h>

#include <sstream>

#include "format_show.hpp"
#include "parse_command.hpp"

namespace norman::ntc {
namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

Command parse(const std::string& line) { return parse_command_line(words(line)).command; }

// The status and message of a refused parse.
std::pair<int, std::string> refusal(const std::string& line) {
  try {
    (void)parse_command_line(words(line));
  } catch (const TcError& e) {
    return {e.status, e.what()};
  }
  return {0, ""};
}

class Port : public ::testing::Test {
 protected:
  std::vector<std::string> run(const std::string& line) { return apply(cfg, parse(line)); }
  std::pair<int, std::string> refused(const std::string& line) {
    const PortConfig before = cfg;
    try {
      (void)apply(cfg, parse(line));
    } catch (const TcError& e) {
      EXPECT_EQ(show(), ShowOf(before)) << "a refused command changed the configuration";
      return {e.status, e.what()};
    }
    return {0, ""};
  }
  std::string ShowOf(const PortConfig& c) {
    ShowInput in{&c, "nic0"};
    return show_qdiscs(in, {}) + show_classes(in, {}) + show_filters(in, {});
  }
  std::string show() { return ShowOf(cfg); }
  PortConfig cfg;
};

TEST(NtcSyntax, UnsupportedTokensAreNamed) {
  EXPECT_EQ(refusal("qdisc add dev nic0 root handle 1: fq_codel").second,
            "qdisc kind \"fq_codel\" is not supported by ntc (only htb and ingress)");
  EXPECT_EQ(refusal("class add dev nic0 parent 1: classid 1:1 htb rate 1mbit foo 3"),
            (std::pair<int, std::string>{1, "What is \"foo\"?"}));
  EXPECT_EQ(refusal("class add dev nic0 parent 1: classid 1:1 htb rate 1gbitt"),
            (std::pair<int, std::string>{1, "Illegal \"rate\""}));
  EXPECT_EQ(refusal("class add dev nic0 parent 1: classid 1:1 htb ceil 1mbit").second,
            "\"rate\" is required.");
  EXPECT_EQ(refusal("class add dev nic0 parent 1: classid 1:1 htb rate 1mbit mpu 64").second,
            "htb class option \"mpu\" is not supported by ntc");
  EXPECT_EQ(refusal("xyz").first, 255);
  EXPECT_EQ(refusal("qdisc foo").second, "Command \"foo\" is unknown, try \"ntc qdisc help\".");
  EXPECT_EQ(refusal("class add dev eth0 parent 1: classid 1:1 htb rate 1mbit").first, 1);
  EXPECT_EQ(
      refusal(
          "filter add dev nic0 parent 1: protocol ip flower ip_proto udp dst_port 53 classid 1:10 "
          "skip_sw")
          .second,
      "flower \"skip_sw\" is not supported by ntc: its filters are always on the NIC");
  EXPECT_EQ(refusal("filter add dev nic0 parent 1: u32 match ip dport 80 0xff00 flowid 1:1").second,
            "u32 match ip dport mask \"65280\" is not supported by ntc (only an exact match)");
  EXPECT_EQ(refusal("filter add dev nic0 parent 1: bpf obj x.o").second,
            "filter kind \"bpf\" is not supported by ntc (flower, u32, owner, cgroup)");
}

TEST(NtcSyntax, PrefixesAndOptionsAsTc) {
  const auto cl = parse_command_line(words("-s -j cl sh dev nic0"));
  EXPECT_TRUE(cl.options.stats);
  EXPECT_TRUE(cl.options.json);
  EXPECT_EQ(cl.command.object, Command::Object::kClass);
  EXPECT_EQ(cl.command.verb, Command::Verb::kShow);
  const auto f = parse(
      "filter add dev nic0 parent 1: protocol ip prio 1 flower ip_proto udp "
      "dst_port 5432 classid 1:10");
  ASSERT_TRUE(f.filter);
  EXPECT_EQ(f.filter->match.ip_proto, 17);
  EXPECT_EQ(f.filter->match.dst_port, (std::pair<std::uint16_t, std::uint16_t>{5432, 5432}));
  EXPECT_EQ(f.filter->classid, (Handle{1, 0x10}));
  const auto u = parse(
      "filter add dev nic0 parent 1: prio 2 u32 match ip src 10.1.0.0/16 "
      "match ip dport 80 0xffff flowid 1:20");
  ASSERT_TRUE(u.filter);
  EXPECT_EQ(u.filter->match.src_ip, (std::pair<std::uint32_t, std::uint8_t>{0x0a010000, 16}));
  const auto p = parse(
      "filter add dev nic0 parent ffff: prio 1 protocol ip flower ip_proto udp action "
      "police rate 1mbit burst 10k drop");
  ASSERT_TRUE(p.filter && p.filter->police);
  EXPECT_EQ(p.filter->police->rate, 125000u);
  EXPECT_EQ(p.filter->police->burst, 10240u);
  const auto o = parse(
      "filter add dev nic0 parent 1: prio 3 owner uid 0 comm redis-server "
      "classid 1:30");
  ASSERT_TRUE(o.filter);
  EXPECT_EQ(o.filter->match.uid, 0u);
  EXPECT_EQ(o.filter->match.comm, "redis-server");
}

TEST_F(Port, ClassTreeWithLinuxDefaults) {
  run("qdisc add dev nic0 root handle 1: htb default 30");
  run("class add dev nic0 parent 1: classid 1:1 htb rate 100gbit");
  run("class add dev nic0 parent 1:1 classid 1:10 htb rate 10gbit ceil 40gbit burst 15k prio 1");
  const auto w = run("class add dev nic0 parent 1:1 classid 1:30 htb rate 12345bit cburst 2000");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "Warning: sch_htb: quantum of class 10030 is small. Consider r2q change.");
  const HtbClass& c10 = cfg.classes.at(Handle{1, 0x10});
  EXPECT_EQ(c10.burst, 15360u);       // bytes as given: no time quantisation
  EXPECT_EQ(c10.cburst, 5u + 1600u);  // ceil/10^9 + mtu
  EXPECT_EQ(c10.quantum, 200000u);    // rate/r2q clamped, as Linux
  EXPECT_EQ(cfg.classes.at(Handle{1, 0x30}).quantum, 1000u);
  EXPECT_EQ(
      show_classes({&cfg, "nic0"}, {}),
      "class htb 1:1 root rate 100Gbit ceil 100Gbit burst 1612b cburst 1612b \n"
      "class htb 1:10 parent 1:1 prio 1 rate 10Gbit ceil 40Gbit burst 15Kb cburst 1605b \n"
      "class htb 1:30 parent 1:1 prio 0 rate 12344bit ceil 12344bit burst 1600b cburst 2000b \n");
  EXPECT_EQ(show_qdiscs({&cfg, "nic0"}, {}),
            "qdisc htb 1: root r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000\n");
}

TEST_F(Port, LinuxRefusalsChangeNothing) {
  EXPECT_EQ(refused("class add dev nic0 parent 1: classid 1:1 htb rate 1mbit"),
            (std::pair<int, std::string>{2, "RTNETLINK answers: No such file or directory"}));
  run("qdisc add dev nic0 root handle 1: htb");
  EXPECT_EQ(refused("qdisc add dev nic0 root handle 1: htb").second,
            "Error: Exclusivity flag on, cannot modify.");
  run("class add dev nic0 parent 1: classid 1:1 htb rate 1mbit");
  run("class add dev nic0 parent 1:1 classid 1:10 htb rate 1mbit");
  EXPECT_EQ(refused("class add dev nic0 parent 1:1 classid 1:10 htb rate 2mbit").second,
            "RTNETLINK answers: File exists");
  EXPECT_EQ(refused("class add dev nic0 parent 1:9 classid 1:11 htb rate 1mbit").second,
            "RTNETLINK answers: No such file or directory");
  EXPECT_EQ(refused("class add dev nic0 parent 1: classid 2:1 htb rate 1mbit").second,
            "RTNETLINK answers: Invalid argument");
  EXPECT_EQ(refused("class change dev nic0 classid 1:77 htb rate 1mbit").second,
            "RTNETLINK answers: No such file or directory");
  EXPECT_EQ(refused("class del dev nic0 classid 1:1"),
            (std::pair<int, std::string>{2, "Error: HTB class in use."}));
  run("filter add dev nic0 parent 1: prio 1 protocol ip flower ip_proto udp classid 1:10");
  EXPECT_EQ(refused("class del dev nic0 classid 1:10").second, "Error: HTB class in use.");
  EXPECT_EQ(
      refused("filter add dev nic0 parent 1: prio 1 u32 match ip src 10.0.0.1/32 flowid 1:10")
          .second,
      "Error: Filter kind and protocol must match existing filters already on this priority.");
  EXPECT_EQ(
      refused(
          "filter add dev nic0 parent ffff: prio 1 flower action police rate 1mbit burst 10k drop")
          .second,
      "Error: Parent Qdisc doesn't exists.");
  run("filter del dev nic0 parent 1: prio 1");
  run("class del dev nic0 classid 1:10");
  run("class del dev nic0 classid 1:1");
  EXPECT_TRUE(cfg.classes.empty());
}

TEST_F(Port, ChangeKeepsTheTreeAndPrioIsClamped) {
  run("qdisc add dev nic0 root handle 1: htb");
  run("class add dev nic0 parent 1: classid 1:1 htb rate 10mbit");
  run("class add dev nic0 parent 1:1 classid 1:10 htb rate 1mbit prio 9");
  EXPECT_EQ(cfg.classes.at(Handle{1, 0x10}).prio, 7u);
  run("class change dev nic0 classid 1:10 htb rate 2mbit ceil 5mbit");
  EXPECT_EQ(cfg.classes.at(Handle{1, 0x10}).rate, 250000u);
  EXPECT_EQ(cfg.classes.at(Handle{1, 0x10}).parent, (Handle{1, 1}));
  EXPECT_EQ(refused("qdisc replace dev nic0 root handle 1: htb default 10").second,
            "Error: Change operation not supported by specified qdisc.");
  EXPECT_EQ(cfg.classes.size(), 2u);
  run("qdisc replace dev nic0 root handle 2: htb");
  EXPECT_TRUE(cfg.classes.empty());
  run("qdisc del dev nic0 root");
  EXPECT_FALSE(cfg.root);
}

TEST_F(Port, IngressPolicing) {
  EXPECT_EQ(refusal("qdisc add dev nic0 ingress handle ffff: bogus").second, "What is \"bogus\"?");
  run("qdisc add dev nic0 ingress");
  EXPECT_EQ(
      refused("filter add dev nic0 parent ffff: prio 1 protocol ip flower ip_proto udp classid 1:1")
          .first,
      1);
  run("filter add dev nic0 parent ffff: prio 5 protocol ip flower ip_proto udp action police rate "
      "1mbit burst 10k drop");
  run("filter add dev nic0 parent ffff: protocol ip flower ip_proto tcp action police rate 2mbit "
      "burst 20k drop");
  ASSERT_EQ(cfg.filters.size(), 2u);
  EXPECT_EQ(cfg.filters[0].prio, 4u);  // below the lowest, as Linux numbers it
  EXPECT_EQ(refusal("filter add dev nic0 parent ffff: flower ip_proto tcp action police rate 2mbit "
                    "burst 20k drop")
                .first,
            1);
  const std::string shown = show_filters({&cfg, "nic0"}, {});
  EXPECT_NE(shown.find("police rate 1Mbit burst 10Kb"), std::string::npos) << shown;
  Options json;
  json.json = true;
  EXPECT_EQ(show_qdiscs({&cfg, "nic0"}, json).substr(0, 20), "[{\"dev\":\"nic0\",\"hand");
}

TEST_F(Port, ThreeLevelsOfClassesOnTheNic) {
  run("qdisc add dev nic0 root handle 1: htb");
  run("class add dev nic0 parent 1: classid 1:1 htb rate 10mbit");
  run("class add dev nic0 parent 1:1 classid 1:10 htb rate 1mbit");
  run("class add dev nic0 parent 1:10 classid 1:100 htb rate 1mbit");
  EXPECT_EQ(refused("class add dev nic0 parent 1:100 classid 1:1000 htb rate 1mbit").second,
            "Error: HTB classes nest at most 3 levels deep on the NIC (the port is the fourth).");
}

TEST_F(Port, ClassLimitOfTheNic) {
  run("qdisc add dev nic0 root handle 1: htb");
  for (int i = 1; i <= 4096; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "1:%x", i);
    run(std::string("class add dev nic0 parent 1: classid ") + id + " htb rate 1mbit");
  }
  EXPECT_EQ(refused("class add dev nic0 parent 1: classid 1:2000 htb rate 1mbit").second,
            "Error: The NIC's scheduler holds at most 4096 classes.");
}

}  // namespace
}  // namespace norman::ntc
