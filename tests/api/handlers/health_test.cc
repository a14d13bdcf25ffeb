#include "api/handlers/health.h"

#include <gtest/gtest.h>

#include "engine/dataplane/filter_table_sink.h"
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

// Issue 5: ready only once the data path programmed the policy in force (routes, nftables);
// a failed apply turns /readyz unready with the data path's error until an apply succeeds.
TEST(HealthTest, ReadyzFailsWhileTheDataPathCouldNotProgramThePolicy) {
  struct Sink final : engine::dataplane::FilterTableSink {
    Status next = Status::Ok();
    int calls = 0;
    Status OnFilterTable(const engine::policy::Policy*,
                         std::shared_ptr<const engine::policy::Classifier>) override {
      ++calls;
      return next;
    }
  } sink;
  ApiHarness api;
  api.service().SetReady(true);
  sink.next = MakeError(ErrorCode::kUnavailable, "nft -f - exited 1: Error: Could not process rule");
  api.service().AttachDataPath(&sink, nullptr);
  ASSERT_EQ(sink.calls, 1);
  HttpResponse failed = api.Get("/readyz");
  EXPECT_EQ(Code(failed), 503);
  Json j = BodyJson(failed);
  EXPECT_EQ(j["ready"], false);
  EXPECT_NE(j["reason"].get<std::string>().find("data path could not program"), std::string::npos)
      << j.dump();
  EXPECT_NE(j["reason"].get<std::string>().find("Could not process rule"), std::string::npos);
  sink.next = Status::Ok();
  api.service().AttachDataPath(&sink, nullptr);  // publishes the table again
  EXPECT_EQ(Code(api.Get("/readyz")), 200);
  api.service().AttachDataPath(nullptr, nullptr);
}

}  // namespace
}  // namespace ipsec::testing
