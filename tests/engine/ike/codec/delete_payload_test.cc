#include "engine/ike/codec/delete_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

CodecError KindOf(const Bytes& body) {
  Result<DeletePayload> d = DecodeDeletePayload(body);
  return d.ok() ? CodecError::kNone : CodecErrorOf(d.error());
}

TEST(DeletePayloadTest, IkeAndChildLayouts) {
  const DeletePayload ike{ProtocolId::kIke, {}};
  EXPECT_EQ(ToHex(EncodeWith(ike, EncodeDeletePayload)), "01000000");
  const DeletePayload esp{ProtocolId::kEsp, {0x11223344, 0x55667788}};
  const Bytes bytes = EncodeWith(esp, EncodeDeletePayload);
  EXPECT_EQ(ToHex(bytes), "030400021122334455667788");
  Result<DeletePayload> decoded = DecodeDeletePayload(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), esp);
  decoded = DecodeDeletePayload(Hex("01000000"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), ike);
}

TEST(DeletePayloadTest, RejectsMalformed) {
  EXPECT_EQ(KindOf(Hex("030400")), CodecError::kTruncated);
  EXPECT_EQ(KindOf(Hex("01000001")), CodecError::kInvalidSyntax);  // IKE with a count
  EXPECT_EQ(KindOf(Hex("01080000")), CodecError::kInvalidSyntax);  // IKE with SPI size 8
  EXPECT_EQ(KindOf(Hex("03080001 0000000000000000")), CodecError::kInvalidSyntax);
  EXPECT_EQ(KindOf(Hex("09040000")), CodecError::kInvalidSyntax);       // unknown protocol
  EXPECT_EQ(KindOf(Hex("03040002 11223344")), CodecError::kBadLength);  // one SPI short
  EXPECT_EQ(KindOf(Hex("03040001 1122334455")), CodecError::kBadLength);
  EXPECT_EQ(KindOf(Hex("0204ffff")), CodecError::kBadLength);  // huge count, no data
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
