#include "api/handlers/config.h"

#include <gtest/gtest.h>

#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::verb;
using Json = nlohmann::json;

TEST(ConfigTest, IkeLoggingToggles) {
  ApiHarness api;
  std::vector<bool> calls;
  api.service().OnIkeLoggingChanged([&](bool on) { calls.push_back(on); });
  auto get = api.Call(verb::get, "/v1/config/ike-logging");
  EXPECT_EQ(get.route, "/v1/config/ike-logging");
  EXPECT_EQ(BodyJson(get.response), Json::parse(R"({"enabled": false})"));
  HttpResponse on = api.Put("/v1/config/ike-logging", R"({"enabled": true})");
  ASSERT_EQ(Code(on), 200);
  EXPECT_EQ(BodyJson(on), Json::parse(R"({"enabled": true})"));
  EXPECT_TRUE(api.service().IkeLoggingEnabled());
  EXPECT_EQ(BodyJson(api.Get("/v1/config/ike-logging")), Json::parse(R"({"enabled": true})"));
  EXPECT_EQ(Code(api.Put("/v1/config/ike-logging", R"({"enabled": false})")), 200);
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(api.events().Count("audit.config_change"), 2);
}

TEST(ConfigTest, BadBodies) {
  ApiHarness api;
  const std::pair<const char*, const char*> bad[] = {
      {R"({})", "/enabled"},
      {R"({"enabled": "on"})", "/enabled"},
      {R"({"enabled": true, "level": 3})", ""},  // keys not of the API: path stops above them
      {R"({"enable": true})", ""},
  };
  for (const auto& [body, path] : bad) {
    HttpResponse res = api.Put("/v1/config/ike-logging", body);
    EXPECT_EQ(Code(res), 400) << body;
    EXPECT_EQ(BodyJson(res)["error"]["path"], path) << body;
  }
  EXPECT_FALSE(api.service().IkeLoggingEnabled());
}

}  // namespace
}  // namespace ipsec::testing
