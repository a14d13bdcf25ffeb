#include "engine/ike/codec/cert_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

TEST(CertPayloadTest, RoundTrip) {
  const CertPayload cert{CertEncoding::kX509Signature, Hex("308201")};
  const Bytes bytes = EncodeWith(cert, EncodeCertPayload);
  EXPECT_EQ(ToHex(bytes), "04308201");
  Result<CertPayload> decoded = DecodeCertPayload(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), cert);
  EXPECT_EQ(CodecErrorOf(DecodeCertPayload({}).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeCertPayload(Hex("04")).error()), CodecError::kInvalidSyntax);
}

TEST(CertReqPayloadTest, RoundTripAndHashLength) {
  const CertReqPayload req{CertEncoding::kX509Signature, testing::Filled(40, 0x77)};
  Result<CertReqPayload> decoded = DecodeCertReqPayload(EncodeWith(req, EncodeCertReqPayload));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), req);
  EXPECT_TRUE(DecodeCertReqPayload(Hex("04")).ok());  // empty: any CA
  EXPECT_EQ(CodecErrorOf(DecodeCertReqPayload(Hex("04 0102")).error()), CodecError::kInvalidSyntax);
  EXPECT_TRUE(DecodeCertReqPayload(Hex("0c 0102")).ok());  // other encodings are opaque
  EXPECT_EQ(CodecErrorOf(DecodeCertReqPayload({}).error()), CodecError::kTruncated);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
