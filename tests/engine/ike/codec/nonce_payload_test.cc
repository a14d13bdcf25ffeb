#include "engine/ike/codec/nonce_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/messages.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

TEST(NoncePayloadTest, SizeLimits) {
  for (size_t n : {size_t{0}, size_t{15}, size_t{257}, size_t{1000}}) {
    Result<NoncePayload> r = DecodeNoncePayload(testing::Filled(n, 1));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(CodecErrorOf(r.error()), CodecError::kInvalidSyntax);
  }
  for (size_t n : {kMinNonceSize, size_t{32}, kMaxNonceSize}) {
    const NoncePayload nonce{testing::Filled(n, 9)};
    Result<NoncePayload> r = DecodeNoncePayload(testing::EncodeWith(nonce, EncodeNoncePayload));
    ASSERT_TRUE(r.ok()) << n;
    EXPECT_EQ(r.value(), nonce);
  }
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
