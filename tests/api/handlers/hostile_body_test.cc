// Error messages never repeat request content (docs/api.md, "Errors"): a body that carries a
// secret-looking marker in every place a malformed request can put it (a broken string, an
// unknown key, a bad enum value, an address, a port, a YAML tag, a header, a query) is refused,
// and neither the response nor any event the service emits holds any part of the marker. What
// replaces the quoted text is a position: line and column, and the JSON path.

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

using beast_http::field;
using beast_http::verb;
using Json = nlohmann::json;

// Mixed case and digits: no six characters of it occur in any message of ours by chance.
constexpr const char* kMarker = "Qx7Zp9Kw3Vj5Rt8Y";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Any six consecutive characters of the marker, in any case (a media type is lower-cased): an
// echo cut short by a parser still shows.
bool HoldsMarker(const std::string& text) {
  const std::string marker = Lower(kMarker);
  const std::string lower = Lower(text);
  for (size_t i = 0; i + 6 <= marker.size(); ++i) {
    if (lower.find(marker.substr(i, 6)) != std::string::npos) return true;
  }
  return false;
}

std::string With(std::string text) {
  for (size_t at; (at = text.find("@M@")) != std::string::npos;) text.replace(at, 3, kMarker);
  return text;
}

struct Case {
  std::string what;
  verb method = verb::post;
  std::string target = "/v1/policies";
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<field, std::string>> headers = {};
};

// A policy around `filter` (one filter object), `rule_extra` (fields added to the rule) and
// `action_type`.
std::string PolicyWith(const std::string& filter, const std::string& rule_extra = "",
                       const std::string& action_type = "negotiate") {
  return R"({"name": "p", "filter_lists": [{"name": "l", "filters": [)" + filter +
         R"(]}], "filter_actions": [{"name": "a", "type": ")" + action_type +
         R"("}], "rules": [{"name": "r", "filter_list": "l", "filter_action": "a",
           "auth_methods": [{"type": "psk", "preshared_key": "@M@"}])" +
         rule_extra + "}]}";
}

std::vector<Case> Cases() {
  const std::string big(100'000, 'a');
  std::vector<Case> c = {
      // JSON syntax: nlohmann's message quotes the token it last read.
      {"truncated in a string", verb::post, "/v1/policies", R"({"name": "p", "description": "@M@)"},
      {"truncated after a value", verb::post, "/v1/policies",
       R"({"name": "p", "description": "@M@")"},
      {"missing comma", verb::post, "/v1/policies", R"({"name": "p", "description": "@M@" "x"})"},
      {"bare word", verb::post, "/v1/policies", R"({"name": "p", "description": @M@})"},
      {"key without value", verb::post, "/v1/policies", R"({"name": "p", "@M@": })"},
      {"key without colon", verb::post, "/v1/policies", R"({"name": "p", "@M@"})"},
      {"array of a bare word", verb::post, "/v1/policies", "[@M@]"},
      {"control character", verb::post, "/v1/policies",
       "{\"name\": \"p\", \"description\": \"@M@\x01\"}"},
      {"bad UTF-8", verb::post, "/v1/policies",
       "{\"name\": \"p\", \"description\": \"@M@\xff\xfe\"}"},
      {"bad escape", verb::post, "/v1/policies", R"({"name": "p", "description": "@M@\q"})"},
      {"bad unicode escape", verb::post, "/v1/policies",
       R"({"name": "p", "description": "@M@\uZZZZ"})"},
      {"trailing garbage", verb::post, "/v1/policies", R"({"name": "p"} @M@)"},
      {"number overflow", verb::post, "/v1/policies", R"({"name": "p", "x": 1e99999, "@M@": 1})"},
      {"duplicate unknown key", verb::post, "/v1/policies", R"({"name": "p", "@M@": 1, "@M@": 2})"},
      {"duplicate key under an unknown key", verb::post, "/v1/policies",
       R"({"name": "p", "@M@": {"name": 1, "name": 2}})"},
      {"deep nesting under an unknown key", verb::post, "/v1/policies",
       "{\"@M@\": " + std::string(80, '[') + std::string(80, ']') + "}"},
      // Valid JSON, wrong for the schema.
      {"unknown field", verb::post, "/v1/policies", R"({"name": "p", "@M@": "x"})"},
      {"unknown field near a known one", verb::post, "/v1/policies",
       R"({"name": "p", "descriptio@M@": "x"})"},
      {"unknown field holding the key", verb::post, "/v1/policies",
       R"({"name": "p", "preshared_key:@M@": null})"},
      {"long unknown field", verb::post, "/v1/policies",
       R"({"name": "p", ")" + big + "@M@" + big + R"(": 1})"},
      {"wrong type", verb::post, "/v1/policies",
       R"({"name": "p", "polling_interval_seconds": "@M@"})"},
      {"wrong type in a list", verb::post, "/v1/policies", R"({"name": "p", "rules": ["@M@"]})"},
      {"bad action type", verb::post, "/v1/policies", PolicyWith("{}", "", "@M@")},
      {"bad encryption", verb::post, "/v1/policies",
       R"({"name": "p", "key_exchange": {"proposals": [{"encryption": "@M@"}]}})"},
      {"bad DH group", verb::post, "/v1/policies",
       R"({"name": "p", "key_exchange": {"proposals": [{"dh_group": "@M@"}]}})"},
      {"bad auth type", verb::post, "/v1/policies",
       R"({"name": "p", "default_response_rule": {"auth_methods": [{"type": "@M@"}]}})"},
      {"bad security protocol", verb::post, "/v1/policies",
       R"({"name": "p", "filter_actions": [{"name": "a", "security_methods": [{"protocol": "@M@"}]}]})"},
      {"bad address", verb::post, "/v1/policies", PolicyWith(R"({"source": "@M@"})")},
      {"bad subnet prefix", verb::post, "/v1/policies",
       PolicyWith(R"({"source": "10.0.0.0/@M@"})")},
      {"bad subnet network", verb::post, "/v1/policies", PolicyWith(R"({"source": "@M@/24"})")},
      {"bad mask", verb::post, "/v1/policies", PolicyWith(R"({"source": "10.0.0.0/255.@M@"})")},
      {"bad range end", verb::post, "/v1/policies", PolicyWith(R"({"source": "10.0.0.1-@M@"})")},
      {"bad range start", verb::post, "/v1/policies",
       PolicyWith(R"({"destination": "@M@-10.0.0.1"})")},
      {"long address", verb::post, "/v1/policies",
       PolicyWith(R"({"source": ")" + big + "@M@" + big + R"("})")},
      {"bad port", verb::post, "/v1/policies",
       PolicyWith(R"({"protocol": "tcp", "source_ports": "@M@"})")},
      {"bad port range", verb::post, "/v1/policies",
       PolicyWith(R"({"protocol": "tcp", "destination_ports": "1-@M@"})")},
      {"bad protocol", verb::post, "/v1/policies", PolicyWith(R"({"protocol": "@M@"})")},
      {"bad tunnel endpoint", verb::post, "/v1/policies",
       PolicyWith("{}", R"(, "tunnel_endpoint": "@M@")")},
      {"bad connection type", verb::post, "/v1/policies",
       PolicyWith("{}", R"(, "connection_type": "@M@")")},
      {"key beside an invalid filter", verb::post, "/v1/policies",
       PolicyWith(R"({"source": "10.0.0.0/33"})")},
      {"key in a policy that does not validate", verb::post, "/v1/policies",
       R"({"name": "p", "rules": [{"name": "r", "filter_list": "none", "filter_action": "none",
           "auth_methods": [{"type": "psk", "preshared_key": "@M@"}]}]})"},
      {"key in a certificate method", verb::post, "/v1/policies",
       R"({"name": "p", "default_response_rule": {"auth_methods": [
           {"type": "certificate", "preshared_key": "@M@"}]}})"},
      {"key of the wrong type", verb::post, "/v1/policies",
       R"({"name": "p", "default_response_rule": {"auth_methods": [
           {"type": "psk", "preshared_key": ["@M@"]}]}})"},
      // YAML bodies.
      {"YAML unterminated string", verb::post, "/v1/policies", "name: p\ndescription: \"@M@",
       "application/yaml"},
      {"YAML bad escape", verb::post, "/v1/policies", "name: p\ndescription: \"\\x@M@\"",
       "application/yaml"},
      {"YAML bad unicode escape", verb::post, "/v1/policies", "name: p\ndescription: \"\\u@M@\"",
       "application/yaml"},
      {"YAML tag", verb::post, "/v1/policies", "name: p\ndescription: !@M@ x", "application/yaml"},
      {"YAML tag on a scalar", verb::post, "/v1/policies", "name: p\ndescription: !!binary @M@",
       "application/yaml"},
      {"YAML key without a space", verb::post, "/v1/policies", "{name: p, preshared_key:@M@}",
       "application/yaml"},
      {"YAML duplicate key", verb::post, "/v1/policies", "name: p\n@M@: 1\n@M@: 2\n",
       "application/yaml"},
      {"YAML bad version", verb::post, "/v1/policies", "%YAML 1.@M@\n---\nname: p\n",
       "application/yaml"},
      {"YAML unknown anchor", verb::post, "/v1/policies", "name: p\ndescription: *@M@\n",
       "application/yaml"},
      {"YAML bad UTF-8", verb::post, "/v1/policies", "name: p\ndescription: \"@M@\xff\"\n",
       "application/yaml"},
      {"YAML preshared key with bad UTF-8", verb::post, "/v1/policies",
       "name: p\ndefault_response_rule:\n  auth_methods:\n"
       "    - {type: psk, preshared_key: \"@M@\xc0\xaf\"}\n",
       "application/yaml"},
      {"YAML broken block", verb::post, "/v1/policies", "name: p\n  @M@: [\n", "application/yaml"},
      // Other routes.
      {"part with a bad address", verb::put, "/v1/policies/web/filter_lists/l",
       R"({"name": "l", "filters": [{"destination": "@M@"}]})"},
      {"part with an unknown field", verb::post, "/v1/policies/web/rules",
       R"({"name": "r2", "filter_list": "to-db", "filter_action": "require", "@M@": 1})"},
      {"match with a bad address", verb::post, "/v1/match",
       R"({"direction": "outbound", "source": "@M@", "destination": "10.0.0.1"})"},
      {"match with a bad direction", verb::post, "/v1/match",
       R"({"direction": "@M@", "source": "10.0.0.2", "destination": "10.0.0.1"})"},
      {"match with a bad port", verb::post, "/v1/match",
       R"({"direction": "outbound", "source": "10.0.0.2", "destination": "10.0.0.1",
           "protocol": "tcp", "destination_port": "@M@"})"},
      {"SA with a bad peer", verb::post, "/v1/sas", R"({"rule": "db", "peer": "@M@"})"},
      {"assignment with an unknown field", verb::put, "/v1/assignment",
       R"({"policy": "web", "@M@": 1})"},
      {"IKE logging of the wrong type", verb::put, "/v1/config/ike-logging",
       R"({"enabled": "@M@"})"},
      // Headers and query strings.
      {"content type", verb::post, "/v1/policies", R"({"name": "p"})", "application/@M@"},
      {"If-Match",
       verb::put,
       "/v1/policies/web",
       WebPolicy(),
       "application/json",
       {{field::if_match, "\"@M@\""}}},
      {"query value", verb::get, "/v1/filters?specific=@M@", ""},
      {"query name", verb::get, "/v1/filters?@M@=1", ""},
      {"query encoding", verb::get, "/v1/filters?specific=%zz@M@", ""},
  };
  return c;
}

TEST(HostileBodyTest, ErrorsNeverRepeatRequestContent) {
  ApiHarness api;
  api.WatchSecret(kMarker);
  ASSERT_EQ(Code(api.Post("/v1/policies", WebPolicy())), 201);
  for (const Case& c : Cases()) {
    std::vector<std::pair<field, std::string>> headers;
    for (const auto& [name, value] : c.headers) headers.emplace_back(name, With(value));
    HttpRequest req{c.method, With(c.target), 11};
    req.set(field::host, "127.0.0.1");
    if (!c.content_type.empty() && !c.body.empty()) {
      req.set(field::content_type, With(c.content_type));
    }
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = With(c.body);
    req.prepare_payload();
    const HttpResponse res = api.router().Handle(req).response;
    EXPECT_GE(Code(res), 400) << c.what << ": " << res.body();
    EXPECT_LT(Code(res), 500) << c.what << ": " << res.body();
    EXPECT_TRUE(BodyJson(res)["error"].is_object()) << c.what << ": " << res.body();
    EXPECT_FALSE(HoldsMarker(res.body())) << c.what << ": " << res.body();
  }
  for (const auto& e : api.events().events()) {
    std::string all = e.type + " " + e.message;
    for (const auto& [k, v] : e.fields) all += " " + k + "=" + v;
    EXPECT_FALSE(HoldsMarker(all)) << all;
  }
  // Nothing was stored but the first policy.
  EXPECT_EQ(api.service().ListPolicies().size(), 1u);
}

// A position replaces the quoted input: where the fault is, never what it says.
TEST(HostileBodyTest, SyntaxErrorsGiveAPosition) {
  ApiHarness api;
  auto res = api.Post("/v1/policies", With("{\"name\": \"p\",\n \"description\": \"@M@"));
  ASSERT_EQ(Code(res), 400);
  std::string message = BodyJson(res)["error"]["message"];
  EXPECT_NE(message.find("line 2, column"), std::string::npos) << message;
  EXPECT_NE(message.find("byte"), std::string::npos) << message;
  EXPECT_EQ(message.find("last read"), std::string::npos) << message;

  // A duplicate key named by the schema is named; its path too.
  res = api.Post("/v1/policies", R"({"name": "p", "rules": [{"name": "a", "name": "b"}]})");
  ASSERT_EQ(Code(res), 400);
  Json e = BodyJson(res)["error"];
  EXPECT_EQ(e["path"], "/rules/0/name") << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("duplicate field 'name'"), std::string::npos)
      << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("line 1, column"), std::string::npos) << e.dump();

  // An unknown key is not repeated; the path stops at its object, the message gives a hint.
  res = api.Post("/v1/policies", R"({"name": "p", "rules": [{"name": "a", "filter_lsts": 1}]})");
  ASSERT_EQ(Code(res), 400);
  e = BodyJson(res)["error"];
  EXPECT_EQ(e["path"], "/rules/0") << e.dump();
  EXPECT_EQ(e["message"].get<std::string>().find("filter_lsts"), std::string::npos) << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("did you mean 'filter_list'"), std::string::npos)
      << e.dump();
  // A field of the schema in the wrong object is named: it is our word, not the client's.
  res = api.Post("/v1/policies", R"({"name": "p", "rules": [{"name": "a", "filters": []}]})");
  e = BodyJson(res)["error"];
  EXPECT_EQ(e["path"], "/rules/0/filters") << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("'filters'"), std::string::npos) << e.dump();
}

}  // namespace
}  // namespace ipsec::testing
