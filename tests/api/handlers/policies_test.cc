#include "api/handlers/policies.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::field;
using beast_http::verb;
using Json = nlohmann::json;

class PoliciesTest : public ::testing::Test {
 protected:
  ApiHarness api_;
};

TEST_F(PoliciesTest, CreateGetListDelete) {
  auto created = api_.Call(verb::post, "/v1/policies", WebPolicy());
  EXPECT_EQ(created.route, "/v1/policies");
  const HttpResponse& res = created.response;
  ASSERT_EQ(Code(res), 201) << res.body();
  EXPECT_EQ(res[field::location], "/v1/policies/web");
  EXPECT_EQ(res[field::etag], "\"1\"");
  EXPECT_EQ(res[field::content_type], "application/json");
  Json body = BodyJson(res);
  EXPECT_EQ(body["name"], "web");
  EXPECT_EQ(body["rules"][0]["auth_methods"][0]["preshared_key"], "<redacted>");
  EXPECT_EQ(body["default_response_rule"]["auth_methods"][0]["preshared_key"], "<redacted>");
  // The service stored the key itself.
  auto stored = api_.service().GetPolicy("web");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->policy.rules[0].auth_methods[0].preshared_key.view(), ApiHarness::kSecret);

  auto get = api_.Call(verb::get, "/v1/policies/web");
  EXPECT_EQ(get.route, "/v1/policies/{name}");
  EXPECT_EQ(Code(get.response), 200);
  EXPECT_EQ(get.response[field::etag], "\"1\"");
  EXPECT_EQ(BodyJson(get.response), body);

  HttpResponse list = api_.Get("/v1/policies");
  ASSERT_EQ(Code(list), 200);
  Json l = BodyJson(list);
  ASSERT_EQ(l["policies"].size(), 1u);
  EXPECT_EQ(l["policies"][0]["revision"], 1);
  EXPECT_EQ(l["policies"][0]["assigned"], false);
  EXPECT_EQ(l["policies"][0]["policy"], body);

  HttpResponse del = api_.Delete("/v1/policies/web");
  EXPECT_EQ(Code(del), 204);
  EXPECT_TRUE(del.body().empty());
  EXPECT_EQ(Code(api_.Get("/v1/policies/web")), 404);
  EXPECT_EQ(BodyJson(api_.Get("/v1/policies")), Json::parse(R"({"policies": []})"));
}

TEST_F(PoliciesTest, ChangeContextNamesTheRouteTemplate) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
  bool found = false;
  for (const auto& e : api_.events().events()) {
    if (e.type != "audit.policy_change") continue;
    for (const auto& [k, v] : e.fields) {
      if (k == "route") found = found || v == "POST /v1/policies";
      if (k == "actor") {
        EXPECT_EQ(v, "api");
      }
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(PoliciesTest, CreateTwiceIsConflict) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
  HttpResponse again = api_.Post("/v1/policies", WebPolicy());
  EXPECT_EQ(Code(again), 409);
  EXPECT_EQ(BodyJson(again)["error"]["code"], "already_exists");
}

TEST_F(PoliciesTest, PutCreatesThenReplaces) {
  HttpResponse created = api_.Put("/v1/policies/web", WebPolicy());
  ASSERT_EQ(Code(created), 201) << created.body();
  EXPECT_EQ(created[field::location], "/v1/policies/web");
  EXPECT_EQ(created[field::etag], "\"1\"");
  HttpResponse replaced = api_.Put("/v1/policies/web", R"({"name": "web", "description": "x"})");
  ASSERT_EQ(Code(replaced), 200) << replaced.body();
  EXPECT_EQ(replaced[field::etag], "\"2\"");
  EXPECT_EQ(BodyJson(replaced)["description"], "x");
  EXPECT_TRUE(BodyJson(replaced)["rules"].empty());
}

TEST_F(PoliciesTest, PutTakesTheNameFromThePath) {
  HttpResponse res = api_.Put("/v1/policies/plain", R"({"description": "no name"})");
  ASSERT_EQ(Code(res), 201) << res.body();
  EXPECT_EQ(BodyJson(res)["name"], "plain");
}

TEST_F(PoliciesTest, PutCannotRename) {
  HttpResponse res = api_.Put("/v1/policies/a", WebPolicy("b"));
  EXPECT_EQ(Code(res), 400);
  EXPECT_EQ(BodyJson(res)["error"]["path"], "/name");
  EXPECT_TRUE(api_.service().ListPolicies().empty());
}

TEST_F(PoliciesTest, PercentEncodedNames) {
  HttpResponse res = api_.Put("/v1/policies/web%20tier", R"({})");
  ASSERT_EQ(Code(res), 201) << res.body();
  EXPECT_EQ(BodyJson(res)["name"], "web tier");
  EXPECT_EQ(res[field::location], "/v1/policies/web%20tier");
  EXPECT_EQ(Code(api_.Get("/v1/policies/web%20tier")), 200);
  HttpResponse post = api_.Post("/v1/policies", R"({"name": "a/b"})");
  ASSERT_EQ(Code(post), 201);
  EXPECT_EQ(post[field::location], "/v1/policies/a%2Fb");
  EXPECT_EQ(BodyJson(api_.Get("/v1/policies/a%2Fb"))["name"], "a/b");
}

TEST_F(PoliciesTest, YamlBody) {
  auto res = api_.Call(verb::post, "/v1/policies", kWebPolicyYaml, "application/yaml");
  ASSERT_EQ(Code(res.response), 201) << res.response.body();
  Json body = BodyJson(res.response);
  EXPECT_EQ(body["name"], "web-yaml");
  EXPECT_EQ(body["filter_lists"][0]["filters"][0]["destination_ports"], 5432);
  auto put = api_.Call(verb::put, "/v1/policies/web-yaml", "description: changed\n",
                       "application/x-yaml; charset=utf-8");
  EXPECT_EQ(Code(put.response), 200) << put.response.body();
  auto bad = api_.Call(verb::post, "/v1/policies", "name: [unclosed\n", "text/yaml");
  EXPECT_EQ(Code(bad.response), 400);
  EXPECT_NE(BodyJson(bad.response)["error"]["message"].get<std::string>().find("line"),
            std::string::npos);
}

TEST_F(PoliciesTest, UnsupportedContentTypesAndTooLargeBodies) {
  auto form = api_.Call(verb::post, "/v1/policies", WebPolicy(),
                        "application/x-www-form-urlencoded");
  EXPECT_EQ(Code(form.response), 415);
  EXPECT_EQ(BodyJson(form.response)["error"]["code"], "unsupported_media_type");
  auto none = api_.Call(verb::post, "/v1/policies", WebPolicy(), "");
  EXPECT_EQ(Code(none.response), 415);
  std::string huge = R"({"name": "big", "description": ")" + std::string(16 * 1024 * 1024, 'x') +
                     "\"}";
  auto big = api_.Call(verb::post, "/v1/policies", huge);
  EXPECT_EQ(Code(big.response), 413);
  EXPECT_EQ(BodyJson(big.response)["error"]["code"], "payload_too_large");
  auto empty = api_.Call(verb::post, "/v1/policies", "  ", "application/json");
  EXPECT_EQ(Code(empty.response), 400);
  EXPECT_TRUE(api_.service().ListPolicies().empty());
  EXPECT_EQ(api_.persistence().saves(), 0);
}

struct BadBody {
  const char* body;
  const char* path;
  const char* message_part;
};

TEST_F(PoliciesTest, BadBodiesAre400WithPathAndChangeNothing) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy("keep"))), 201);
  const int saves = api_.persistence().saves();
  const BadBody cases[] = {
      {R"({"name": "p", "filter_lsts": []})", "", "did you mean 'filter_lists'?"},
      {R"({"name": 5})", "/name", "expected a string"},
      {R"({"description": "x"})", "/name", "missing required field 'name'"},
      {R"({"name": "p", "rules": [{"name": "r", "filter_list": "nope", "filter_action": "x"}]})",
       "/rules/0/filter_list", "does not exist"},
      {R"({"name": "p", "filter_lists": [{"name": "l", "filters": [{"source": "10.0.0.1/24"}]}]})",
       "/filter_lists/0/filters/0/source", "host bits"},
      {R"({"name": "p", "filter_actions": [{"name": "a", "security_methods":
          [{"esp_encryption": "des56"}]}]})",
       "/filter_actions/0/security_methods/0/esp_encryption", "expected one of"},
      {R"({"name": "p", "rules": [{"name": "r", "filter_list": "l", "filter_action": "a",
          "auth_methods": [{"type": "psk", "preshared_key": "<redacted>"}]}]})",
       "/rules/0/auth_methods/0/preshared_key", "write-only"},
      {R"({"name": "p", "key_exchange": {"proposals": [{"encryption": "3des",
          "integrity": "sha256"}]}})",
       "/key_exchange/proposals/0/encryption", "legacy"},
      {"{\"name\": \"p\",\n \"x\": }", "", "line 2"},
      {R"({"name": "p", "name": "q"})", "/name", "duplicate field"},
      {"[1, 2]", "", "expected a policy"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    for (verb method : {verb::post, verb::put}) {
      // PUT takes a missing name from the path (PutTakesTheNameFromThePath).
      if (method == verb::put && std::string(c.body).find("\"name\"") == std::string::npos &&
          std::string(c.body).find('{') == 0) {
        continue;
      }
      auto res = api_.Call(method, method == verb::post ? "/v1/policies" : "/v1/policies/p",
                           c.body);
      ASSERT_EQ(Code(res.response), 400) << res.response.body();
      Json e = BodyJson(res.response)["error"];
      EXPECT_EQ(e["code"], "invalid_argument");
      EXPECT_EQ(e["path"], c.path);
      EXPECT_NE(e["message"].get<std::string>().find(c.message_part), std::string::npos)
          << e["message"];
    }
  }
  ASSERT_EQ(api_.service().ListPolicies().size(), 1u);
  EXPECT_EQ(api_.persistence().saves(), saves);
  // A bad replacement of an existing policy leaves it as it was.
  HttpResponse bad = api_.Put("/v1/policies/keep", R"({"name": "keep", "rules": [
      {"name": "r", "filter_list": "none", "filter_action": "none"}]})");
  EXPECT_EQ(Code(bad), 400);
  EXPECT_EQ(api_.service().GetPolicy("keep")->revision, 1u);
  EXPECT_EQ(api_.service().GetPolicy("keep")->policy.rules.at(0).name, "db");
}

TEST_F(PoliciesTest, IfMatch) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
  const std::string body = R"({"name": "web", "description": "v2"})";
  auto stale = api_.Call(verb::put, "/v1/policies/web", body, "application/json",
                         {{field::if_match, "\"7\""}});
  EXPECT_EQ(Code(stale.response), 412);
  EXPECT_EQ(BodyJson(stale.response)["error"]["code"], "aborted");
  EXPECT_EQ(api_.service().GetPolicy("web")->revision, 1u);
  auto weak = api_.Call(verb::put, "/v1/policies/web", body, "application/json",
                        {{field::if_match, "W/\"1\""}});
  EXPECT_EQ(Code(weak.response), 412);
  auto garbage = api_.Call(verb::put, "/v1/policies/web", body, "application/json",
                           {{field::if_match, "banana"}});
  EXPECT_EQ(Code(garbage.response), 412);
  auto ok = api_.Call(verb::put, "/v1/policies/web", body, "application/json",
                      {{field::if_match, "\"5\", \"1\""}});
  ASSERT_EQ(Code(ok.response), 200) << ok.response.body();
  EXPECT_EQ(ok.response[field::etag], "\"2\"");
  auto any = api_.Call(verb::put, "/v1/policies/web", body, "application/json",
                       {{field::if_match, "*"}});
  EXPECT_EQ(Code(any.response), 200);
  auto any_missing = api_.Call(verb::put, "/v1/policies/nope", R"({"name": "nope"})",
                               "application/json", {{field::if_match, "*"}});
  EXPECT_EQ(Code(any_missing.response), 412);
  EXPECT_FALSE(api_.service().GetPolicy("nope").ok());
  auto del_stale = api_.Call(verb::delete_, "/v1/policies/web", "", "",
                             {{field::if_match, "\"1\""}});
  EXPECT_EQ(Code(del_stale.response), 412);
  auto del = api_.Call(verb::delete_, "/v1/policies/web", "", "", {{field::if_match, "\"3\""}});
  EXPECT_EQ(Code(del.response), 204);
}

TEST_F(PoliciesTest, DeleteWhileAssignedIsConflict) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
  ASSERT_EQ(Code(api_.Put("/v1/assignment", R"({"policy": "web"})")), 200);
  HttpResponse del = api_.Delete("/v1/policies/web");
  EXPECT_EQ(Code(del), 409);
  EXPECT_EQ(BodyJson(del)["error"]["code"], "failed_precondition");
  EXPECT_EQ(BodyJson(api_.Get("/v1/policies"))["policies"][0]["assigned"], true);
  EXPECT_EQ(Code(api_.Delete("/v1/policies/missing")), 404);
}

TEST_F(PoliciesTest, DeleteAllRemovesLocalPolicyAndAssignment) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy("a"))), 201);
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy("b"))), 201);
  ASSERT_EQ(Code(api_.Put("/v1/assignment", R"({"policy": "a"})")), 200);
  auto res = api_.Call(verb::delete_, "/v1/policies");
  EXPECT_EQ(res.route, "/v1/policies");
  ASSERT_EQ(Code(res.response), 200);
  EXPECT_EQ(BodyJson(res.response), Json::parse(R"({"deleted": 2})"));
  EXPECT_TRUE(api_.service().ListPolicies().empty());
  EXPECT_FALSE(api_.service().GetAssignment().in_force_policy.has_value());
  EXPECT_EQ(BodyJson(api_.Delete("/v1/policies")), Json::parse(R"({"deleted": 0})"));
}

TEST_F(PoliciesTest, PersistenceFailureIs503AndNothingApplied) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy("a"))), 201);
  api_.persistence().set_fail(true);
  auto check = [&](const HttpResponse& res) {
    EXPECT_EQ(Code(res), 503) << res.body();
    EXPECT_EQ(BodyJson(res)["error"]["code"], "unavailable");
  };
  check(api_.Post("/v1/policies", WebPolicy("b")));
  check(api_.Put("/v1/policies/a", R"({"name": "a", "description": "changed"})"));
  check(api_.Delete("/v1/policies/a"));
  check(api_.Delete("/v1/policies"));
  check(api_.Put("/v1/assignment", R"({"policy": "a"})"));
  api_.persistence().set_fail(false);
  auto list = api_.service().ListPolicies();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].revision, 1u);
  EXPECT_EQ(list[0].policy.description, "web talks to db over ESP");
  EXPECT_FALSE(api_.service().GetAssignment().in_force_policy.has_value());
}

// Concurrent writers: each reads the ETag and writes with If-Match; a write either wins (200)
// or finds the revision stale (412), and the final revision counts exactly the winners.
TEST_F(PoliciesTest, ConcurrentWritersWithIfMatch) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
  std::atomic<int> won{0};
  std::atomic<int> stale{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        HttpResponse got = api_.Get("/v1/policies/web");
        std::string etag(got[field::etag]);
        std::string body = R"({"name": "web", "description": "writer )";
        body += std::to_string(w);
        body += R"("})";
        auto res = api_.Call(verb::put, "/v1/policies/web", body, "application/json",
                             {{field::if_match, etag}});
        int code = Code(res.response);
        if (code == 200) {
          ++won;
        } else if (code == 412) {
          ++stale;
        } else {
          ADD_FAILURE() << code << " " << res.response.body();
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(won + stale, 100);
  EXPECT_GT(won.load(), 0);
  EXPECT_EQ(api_.service().GetPolicy("web")->revision, 1u + static_cast<uint64_t>(won.load()));
}

}  // namespace
}  // namespace ipsec::testing
