#include "engine/ike/codec/header.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

TEST(HeaderTest, Layout) {
  Header h;
  h.initiator_spi = 0x1122334455667788ull;
  h.responder_spi = 0x99aabbccddeeff00ull;
  h.exchange_type = ExchangeType::kIkeAuth;
  h.flags = kFlagResponse;
  h.message_id = 1;
  Bytes out;
  ByteWriter w(out);
  EncodeHeader(h, PayloadType::kSk, 0x50, w);
  EXPECT_EQ(ToHex(out),
            "112233445566778899aabbccddeeff00"
            "2e202320"
            "00000001"
            "00000050");
  Result<Header> d = DecodeHeader(out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->next_payload, PayloadType::kSk);
  EXPECT_EQ(d->length, 0x50u);
  EXPECT_TRUE(d->is_response());
  EXPECT_FALSE(d->is_initiator());
  d->next_payload = PayloadType::kNone;
  d->length = 0;
  EXPECT_EQ(d.value(), h);
}

TEST(HeaderTest, VersionNibblesAndTruncation) {
  Bytes bytes(kHeaderSize, 0);
  bytes[17] = 0x35;
  Result<Header> h = DecodeHeader(bytes);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->major_version, 3);
  EXPECT_EQ(h->minor_version, 5);
  for (size_t n = 0; n < kHeaderSize; ++n) {
    Result<Header> cut = DecodeHeader(ByteSpan(bytes.data(), n));
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(CodecErrorOf(cut.error()), CodecError::kTruncated);
  }
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
