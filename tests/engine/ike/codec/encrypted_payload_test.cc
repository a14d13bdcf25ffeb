#include "engine/ike/codec/encrypted_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::Hex;

TEST(EncryptedPayloadTest, SkFraming) {
  Result<EncryptedPayload> e =
      DecodeEncryptedPayload(PayloadType::kSk, PayloadType::kIdi, false, 28, Hex("00112233"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->first_inner, PayloadType::kIdi);
  EXPECT_EQ(e->offset, 28u);
  EXPECT_EQ(e->length, 8u);
  EXPECT_EQ(e->header_size(), 4u);
  EXPECT_EQ(e->fragment_number, 0);
}

TEST(EncryptedPayloadTest, SkfFraming) {
  Result<EncryptedPayload> first =
      DecodeEncryptedPayload(PayloadType::kSkf, PayloadType::kIdi, false, 28, Hex("0001 0003 aa"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->fragment_number, 1);
  EXPECT_EQ(first->total_fragments, 3);
  EXPECT_EQ(first->first_inner, PayloadType::kIdi);
  EXPECT_EQ(first->header_size(), 8u);
  // RFC 7383 §2.5: later fragments carry Next Payload 0; a non-zero one is ignored.
  Result<EncryptedPayload> later =
      DecodeEncryptedPayload(PayloadType::kSkf, PayloadType::kIdi, false, 28, Hex("0003 0003"));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->first_inner, PayloadType::kNone);
}

TEST(EncryptedPayloadTest, SkfRejectsBadNumbers) {
  for (const char* hex : {"0000 0001", "0001 0000", "0003 0002"}) {
    Result<EncryptedPayload> e =
        DecodeEncryptedPayload(PayloadType::kSkf, PayloadType::kNone, false, 28, Hex(hex));
    ASSERT_FALSE(e.ok()) << hex;
    EXPECT_EQ(CodecErrorOf(e.error()), CodecError::kBadFragment);
  }
  Result<EncryptedPayload> many =
      DecodeEncryptedPayload(PayloadType::kSkf, PayloadType::kNone, false, 28, Hex("0001 00ff"));
  EXPECT_EQ(CodecErrorOf(many.error()), CodecError::kTooLarge);
  Result<EncryptedPayload> short_header =
      DecodeEncryptedPayload(PayloadType::kSkf, PayloadType::kNone, false, 28, Hex("0001 00"));
  EXPECT_EQ(CodecErrorOf(short_header.error()), CodecError::kTruncated);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
