#include "api/handlers/health.h"

#include <gtest/gtest.h>

#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::verb;
using Json = nlohmann::json;

TEST(HealthTest, Healthz) {
  ApiHarness api;
  auto res = api.Call(verb::get, "/healthz");
  EXPECT_EQ(res.route, "/healthz");
  EXPECT_EQ(Code(res.response), 200);
  EXPECT_EQ(BodyJson(res.response), Json::parse(R"({"status": "ok"})"));
}

TEST(HealthTest, ReadyzFollowsTheService) {
  ApiHarness api;
  auto not_ready = api.Call(verb::get, "/readyz");
  EXPECT_EQ(not_ready.route, "/readyz");
  EXPECT_EQ(Code(not_ready.response), 503);
  Json j = BodyJson(not_ready.response);
  EXPECT_EQ(j["ready"], false);
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
  api.service().SetReady(true);
  HttpResponse ready = api.Get("/readyz");
  EXPECT_EQ(Code(ready), 200);
  EXPECT_EQ(BodyJson(ready), Json::parse(R"({"ready": true})"));
}

}  // namespace
}  // namespace ipsec::testing
