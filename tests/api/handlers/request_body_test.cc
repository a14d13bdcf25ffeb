#include "api/handlers/request_body.h"

#include <gtest/gtest.h>

#include "tests/support/api_harness.h"

namespace ipsec::api::handlers {
namespace {

Request Body(const std::string& content_type, const std::string& body) {
  Request req{beast_http::verb::post, "/x", 11};
  if (!content_type.empty()) req.set(beast_http::field::content_type, content_type);
  req.body() = body;
  return req;
}

int StatusOf(const std::variant<Json, Response>& r) {
  const Response* res = std::get_if<Response>(&r);
  return res == nullptr ? 0 : static_cast<int>(res->result_int());
}

TEST(ReadBodyTest, ContentTypes) {
  EXPECT_EQ(StatusOf(ReadBody(Body("application/json", "{}"), BodyFormat::kJson)), 0);
  EXPECT_EQ(StatusOf(ReadBody(Body("Application/JSON; charset=utf-8", "{}"), BodyFormat::kJson)),
            0);
  EXPECT_EQ(StatusOf(ReadBody(Body("application/yaml", "a: 1"), BodyFormat::kJson)), 415);
  EXPECT_EQ(StatusOf(ReadBody(Body("text/plain", "{}"), BodyFormat::kJsonOrYaml)), 415);
  EXPECT_EQ(StatusOf(ReadBody(Body("", "{}"), BodyFormat::kJson)), 415);
  for (const char* yaml : {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}) {
    auto r = ReadBody(Body(yaml, "a: 1"), BodyFormat::kJsonOrYaml);
    ASSERT_EQ(StatusOf(r), 0) << yaml;
    EXPECT_EQ(std::get<Json>(r), Json::parse(R"({"a": 1})"));
  }
}

TEST(ReadBodyTest, SizeEmptyAndSyntax) {
  std::string big(kMaxBodyBytes + 1, ' ');
  EXPECT_EQ(StatusOf(ReadBody(Body("application/json", big), BodyFormat::kJson)), 413);
  EXPECT_EQ(StatusOf(ReadBody(Body("application/json", ""), BodyFormat::kJson)), 400);
  auto bad = ReadBody(Body("application/json", "{\n\"a\" 1}"), BodyFormat::kJson);
  ASSERT_EQ(StatusOf(bad), 400);
  Json e = Json::parse(std::get<Response>(bad).body())["error"];
  EXPECT_EQ(e["code"], "invalid_argument");
  EXPECT_NE(e["message"].get<std::string>().find("line 2"), std::string::npos);
}

TEST(DecodeBodyTest, NameFromPath) {
  auto decode = [](const Json& j) -> Result<std::string> { return j.at("name").get<std::string>(); };
  std::string name = "from-path";
  auto r = DecodeBody<std::string>(Body("application/json", "{}"), BodyFormat::kJson, decode,
                                   &name);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ(std::get<std::string>(r), "from-path");
  auto kept = DecodeBody<std::string>(Body("application/json", R"({"name": "body"})"),
                                      BodyFormat::kJson, decode, &name);
  EXPECT_EQ(std::get<std::string>(kept), "body");
  auto failing = [](const Json&) -> Result<int> {
    return MakeError(ErrorCode::kInvalidArgument, "bad", "/x");
  };
  auto err = DecodeBody<int>(Body("application/json", "{}"), BodyFormat::kJson, failing);
  ASSERT_TRUE(std::holds_alternative<Response>(err));
  EXPECT_EQ(std::get<Response>(err).result_int(), 400u);
}

TEST(IfMatchTest, Parses) {
  Request req{beast_http::verb::put, "/", 11};
  EXPECT_FALSE(ParseIfMatch(req).present);
  req.set(beast_http::field::if_match, "\"3\", W/\"4\", \"x\", *, \"5\"");
  IfMatch m = ParseIfMatch(req);
  EXPECT_TRUE(m.present);
  EXPECT_TRUE(m.any);
  EXPECT_EQ(m.revisions, (std::vector<uint64_t>{3, 5}));
  req.set(beast_http::field::if_match, "\"99999999999999999999999\"");
  EXPECT_TRUE(ParseIfMatch(req).revisions.empty());
}

TEST(ExpectedRevisionTest, ResolvesAgainstTheStoredPolicy) {
  testing::ApiHarness api;
  ASSERT_EQ(testing::Code(api.Put("/v1/policies/p", "{}")), 201);
  auto with = [&](const char* if_match) {
    Request req{beast_http::verb::put, "/v1/policies/p", 11};
    if (if_match != nullptr) req.set(beast_http::field::if_match, if_match);
    RequestContext ctx{api.service(), req, "/v1/policies/{name}", {{"name", "p"}}, {}};
    return ExpectedRevision(ctx, "p");
  };
  EXPECT_EQ(*with(nullptr), std::nullopt);
  EXPECT_EQ(*with("*"), std::optional<uint64_t>(1));
  EXPECT_EQ(*with("\"1\""), std::optional<uint64_t>(1));
  auto stale = with("\"2\"");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  EXPECT_NE(stale.error().message.find("at revision \"1\""), std::string::npos);
  Request req{beast_http::verb::put, "/v1/policies/q", 11};
  req.set(beast_http::field::if_match, "*");
  RequestContext ctx{api.service(), req, "/v1/policies/{name}", {{"name", "q"}}, {}};
  EXPECT_EQ(ExpectedRevision(ctx, "q").error().code, ErrorCode::kAborted);
}

}  // namespace
}  // namespace ipsec::api::handlers
