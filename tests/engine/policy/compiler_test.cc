#include "engine/policy/compiler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/policy/weights.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::policy {
namespace {

using namespace ::ipsec::engine::policy::testing;  // NOLINT: test builders

constexpr uint64_t kTier1 = uint64_t{1} << 32;

std::vector<const TableEntry*> Find(const FilterTable& t, Direction d, const IpRange& src,
                                    const IpRange& dst) {
  std::vector<const TableEntry*> out;
  for (const TableEntry& e : t.entries) {
    if (e.direction == d && e.source == src && e.destination == dst) out.push_back(&e);
  }
  return out;
}

const TableEntry& Only(const FilterTable& t, Direction d, std::string_view src,
                       std::string_view dst) {
  auto found = Find(t, d, R(src), R(dst));
  EXPECT_EQ(found.size(), 1u) << Name(d) << " " << src << " -> " << dst;
  static const TableEntry kNone;
  return found.empty() ? kNone : *found[0];
}

TEST(CompilerTest, EmptyTablePermitsEverything) {
  FilterTable t = EmptyTable();
  EXPECT_TRUE(t.policy.empty());
  EXPECT_TRUE(t.entries.empty());
  EXPECT_TRUE(t.generic.empty());
  EXPECT_EQ(t.conflicts_resolved, 0u);
}

TEST(CompilerTest, InvalidPolicyIsNotCompiled) {
  Policy p = BasePolicy();
  AddRule(p, "r", {MakeFilter(AddressSpec::Me(), One("10.0.0.1"))}, "missing");
  Result<FilterTable> t = CompilePolicy(p, Pod());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().path, "/rules/0/filter_action");
}

TEST(CompilerTest, MirroredFilterFromMeExpandsBothDirections) {
  Policy p = BasePolicy();
  AddRule(p, "db",
          {MakeFilter(AddressSpec::Me(), Net("10.99.2.0/24"), kProtoTcp, {},
                      PortRange::Single(5432))},
          "secure");
  FilterTable t = CompileOk(p);
  EXPECT_EQ(t.policy, "test");
  EXPECT_EQ(t.active_rules, 1u);
  // "me" is both IPv4 addresses of the pod; its IPv6 address has no IPv4 peer here.
  ASSERT_EQ(t.entries.size(), 4u);
  for (std::string_view me : {"10.99.1.2", "192.168.7.5"}) {
    const TableEntry& out = Only(t, Direction::kOutbound, me, "10.99.2.0/24");
    EXPECT_FALSE(out.origin.mirror);
    EXPECT_EQ(out.destination_ports, PortRange::Single(5432));
    EXPECT_TRUE(out.source_ports.IsAny());
    const TableEntry& in = Only(t, Direction::kInbound, "10.99.2.0/24", me);
    EXPECT_TRUE(in.origin.mirror);
    EXPECT_EQ(in.source_ports, PortRange::Single(5432));
    EXPECT_TRUE(in.destination_ports.IsAny());
    EXPECT_EQ(in.origin.rule, "db");
    EXPECT_EQ(in.origin.filter_list, "db");
    EXPECT_EQ(in.origin.filter_index, 0);
    EXPECT_EQ(in.protocol, kProtoTcp);
  }
}

TEST(CompilerTest, UnmirroredFilterKeepsOnlyItsDirection) {
  Policy p = BasePolicy();
  AddRule(p, "out", {MakeFilter(AddressSpec::Me(IpFamily::kV4), One("10.1.1.1"), {}, {}, {},
                                false)},
          "block");
  AddRule(p, "in", {MakeFilter(Net("10.2.0.0/16"), AddressSpec::Me(IpFamily::kV4), kProtoTcp,
                               {}, PortRange::Single(22), false)},
          "block");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 4u);
  for (const TableEntry& e : t.entries) {
    EXPECT_FALSE(e.origin.mirror);
    EXPECT_EQ(e.direction, e.origin.rule == "out" ? Direction::kOutbound : Direction::kInbound);
  }
  EXPECT_EQ(Only(t, Direction::kInbound, "10.2.0.0/16", "10.99.1.2").destination_ports,
            PortRange::Single(22));
}

// Without "me" a filter describes packets by address alone, so each copy applies to both
// directions (docs/policy-model.md).
TEST(CompilerTest, FilterWithoutMeAppliesToBothDirections) {
  Policy p = BasePolicy();
  AddRule(p, "pair", {MakeFilter(One("10.99.1.2"), Net("10.99.2.0/24"))}, "secure");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 4u);
  for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
    EXPECT_FALSE(Only(t, d, "10.99.1.2", "10.99.2.0/24").origin.mirror);
    EXPECT_TRUE(Only(t, d, "10.99.2.0/24", "10.99.1.2").origin.mirror);
  }
}

TEST(CompilerTest, AnyToAnyExpandsPerFamilyWithoutRedundantMirror) {
  Policy p = BasePolicy();
  AddRule(p, "all", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "secure");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 4u);
  for (IpFamily f : {IpFamily::kV4, IpFamily::kV6}) {
    for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
      auto found = Find(t, d, IpRange::Full(f), IpRange::Full(f));
      ASSERT_EQ(found.size(), 1u);
      EXPECT_EQ(found[0]->weight, kTier1);
    }
  }
}

TEST(CompilerTest, AnyOfOneFamily) {
  Policy p = BasePolicy();
  AddRule(p, "v6", {MakeFilter(AddressSpec::Any(IpFamily::kV6), AddressSpec::Me())}, "block");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 2u);  // any6 -> fd00:99:1::2 inbound, and its mirror outbound
  Only(t, Direction::kInbound, "::/0", "fd00:99:1::2");
  Only(t, Direction::kOutbound, "fd00:99:1::2", "::/0");
}

TEST(CompilerTest, MeExpandsToNamedInterfacesOnly) {
  Policy p = BasePolicy();
  Rule& r = AddRule(p, "net1-only", {MakeFilter(AddressSpec::Me(), AddressSpec::Any())},
                    "secure");
  r.connection_type = ConnectionType{false, {"net1", "net1"}};
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 2u);
  const TableEntry& out = Only(t, Direction::kOutbound, "192.168.7.5", "0.0.0.0/0");
  EXPECT_EQ(out.interfaces, std::vector<std::string>{"net1"});
  ASSERT_EQ(t.generic.size(), 1u);
  EXPECT_EQ(t.generic[0].interfaces, std::vector<std::string>{"net1"});
}

TEST(CompilerTest, MeOfOneFamilyAndAllInterfaces) {
  Policy p = BasePolicy();
  AddRule(p, "me6", {MakeFilter(AddressSpec::Me(IpFamily::kV6), Net("fd00:99:2::/64"))},
          "secure");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 2u);
  const TableEntry& out = Only(t, Direction::kOutbound, "fd00:99:1::2", "fd00:99:2::/64");
  EXPECT_TRUE(out.interfaces.empty());
  EXPECT_EQ(out.weight, kTier1 | ((128 + 64) << 8));
}

TEST(CompilerTest, MeWithoutKnownAddressesYieldsNoEntries) {
  Policy p = BasePolicy();
  AddRule(p, "r", {MakeFilter(AddressSpec::Me(), AddressSpec::Any())}, "secure");
  FilterTable t = CompileOk(p, CompileContext{});
  EXPECT_TRUE(t.entries.empty());
  EXPECT_EQ(t.generic.size(), 1u);
}

TEST(CompilerTest, InactiveRulesContributeNothing) {
  Policy p = BasePolicy();
  AddRule(p, "on", {MakeFilter(AddressSpec::Me(), One("10.0.0.1"))}, "permit");
  AddRule(p, "off", {MakeFilter(AddressSpec::Me(), One("10.0.0.1"))}, "block").active = false;
  FilterTable t = CompileOk(p);
  EXPECT_EQ(t.active_rules, 1u);
  EXPECT_EQ(t.conflicts_resolved, 0u);
  ASSERT_EQ(t.generic.size(), 1u);
  EXPECT_EQ(t.generic[0].origin.rule, "on");
  for (const TableEntry& e : t.entries) {
    EXPECT_EQ(e.action, Action::kPermit);
    EXPECT_TRUE(e.overridden.empty());
  }
}

TEST(CompilerTest, GenericFiltersAsConfigured) {
  Policy p = BasePolicy();
  Filter f = MakeFilter(AddressSpec::Me(), Net("10.99.2.0/24"), kProtoTcp, {},
                        PortRange::Single(5432));
  Rule& r = AddRule(p, "db", {f, MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "secure");
  r.tunnel_endpoint = Ip("10.99.2.1");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.generic.size(), 2u);
  const GenericFilter& g = t.generic[0];
  EXPECT_EQ(g.filter, f);
  EXPECT_EQ(g.origin.filter_index, 0);
  EXPECT_EQ(g.action, Action::kNegotiate);
  EXPECT_EQ(g.filter_action, "secure");
  EXPECT_EQ(g.tunnel_endpoint, Ip("10.99.2.1"));
  // "me" counts as one address: 128 + 96, one port (16), a protocol.
  EXPECT_EQ(g.weight, kTier1 | ((128 + 96) << 8) | (16 << 1) | 1);
  EXPECT_EQ(t.generic[1].weight, kTier1);
  EXPECT_EQ(t.generic[1].origin.filter_index, 1);
}

TEST(CompilerTest, NegotiateEntriesCarryActionAndTunnel) {
  Policy p = BasePolicy();
  AddRule(p, "sec", {MakeFilter(AddressSpec::Me(IpFamily::kV4), One("10.5.0.1"))}, "secure")
      .tunnel_endpoint = Ip("10.5.0.254");
  AddRule(p, "perm", {MakeFilter(AddressSpec::Me(IpFamily::kV4), One("10.6.0.1"))}, "permit")
      .tunnel_endpoint = Ip("10.6.0.254");
  FilterTable t = CompileOk(p);
  for (const TableEntry& e : t.entries) {
    if (e.origin.rule == "sec") {
      EXPECT_EQ(e.action, Action::kNegotiate);
      EXPECT_EQ(e.filter_action, "secure");
      EXPECT_EQ(e.tunnel_endpoint, Ip("10.5.0.254"));
    } else {
      EXPECT_EQ(e.action, Action::kPermit);
      EXPECT_EQ(e.filter_action, "permit");
      EXPECT_FALSE(e.tunnel_endpoint.has_value());  // only negotiation tunnels
    }
  }
}

TEST(CompilerTest, WeightsFollowTheFormula) {
  Policy p = BasePolicy();
  AddRule(p, "r",
          {MakeFilter(One("10.0.0.1"), One("10.0.0.2"), {}, {}, {}, false),
           MakeFilter(One("10.0.0.1"), Net("10.1.0.0/24"), {}, {}, {}, false),
           MakeFilter(One("10.0.0.1"), Net("10.2.0.0/24"), kProtoUdp, {},
                      PortRange{1000, 1999}, false),
           MakeFilter(One("10.0.0.1"), Net("10.3.0.0/24"), kProtoIcmp, {}, {}, false),
           MakeFilter(Span("10.4.0.5", "10.4.0.9"), AddressSpec::Any(IpFamily::kV4), {}, {}, {},
                      false),
           MakeFilter(One("fd00::1"), Net("fd00:1::/64"), {}, {}, {}, false)},
          "block");
  FilterTable t = CompileOk(p);
  auto weight = [&](std::string_view src, std::string_view dst) {
    return Only(t, Direction::kOutbound, src, dst).weight;
  };
  EXPECT_EQ(weight("10.0.0.1", "10.0.0.2"), kTier1 | (256 << 8));
  EXPECT_EQ(weight("10.0.0.1", "10.1.0.0/24"), kTier1 | (224 << 8));
  // 1000 ports: 16 - ceil(log2(1000)) = 6.
  EXPECT_EQ(weight("10.0.0.1", "10.2.0.0/24"), kTier1 | (224 << 8) | (6 << 1) | 1);
  EXPECT_EQ(weight("10.0.0.1", "10.3.0.0/24"), kTier1 | (224 << 8) | 1);
  // Five addresses: (32 - 3) * 4.
  EXPECT_EQ(weight("10.4.0.5-10.4.0.9", "0.0.0.0/0"), kTier1 | (116 << 8));
  EXPECT_EQ(weight("fd00::1", "fd00:1::/64"), kTier1 | (192 << 8));
  // Ordered by weight, numbered 1..n.
  for (size_t i = 0; i < t.entries.size(); ++i) {
    EXPECT_EQ(t.entries[i].id, i + 1);
    if (i > 0) {
      EXPECT_GE(t.entries[i - 1].weight, t.entries[i].weight);
    }
  }
}

TEST(CompilerTest, ConflictsResolveToTheMostRestrictive) {
  Policy p = BasePolicy();
  const Filter f = MakeFilter(AddressSpec::Me(IpFamily::kV4), One("10.7.0.1"));
  AddRule(p, "allow", {f}, "permit");
  AddRule(p, "secure", {f}, "secure");
  AddRule(p, "deny", {f}, "block");
  FilterTable t = CompileOk(p);
  // Two addresses of "me" x (filter + mirror) = four entries, each the block of "deny".
  ASSERT_EQ(t.entries.size(), 4u);
  EXPECT_EQ(t.conflicts_resolved, 4u);
  for (const TableEntry& e : t.entries) {
    EXPECT_EQ(e.action, Action::kBlock);
    EXPECT_EQ(e.origin.rule, "deny");
    ASSERT_EQ(e.overridden.size(), 2u);
    EXPECT_EQ(e.overridden[0].origin.rule, "allow");
    EXPECT_EQ(e.overridden[0].action, Action::kPermit);
    EXPECT_EQ(e.overridden[1].origin.rule, "secure");
    EXPECT_EQ(e.overridden[1].action, Action::kNegotiate);
    EXPECT_EQ(e.overridden[1].origin.mirror, e.origin.mirror);
  }
}

TEST(CompilerTest, NegotiateBeatsPermit) {
  Policy p = BasePolicy();
  const Filter f = MakeFilter(One("10.7.0.1"), One("10.7.0.2"), kProtoTcp, {}, {}, false);
  AddRule(p, "secure", {f}, "secure");
  AddRule(p, "allow", {f}, "permit");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 2u);  // outbound and inbound
  for (const TableEntry& e : t.entries) {
    EXPECT_EQ(e.action, Action::kNegotiate);
    ASSERT_EQ(e.overridden.size(), 1u);
    EXPECT_EQ(e.overridden[0].origin.rule, "allow");
  }
  EXPECT_EQ(t.conflicts_resolved, 2u);
}

TEST(CompilerTest, DuplicatesKeepTheFirst) {
  Policy p = BasePolicy();
  const Filter f = MakeFilter(AddressSpec::Me(IpFamily::kV6), One("fd00::7"));
  AddRule(p, "first", {f}, "secure");
  AddRule(p, "second", {f, f}, "secure");
  FilterTable t = CompileOk(p);
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.conflicts_resolved, 0u);  // equal actions: duplicates, not conflicts
  for (const TableEntry& e : t.entries) {
    EXPECT_EQ(e.origin.rule, "first");
    ASSERT_EQ(e.overridden.size(), 2u);
    EXPECT_EQ(e.overridden[0].origin.rule, "second");
    EXPECT_EQ(e.overridden[0].origin.filter_index, 0);
    EXPECT_EQ(e.overridden[1].origin.filter_index, 1);
  }
}

TEST(CompilerTest, DifferentMatchingFieldsDoNotConflict) {
  Policy p = BasePolicy();
  AddRule(p, "a", {MakeFilter(AddressSpec::Me(IpFamily::kV6), One("fd00::7"), kProtoTcp)},
          "block");
  AddRule(p, "b", {MakeFilter(AddressSpec::Me(IpFamily::kV6), One("fd00::7"), kProtoUdp)},
          "permit");
  Rule& c = AddRule(p, "c", {MakeFilter(AddressSpec::Me(IpFamily::kV6), One("fd00::7"),
                                        kProtoTcp)},
                    "permit");
  c.connection_type = ConnectionType{false, {"eth0"}};
  FilterTable t = CompileOk(p);
  EXPECT_EQ(t.entries.size(), 6u);
  EXPECT_EQ(t.conflicts_resolved, 0u);
}

TEST(CompilerTest, EqualWeightsOrderByRestrictivenessThenRuleOrder) {
  Policy p = BasePolicy();
  AddRule(p, "p", {MakeFilter(One("10.0.0.1"), One("10.0.0.2"), {}, {}, {}, false)}, "permit");
  AddRule(p, "n", {MakeFilter(One("10.0.0.1"), One("10.0.0.3"), {}, {}, {}, false)}, "secure");
  AddRule(p, "b", {MakeFilter(One("10.0.0.1"), One("10.0.0.4"), {}, {}, {}, false)}, "block");
  AddRule(p, "b2", {MakeFilter(One("10.0.0.1"), One("10.0.0.5"), {}, {}, {}, false)}, "block");
  FilterTable t = CompileOk(p);
  std::vector<std::string> order;
  for (const TableEntry& e : t.entries) {
    if (e.direction == Direction::kOutbound) order.push_back(e.origin.rule);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"b", "b2", "n", "p"}));
}

TEST(CompilerTest, TableRecordsPolicyFacts) {
  Policy p = BasePolicy("facts");
  p.default_response.active = false;
  FilterTable t = CompileOk(p);
  EXPECT_EQ(t.policy, "facts");
  EXPECT_FALSE(t.default_response_active);
  EXPECT_EQ(t.active_rules, 0u);
  EXPECT_TRUE(t.entries.empty());
  p.default_response.active = true;
  EXPECT_TRUE(CompileOk(p).default_response_active);
}

TEST(CompilerTest, DirectedBroadcastsOfThePod) {
  CompileContext c = Pod();
  c.interfaces.push_back(PodInterface{"p2p", {{Ip("10.200.0.1"), 31}, {Ip("10.201.0.1"), 32}}});
  c.interfaces.push_back(PodInterface{"dup", {{Ip("10.99.1.77"), 24}}});
  EXPECT_EQ(DirectedBroadcasts(c),
            (std::vector<IpAddress>{Ip("10.99.1.255"), Ip("192.168.7.255")}));
  FilterTable t = CompileOk(BasePolicy(), c);
  EXPECT_EQ(t.broadcast_addresses.size(), 2u);
}

TEST(CompilerTest, ManyFiltersCompile) {
  Policy p = BasePolicy();
  std::vector<Filter> filters;
  for (uint32_t i = 0; i < 5000; ++i) {
    filters.push_back(MakeFilter(AddressSpec::Me(IpFamily::kV4),
                                 AddressSpec::Subnet(IpAddress::V4(0x0a000000u + (i << 8)), 24)));
  }
  AddRule(p, "many", std::move(filters), "secure");
  FilterTable t = CompileOk(p);
  EXPECT_EQ(t.entries.size(), 5000u * 2 * 2);  // two addresses of "me", mirrored
  EXPECT_EQ(t.generic.size(), 5000u);
}

}  // namespace
}  // namespace ipsec::engine::policy

namespace ipsec::engine::policy {
namespace {

TEST(CompilerWarningsTest, KerberosIsReportedAsNotYetSupported) {
  Policy p;
  p.name = "k";
  Filter f;
  f.source = AddressSpec::Me();
  f.destination = AddressSpec::Any();
  p.filter_lists.push_back({"l", "", {f}});
  FilterAction a;
  a.name = "n";
  a.type = ActionType::kNegotiate;
  p.filter_actions.push_back(a);
  Rule only_kerberos{.name = "only-kerberos", .filter_list = "l", .filter_action = "n"};
  only_kerberos.auth_methods.push_back({.kind = AuthKind::kKerberos});
  Rule fallback{.name = "fallback", .filter_list = "l", .filter_action = "n"};
  fallback.auth_methods.push_back({.kind = AuthKind::kKerberos});
  fallback.auth_methods.push_back({.kind = AuthKind::kPreSharedKey, .preshared_key = SecretBytes("k")});
  p.rules = {only_kerberos, fallback};
  p.default_response.auth_methods.push_back(
      {.kind = AuthKind::kPreSharedKey, .preshared_key = SecretBytes("k")});
  auto table = CompilePolicy(p, {});
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  ASSERT_EQ(table->warnings.size(), 3u);
  EXPECT_NE(table->warnings[0].find("rule 'only-kerberos': authentication method 0 (kerberos)"),
            std::string::npos);
  EXPECT_NE(table->warnings[1].find("rule 'only-kerberos': no authentication method"),
            std::string::npos);
  EXPECT_NE(table->warnings[2].find("rule 'fallback': authentication method 0"),
            std::string::npos);
  EXPECT_TRUE(table->default_response_active);
  // A rule that is not active, or does not negotiate, has nothing to warn about.
  p.rules[0].active = false;
  p.rules[1].auth_methods.erase(p.rules[1].auth_methods.begin());
  EXPECT_TRUE(CompilePolicy(p, {})->warnings.empty());
}

}  // namespace
}  // namespace ipsec::engine::policy
