#include "api/handlers/parts.h"

#include <gtest/gtest.h>

#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::field;
using beast_http::verb;
using Json = nlohmann::json;

class PartsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201); }

  uint64_t Revision() { return api_.service().GetPolicy("web")->revision; }
  engine::policy::Policy Stored() { return api_.service().GetPolicy("web")->policy; }

  ApiHarness api_;
};

TEST_F(PartsTest, ListsEachKindWithTheETag) {
  HttpResponse rules = api_.Get("/v1/policies/web/rules");
  ASSERT_EQ(Code(rules), 200);
  EXPECT_EQ(rules[field::etag], "\"1\"");
  Json r = BodyJson(rules);
  ASSERT_EQ(r["rules"].size(), 1u);
  EXPECT_EQ(r["rules"][0]["auth_methods"][0]["preshared_key"], "<redacted>");
  EXPECT_EQ(BodyJson(api_.Get("/v1/policies/web/filter-lists"))["filter_lists"].size(), 2u);
  EXPECT_EQ(BodyJson(api_.Get("/v1/policies/web/filter-actions"))["filter_actions"].size(), 2u);
  EXPECT_EQ(Code(api_.Get("/v1/policies/none/rules")), 404);
}

TEST_F(PartsTest, RuleCrud) {
  const std::string rule = R"({"name": "open", "filter_list": "everything",
      "filter_action": "allow", "auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"}]})";
  auto post = api_.Call(verb::post, "/v1/policies/web/rules", rule);
  EXPECT_EQ(post.route, "/v1/policies/{name}/rules");
  ASSERT_EQ(Code(post.response), 201) << post.response.body();
  EXPECT_EQ(post.response[field::location], "/v1/policies/web/rules/open");
  EXPECT_EQ(post.response[field::etag], "\"2\"");
  EXPECT_EQ(BodyJson(post.response)["name"], "open");
  EXPECT_EQ(BodyJson(post.response)["auth_methods"][0]["preshared_key"], "<redacted>");
  ASSERT_EQ(Stored().rules.size(), 2u);

  auto get = api_.Call(verb::get, "/v1/policies/web/rules/open");
  EXPECT_EQ(get.route, "/v1/policies/{name}/rules/{rule}");
  EXPECT_EQ(Code(get.response), 200);
  EXPECT_EQ(get.response[field::etag], "\"2\"");
  EXPECT_EQ(BodyJson(get.response), BodyJson(post.response));

  HttpResponse dup = api_.Post("/v1/policies/web/rules", rule);
  EXPECT_EQ(Code(dup), 409);
  EXPECT_EQ(BodyJson(dup)["error"]["code"], "already_exists");
  EXPECT_EQ(BodyJson(dup)["error"]["path"], "/name");

  HttpResponse put = api_.Put("/v1/policies/web/rules/open",
                              R"({"filter_list": "everything", "filter_action": "allow",
                                  "active": false})");
  ASSERT_EQ(Code(put), 200) << put.body();
  EXPECT_EQ(BodyJson(put)["active"], false);
  EXPECT_EQ(put[field::etag], "\"3\"");
  EXPECT_FALSE(Stored().rules[1].active);

  HttpResponse put_new = api_.Put("/v1/policies/web/rules/new",
                                  R"({"name": "new", "filter_list": "everything",
                                      "filter_action": "allow"})");
  ASSERT_EQ(Code(put_new), 201) << put_new.body();
  EXPECT_EQ(put_new[field::location], "/v1/policies/web/rules/new");

  HttpResponse del = api_.Delete("/v1/policies/web/rules/open");
  EXPECT_EQ(Code(del), 204);
  EXPECT_EQ(del[field::etag], "\"5\"");
  EXPECT_EQ(Code(api_.Get("/v1/policies/web/rules/open")), 404);
  EXPECT_EQ(Code(api_.Delete("/v1/policies/web/rules/open")), 404);
  ASSERT_EQ(Stored().rules.size(), 2u);
  EXPECT_EQ(Stored().rules[0].name, "db");
  EXPECT_EQ(Stored().rules[1].name, "new");
}

TEST_F(PartsTest, FilterListCrudAndInUse) {
  HttpResponse post = api_.Post("/v1/policies/web/filter-lists",
                                R"({"name": "dns", "filters": [{"protocol": "udp",
                                    "destination_ports": 53}]})");
  ASSERT_EQ(Code(post), 201) << post.body();
  EXPECT_EQ(post[field::location], "/v1/policies/web/filter-lists/dns");
  EXPECT_EQ(BodyJson(post)["filters"][0]["destination_ports"], 53);
  HttpResponse get = api_.Get("/v1/policies/web/filter-lists/dns");
  EXPECT_EQ(Code(get), 200);
  HttpResponse put = api_.Put("/v1/policies/web/filter-lists/dns",
                              R"({"filters": [{"protocol": "tcp"}]})");
  EXPECT_EQ(Code(put), 200) << put.body();
  EXPECT_EQ(Stored().FindFilterList("dns")->filters[0].protocol, std::optional<uint8_t>(6));

  const uint64_t before = Revision();
  HttpResponse in_use = api_.Delete("/v1/policies/web/filter-lists/to-db");
  EXPECT_EQ(Code(in_use), 409);
  Json e = BodyJson(in_use)["error"];
  EXPECT_EQ(e["code"], "failed_precondition");
  EXPECT_EQ(e["message"], "filter list 'to-db' is used by rule 'db'; change or delete the rule first");
  EXPECT_EQ(Revision(), before);
  EXPECT_NE(Stored().FindFilterList("to-db"), nullptr);

  EXPECT_EQ(Code(api_.Delete("/v1/policies/web/filter-lists/dns")), 204);
  EXPECT_EQ(Stored().FindFilterList("dns"), nullptr);
}

TEST_F(PartsTest, FilterActionCrudAndInUse) {
  HttpResponse post = api_.Post("/v1/policies/web/filter-actions",
                                R"({"name": "block", "type": "block"})");
  ASSERT_EQ(Code(post), 201) << post.body();
  EXPECT_EQ(post[field::location], "/v1/policies/web/filter-actions/block");
  EXPECT_EQ(Code(api_.Get("/v1/policies/web/filter-actions/block")), 200);
  HttpResponse put = api_.Put("/v1/policies/web/filter-actions/block",
                              R"({"name": "block", "type": "permit"})");
  EXPECT_EQ(Code(put), 200);
  EXPECT_EQ(BodyJson(put)["type"], "permit");
  HttpResponse in_use = api_.Delete("/v1/policies/web/filter-actions/require");
  EXPECT_EQ(Code(in_use), 409);
  EXPECT_NE(BodyJson(in_use)["error"]["message"].get<std::string>().find("used by rule 'db'"),
            std::string::npos);
  EXPECT_EQ(Code(api_.Delete("/v1/policies/web/filter-actions/block")), 204);
}

TEST_F(PartsTest, BodyErrorsArePathsIntoThePart) {
  const uint64_t before = Revision();
  struct Case {
    const char* target;
    verb method;
    const char* body;
    int status;
    const char* path;
    const char* message_part;
  };
  const Case cases[] = {
      {"/v1/policies/web/rules", verb::post, R"({"name": "r", "filter_list": "missing",
        "filter_action": "allow"})", 400, "/filter_list", "does not exist"},
      {"/v1/policies/web/rules", verb::post, R"({"name": "r", "filter_lst": "x"})", 400,
       "", "did you mean 'filter_list'?"},
      {"/v1/policies/web/rules/db", verb::put, R"({"name": "other", "filter_list": "to-db",
        "filter_action": "allow"})", 400, "/name", "cannot be renamed"},
      {"/v1/policies/web/rules/db", verb::put, R"({"filter_list": "to-db",
        "filter_action": "require", "auth_methods": [{"type": "psk",
        "preshared_key": "<redacted>"}]})", 400, "/auth_methods/0/preshared_key", "write-only"},
      {"/v1/policies/web/filter-lists", verb::post, R"({"name": "x", "filters": [
        {"source": "10.0.0.9-10.0.0.1"}]})", 400, "/filters/0/source", "reversed"},
      {"/v1/policies/web/filter-lists/to-db", verb::put, R"({"filters": []})", 400,
       "/filters", "has no filters"},
      {"/v1/policies/web/filter-actions", verb::post, R"({"name": "x", "security_methods": [
        {"esp_encryption": "aes128", "esp_integrity": "none"}]})", 400,
       "/security_methods/0/esp_integrity", "integrity"},
      // Securing multicast: the fault is in the filter list, not in the rule that was sent.
      {"/v1/policies/web/filter-lists", verb::post, R"({"name": "mc", "filters": [
        {"destination": "224.0.0.0/4"}]})", 201, "", ""},
      {"/v1/policies/web/rules", verb::post, R"({"name": "mc", "filter_list": "mc",
        "filter_action": "require"})", 400, "", "policy 'web' at /filter_lists/2/filters/0/"},
      {"/v1/policies/web/default-response-rule", verb::put, R"({"security_methods": [
        {"protocol": "ah"}]})", 400, "/security_methods/0/ah_integrity", "ah_integrity"},
      {"/v1/policies/web/default-response-rule", verb::put, R"({"activ": true})", 400,
       "", "did you mean 'active'?"},
      {"/v1/policies/nope/rules", verb::post, R"({"name": "r", "filter_list": "a",
        "filter_action": "b"})", 404, "", "no pod-scope policy named 'nope'"},
  };
  uint64_t expected_revision = before;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " " + c.body);
    HttpResponse res = api_.Call(c.method, c.target, c.body).response;
    ASSERT_EQ(Code(res), c.status) << res.body();
    if (c.status == 201) {
      ++expected_revision;
      continue;
    }
    Json e = BodyJson(res)["error"];
    EXPECT_EQ(e["path"], c.path);
    EXPECT_NE(e["message"].get<std::string>().find(c.message_part), std::string::npos)
        << e["message"];
    EXPECT_EQ(Revision(), expected_revision);
  }
}

TEST_F(PartsTest, UnknownPartsAndPolicies) {
  EXPECT_EQ(Code(api_.Get("/v1/policies/web/rules/nope")), 404);
  EXPECT_EQ(Code(api_.Get("/v1/policies/web/filter-lists/nope")), 404);
  EXPECT_EQ(Code(api_.Get("/v1/policies/web/filter-actions/nope")), 404);
  EXPECT_EQ(Code(api_.Get("/v1/policies/nope/rules/db")), 404);
  EXPECT_EQ(Code(api_.Delete("/v1/policies/nope/rules/db")), 404);
  EXPECT_EQ(Code(api_.Get("/v1/policies/nope/default-response-rule")), 404);
}

TEST_F(PartsTest, DefaultResponseRule) {
  auto get = api_.Call(verb::get, "/v1/policies/web/default-response-rule");
  EXPECT_EQ(get.route, "/v1/policies/{name}/default-response-rule");
  ASSERT_EQ(Code(get.response), 200);
  EXPECT_EQ(get.response[field::etag], "\"1\"");
  Json d = BodyJson(get.response);
  EXPECT_EQ(d["active"], true);
  EXPECT_EQ(d["auth_methods"][0]["preshared_key"], "<redacted>");
  HttpResponse put = api_.Put("/v1/policies/web/default-response-rule", R"({"active": false})");
  ASSERT_EQ(Code(put), 200) << put.body();
  EXPECT_EQ(BodyJson(put)["active"], false);
  EXPECT_EQ(put[field::etag], "\"2\"");
  EXPECT_FALSE(Stored().default_response.active);
  // FAQ 19: it cannot be deleted, only deactivated.
  HttpResponse del = api_.Delete("/v1/policies/web/default-response-rule");
  EXPECT_EQ(Code(del), 405);
  EXPECT_EQ(del[field::allow], "GET, PUT");
  auto post = api_.Call(verb::post, "/v1/policies/web/default-response-rule", "{}");
  EXPECT_EQ(Code(post.response), 405);
}

TEST_F(PartsTest, IfMatchOnParts) {
  const std::string rule = R"({"name": "r2", "filter_list": "everything", "filter_action": "allow"})";
  auto stale = api_.Call(verb::post, "/v1/policies/web/rules", rule, "application/json",
                         {{field::if_match, "\"9\""}});
  EXPECT_EQ(Code(stale.response), 412);
  EXPECT_EQ(Revision(), 1u);
  auto ok = api_.Call(verb::post, "/v1/policies/web/rules", rule, "application/json",
                      {{field::if_match, "\"1\""}});
  EXPECT_EQ(Code(ok.response), 201);
  auto stale_delete = api_.Call(verb::delete_, "/v1/policies/web/rules/r2", "", "",
                                {{field::if_match, "\"1\""}});
  EXPECT_EQ(Code(stale_delete.response), 412);
  auto stale_drr = api_.Call(verb::put, "/v1/policies/web/default-response-rule", "{}",
                             "application/json", {{field::if_match, "\"1\""}});
  EXPECT_EQ(Code(stale_drr.response), 412);
  auto del = api_.Call(verb::delete_, "/v1/policies/web/rules/r2", "", "",
                       {{field::if_match, "\"2\""}});
  EXPECT_EQ(Code(del.response), 204);
}

TEST_F(PartsTest, PartWritesRecompileThePolicyInForce) {
  ASSERT_EQ(Code(api_.Put("/v1/assignment", R"({"policy": "web"})")), 200);
  const uint64_t generation = api_.service().GetEffective()->generation;
  ASSERT_EQ(Code(api_.Post("/v1/policies/web/rules",
                           R"({"name": "block-all", "filter_list": "everything",
                               "filter_action": "block"})")),
            400);  // no such action yet
  ASSERT_EQ(Code(api_.Post("/v1/policies/web/filter-actions",
                           R"({"name": "block", "type": "block"})")),
            201);
  ASSERT_EQ(Code(api_.Post("/v1/policies/web/rules",
                           R"({"name": "block-all", "filter_list": "everything",
                               "filter_action": "block"})")),
            201);
  EXPECT_GT(api_.service().GetEffective()->generation, generation);
  HttpResponse match = api_.Post("/v1/match", R"({"direction": "outbound",
      "source": "10.99.1.2", "destination": "192.0.2.1", "protocol": "tcp",
      "destination_port": 80})");
  ASSERT_EQ(Code(match), 200);
  EXPECT_EQ(BodyJson(match)["action"], "block");
  EXPECT_EQ(BodyJson(match)["rule"], "block-all");
}

TEST_F(PartsTest, PersistenceFailureIs503AndNothingApplied) {
  api_.persistence().set_fail(true);
  EXPECT_EQ(Code(api_.Post("/v1/policies/web/rules", R"({"name": "r2",
      "filter_list": "everything", "filter_action": "allow"})")), 503);
  EXPECT_EQ(Code(api_.Delete("/v1/policies/web/rules/db")), 503);
  EXPECT_EQ(Code(api_.Put("/v1/policies/web/filter-lists/to-db", R"({"filters": [{}]})")), 503);
  EXPECT_EQ(Code(api_.Put("/v1/policies/web/default-response-rule", R"({"active": false})")),
            503);
  api_.persistence().set_fail(false);
  EXPECT_EQ(Revision(), 1u);
  EXPECT_EQ(Stored().rules.size(), 1u);
  EXPECT_TRUE(Stored().default_response.active);
  EXPECT_EQ(Stored().FindFilterList("to-db")->filters[0].destination_ports.first, 5432);
}

}  // namespace
}  // namespace ipsec::testing
