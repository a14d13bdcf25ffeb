#include "api/handlers/reply.h"

#include <gtest/gtest.h>

namespace ipsec::api::handlers {
namespace {

TEST(HttpStatusTest, MapsEveryCodeAsDocumented) {
  using s = beast_http::status;
  EXPECT_EQ(HttpStatus(ErrorCode::kInvalidArgument), s::bad_request);
  EXPECT_EQ(HttpStatus(ErrorCode::kNotFound), s::not_found);
  EXPECT_EQ(HttpStatus(ErrorCode::kAlreadyExists), s::conflict);
  EXPECT_EQ(HttpStatus(ErrorCode::kFailedPrecondition), s::conflict);
  EXPECT_EQ(HttpStatus(ErrorCode::kAborted), s::precondition_failed);
  EXPECT_EQ(HttpStatus(ErrorCode::kUnimplemented), s::not_implemented);
  EXPECT_EQ(HttpStatus(ErrorCode::kUnavailable), s::service_unavailable);
  EXPECT_EQ(HttpStatus(ErrorCode::kDataLoss), s::service_unavailable);
  EXPECT_EQ(HttpStatus(ErrorCode::kInternal), s::internal_server_error);
}

TEST(ReplyTest, JsonReplyFollowsTheRequest) {
  Request req{beast_http::verb::get, "/", 10};
  req.keep_alive(false);
  Response res = JsonReply(req, beast_http::status::ok, Json{{"a", 1}});
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(res[beast_http::field::content_type], "application/json");
  EXPECT_EQ(res.body(), R"({"a":1})");
  EXPECT_EQ(res[beast_http::field::content_length], "7");
  Request req11{beast_http::verb::get, "/", 11};
  EXPECT_TRUE(JsonReply(req11, beast_http::status::ok, Json{}).keep_alive());
}

TEST(ReplyTest, ErrorShape) {
  Request req{beast_http::verb::get, "/", 11};
  Response res = ErrorReply(req, MakeError(ErrorCode::kAborted, "stale", "/x"));
  EXPECT_EQ(res.result(), beast_http::status::precondition_failed);
  EXPECT_EQ(Json::parse(res.body()),
            Json::parse(R"({"error": {"code": "aborted", "message": "stale", "path": "/x"}})"));
  Response s = StatusReply(req, beast_http::status::unsupported_media_type,
                           "unsupported_media_type", "nope");
  EXPECT_EQ(Json::parse(s.body())["error"]["path"], "");
  EXPECT_EQ(s.result_int(), 415u);
}

TEST(ReplyTest, NoContentAndETag) {
  Request req{beast_http::verb::delete_, "/", 11};
  Response res = NoContent(req);
  EXPECT_EQ(res.result_int(), 204u);
  EXPECT_TRUE(res.body().empty());
  SetETag(res, 42);
  EXPECT_EQ(res[beast_http::field::etag], "\"42\"");
}

}  // namespace
}  // namespace ipsec::api::handlers
