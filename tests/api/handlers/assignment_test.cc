#include "api/handlers/assignment.h"

#include <gtest/gtest.h>

#include "api/dto/policy_json.h"
#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::verb;
using engine::policy::Scope;
using Json = nlohmann::json;

engine::policy::Policy Decoded(const std::string& text) {
  return *api::dto::PolicyFromJson(Json::parse(text));
}

TEST(AssignmentTest, NothingAssignedMeansEverythingPermitted) {
  ApiHarness api;
  auto res = api.Call(verb::get, "/v1/assignment");
  EXPECT_EQ(res.route, "/v1/assignment");
  ASSERT_EQ(Code(res.response), 200);
  Json j = BodyJson(res.response);
  EXPECT_TRUE(j["in_force"].is_null());
  EXPECT_NE(j["reason"].get<std::string>().find("all traffic is permitted"), std::string::npos);
  ASSERT_EQ(j["scopes"].size(), 3u);
  EXPECT_EQ(j["scopes"][0]["scope"], "cluster");
  EXPECT_EQ(j["scopes"][1]["scope"], "namespace");
  EXPECT_EQ(j["scopes"][2]["scope"], "pod");
  EXPECT_EQ(j["scopes"][2]["source"], "api");
  EXPECT_TRUE(j["scopes"][2]["policy"].is_null());
}

TEST(AssignmentTest, AssignAndUnassignAtPodScope) {
  ApiHarness api;
  ASSERT_EQ(Code(api.Post("/v1/policies", WebPolicy())), 201);
  HttpResponse put = api.Put("/v1/assignment", R"({"policy": "web"})");
  ASSERT_EQ(Code(put), 200) << put.body();
  Json j = BodyJson(put);
  EXPECT_EQ(j["in_force"], Json::parse(R"({"scope": "pod", "policy": "web"})"));
  EXPECT_EQ(j["scopes"][2]["policy"], "web");
  EXPECT_FALSE(j["scopes"][2]["updated"].is_null());
  EXPECT_EQ(api.service().GetEffective()->policy->name, "web");
  HttpResponse del = api.Delete("/v1/assignment");
  ASSERT_EQ(Code(del), 200);
  EXPECT_TRUE(BodyJson(del)["in_force"].is_null());
  EXPECT_FALSE(api.service().GetEffective()->policy.has_value());
}

TEST(AssignmentTest, ClosestScopeWinsAndTheReasonSaysWhy) {
  ApiHarness api;
  ASSERT_TRUE(api.service()
                  .SetScopePolicy(Scope::kCluster, Decoded(WebPolicy("cluster-default")),
                                  "/etc/ipsec/cluster/policy.yaml", {"test", "test"})
                  .ok());
  ASSERT_TRUE(api.service()
                  .SetScopePolicy(Scope::kNamespace, Decoded(WebPolicy("ns-default")),
                                  "/etc/ipsec/namespace/policy.yaml", {"test", "test"})
                  .ok());
  Json ns = BodyJson(api.Get("/v1/assignment"));
  EXPECT_EQ(ns["in_force"], Json::parse(R"({"scope": "namespace", "policy": "ns-default"})"));
  EXPECT_NE(ns["reason"].get<std::string>().find("cluster scope's 'cluster-default'"),
            std::string::npos)
      << ns["reason"];
  EXPECT_EQ(ns["scopes"][0]["policy"], "cluster-default");
  EXPECT_EQ(ns["scopes"][0]["source"], "/etc/ipsec/cluster/policy.yaml");

  ASSERT_EQ(Code(api.Post("/v1/policies", WebPolicy("web-tier"))), 201);
  Json pod = BodyJson(api.Put("/v1/assignment", R"({"policy": "web-tier"})"));
  EXPECT_EQ(pod["in_force"], Json::parse(R"({"scope": "pod", "policy": "web-tier"})"));
  const std::string reason = pod["reason"];
  EXPECT_NE(reason.find("pod scope assigns 'web-tier'"), std::string::npos) << reason;
  EXPECT_NE(reason.find("never merged"), std::string::npos) << reason;
  EXPECT_NE(reason.find("namespace scope's 'ns-default'"), std::string::npos) << reason;

  api.service().ReportScopeError(Scope::kNamespace, "/etc/ipsec/namespace/policy.yaml",
                                 "line 3: bad indentation");
  Json err = BodyJson(api.Get("/v1/assignment"));
  EXPECT_EQ(err["scopes"][1]["error"], "line 3: bad indentation");
  EXPECT_EQ(err["scopes"][1]["policy"], "ns-default");

  ASSERT_EQ(Code(api.Delete("/v1/assignment")), 200);
  EXPECT_EQ(BodyJson(api.Get("/v1/assignment"))["in_force"]["scope"], "namespace");
}

TEST(AssignmentTest, Errors) {
  ApiHarness api;
  HttpResponse missing = api.Put("/v1/assignment", R"({"policy": "nope"})");
  EXPECT_EQ(Code(missing), 404);
  EXPECT_EQ(BodyJson(missing)["error"]["path"], "/policy");
  const std::pair<const char*, const char*> bad[] = {
      {R"({})", "/policy"},
      {R"({"policy": 1})", "/policy"},
      {R"({"policy": ""})", "/policy"},
      {R"({"polcy": "web"})", ""},  // not one of the API's field names: not repeated
      {R"("web")", ""},
  };
  for (const auto& [body, path] : bad) {
    HttpResponse res = api.Put("/v1/assignment", body);
    EXPECT_EQ(Code(res), 400) << body;
    EXPECT_EQ(BodyJson(res)["error"]["path"], path) << body;
  }
  EXPECT_EQ(Code(api.Call(verb::put, "/v1/assignment", "policy: web", "application/yaml").response),
            415);
  EXPECT_EQ(api.persistence().saves(), 0);
}

}  // namespace
}  // namespace ipsec::testing
