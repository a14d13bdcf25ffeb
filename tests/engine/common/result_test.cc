#include "engine/common/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace ipsec {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return MakeError(ErrorCode::kInvalidArgument, "odd", "/n");
  return n / 2;
}

TEST(ResultTest, ValueOrError) {
  Result<int> ok = Half(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 2);
  EXPECT_EQ(ok.value(), 2);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "odd");
  EXPECT_EQ(bad.error().path, "/n");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value(), 7);
  std::unique_ptr<int> taken = std::move(r).value();
  EXPECT_EQ(*taken, 7);
}

TEST(ResultTest, ArrowAccess) {
  Result<std::string> r(std::string("abc"));
  EXPECT_EQ(r->size(), 3u);
}

TEST(StatusTest, OkAndError) {
  Status ok = Status::Ok();
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(Status().ok());
  Status bad = MakeError(ErrorCode::kNotFound, "no such rule", "/rules/3");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
}

TEST(ErrorTest, ToStringAndPathPrefix) {
  Error e = MakeError(ErrorCode::kInvalidArgument, "bad port", "/filters/0/destination_ports");
  EXPECT_EQ(e.ToString(), "invalid_argument at /filters/0/destination_ports: bad port");
  Error prefixed = e.WithPathPrefix("/filter_lists/2");
  EXPECT_EQ(prefixed.path, "/filter_lists/2/filters/0/destination_ports");
  EXPECT_EQ(prefixed.message, "bad port");
  EXPECT_EQ(MakeError(ErrorCode::kInternal, "boom").ToString(), "internal: boom");
}

TEST(ErrorTest, CodeNames) {
  const std::pair<ErrorCode, const char*> names[] = {
      {ErrorCode::kInvalidArgument, "invalid_argument"},
      {ErrorCode::kNotFound, "not_found"},
      {ErrorCode::kAlreadyExists, "already_exists"},
      {ErrorCode::kFailedPrecondition, "failed_precondition"},
      {ErrorCode::kAborted, "aborted"},
      {ErrorCode::kUnimplemented, "unimplemented"},
      {ErrorCode::kUnavailable, "unavailable"},
      {ErrorCode::kDataLoss, "data_loss"},
      {ErrorCode::kInternal, "internal"},
  };
  for (const auto& [code, name] : names) EXPECT_STREQ(ErrorCodeName(code), name);
}

}  // namespace
}  // namespace ipsec
