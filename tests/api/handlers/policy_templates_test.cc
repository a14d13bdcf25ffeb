#include "api/handlers/policy_templates.h"

#include <gtest/gtest.h>

#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::verb;
using Json = nlohmann::json;

TEST(TemplatesTest, Lists) {
  ApiHarness api;
  auto res = api.Call(verb::get, "/v1/templates");
  EXPECT_EQ(res.route, "/v1/templates");
  EXPECT_EQ(BodyJson(res.response),
            Json::parse(R"({"templates": ["respond-only", "request-security",
                                          "require-security"]})"));
}

TEST(TemplatesTest, GetsAPolicyToStartFrom) {
  ApiHarness api;
  for (const char* name : {"respond-only", "request-security", "require-security"}) {
    auto res = api.Call(verb::get, std::string("/v1/templates/") + name + "?name=mine");
    EXPECT_EQ(res.route, "/v1/templates/{template}");
    ASSERT_EQ(Code(res.response), 200) << name;
    Json j = BodyJson(res.response);
    EXPECT_EQ(j["name"], "mine");
    for (const auto& rule : j["rules"]) EXPECT_EQ(rule["auth_methods"], Json::array());
  }
  Json unnamed = BodyJson(api.Get("/v1/templates/require-security"));
  EXPECT_EQ(unnamed["name"], "require-security");
  // What a template returns can be sent back as a policy once it has auth methods (or as is).
  HttpResponse post = api.Post("/v1/policies", BodyJson(api.Get("/v1/templates/respond-only"))
                                                   .dump());
  EXPECT_EQ(Code(post), 201) << post.body();
}

TEST(TemplatesTest, UnknownTemplateAndQuery) {
  ApiHarness api;
  HttpResponse res = api.Get("/v1/templates/lockdown");
  EXPECT_EQ(Code(res), 404);
  EXPECT_NE(BodyJson(res)["error"]["message"].get<std::string>().find(
                "respond-only, request-security, require-security"),
            std::string::npos);
  EXPECT_EQ(Code(api.Get("/v1/templates/respond-only?nam=x")), 400);
}

}  // namespace
}  // namespace ipsec::testing
