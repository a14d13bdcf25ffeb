#include "engine/ike/codec/notify_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

TEST(NotifyPayloadTest, LayoutAndRoundTrip) {
  const NotifyPayload rekey{ProtocolId::kEsp, Hex("c0ffee01"), NotifyType::kRekeySa, {}};
  const Bytes bytes = EncodeWith(rekey, EncodeNotifyPayload);
  EXPECT_EQ(ToHex(bytes), "03044009c0ffee01");
  Result<NotifyPayload> decoded = DecodeNotifyPayload(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), rekey);

  const NotifyPayload cookie = MakeNotify(NotifyType::kCookie, Hex("0102030405060708"));
  EXPECT_EQ(ToHex(EncodeWith(cookie, EncodeNotifyPayload)), "000040060102030405060708");
  decoded = DecodeNotifyPayload(EncodeWith(cookie, EncodeNotifyPayload));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), cookie);
}

TEST(NotifyPayloadTest, ProtocolIgnoredWithoutSpi) {
  Result<NotifyPayload> n = DecodeNotifyPayload(Hex("03 00 4000"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->protocol, ProtocolId::kNone);
  EXPECT_EQ(n->type, NotifyType::kInitialContact);
}

TEST(NotifyPayloadTest, RejectsMalformed) {
  EXPECT_EQ(CodecErrorOf(DecodeNotifyPayload(Hex("000040")).error()), CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodeNotifyPayload(Hex("03 04 4009 c0ffee")).error()),
            CodecError::kBadLength);
}

TEST(NotifyPayloadTest, ErrorTypesAndInvalidKeGroup) {
  EXPECT_TRUE(IsErrorNotify(NotifyType::kAuthenticationFailed));
  EXPECT_TRUE(IsErrorNotify(NotifyType::kChildSaNotFound));
  EXPECT_FALSE(IsErrorNotify(NotifyType::kCookie));
  EXPECT_FALSE(IsErrorNotify(static_cast<NotifyType>(0)));
  EXPECT_EQ(InvalidKeGroup(MakeNotify(NotifyType::kInvalidKePayload, Hex("0013"))),
            DhGroup::kEcp256);
  EXPECT_EQ(InvalidKeGroup(MakeNotify(NotifyType::kInvalidKePayload, Hex("13"))), std::nullopt);
  EXPECT_EQ(InvalidKeGroup(MakeNotify(NotifyType::kCookie, Hex("0013"))), std::nullopt);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
