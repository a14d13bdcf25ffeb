#include "api/handlers/service_json.h"

#include <gtest/gtest.h>

namespace ipsec::api::handlers {
namespace {

namespace service = engine::service;
using engine::policy::Scope;

TEST(Rfc3339Test, Formats) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Rfc3339(1700000000), "2023-11-14T22:13:20Z");
}

TEST(AssignmentJsonTest, InForceAndScopes) {
  service::AssignmentStatus s;
  s.in_force_scope = Scope::kPod;
  s.in_force_policy = "web";
  s.reason = "because";
  s.scopes = {service::ScopeStatus{Scope::kCluster, std::nullopt, "/etc/c", "", 0},
              service::ScopeStatus{Scope::kNamespace, "ns", "/etc/n", "bad file", 1700000000},
              service::ScopeStatus{Scope::kPod, "web", "api", "", 1700000001}};
  EXPECT_EQ(AssignmentToJson(s), Json::parse(R"({
    "in_force": {"scope": "pod", "policy": "web"}, "reason": "because",
    "scopes": [
      {"scope": "cluster", "policy": null, "source": "/etc/c", "error": "", "updated": null},
      {"scope": "namespace", "policy": "ns", "source": "/etc/n", "error": "bad file",
       "updated": "2023-11-14T22:13:20Z"},
      {"scope": "pod", "policy": "web", "source": "api", "error": "",
       "updated": "2023-11-14T22:13:21Z"}]})"));
  EXPECT_TRUE(AssignmentToJson(service::AssignmentStatus{})["in_force"].is_null());
}

TEST(SasJsonTest, Shapes) {
  EXPECT_EQ(SasToJson({}), Json::parse(R"({"ike_sas": []})"));
  service::SaList l;
  engine::ike::IkeSaSnapshot ike;
  ike.id = "ike-1";
  ike.state = "established";
  ike.role = "initiator";
  ike.local = "10.0.0.1:500";
  ike.remote = "10.0.0.2:500";
  ike.rule = "db";
  ike.local_auth = "preshared key";
  ike.remote_auth = "certificate, ecdsa-sha256 (RFC 7427)";
  engine::ike::ChildSaSnapshot child;
  child.id = "child-7";
  child.rule = "db";
  child.spi_in = 0xc0ffee;
  child.local_ts = {"10.0.0.1/32"};
  ike.children.push_back(child);
  l.ike_sas.push_back(ike);
  Json j = SasToJson(l);
  ASSERT_EQ(j["ike_sas"].size(), 1u);
  const Json& s = j["ike_sas"][0];
  EXPECT_EQ(s["id"], "ike-1");
  EXPECT_EQ(s["role"], "initiator");
  EXPECT_EQ(s["remote"], "10.0.0.2:500");
  EXPECT_EQ(s["rule"], "db");
  EXPECT_EQ(s["local_auth"], "preshared key");
  EXPECT_EQ(s["remote_auth"], "certificate, ecdsa-sha256 (RFC 7427)");
  ASSERT_EQ(s["child_sas"].size(), 1u);
  EXPECT_EQ(s["child_sas"][0]["id"], "child-7");
  EXPECT_EQ(s["child_sas"][0]["spi_in"], "00c0ffee");
  EXPECT_EQ(s["child_sas"][0]["spi_out"], "00000000");
  EXPECT_TRUE(s["failure"].is_null());
  EXPECT_EQ(s["child_sas"][0]["local_ts"], Json::parse(R"(["10.0.0.1/32"])"));
  // No key material in any field name.
  for (const std::string bad : {"\"sk_", "secret", "keymat", "\"key\""}) {
    EXPECT_EQ(j.dump().find(bad), std::string::npos) << bad;
  }
}

TEST(StatisticsJsonTest, Shape) {
  service::ServiceCounters c;
  c.policy_applies[0] = 5;
  c.policy_applies[1] = 2;
  c.policy_applies[2] = 1;
  c.generation = 7;
  c.rules_in_force = 2;
  c.filters_generic = 3;
  c.filters_specific = 14;
  c.conflicts_resolved = 1;
  Json j = StatisticsToJson({}, c);
  EXPECT_EQ(j["ike"]["running"], false);
  EXPECT_EQ(j["ike"]["ike_sas_active"], 0);
  EXPECT_EQ(j["ike"]["dos_drops_total"], 0);
  EXPECT_EQ(j["ike"]["rules"], Json::array());
  EXPECT_EQ(j["policy"], Json::parse(R"({"generation": 7, "rules_in_force": 2,
      "filters_generic": 3, "filters_specific": 14, "conflicts_resolved": 1,
      "applies": {"success": 5, "invalid": 2, "conflict": 1, "persist_failed": 0}})"));
}

TEST(MatchResultJsonTest, DefaultPermit) {
  service::MatchResult m;
  m.reason = "nothing matched";
  m.generation = 3;
  Json j = MatchResultToJson(m);
  EXPECT_EQ(j["action"], "permit");
  EXPECT_TRUE(j["entry"].is_null());
  EXPECT_TRUE(j["rule"].is_null());
  EXPECT_TRUE(j["policy"].is_null());
  EXPECT_EQ(j["generation"], 3);
  EXPECT_EQ(j["reason"], "nothing matched");
}

}  // namespace
}  // namespace ipsec::api::handlers
