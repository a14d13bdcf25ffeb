#include "engine/ike/codec/codec_error.h"

#include <gtest/gtest.h>

namespace ipsec::engine::ike::codec {
namespace {

TEST(CodecErrorTest, KindSurvivesTheCommonError) {
  for (int k = static_cast<int>(CodecError::kTruncated);
       k <= static_cast<int>(CodecError::kBadKeys); ++k) {
    const CodecError kind = static_cast<CodecError>(k);
    Error e = MakeCodecError(kind, "detail: with colon", "/payloads/1(SA)");
    EXPECT_EQ(CodecErrorOf(e), kind) << CodecErrorName(kind);
    EXPECT_EQ(CodecErrorOf(MakeCodecError(kind, "")), kind);
    EXPECT_EQ(e.path, "/payloads/1(SA)");
    EXPECT_EQ(e.code,
              kind == CodecError::kBadKeys ? ErrorCode::kInternal : ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(MakeCodecError(CodecError::kTruncated, "KE header").message, "truncated: KE header");
  EXPECT_EQ(CodecErrorOf(MakeError(ErrorCode::kInvalidArgument, "truncatedx")), CodecError::kNone);
  EXPECT_EQ(CodecErrorOf(MakeError(ErrorCode::kNotFound, "no")), CodecError::kNone);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
