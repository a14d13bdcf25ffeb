#include "engine/ike/codec/ts_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

CodecError KindOf(const Bytes& body) {
  Result<TsPayload> ts = DecodeTsPayload(body);
  return ts.ok() ? CodecError::kNone : CodecErrorOf(ts.error());
}

TEST(TsPayloadTest, Ipv4Layout) {
  const IpRange range = IpRange::FromPrefix(*IpAddress::Parse("10.1.0.0"), 16);
  const TsPayload ts{{TrafficSelector::FromRange(range, 6, 443, 443)}};
  EXPECT_EQ(ToHex(EncodeWith(ts, EncodeTsPayload)),
            ToHex(Hex("01000000 07 06 0010 01bb 01bb 0a010000 0a01ffff")));
}

TEST(TsPayloadTest, RoundTripsMixedFamiliesAndOpaqueTypes) {
  TsPayload ts{{
      TrafficSelector::FromRange(IpRange::Full(IpFamily::kV4)),
      TrafficSelector::FromRange(IpRange::Single(*IpAddress::Parse("2001:db8::1")), 17, 500, 500),
  }};
  TrafficSelector fc;  // RFC 4595 FC_ADDR_R, kept opaque
  fc.type = static_cast<TsType>(9);
  fc.end_port = 0;
  fc.opaque = Hex("0000000000aabbcc00ddeeff");
  ts.selectors.push_back(fc);
  Result<TsPayload> decoded = DecodeTsPayload(EncodeWith(ts, EncodeTsPayload));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded.value(), ts);
  EXPECT_EQ(decoded->selectors[1].start.ToString(), "2001:db8::1");
  EXPECT_FALSE(decoded->selectors[2].is_address_range());
}

TEST(TsPayloadTest, RejectsMalformed) {
  EXPECT_EQ(KindOf(Hex("010000")), CodecError::kTruncated);
  EXPECT_EQ(KindOf(Hex("01000000")), CodecError::kTruncated);  // count 1, no selector
  EXPECT_EQ(KindOf(Hex("01000000 07000010 0000ffff 00000000")), CodecError::kBadLength);
  EXPECT_EQ(KindOf(Hex("01000000 07000014 0000ffff 00000000 ffffffff 00000000")),
            CodecError::kBadLength);  // IPv4 with length 20
  EXPECT_EQ(KindOf(Hex("01000000 08000010 0000ffff 00000000 ffffffff")),
            CodecError::kBadLength);  // IPv6 with length 16
  EXPECT_EQ(KindOf(Hex("01000000 07000003")), CodecError::kBadLength);
  EXPECT_EQ(KindOf(Hex("00000000 00")), CodecError::kBadLength);  // data after the selectors
  EXPECT_EQ(KindOf(Hex("ff000000")), CodecError::kTooLarge);
  EXPECT_EQ(KindOf(Hex("00000000")), CodecError::kNone);
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
