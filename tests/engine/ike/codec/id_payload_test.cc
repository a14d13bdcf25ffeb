#include "engine/ike/codec/id_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

TEST(IdPayloadTest, RoundTripsEachType) {
  const IdPayload ids[] = {
      {IdType::kIpv4Addr, Hex("c0000201")},
      {IdType::kIpv6Addr, Hex("20010db8000000000000000000000001")},
      {IdType::kFqdn, Bytes{'v', 'p', 'n', '.', 'e', 'x'}},
      {IdType::kRfc822Addr, Bytes{'a', '@', 'b'}},
      {IdType::kDerAsn1Dn, Hex("3000")},
      {IdType::kKeyId, Hex("0102")},
  };
  for (const IdPayload& id : ids) {
    Result<IdPayload> decoded = DecodeIdPayload(EncodeWith(id, EncodeIdPayload));
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(decoded.value(), id);
  }
  EXPECT_EQ(ToHex(EncodeWith(ids[0], EncodeIdPayload)), "01000000c0000201");
}

TEST(IdPayloadTest, RejectsMalformed) {
  EXPECT_EQ(CodecErrorOf(DecodeIdPayload(Hex("010000")).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeIdPayload(Hex("02000000")).error()), CodecError::kInvalidSyntax);
  EXPECT_EQ(CodecErrorOf(DecodeIdPayload(Hex("01000000c00002")).error()),
            CodecError::kInvalidSyntax);
  EXPECT_EQ(CodecErrorOf(DecodeIdPayload(Hex("05000000c0000201")).error()),
            CodecError::kInvalidSyntax);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
