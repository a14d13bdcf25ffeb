// What the filter table turns into in the pod namespace: routes for the negotiate destinations
// and an nftables script with the entries in table order (pure; no commands run).

#include "engine/dataplane/userspace/pod_network.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ipsec::engine::dataplane::userspace {
namespace {

policy::TableEntry Entry(uint32_t id, policy::Direction d, policy::Action a, const char* src,
                         const char* dst, std::optional<uint8_t> protocol = std::nullopt) {
  policy::TableEntry e;
  e.id = id;
  e.direction = d;
  e.source = IpRange::Single(*IpAddress::Parse(src));
  e.destination = IpRange::Single(*IpAddress::Parse(dst));
  e.protocol = protocol;
  e.action = a;
  e.filter_action = "fa";
  return e;
}

// Records the commands; every one succeeds except `nft list table` unless `leftover_table`
// (a previous run's nftables table in the namespace).
class FakeRunner final : public CommandRunner {
 public:
  std::vector<std::vector<std::string>> calls;
  std::vector<std::string> scripts;  // stdin of `nft -f -`
  bool leftover_table = false;
  CommandOutcome Run(const std::vector<std::string>& argv, const std::string& in) override {
    calls.push_back(argv);
    if (argv.size() > 1 && argv[0] == "nft" && argv[1] == "-f") scripts.push_back(in);
    if (argv.size() > 1 && argv[0] == "nft" && argv[1] == "list" && !leftover_table) {
      return {1, "Error: No such file or directory"};
    }
    return {0, ""};
  }
};

TEST(PodNetworkPlanTest, RoutesNegotiateDestinationsAndOrdersNftRulesLikeTheTable) {
  policy::FilterTable t;
  t.entries = {
      Entry(1, policy::Direction::kOutbound, policy::Action::kPermit, "10.0.0.1", "10.0.0.2", 17),
      Entry(2, policy::Direction::kOutbound, policy::Action::kNegotiate, "10.0.0.1", "10.0.0.2"),
      Entry(3, policy::Direction::kInbound, policy::Action::kNegotiate, "10.0.0.2", "10.0.0.1"),
      Entry(4, policy::Direction::kInbound, policy::Action::kBlock, "10.0.0.9", "10.0.0.1"),
  };
  t.entries[1].destination = IpRange::FromPrefix(*IpAddress::Parse("10.0.0.0"), 24);
  policy::Policy p;
  p.name = "p";
  auto plan = BuildPodNetworkPlan({.tun_name = "tun9"}, t, &p);
  EXPECT_EQ(plan.routes_v4, std::vector<std::string>{"10.0.0.0/24"});
  EXPECT_TRUE(plan.routes_v6.empty());
  const std::string& s = plan.nft_script;
  EXPECT_NE(s.find("iifname \"tun9\" accept"), std::string::npos) << s;
  EXPECT_NE(s.find("tcp option maxseg size set rt mtu"), std::string::npos) << s;
  const size_t permit = s.find("ip daddr 10.0.0.2 meta l4proto 17 accept");
  const size_t negotiate = s.find("ip daddr 10.0.0.0/24 counter drop");
  ASSERT_NE(permit, std::string::npos) << s;
  ASSERT_NE(negotiate, std::string::npos) << s;
  EXPECT_LT(permit, negotiate);  // table order: nftables' first match is the decision
  EXPECT_NE(
      s.find("ip saddr 10.0.0.2 ip daddr 10.0.0.1 counter drop comment \"plaintext entry 3\""),
      std::string::npos)
      << s;
  EXPECT_NE(s.find("comment \"block entry 4\""), std::string::npos) << s;

  // FAQ 17: "accept unsecured" lets inbound plaintext in.
  policy::FilterAction fa;
  fa.name = "fa";
  fa.accept_unsecured = true;
  p.filter_actions.push_back(fa);
  plan = BuildPodNetworkPlan({.tun_name = "tun9"}, t, &p);
  EXPECT_NE(plan.nft_script.find("ip saddr 10.0.0.2 ip daddr 10.0.0.1 accept"), std::string::npos)
      << plan.nft_script;

  // No policy: nothing routed, nothing dropped.
  plan = BuildPodNetworkPlan({.tun_name = "tun9"}, t, nullptr);
  EXPECT_TRUE(plan.routes_v4.empty());
  EXPECT_EQ(plan.nft_script.find("drop"), std::string::npos);
}

TEST(PodNetworkTest, SetupAddsBypassRulesAndTheTableRuleAndTeardownRemovesThem) {
  FakeRunner runner;
  {
    PodNetwork net({.tun_name = "tun9", .route_table = 123}, runner);
    ASSERT_TRUE(net.Setup().ok());
    runner.calls.clear();
    net.Teardown();
  }
  bool deleted_nft = false, deleted_rule = false;
  for (const auto& c : runner.calls) {
    deleted_nft |= c.size() > 1 && c[0] == "nft" && c[1] == "delete";
    deleted_rule |= c.size() > 3 && c[0] == "ip" && c[2] == "rule" && c[3] == "del";
  }
  EXPECT_TRUE(deleted_nft);
  EXPECT_TRUE(deleted_rule);
}

// A daemon that stops (SIGTERM: `podman restart`, a kubelet restarting the container) removes
// its rules and routes but leaves the nftables table dropping the pod's plaintext until the
// next start applies the policy again: its TUN goes with the process, and without the table
// the pod's traffic to secured peers left in clear meanwhile (tests/container saw a TCP SYN).
TEST(PodNetworkTest, DestructionKeepsTheTableInForce) {
  FakeRunner runner;
  {
    PodNetwork net({.tun_name = "tun9", .route_table = 123}, runner);
    ASSERT_TRUE(net.Setup().ok());
    bool table_rule = false, esp_rule = false;
    for (const auto& c : runner.calls) {
      std::string line;
      for (const auto& a : c) line += a + " ";
      table_rule |= line == "ip -4 rule add pref 9701 lookup 123 ";
      esp_rule |= line == "ip -4 rule add pref 9700 ipproto 50 lookup main ";
    }
    EXPECT_TRUE(table_rule);
    EXPECT_TRUE(esp_rule);
    runner.calls.clear();
  }
  bool deleted_nft = false, deleted_rule = false;
  for (const auto& c : runner.calls) {
    deleted_nft |= c.size() > 1 && c[0] == "nft" && c[1] == "delete";
    deleted_rule |= c.size() > 3 && c[0] == "ip" && c[2] == "rule" && c[3] == "del";
  }
  EXPECT_FALSE(deleted_nft);
  EXPECT_TRUE(deleted_rule);
}

// A daemon killed with a policy in force (SIGKILL, OOM) leaves its nftables table behind. The
// next start keeps it dropping the pod's plaintext until the policy is applied again (the TUN
// and its routes died with the process, so that traffic would otherwise leave in clear); only
// then is the table replaced. Without a leftover, Setup writes the empty table.
TEST(PodNetworkTest, SetupKeepsALeftoverTableUntilTheFirstApply) {
  FakeRunner runner;
  runner.leftover_table = true;
  PodNetwork net({.tun_name = "tun9", .route_table = 123}, runner);
  ASSERT_TRUE(net.Setup().ok());
  for (const auto& c : runner.calls) {
    EXPECT_FALSE(c.size() > 1 && c[0] == "nft" && (c[1] == "delete" || c[1] == "-f"))
        << ::testing::PrintToString(c);
  }
  policy::FilterTable t;
  t.entries = {
      Entry(1, policy::Direction::kOutbound, policy::Action::kNegotiate, "10.0.0.1", "10.0.0.2")};
  policy::Policy p;
  ASSERT_TRUE(net.Apply(BuildPodNetworkPlan({.tun_name = "tun9"}, t, &p)).ok());
  ASSERT_EQ(runner.scripts.size(), 1u);
  EXPECT_NE(runner.scripts[0].find("delete table inet ipsec_tun9"), std::string::npos);
  EXPECT_NE(runner.scripts[0].find("plaintext entry 1"), std::string::npos) << runner.scripts[0];

  FakeRunner fresh;
  PodNetwork first({.tun_name = "tun9", .route_table = 123}, fresh);
  ASSERT_TRUE(first.Setup().ok());
  ASSERT_EQ(fresh.scripts.size(), 1u);
  EXPECT_NE(fresh.scripts[0].find("table inet ipsec_tun9 {"), std::string::npos);
}

// FAQ 19: a default-response child SA's traffic is routed into the TUN while its policy
// exists — unless the plan routes it anyway — and survives a policy re-apply.
TEST(PodNetworkTest, DynamicRoutesOnlyForWhatThePlanDoesNotRoute) {
  FakeRunner runner;
  PodNetwork net({.tun_name = "tun9", .route_table = 123}, runner);
  ASSERT_TRUE(net.Setup().ok());
  policy::FilterTable t;
  t.entries = {
      Entry(1, policy::Direction::kOutbound, policy::Action::kNegotiate, "10.0.0.1", "10.0.0.2")};
  t.entries[0].destination = IpRange::FromPrefix(*IpAddress::Parse("10.0.0.0"), 24);
  policy::Policy p;
  ASSERT_TRUE(net.Apply(BuildPodNetworkPlan({.tun_name = "tun9"}, t, &p)).ok());
  runner.calls.clear();
  // Inside the plan's 10.0.0.0/24: nothing to run, nothing to remember.
  ASSERT_TRUE(net.AddDynamicRoutes(7, {IpRange::Single(*IpAddress::Parse("10.0.0.9"))}).ok());
  EXPECT_TRUE(runner.calls.empty());
  const IpRange other = IpRange::Single(*IpAddress::Parse("10.1.0.5"));
  ASSERT_TRUE(net.AddDynamicRoutes(8, {other}).ok());
  ASSERT_TRUE(net.AddDynamicRoutes(9, {other}).ok());  // a second policy, the same range
  using V = std::vector<std::string>;
  const V add = {"ip", "-4", "route", "replace", "10.1.0.5/32", "dev", "tun9", "table", "123"};
  const V del = {"ip", "-4", "route", "del", "10.1.0.5/32", "dev", "tun9", "table", "123"};
  EXPECT_EQ(std::count(runner.calls.begin(), runner.calls.end(), add), 2);
  runner.calls.clear();
  ASSERT_TRUE(net.Apply(BuildPodNetworkPlan({.tun_name = "tun9"}, t, &p)).ok());  // re-applied
  EXPECT_EQ(std::count(runner.calls.begin(), runner.calls.end(), add), 1);
  runner.calls.clear();
  ASSERT_TRUE(net.RemoveDynamicRoutes(8).ok());
  EXPECT_EQ(std::count(runner.calls.begin(), runner.calls.end(), del), 0);  // 9 still uses it
  ASSERT_TRUE(net.RemoveDynamicRoutes(9).ok());
  EXPECT_EQ(std::count(runner.calls.begin(), runner.calls.end(), del), 1);
  ASSERT_TRUE(net.RemoveDynamicRoutes(7).ok());  // nothing kept: nothing run
  EXPECT_EQ(runner.calls.size(), 1u);
}

// FAQ 16: a peer in a fallback to clear may send plaintext; the set's elements time out by
// themselves, and a policy re-apply (a new table) loads them again.
TEST(PodNetworkTest, ClearSourcesGoIntoTimedNftSets) {
  FakeRunner runner;
  PodNetwork net({.tun_name = "tun9", .route_table = 123}, runner);
  ASSERT_TRUE(net.Setup().ok());
  ASSERT_NE(runner.scripts.back().find("ip saddr @clear4 accept"), std::string::npos)
      << runner.scripts.back();
  const auto now = std::chrono::steady_clock::now();
  auto fallback = [](const char* peer, IpRange destinations, auto until) {
    return ClearFallback{.rule = "r",
                         .peer = *IpAddress::Parse(peer),
                         .destinations = {destinations},
                         .until = until};
  };
  ASSERT_TRUE(net.SetClearSources(
                     {fallback("10.0.0.2", IpRange::Single(*IpAddress::Parse("10.0.0.2")),
                               now + std::chrono::seconds(300)),
                      fallback("10.0.0.4", IpRange::FromPrefix(*IpAddress::Parse("10.5.0.0"), 16),
                               now + std::chrono::seconds(60)),
                      fallback("10.0.0.3", IpRange::Single(*IpAddress::Parse("10.0.0.3")),
                               now - std::chrono::seconds(1))})
                  .ok());
  const std::string s = runner.scripts.back();
  EXPECT_NE(s.find("flush set inet ipsec_tun9 clear4"), std::string::npos) << s;
  EXPECT_NE(s.find("add element inet ipsec_tun9 clear4 { 10.0.0.2 timeout 29"), std::string::npos)
      << s;
  EXPECT_NE(s.find("add element inet ipsec_tun9 clear4 { 10.5.0.0/16 timeout 5"), std::string::npos)
      << s;
  EXPECT_EQ(s.find("10.0.0.3"), std::string::npos) << s;  // over already
  runner.scripts.clear();
  ASSERT_TRUE(net.Apply(BuildPodNetworkPlan({.tun_name = "tun9"}, {}, nullptr)).ok());
  ASSERT_EQ(runner.scripts.size(), 2u);  // the table, then its set elements again
  EXPECT_NE(runner.scripts[1].find("10.0.0.2 timeout"), std::string::npos);
  runner.scripts.clear();
  ASSERT_TRUE(net.SetClearSources({}).ok());
  ASSERT_EQ(runner.scripts.size(), 1u);
  EXPECT_EQ(runner.scripts[0].find("add element"), std::string::npos);
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
