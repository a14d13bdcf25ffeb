#include "api/handlers/sas.h"

#include <gtest/gtest.h>

#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::verb;
using Json = nlohmann::json;

TEST(SasTest, EmptyWithoutIke) {
  ApiHarness api;
  auto res = api.Call(verb::get, "/v1/sas");
  EXPECT_EQ(res.route, "/v1/sas");
  ASSERT_EQ(Code(res.response), 200);
  EXPECT_EQ(BodyJson(res.response), Json::parse(R"({"ike_sas": []})"));
  auto del = api.Call(verb::delete_, "/v1/sas/abc");
  EXPECT_EQ(del.route, "/v1/sas/{id}");
  EXPECT_EQ(Code(del.response), 404);
  EXPECT_NE(BodyJson(del.response)["error"]["message"].get<std::string>().find("'abc'"),
            std::string::npos);
}

TEST(StatsTest, CountsAppliesAndTheTableInForce) {
  ApiHarness api;
  ASSERT_EQ(Code(api.Post("/v1/policies", WebPolicy())), 201);
  ASSERT_EQ(Code(api.Post("/v1/policies", R"({"name": "bad", "rules": [{"name": "r",
      "filter_list": "x", "filter_action": "y"}]})")),
            400);
  ASSERT_EQ(Code(api.Put("/v1/assignment", R"({"policy": "web"})")), 200);
  auto res = api.Call(verb::get, "/v1/stats");
  EXPECT_EQ(res.route, "/v1/stats");
  ASSERT_EQ(Code(res.response), 200);
  Json j = BodyJson(res.response);
  EXPECT_EQ(j["ike"]["running"], false);
  EXPECT_EQ(j["ike"]["ike_sas_active"], 0);
  EXPECT_EQ(j["ike"]["negotiations_total"], 0);
  const Json& p = j["policy"];
  EXPECT_EQ(p["generation"], api.service().GetEffective()->generation);
  EXPECT_EQ(p["rules_in_force"], 1);
  EXPECT_GE(p["filters_generic"].get<int>(), 1);
  EXPECT_GE(p["filters_specific"].get<int>(), 2);
  EXPECT_EQ(p["applies"]["success"], 2);
  EXPECT_EQ(p["applies"]["invalid"], 1);
  EXPECT_EQ(p["applies"]["persist_failed"], 0);
}

}  // namespace
}  // namespace ipsec::testing
