#include "api/handlers/filters.h"

#include <gtest/gtest.h>

#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::verb;
using Json = nlohmann::json;

class FiltersTest : public ::testing::Test {
 protected:
  void Assign() {
    ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
    ASSERT_EQ(Code(api_.Put("/v1/assignment", R"({"policy": "web"})")), 200);
  }
  ApiHarness api_;
};

TEST_F(FiltersTest, NoPolicyInForce) {
  auto res = api_.Call(verb::get, "/v1/filters");
  EXPECT_EQ(res.route, "/v1/filters");
  ASSERT_EQ(Code(res.response), 200);
  Json j = BodyJson(res.response);
  EXPECT_TRUE(j["policy"].is_null());
  EXPECT_TRUE(j["scope"].is_null());
  EXPECT_EQ(j["default_action"], "permit");
  EXPECT_EQ(j["filters"], Json::array());
  Json s = BodyJson(api_.Get("/v1/filters?specific=true"));
  EXPECT_EQ(s["entries"], Json::array());
  EXPECT_EQ(s["conflicts_resolved"], 0);
}

TEST_F(FiltersTest, GenericFiltersOfThePolicyInForce) {
  Assign();
  Json j = BodyJson(api_.Get("/v1/filters"));
  EXPECT_EQ(j["policy"], "web");
  EXPECT_EQ(j["scope"], "pod");
  EXPECT_EQ(j["generation"], api_.service().GetEffective()->generation);
  bool found = false;
  for (const auto& f : j["filters"]) {
    if (f["rule"] != "db") continue;
    found = true;
    EXPECT_EQ(f["filter_list"], "to-db");
    EXPECT_EQ(f["filter_index"], 0);
    EXPECT_EQ(f["source"], "me");
    EXPECT_EQ(f["destination"], "10.99.2.0/24");
    EXPECT_EQ(f["protocol"], "tcp");
    EXPECT_EQ(f["destination_ports"], "5432");
    EXPECT_EQ(f["action"], "negotiate");
    EXPECT_EQ(f["filter_action"], "require");
    EXPECT_GT(f["weight"].get<uint64_t>(), 0u);
  }
  EXPECT_TRUE(found) << j.dump(2);
  EXPECT_FALSE(j.contains("entries"));
}

TEST_F(FiltersTest, SpecificTableExpandsMirroredFilters) {
  Assign();
  for (const char* query : {"?specific=true", "?specific=1", "?specific"}) {
    Json j = BodyJson(api_.Get(std::string("/v1/filters") + query));
    ASSERT_TRUE(j.contains("entries")) << query;
    int outbound = 0, inbound = 0;
    for (const auto& e : j["entries"]) {
      if (e["origin"]["kind"] != "rule" || e["origin"]["rule"] != "db") continue;
      if (e["direction"] == "outbound") {
        ++outbound;
        EXPECT_EQ(e["source"], "10.99.1.2");
        EXPECT_EQ(e["destination"], "10.99.2.0/24");
        EXPECT_EQ(e["destination_ports"], "5432");
      } else {
        ++inbound;
        EXPECT_EQ(e["origin"]["mirror"], true);
      }
      EXPECT_EQ(e["action"], "negotiate");
    }
    EXPECT_EQ(outbound, 1) << j.dump(2);
    EXPECT_EQ(inbound, 1) << j.dump(2);
    bool exemption = false;
    for (const auto& e : j["entries"]) exemption = exemption || e["origin"]["kind"] == "exemption";
    EXPECT_TRUE(exemption);
  }
  EXPECT_TRUE(BodyJson(api_.Get("/v1/filters?specific=false")).contains("filters"));
  HttpResponse bad = api_.Get("/v1/filters?specific=maybe");
  EXPECT_EQ(Code(bad), 400);
  EXPECT_NE(BodyJson(bad)["error"]["message"].get<std::string>().find("true or false"),
            std::string::npos);
}

TEST_F(FiltersTest, MatchDecidesWithRuleWeightAndReason) {
  Assign();
  auto res = api_.Call(verb::post, "/v1/match", R"({"direction": "outbound",
      "interface": "eth0", "source": "10.99.1.2", "destination": "10.99.2.3",
      "protocol": "tcp", "source_port": 40000, "destination_port": 5432})");
  EXPECT_EQ(res.route, "/v1/match");
  ASSERT_EQ(Code(res.response), 200) << res.response.body();
  Json j = BodyJson(res.response);
  EXPECT_EQ(j["action"], "negotiate");
  EXPECT_EQ(j["policy"], "web");
  EXPECT_EQ(j["rule"], "db");
  EXPECT_EQ(j["weight"], j["entry"]["weight"]);
  EXPECT_EQ(j["entry"]["origin"]["rule"], "db");
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
  EXPECT_EQ(j["generation"], api_.service().GetEffective()->generation);
}

TEST_F(FiltersTest, UnmatchedTrafficIsPermitted) {
  Assign();
  Json j = BodyJson(api_.Post("/v1/match", R"({"direction": "outbound",
      "source": "10.99.1.2", "destination": "192.0.2.7", "protocol": "udp",
      "destination_port": 9999})"));
  EXPECT_EQ(j["action"], "permit");
  EXPECT_TRUE(j["rule"].is_null());
  EXPECT_TRUE(j["entry"].is_null());
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
  ApiHarness empty;
  Json none = BodyJson(empty.Post("/v1/match", R"({"direction": "inbound",
      "source": "fd00::1", "destination": "fd00::2"})"));
  EXPECT_EQ(none["action"], "permit");
  EXPECT_TRUE(none["policy"].is_null());
}

TEST_F(FiltersTest, ExemptionsDecideDns) {
  Assign();
  Json j = BodyJson(api_.Post("/v1/match", R"({"direction": "outbound",
      "source": "10.99.1.2", "destination": "10.99.2.53", "protocol": "udp",
      "destination_port": 53})"));
  EXPECT_EQ(j["action"], "permit");
  EXPECT_TRUE(j["rule"].is_null());
  EXPECT_EQ(j["entry"]["origin"]["kind"], "exemption");
}

TEST_F(FiltersTest, BadMatchRequests) {
  const std::pair<const char*, const char*> bad[] = {
      {R"({"source": "10.0.0.1", "destination": "10.0.0.2"})", "/direction"},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "fd00::2"})",
       "/destination"},
      {R"({"direction": "outbound", "source": "10.0.0.1", "destination": "10.0.0.2",
           "protocol": "icmp", "destination_port": 1})", "/destination_port"},
      {R"({"direction": "sideways", "source": "10.0.0.1", "destination": "10.0.0.2"})",
       "/direction"},
  };
  for (const auto& [body, path] : bad) {
    HttpResponse res = api_.Post("/v1/match", body);
    EXPECT_EQ(Code(res), 400) << body;
    EXPECT_EQ(BodyJson(res)["error"]["path"], path) << body;
  }
  EXPECT_EQ(Code(api_.Call(verb::post, "/v1/match", "direction: outbound",
                           "application/yaml").response),
            415);
}

}  // namespace
}  // namespace ipsec::testing
