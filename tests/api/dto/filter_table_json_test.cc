#include "api/dto/filter_table_json.h"

#include <gtest/gtest.h>

namespace ipsec::api::dto {
namespace {

using namespace ipsec::engine::policy;  // NOLINT: test brevity

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

EntryOrigin RuleOrigin(const std::string& rule, bool mirror = false) {
  EntryOrigin o;
  o.kind = OriginKind::kRule;
  o.rule = rule;
  o.filter_list = "to-db";
  o.filter_index = 0;
  o.mirror = mirror;
  return o;
}

EntryOrigin ExemptionOrigin(const std::string& name) {
  EntryOrigin o;
  o.kind = OriginKind::kExemption;
  o.exemption = name;
  return o;
}

FilterTable SampleTable() {
  FilterTable t;
  t.policy = "web-tier";
  GenericFilter g;
  g.origin = RuleOrigin("db");
  g.filter.source = AddressSpec::Me();
  g.filter.destination = AddressSpec::Subnet(Ip("10.99.2.0"), 24);
  g.filter.protocol = kProtoTcp;
  g.filter.destination_ports = PortRange::Single(5432);
  g.action = Action::kNegotiate;
  g.weight = 123;
  g.filter_action = "require";
  t.generic.push_back(g);
  GenericFilter dns;
  dns.origin = ExemptionOrigin("dns");
  dns.filter.protocol = 47;
  dns.filter.mirrored = false;
  dns.action = Action::kPermit;
  dns.interfaces = {"eth0"};
  dns.tunnel_endpoint = Ip("10.0.0.9");
  t.generic.push_back(dns);

  TableEntry e;
  e.id = 3;
  e.direction = Direction::kOutbound;
  e.source = IpRange::Single(Ip("10.99.1.2"));
  e.destination = IpRange::FromPrefix(Ip("10.99.2.0"), 24);
  e.protocol = kProtoTcp;
  e.destination_ports = PortRange::Single(5432);
  e.action = Action::kNegotiate;
  e.weight = 123;
  e.origin = RuleOrigin("db");
  e.filter_action = "require";
  e.overridden.push_back(OverriddenEntry{RuleOrigin("allow-all", true), Action::kPermit});
  t.entries.push_back(e);
  TableEntry x;
  x.id = 4;
  x.direction = Direction::kInbound;
  x.source = IpRange{Ip("10.0.0.5"), Ip("10.0.0.9")};
  x.destination = IpRange::Full(IpFamily::kV4);
  x.source_ports = PortRange{1, 2};
  x.interfaces = {"eth0", "net1"};
  x.origin = ExemptionOrigin("dns");
  t.entries.push_back(x);
  t.conflicts_resolved = 1;
  return t;
}

TEST(FilterTableJsonTest, GenericShape) {
  Json j = FilterTableToJson(SampleTable(), TableInfo{"web-tier", Scope::kPod, 7}, false);
  EXPECT_EQ(j["policy"], "web-tier");
  EXPECT_EQ(j["scope"], "pod");
  EXPECT_EQ(j["generation"], 7);
  EXPECT_EQ(j["default_action"], "permit");
  EXPECT_FALSE(j.contains("entries"));
  ASSERT_EQ(j["filters"].size(), 2u);
  EXPECT_EQ(j["filters"][0], Json::parse(R"({"rule": "db", "filter_list": "to-db",
      "filter_index": 0, "exemption": null, "description": "", "source": "me",
      "destination": "10.99.2.0/24", "protocol": "tcp", "source_ports": "any",
      "destination_ports": "5432", "mirrored": true, "action": "negotiate",
      "filter_action": "require", "tunnel_endpoint": null, "interfaces": "all",
      "weight": 123})"));
  const Json& dns = j["filters"][1];
  EXPECT_TRUE(dns["rule"].is_null());
  EXPECT_TRUE(dns["filter_index"].is_null());
  EXPECT_EQ(dns["exemption"], "dns");
  EXPECT_EQ(dns["protocol"], "47");
  EXPECT_EQ(dns["interfaces"], Json::parse(R"(["eth0"])"));
  EXPECT_EQ(dns["tunnel_endpoint"], "10.0.0.9");
  EXPECT_TRUE(dns["filter_action"].is_null());
}

TEST(FilterTableJsonTest, SpecificShape) {
  Json j = FilterTableToJson(SampleTable(), TableInfo{"web-tier", Scope::kNamespace, 7}, true);
  EXPECT_EQ(j["scope"], "namespace");
  EXPECT_EQ(j["conflicts_resolved"], 1);
  EXPECT_FALSE(j.contains("filters"));
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0], Json::parse(R"({"id": 3, "direction": "outbound",
      "source": "10.99.1.2", "destination": "10.99.2.0/24", "protocol": "tcp",
      "source_ports": "any", "destination_ports": "5432", "interfaces": "all",
      "action": "negotiate", "weight": 123,
      "origin": {"kind": "rule", "rule": "db", "filter_list": "to-db", "filter_index": 0,
                 "mirror": false},
      "filter_action": "require", "tunnel_endpoint": null,
      "overridden": [{"origin": {"kind": "rule", "rule": "allow-all", "filter_list": "to-db",
                                 "filter_index": 0, "mirror": true}, "action": "permit"}]})"));
  const Json& x = j["entries"][1];
  EXPECT_EQ(x["direction"], "inbound");
  EXPECT_EQ(x["source"], "10.0.0.5-10.0.0.9");
  EXPECT_EQ(x["destination"], "0.0.0.0/0");
  EXPECT_EQ(x["protocol"], "any");
  EXPECT_EQ(x["source_ports"], "1-2");
  EXPECT_EQ(x["interfaces"], Json::parse(R"(["eth0", "net1"])"));
  EXPECT_EQ(x["origin"], Json::parse(R"({"kind": "exemption", "exemption": "dns"})"));
  EXPECT_EQ(x["overridden"], Json::array());
}

TEST(FilterTableJsonTest, NoPolicyInForce) {
  Json j = FilterTableToJson(FilterTable{}, TableInfo{}, true);
  EXPECT_TRUE(j["policy"].is_null());
  EXPECT_TRUE(j["scope"].is_null());
  EXPECT_EQ(j["entries"], Json::array());
  EXPECT_EQ(j["default_action"], "permit");
}

TEST(MatchRequestTest, DecodesEveryField) {
  auto m = MatchRequestFromJson(Json::parse(R"({"direction": "inbound", "interface": "eth0",
      "source": "10.99.1.2", "destination": "10.99.2.3", "protocol": "tcp",
      "source_port": 40000, "destination_port": "5432"})"));
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  PacketKey k = m->Key();
  EXPECT_EQ(k.direction, Direction::kInbound);
  EXPECT_EQ(k.interface, "eth0");
  EXPECT_EQ(k.source, Ip("10.99.1.2"));
  EXPECT_EQ(k.destination, Ip("10.99.2.3"));
  EXPECT_EQ(k.protocol, kProtoTcp);
  EXPECT_EQ(k.source_port, 40000);
  EXPECT_EQ(k.destination_port, 5432);
}

TEST(MatchRequestTest, Defaults) {
  auto m = MatchRequestFromJson(Json::parse(
      R"({"direction": "outbound", "source": "fd00::1", "destination": "fd00::2"})"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->protocol, 0);
  EXPECT_EQ(m->interface, "");
  EXPECT_EQ(m->source_port, 0);
  auto icmp = MatchRequestFromJson(Json::parse(
      R"({"direction": "outbound", "source": "fd00::1", "destination": "fd00::2",
          "protocol": 58})"));
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->protocol, kProtoIcmpV6);
}

TEST(MatchRequestTest, Errors) {
  const std::pair<const char*, std::pair<const char*, const char*>> cases[] = {
      {R"({"source": "10.0.0.1", "destination": "10.0.0.2"})",
       {"/direction", "missing required field 'direction'"}},
      {R"({"direction": "out", "source": "10.0.0.1", "destination": "10.0.0.2"})",
       {"/direction", "expected one of: outbound, inbound"}},
      {R"({"direction": "outbound", "destination": "10.0.0.2"})", {"/source", "missing"}},
      {R"({"direction": "outbound", "source": "10.0.0.1"})", {"/destination", "missing"}},
      {R"({"direction": "outbound", "source": "10.0.0.0/24", "destination": "10.0.0.2"})",
       {"/source", "is not an address"}},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "fd00::2"})",
       {"/destination", "the source is ipv4 but the destination is ipv6"}},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "10.0.0.2",
           "protocol": "icmp", "destination_port": 5})",
       {"/destination_port", "ports apply only to tcp, udp and sctp"}},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "10.0.0.2",
           "source_port": 5})",
       {"/source_port", "ports apply only"}},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "10.0.0.2",
           "protocol": "tcp", "destination_port": 70000})",
       {"/destination_port", "too large"}},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "10.0.0.2",
           "dport": 1})",
       {"", "the match request has an unknown field"}},
      {R"([])", {"", "expected a match request"}},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    auto m = MatchRequestFromJson(Json::parse(text));
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().path, expected.first);
    EXPECT_NE(m.error().message.find(expected.second), std::string::npos) << m.error().message;
  }
}

TEST(MatchJsonTest, MatchedRule) {
  FilterTable t = SampleTable();
  Json j = MatchToJson(Action::kNegotiate, &t.entries[0], "matched rule 'db'", "web-tier", 7);
  EXPECT_EQ(j["action"], "negotiate");
  EXPECT_EQ(j["policy"], "web-tier");
  EXPECT_EQ(j["generation"], 7);
  EXPECT_EQ(j["rule"], "db");
  EXPECT_EQ(j["weight"], 123);
  EXPECT_EQ(j["entry"], TableEntryToJson(t.entries[0]));
  EXPECT_EQ(j["reason"], "matched rule 'db'");
}

TEST(MatchJsonTest, ExemptionAndNoMatch) {
  FilterTable t = SampleTable();
  Json ex = MatchToJson(Action::kPermit, &t.entries[1], "exempt", "web-tier", 7);
  EXPECT_TRUE(ex["rule"].is_null());
  EXPECT_EQ(ex["entry"]["origin"]["exemption"], "dns");
  Json none = MatchToJson(Action::kPermit, nullptr, "default permit", std::nullopt, 1);
  EXPECT_EQ(none["action"], "permit");
  EXPECT_TRUE(none["rule"].is_null());
  EXPECT_TRUE(none["entry"].is_null());
  EXPECT_TRUE(none["weight"].is_null());
  EXPECT_TRUE(none["policy"].is_null());
}

}  // namespace
}  // namespace ipsec::api::dto
