#include "engine/ike/codec/cp_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

TEST(CpPayloadTest, RoundTrip) {
  const CpPayload request{CfgType::kRequest,
                          {{kCfgInternalIp4Address, {}}, {kCfgInternalIp4Dns, {}}}};
  EXPECT_EQ(ToHex(EncodeWith(request, EncodeCpPayload)),
            "0100000000010000"
            "00030000");
  const CpPayload reply{CfgType::kReply, {{kCfgInternalIp4Address, Hex("0a000001")}}};
  Result<CpPayload> decoded = DecodeCpPayload(EncodeWith(reply, EncodeCpPayload));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), reply);
}

TEST(CpPayloadTest, ReservedBitIgnoredAndMalformedRejected) {
  Result<CpPayload> cp = DecodeCpPayload(Hex("02000000 8001 0000"));
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->attributes[0].type, kCfgInternalIp4Address);
  EXPECT_EQ(CodecErrorOf(DecodeCpPayload(Hex("020000")).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeCpPayload(Hex("02000000 0001 00")).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeCpPayload(Hex("02000000 0001 0004 0a00")).error()),
            CodecError::kBadLength);
  Bytes many = Hex("01000000");
  for (size_t i = 0; i <= kMaxAttributes; ++i) {
    for (uint8_t b : Hex("00010000")) many.push_back(b);
  }
  EXPECT_EQ(CodecErrorOf(DecodeCpPayload(many).error()), CodecError::kTooLarge);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
