#include "engine/ike/codec/ke_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

TEST(KePayloadTest, LayoutAndRoundTrip) {
  const KePayload ke{DhGroup::kModp2048, testing::Filled(256, 0xab)};
  const Bytes bytes = EncodeWith(ke, EncodeKePayload);
  ASSERT_EQ(bytes.size(), 4u + 256u);
  EXPECT_EQ(ToHex(ByteSpan(bytes.data(), 4)), "000e0000");
  Result<KePayload> decoded = DecodeKePayload(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), ke);
}

TEST(KePayloadTest, RejectsShortAndEmpty) {
  EXPECT_EQ(CodecErrorOf(DecodeKePayload(Hex("001f00")).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeKePayload(Hex("001f0000")).error()), CodecError::kInvalidSyntax);
  Result<KePayload> reserved = DecodeKePayload(Hex("001fffff 01"));  // RESERVED ignored
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(reserved->group, DhGroup::kCurve25519);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
