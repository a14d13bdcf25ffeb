#include "api/handlers/route_table.h"

#include <gtest/gtest.h>

namespace ipsec::api::handlers {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(SplitPathTest, SplitsAndDecodes) {
  EXPECT_EQ(*SplitPath("/"), std::vector<std::string>{});
  EXPECT_EQ(*SplitPath("/v1/policies"), (std::vector<std::string>{"v1", "policies"}));
  EXPECT_EQ(*SplitPath("/v1/policies/"), (std::vector<std::string>{"v1", "policies"}));
  EXPECT_EQ(*SplitPath("/v1/policies/a%20b+c"),
            (std::vector<std::string>{"v1", "policies", "a b+c"}));
  EXPECT_EQ(*SplitPath("/v1/policies/a%2Fb"), (std::vector<std::string>{"v1", "policies", "a/b"}));
  EXPECT_EQ(*SplitPath("/v1//x"), (std::vector<std::string>{"v1", "", "x"}));
  EXPECT_FALSE(SplitPath("").ok());
  EXPECT_FALSE(SplitPath("v1/policies").ok());
  EXPECT_FALSE(SplitPath("http://host/v1").ok());
  EXPECT_FALSE(SplitPath("/v1/%zz").ok());
  EXPECT_FALSE(SplitPath("/v1/%4").ok());
  EXPECT_FALSE(SplitPath("/v1/%").ok());
}

TEST(ParseQueryTest, Pairs) {
  EXPECT_EQ(*ParseQuery(""), Params{});
  EXPECT_EQ(*ParseQuery("specific=true"), (Params{{"specific", "true"}}));
  EXPECT_EQ(*ParseQuery("a=1&b=x+y&c&&d=%41"),
            (Params{{"a", "1"}, {"b", "x y"}, {"c", ""}, {"d", "A"}}));
  EXPECT_FALSE(ParseQuery("a=%G1").ok());
}

TEST(PercentTest, EncodeDecode) {
  EXPECT_EQ(PercentEncodeSegment("web-tier_1.x~"), "web-tier_1.x~");
  EXPECT_EQ(PercentEncodeSegment("a b/c%"), "a%20b%2Fc%25");
  EXPECT_EQ(PercentEncodeSegment("\xff"), "%FF");
  for (std::string s : {"a b/c%", "\xff\x01", "x+y"}) {
    EXPECT_EQ(*PercentDecode(PercentEncodeSegment(s), false), s);
  }
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
}

Response Dummy(const RequestContext&) { return Response{}; }

TEST(RouteTableTest, MatchesTemplatesLiteralsFirst) {
  RouteTable t;
  t.Add(beast_http::verb::get, "/v1/templates/{template}", Dummy);
  t.Add(beast_http::verb::get, "/v1/templates/special", Dummy);
  t.Add(beast_http::verb::get, "/v1/policies/{name}/rules/{rule}", Dummy);
  t.Add(beast_http::verb::delete_, "/v1/policies/{name}/rules/{rule}", Dummy);
  Params params;
  const Route* r = t.Match({"v1", "policies", "web", "rules", "db"}, params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->path_template, "/v1/policies/{name}/rules/{rule}");
  EXPECT_EQ(params, (Params{{"name", "web"}, {"rule", "db"}}));
  EXPECT_EQ(r->Allow(), "GET, DELETE");
  EXPECT_NE(r->Find(beast_http::verb::delete_), nullptr);
  EXPECT_EQ(r->Find(beast_http::verb::put), nullptr);
  r = t.Match({"v1", "templates", "special"}, params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->path_template, "/v1/templates/special");
  r = t.Match({"v1", "templates", "other"}, params);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->path_template, "/v1/templates/{template}");
  EXPECT_EQ(t.Match({"v1", "templates", ""}, params), nullptr);
  EXPECT_EQ(t.Match({"v1", "templates"}, params), nullptr);
  EXPECT_EQ(t.Match({"v1", "policies", "web", "rules"}, params), nullptr);
  EXPECT_EQ(t.routes().size(), 3u);
}

TEST(RequestContextTest, ParamsQueryAndChange) {
  // A service is needed only by reference; the context is never asked to use it here.
  engine::service::EngineService service({});
  Request req{beast_http::verb::put, "/v1/policies/x", 11};
  RequestContext ctx{service, req, "/v1/policies/{name}", {{"name", "x"}},
                     {{"a", "1"}, {"a", "2"}}};
  EXPECT_EQ(ctx.Param("name"), "x");
  EXPECT_EQ(ctx.Param("other"), "");
  EXPECT_EQ(ctx.Query("a"), "2");
  EXPECT_EQ(ctx.Query("b"), std::nullopt);
  auto change = ctx.Change();
  EXPECT_EQ(change.route, "PUT /v1/policies/{name}");
  EXPECT_EQ(change.actor, "api");
}

}  // namespace
}  // namespace ipsec::api::handlers
