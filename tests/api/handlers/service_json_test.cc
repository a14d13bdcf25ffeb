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
  EXPECT_EQ(SasToJson({}), Json::parse(R"({"ike_sas": [], "child_sas": []})"));
  service::SaList l;
  l.ike_sas.push_back({"1", "10.0.0.1", "10.0.0.2", "established"});
  l.child_sas.push_back({"c1", "1", "db"});
  EXPECT_EQ(SasToJson(l), Json::parse(R"({
    "ike_sas": [{"id": "1", "local": "10.0.0.1", "peer": "10.0.0.2", "state": "established"}],
    "child_sas": [{"id": "c1", "ike_sa_id": "1", "rule": "db"}]})"));
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
  EXPECT_EQ(StatisticsToJson({}, c), Json::parse(R"({
    "ike": {"ike_sas_active": 0, "child_sas_active": 0, "negotiations_total": 0,
            "negotiation_failures_total": 0, "dos_drops_total": 0},
    "policy": {"generation": 7, "rules_in_force": 2, "filters_generic": 3,
               "filters_specific": 14, "conflicts_resolved": 1,
               "applies": {"success": 5, "invalid": 2, "conflict": 1, "persist_failed": 0}}})"));
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
