#include "engine/policy/exemptions.h"

#include <gtest/gtest.h>

#include <map>

#include "engine/policy/classifier.h"
#include "engine/policy/weights.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::policy {
namespace {

using namespace ::ipsec::engine::policy::testing;  // NOLINT: test builders

std::map<std::string, int> CountByExemption(const std::vector<TableEntry>& entries) {
  std::map<std::string, int> out;
  for (const TableEntry& e : entries) {
    EXPECT_EQ(e.origin.kind, OriginKind::kExemption);
    EXPECT_EQ(e.action, Action::kPermit);
    EXPECT_EQ(e.weight >> 32, kExemptionTier);
    ++out[e.origin.exemption];
  }
  return out;
}

CompileContext PodWithNode() {
  CompileContext c = Pod();
  c.node_address = Ip("10.99.1.1");
  return c;
}

TEST(ExemptionsTest, AllOn) {
  std::vector<TableEntry> entries;
  std::vector<GenericFilter> generic;
  AppendExemptions(Exemptions{}, PodWithNode(), &entries, &generic);
  auto counts = CountByExemption(entries);
  // ike: 4 port patterns x 2 families x 2 directions; esp, ah: 2 families x 2 directions.
  EXPECT_EQ(counts["ike"], 16);
  EXPECT_EQ(counts["esp"], 4);
  EXPECT_EQ(counts["ah"], 4);
  EXPECT_EQ(counts["dns"], 8);      // tcp and udp x 2 families x 2 directions
  EXPECT_EQ(counts["netbios"], 2);  // IPv4 only
  EXPECT_EQ(counts["kubelet-probes"], 4);  // two IPv4 pod addresses x 2 directions
  EXPECT_EQ(generic.size(), 4u + 2 + 2 + 1 + 1);
  for (const GenericFilter& g : generic) {
    EXPECT_EQ(g.origin.kind, OriginKind::kExemption);
    EXPECT_EQ(g.weight >> 32, kExemptionTier);
  }
}

TEST(ExemptionsTest, EachSwitchRemovesItsEntries) {
  struct Switch {
    bool Exemptions::*field;
    std::vector<std::string> names;
  };
  const Switch switches[] = {{&Exemptions::ike, {"ike", "esp", "ah"}},
                             {&Exemptions::dns, {"dns"}},
                             {&Exemptions::netbios_name, {"netbios"}},
                             {&Exemptions::kubelet_probes, {"kubelet-probes"}}};
  for (const Switch& s : switches) {
    Exemptions ex;
    ex.*s.field = false;
    std::vector<TableEntry> entries;
    std::vector<GenericFilter> generic;
    AppendExemptions(ex, PodWithNode(), &entries, &generic);
    auto counts = CountByExemption(entries);
    for (const std::string& name : s.names) EXPECT_EQ(counts.count(name), 0u) << name;
    EXPECT_EQ(counts.size(), 6 - s.names.size());
  }
}

TEST(ExemptionsTest, NoKubeletEntriesWithoutNodeAddress) {
  std::vector<TableEntry> entries;
  std::vector<GenericFilter> generic;
  AppendExemptions(Exemptions{}, Pod(), &entries, &generic);
  EXPECT_EQ(CountByExemption(entries).count("kubelet-probes"), 0u);
}

TEST(ExemptionsTest, KubeletProbesFromIpv6NodeWithoutKnownAddresses) {
  CompileContext c;
  c.node_address = Ip("fd00::1");
  std::vector<TableEntry> entries;
  std::vector<GenericFilter> generic;
  AppendExemptions(Exemptions{false, false, false, true}, c, &entries, &generic);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].direction, Direction::kInbound);
  EXPECT_EQ(entries[0].source, R("fd00::1"));
  EXPECT_EQ(entries[0].destination, IpRange::Full(IpFamily::kV6));
  EXPECT_EQ(entries[0].protocol, kProtoTcp);
  EXPECT_EQ(entries[1].direction, Direction::kOutbound);
  EXPECT_EQ(entries[1].destination, R("fd00::1"));
}

// A policy that blocks everything, so only exemptions let packets through.
Classifier BlockAll(const Exemptions& exemptions) {
  Policy p = BasePolicy();
  p.exemptions = exemptions;
  AddRule(p, "block-all", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "block");
  return Classifier(CompileOk(p, PodWithNode()));
}

TEST(ExemptionsTest, TakePrecedenceOverBlockAll) {
  Classifier c(BlockAll(Exemptions{}));
  struct Probe {
    PacketKey packet;
    const char* exemption;  // nullptr: blocked
  };
  const Probe probes[] = {
      {Packet(Direction::kOutbound, "10.99.1.2", "10.96.0.10", kProtoUdp, 40000, 53), "dns"},
      {Packet(Direction::kInbound, "10.96.0.10", "10.99.1.2", kProtoUdp, 53, 40000), "dns"},
      {Packet(Direction::kOutbound, "fd00:99:1::2", "fd00::10", kProtoTcp, 40000, 53), "dns"},
      {Packet(Direction::kOutbound, "10.99.1.2", "10.5.5.5", kProtoUdp, 500, 500), "ike"},
      {Packet(Direction::kInbound, "10.5.5.5", "10.99.1.2", kProtoUdp, 4500, 4500), "ike"},
      {Packet(Direction::kInbound, "fd00::5", "fd00:99:1::2", kProtoUdp, 1234, 500), "ike"},
      {Packet(Direction::kInbound, "10.5.5.5", "10.99.1.2", kProtoEsp), "esp"},
      {Packet(Direction::kOutbound, "fd00:99:1::2", "fd00::5", kProtoAh), "ah"},
      {Packet(Direction::kOutbound, "10.99.1.2", "10.5.5.5", kProtoUdp, 137, 137), "netbios"},
      {Packet(Direction::kInbound, "10.99.1.1", "10.99.1.2", kProtoTcp, 50000, 8080),
       "kubelet-probes"},
      {Packet(Direction::kOutbound, "10.99.1.2", "10.99.1.1", kProtoTcp, 8080, 50000),
       "kubelet-probes"},
      // Not exempt: other ports, UDP from the node, NetBIOS over IPv6, the node to another pod.
      {Packet(Direction::kOutbound, "10.99.1.2", "10.5.5.5", kProtoTcp, 40000, 443), nullptr},
      {Packet(Direction::kInbound, "10.99.1.1", "10.99.1.2", kProtoUdp, 50000, 8080), nullptr},
      {Packet(Direction::kOutbound, "fd00:99:1::2", "fd00::5", kProtoUdp, 137, 137), nullptr},
      {Packet(Direction::kInbound, "10.99.1.1", "10.99.1.3", kProtoTcp, 50000, 8080), nullptr},
  };
  for (const Probe& probe : probes) {
    Decision d = c.Classify(probe.packet);
    SCOPED_TRACE(probe.packet.source.ToString() + " -> " + probe.packet.destination.ToString());
    if (probe.exemption == nullptr) {
      EXPECT_EQ(d.action, Action::kBlock);
      continue;
    }
    EXPECT_EQ(d.action, Action::kPermit);
    ASSERT_NE(d.entry, nullptr);
    EXPECT_EQ(d.entry->origin.exemption, probe.exemption);
    EXPECT_NE(d.reason.find(std::string("exemption '") + probe.exemption + "'"),
              std::string::npos)
        << d.reason;
  }
}

TEST(ExemptionsTest, SwitchedOffExemptionsNoLongerPermit) {
  Classifier c(BlockAll(Exemptions{false, false, false, false}));
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.96.0.10", kProtoUdp, 1, 53))
                .action,
            Action::kBlock);
  EXPECT_EQ(c.Classify(Packet(Direction::kInbound, "10.99.1.1", "10.99.1.2", kProtoTcp, 1, 80))
                .action,
            Action::kBlock);
}

TEST(ExemptionsTest, NeverMergeWithRules) {
  Policy p = BasePolicy();
  p.exemptions = Exemptions{false, true, false, false};
  AddRule(p, "dns-block",
          {MakeFilter(AddressSpec::Any(), AddressSpec::Any(), kProtoUdp, {},
                      PortRange::Single(53), false)},
          "block");
  FilterTable t = CompileOk(p);
  EXPECT_EQ(t.conflicts_resolved, 0u);
  int rule_entries = 0;
  for (const TableEntry& e : t.entries) {
    EXPECT_TRUE(e.overridden.empty());
    rule_entries += e.origin.kind == OriginKind::kRule;
  }
  EXPECT_EQ(rule_entries, 4);  // both families, both directions
  // Exemptions come first in the table.
  EXPECT_EQ(t.entries.front().origin.kind, OriginKind::kExemption);
  EXPECT_EQ(t.entries.back().origin.kind, OriginKind::kRule);
}

}  // namespace
}  // namespace ipsec::engine::policy
