#include "api/handlers/router.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::field;
using beast_http::verb;
using Json = nlohmann::json;

TEST(RouterTest, UnknownPathIs404Unmatched) {
  ApiHarness api;
  for (const char* target : {"/", "/v2/policies", "/v1/policies/a/b/c/d", "/v1/nope",
                             "/v1/policies/a/rules/b/c"}) {
    auto res = api.Call(verb::get, target);
    EXPECT_EQ(Code(res.response), 404) << target;
    EXPECT_EQ(res.route, "unmatched");
    EXPECT_EQ(BodyJson(res.response)["error"]["code"], "not_found");
  }
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  ApiHarness api;
  auto res = api.Call(verb::patch, "/v1/policies/web", "{}");
  EXPECT_EQ(Code(res.response), 405);
  EXPECT_EQ(res.route, "/v1/policies/{name}");
  EXPECT_EQ(res.response[field::allow], "GET, PUT, DELETE");
  EXPECT_EQ(BodyJson(res.response)["error"]["code"], "method_not_allowed");
  EXPECT_EQ(api.Call(verb::post, "/healthz").response[field::allow], "GET");
  EXPECT_EQ(api.Call(verb::delete_, "/v1/match").response[field::allow], "POST");
  EXPECT_EQ(api.Call(verb::head, "/v1/stats").response.result_int(), 405u);
}

TEST(RouterTest, MalformedTargetsAre400) {
  ApiHarness api;
  auto bad = api.Call(verb::get, "/v1/policies/%zz");
  EXPECT_EQ(Code(bad.response), 400);
  EXPECT_EQ(bad.route, "unmatched");
  EXPECT_EQ(Code(api.Call(verb::get, "*").response), 400);
  EXPECT_EQ(Code(api.Call(verb::get, "/v1/filters?specific=%G0").response), 400);
}

TEST(RouterTest, UnknownQueryParametersAre400) {
  ApiHarness api;
  auto res = api.Call(verb::get, "/v1/filters?specifc=true");
  EXPECT_EQ(Code(res.response), 400);
  EXPECT_EQ(res.route, "/v1/filters");
  EXPECT_NE(BodyJson(res.response)["error"]["message"].get<std::string>().find(
                "unknown query parameter; this route takes: specific"),
            std::string::npos);
  EXPECT_EQ(Code(api.Call(verb::get, "/v1/stats?x=1").response), 400);
  EXPECT_EQ(Code(api.Call(verb::get, "/v1/stats?").response), 200);
}

TEST(RouterTest, TrailingSlashAndQueryOnPathMatch) {
  ApiHarness api;
  EXPECT_EQ(Code(api.Call(verb::get, "/v1/policies/").response), 200);
  EXPECT_EQ(api.Call(verb::get, "/healthz/").route, "/healthz");
}

TEST(RouterTest, RouteTableListsEveryDocumentedRoute) {
  ApiHarness api;
  std::set<std::string> routes;
  for (const auto& r : api.router().Routes()) routes.insert(r.method + " " + r.path_template);
  const std::set<std::string> expected = {
      "GET /healthz",
      "GET /readyz",
      "GET /v1/policies",
      "POST /v1/policies",
      "DELETE /v1/policies",
      "GET /v1/policies/{name}",
      "PUT /v1/policies/{name}",
      "DELETE /v1/policies/{name}",
      "GET /v1/policies/{name}/rules",
      "POST /v1/policies/{name}/rules",
      "GET /v1/policies/{name}/rules/{rule}",
      "PUT /v1/policies/{name}/rules/{rule}",
      "DELETE /v1/policies/{name}/rules/{rule}",
      "GET /v1/policies/{name}/filter-lists",
      "POST /v1/policies/{name}/filter-lists",
      "GET /v1/policies/{name}/filter-lists/{list}",
      "PUT /v1/policies/{name}/filter-lists/{list}",
      "DELETE /v1/policies/{name}/filter-lists/{list}",
      "GET /v1/policies/{name}/filter-actions",
      "POST /v1/policies/{name}/filter-actions",
      "GET /v1/policies/{name}/filter-actions/{action}",
      "PUT /v1/policies/{name}/filter-actions/{action}",
      "DELETE /v1/policies/{name}/filter-actions/{action}",
      "GET /v1/policies/{name}/default-response-rule",
      "PUT /v1/policies/{name}/default-response-rule",
      "GET /v1/templates",
      "GET /v1/templates/{template}",
      "GET /v1/assignment",
      "PUT /v1/assignment",
      "DELETE /v1/assignment",
      "GET /v1/filters",
      "POST /v1/match",
      "GET /v1/sas",
      "POST /v1/sas",
      "POST /v1/sas/{id}/rekey",
      "DELETE /v1/sas/{id}",
      "GET /v1/stats",
      "GET /v1/config/ike-logging",
      "PUT /v1/config/ike-logging",
  };
  EXPECT_EQ(routes, expected);
}

TEST(RouterTest, ResponsesKeepTheRequestVersionAndKeepAlive) {
  ApiHarness api;
  HttpRequest req{verb::get, "/healthz", 10};
  auto res = api.router().Handle(req);
  EXPECT_EQ(res.response.version(), 10u);
  EXPECT_FALSE(res.response.keep_alive());
}

// Untrusted input never crashes the router: a spread of odd requests all get an answer.
TEST(RouterTest, SurvivesOddRequests) {
  ApiHarness api;
  const std::string bodies[] = {"", "{", "null", "[]", "\"x\"", "{\"name\": {}}",
                                std::string(100000, '['), "\xff\xfe\xfd",
                                "{\"name\": \"\xc3\x28\"}", "name: \xff\n"};
  const char* targets[] = {"/v1/policies", "/v1/policies/x", "/v1/policies/x/rules",
                           "/v1/policies/x/rules/y", "/v1/assignment", "/v1/match",
                           "/v1/config/ike-logging", "/v1/policies/x/default-response-rule"};
  for (const char* target : targets) {
    for (const auto& body : bodies) {
      for (verb method : {verb::post, verb::put}) {
        for (const char* type : {"application/json", "application/yaml"}) {
          auto res = api.Call(method, target, body, type);
          int code = Code(res.response);
          EXPECT_TRUE(code == 400 || code == 404 || code == 405 || code == 415 || code == 201 ||
                      code == 200)
              << target << " " << code;
          if (code >= 400) {
            EXPECT_FALSE(BodyJson(res.response).is_discarded()) << res.response.body();
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ipsec::testing
