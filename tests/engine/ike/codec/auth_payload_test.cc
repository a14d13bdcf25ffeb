#include "engine/ike/codec/auth_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

TEST(AuthPayloadTest, RoundTrip) {
  const AuthPayload auth{AuthMethod::kDigitalSignature, Hex("0f300d06092a")};
  const Bytes bytes = EncodeWith(auth, EncodeAuthPayload);
  EXPECT_EQ(ToHex(bytes), "0e0000000f300d06092a");
  Result<AuthPayload> decoded = DecodeAuthPayload(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), auth);
}

TEST(AuthPayloadTest, RejectsMalformed) {
  EXPECT_EQ(CodecErrorOf(DecodeAuthPayload(Hex("020000")).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeAuthPayload(Hex("02000000")).error()), CodecError::kInvalidSyntax);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
