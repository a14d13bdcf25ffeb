#include "api/handlers/sas.h"

#include <gtest/gtest.h>

#include <memory>

#include "engine/service/ike_runtime.h"
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

// gw: a tunnel to 127.0.0.2 for 10.99.3.0/24; transport: negotiates with 127.0.0.0/24, no
// tunnel endpoint (a transport SA covers the two IKE endpoints, inside the filters); open:
// permits; sleeping: negotiates but is inactive.
constexpr const char* kGatewayPolicy = R"({"name": "gw",
  "filter_lists": [
    {"name": "remote", "filters": [{"source": "me", "destination": "10.99.3.0/24"}]},
    {"name": "db", "filters": [{"source": "127.0.0.1", "destination": "127.0.0.0/24"}]},
    {"name": "web", "filters": [{"source": "me", "destination": "10.99.5.0/24"}]},
    {"name": "mail", "filters": [{"source": "me", "destination": "10.99.6.0/24"}]}],
  "filter_actions": [
    {"name": "require", "type": "negotiate"},
    {"name": "allow", "type": "permit"}],
  "rules": [
    {"name": "gw", "filter_list": "remote", "filter_action": "require",
     "tunnel_endpoint": "127.0.0.2",
     "auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"}]},
    {"name": "transport", "filter_list": "db", "filter_action": "require",
     "auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"}]},
    {"name": "open", "filter_list": "web", "filter_action": "allow"},
    {"name": "sleeping", "filter_list": "mail", "filter_action": "require", "active": false,
     "auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"}]}]
})";

std::string ErrorPath(const HttpResponse& res) {
  return BodyJson(res)["error"]["path"].get<std::string>();
}

TEST(SasTest, InitiateRejectsBadBodies) {
  ApiHarness api;
  EXPECT_EQ(Code(api.Post("/v1/sas", R"({"peer": "127.0.0.2"})")), 400);
  EXPECT_EQ(Code(api.Post("/v1/sas", R"({"rule": ""})")), 400);
  EXPECT_EQ(Code(api.Post("/v1/sas", R"({"rule": 7})")), 400);
  auto bad_peer = api.Post("/v1/sas", R"({"rule": "gw", "peer": "not-an-ip"})");
  EXPECT_EQ(Code(bad_peer), 400);
  EXPECT_EQ(ErrorPath(bad_peer), "/peer");
  auto typo = api.Post("/v1/sas", R"({"rule": "gw", "pear": "127.0.0.2"})");
  EXPECT_EQ(Code(typo), 400);
  // The client's key is not repeated; the nearest field of ours is.
  EXPECT_EQ(typo.body().find("pear"), std::string::npos) << typo.body();
  EXPECT_NE(typo.body().find("did you mean 'peer'"), std::string::npos) << typo.body();
  EXPECT_EQ(Code(api.Post("/v1/sas", "{")), 400);
  EXPECT_EQ(Code(api.Post("/v1/sas", "[]")), 400);
  EXPECT_EQ(Code(api.Call(verb::post, "/v1/sas", R"({"rule": "gw"})", "text/plain").response), 415);
  // A good body without a running IKE engine.
  auto no_ike = api.Post("/v1/sas", R"({"rule": "gw"})");
  EXPECT_EQ(Code(no_ike), 503);
  EXPECT_NE(no_ike.body().find("not running"), std::string::npos);
}

class SasInitiateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine::service::IkeRuntime::Options o;
    o.listen_addresses = {*IpAddress::Parse("127.0.0.1")};
    o.ike_port = 0;
    o.nat_t_port = 0;
    o.peer_ike_port = 9;  // discard: nobody answers, the SA stays connecting
    auto rt = engine::service::IkeRuntime::Start(std::move(o));
    ASSERT_TRUE(rt.ok()) << rt.error().ToString();
    runtime_ = std::move(rt).value();
    api_.service().AttachIke(runtime_.get());
    ASSERT_EQ(Code(api_.Post("/v1/policies", kGatewayPolicy)), 201);
    ASSERT_EQ(Code(api_.Put("/v1/assignment", R"({"policy": "gw"})")), 200);
  }
  void TearDown() override {
    api_.service().AttachIke(nullptr);
    runtime_.reset();
  }

  std::unique_ptr<engine::service::IkeRuntime> runtime_;
  ApiHarness api_;
};

TEST_F(SasInitiateTest, InitiatesToTheTunnelEndpointOrTheGivenPeer) {
  auto res = api_.Call(verb::post, "/v1/sas", R"({"rule": "gw"})");
  EXPECT_EQ(res.route, "/v1/sas");
  ASSERT_EQ(Code(res.response), 201) << res.response.body();
  const std::string id = BodyJson(res.response)["id"].get<std::string>();
  EXPECT_EQ(id.rfind("ike-", 0), 0u) << id;
  EXPECT_EQ(res.response[beast_http::field::location], "/v1/sas/" + id);

  Json sas = BodyJson(api_.Get("/v1/sas"));
  ASSERT_EQ(sas["ike_sas"].size(), 1u) << sas.dump();
  EXPECT_EQ(sas["ike_sas"][0]["id"], id);
  EXPECT_EQ(sas["ike_sas"][0]["role"], "initiator");
  EXPECT_EQ(sas["ike_sas"][0]["state"], "connecting");
  EXPECT_NE(sas["ike_sas"][0]["remote"].get<std::string>().find("127.0.0.2"), std::string::npos)
      << sas.dump();

  // A transport rule needs the peer named.
  auto no_peer = api_.Post("/v1/sas", R"({"rule": "transport"})");
  EXPECT_EQ(Code(no_peer), 400);
  EXPECT_EQ(ErrorPath(no_peer), "/peer");
  auto with_peer = api_.Post("/v1/sas", R"({"rule": "transport", "peer": "127.0.0.3"})");
  ASSERT_EQ(Code(with_peer), 201) << with_peer.body();
  EXPECT_NE(BodyJson(with_peer)["id"], id);
  EXPECT_EQ(BodyJson(api_.Get("/v1/sas"))["ike_sas"].size(), 2u);

  // Not established yet: nothing to rekey (409); unknown ids: 404.
  auto early = api_.Post("/v1/sas/" + id + "/rekey", "");
  EXPECT_EQ(Code(early), 409) << early.body();
  EXPECT_NE(early.body().find("connecting"), std::string::npos) << early.body();
  EXPECT_EQ(Code(api_.Post("/v1/sas/ike-999/rekey", "")), 404);
  EXPECT_EQ(Code(api_.Post("/v1/sas/child-999/rekey", "")), 404);
  EXPECT_EQ(Code(api_.Post("/v1/sas/bogus/rekey", "")), 404);
  EXPECT_EQ(api_.events().Count("audit.sa_rekey"), 0);

  // And it can be torn down again.
  EXPECT_EQ(Code(api_.Delete("/v1/sas/" + id)), 204);
  EXPECT_EQ(Code(api_.Delete("/v1/sas/" + id)), 404);
  EXPECT_EQ(api_.events().Count("audit.sa_initiate"), 2);
}

TEST_F(SasInitiateTest, UnknownRuleIs404AndARuleThatDoesNotNegotiateIs409) {
  auto unknown = api_.Post("/v1/sas", R"({"rule": "nope"})");
  EXPECT_EQ(Code(unknown), 404);
  EXPECT_NE(unknown.body().find("'nope'"), std::string::npos);
  auto permit = api_.Post("/v1/sas", R"({"rule": "open", "peer": "127.0.0.2"})");
  EXPECT_EQ(Code(permit), 409);
  EXPECT_NE(permit.body().find("does not negotiate"), std::string::npos);
  EXPECT_EQ(Code(api_.Post("/v1/sas", R"({"rule": "sleeping", "peer": "127.0.0.2"})")), 409);
  EXPECT_TRUE(BodyJson(api_.Get("/v1/sas"))["ike_sas"].empty());
  // Nothing assigned: no rule is in force.
  ASSERT_EQ(Code(api_.Delete("/v1/assignment")), 200);
  EXPECT_EQ(Code(api_.Post("/v1/sas", R"({"rule": "gw"})")), 404);
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
