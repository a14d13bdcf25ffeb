#include "engine/ike/codec/sa_payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::EncodeWith;
using testing::Hex;

CodecError KindOf(ByteSpan body) {
  Result<SaPayload> sa = DecodeSaPayload(body);
  return sa.ok() ? CodecError::kNone : CodecErrorOf(sa.error());
}

TEST(SaPayloadTest, RoundTripsSeveralProposals) {
  SaPayload sa{{testing::GcmIkeProposal(1), testing::GcmIkeProposal(2)}};
  sa.proposals[1].spi = Bytes(8, 0x5a);  // an IKE rekey proposal carries the new SPI
  sa.proposals[1].transforms.push_back(
      {TransformType::kInteg, 12, std::nullopt, {{7, true, 3, {}}, {9, false, 0, {1, 2, 3}}}});
  const Bytes bytes = EncodeWith(sa, EncodeSaPayload);
  Result<SaPayload> decoded = DecodeSaPayload(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded.value(), sa);
}

TEST(SaPayloadTest, EncodesLastSubstrucAndLengths) {
  SaPayload sa{{testing::CbcEspProposal(1)}};
  EXPECT_EQ(ToHex(EncodeWith(sa, EncodeSaPayload)),
            ToHex(Hex("00 00 0028 01 03 04 03 0a0b0c0d"  // last, 40, #1, ESP, SPI 4, 3 transforms
                      "03 00 000c 01 00 000c 800e 0080"  // ENCR AES_CBC, Key Length 128
                      "03 00 0008 03 00 000c"            // INTEG HMAC_SHA2_256_128
                      "00 00 0008 05 00 0000")));        // ESN none
}

// One proposal, one transform, to be corrupted by the tests below.
const char kOneTransform[] = "00 00 0010 01 01 00 01  00 00 0008 01 00 000c";

TEST(SaPayloadTest, AcceptsTheBaseline) {
  EXPECT_EQ(KindOf(Hex(kOneTransform)), CodecError::kNone);
}

TEST(SaPayloadTest, RejectsLastSubstrucMismatches) {
  // Proposal says "more" (2) but nothing follows.
  EXPECT_EQ(KindOf(Hex("02 00 0010 01 01 00 01  00 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);
  // Transform says "more" (3) but it is the last.
  EXPECT_EQ(KindOf(Hex("00 00 0010 01 01 00 01  03 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);
  // Invalid Last Substruc values.
  EXPECT_EQ(KindOf(Hex("07 00 0010 01 01 00 01  00 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);
  EXPECT_EQ(KindOf(Hex("00 00 0010 01 01 00 01  02 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);
  // Last proposal followed by data.
  EXPECT_EQ(KindOf(Hex("00 00 0010 01 01 00 01  00 00 0008 01 00 000c 00")),
            CodecError::kInvalidSyntax);
}

TEST(SaPayloadTest, RejectsBadCountsLengthsAndSpiSizes) {
  EXPECT_EQ(KindOf({}), CodecError::kInvalidSyntax);  // no proposals
  EXPECT_EQ(KindOf(Hex("00 00 0010 01 01 00 02  00 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);  // Num Transforms 2, one present
  EXPECT_EQ(KindOf(Hex("00 00 0011 01 01 00 01  00 00 0008 01 00 000c")),
            CodecError::kBadLength);  // proposal length beyond the payload
  EXPECT_EQ(KindOf(Hex("00 00 0007 01 01 00 01  00 00 0008 01 00 000c")),
            CodecError::kBadLength);  // proposal length below its header
  EXPECT_EQ(KindOf(Hex("00 00 0010 01 01 00 01  00 00 0007 01 00 000c")),
            CodecError::kBadLength);  // transform length below its header
  EXPECT_EQ(KindOf(Hex("00 00 0011 01 01 00 01  00 00 0009 01 00 000c 00")),
            CodecError::kTruncated);  // a partial attribute
  EXPECT_EQ(KindOf(Hex("00 00 0012 01 03 02 01 0000  00 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);  // ESP with a 2-octet SPI
  EXPECT_EQ(KindOf(Hex("00 00 0014 01 01 04 01 00000000  00 00 0008 01 00 000c")),
            CodecError::kInvalidSyntax);  // IKE with a 4-octet SPI
  EXPECT_EQ(KindOf(Hex("00 00 0014 01 09 04 01 00000000  00 00 0008 01 00 000c")),
            CodecError::kNone);  // unknown protocols are the matcher's to skip
  EXPECT_EQ(KindOf(Hex("00 00 0010 01 09 09 01  00 00 0008 01 00 000c")),
            CodecError::kBadLength);  // SPI runs past the proposal
}

TEST(SaPayloadTest, ProposalNumbering) {
  SaPayload sa{{testing::GcmIkeProposal(1), testing::GcmIkeProposal(2)}};
  EXPECT_TRUE(DecodeSaPayload(EncodeWith(sa, EncodeSaPayload)).ok());
  sa.proposals[0].number = 0;
  EXPECT_EQ(KindOf(EncodeWith(sa, EncodeSaPayload)), CodecError::kInvalidSyntax);
  sa.proposals[0].number = 3;
  Result<SaPayload> decreasing = DecodeSaPayload(EncodeWith(sa, EncodeSaPayload));
  ASSERT_FALSE(decreasing.ok());
  EXPECT_EQ(decreasing.error().path, "/proposals/1");
  sa.proposals[0].number = 2;  // equal numbers: an IKEv1-style bundle, left to the matcher
  EXPECT_TRUE(DecodeSaPayload(EncodeWith(sa, EncodeSaPayload)).ok());
}

TEST(SaPayloadTest, KeyLengthAttributeRules) {
  // Key Length twice.
  EXPECT_EQ(KindOf(Hex("00 00 0018 01 01 00 01  00 00 0010 01 00 000c 800e 0080 800e 0080")),
            CodecError::kInvalidSyntax);
  // Key Length as TLV.
  EXPECT_EQ(KindOf(Hex("00 00 0016 01 01 00 01  00 00 000e 01 00 000c 000e 0002 0080")),
            CodecError::kInvalidSyntax);
  // An unknown TLV attribute is kept.
  Result<SaPayload> sa =
      DecodeSaPayload(Hex("00 00 0016 01 01 00 01  00 00 000e 01 00 000c 0011 0002 abcd"));
  ASSERT_TRUE(sa.ok()) << sa.error().ToString();
  const Transform& t = sa->proposals[0].transforms[0];
  ASSERT_EQ(t.other_attributes.size(), 1u);
  EXPECT_EQ(t.other_attributes[0].type, 0x11);
  EXPECT_EQ(t.other_attributes[0].data, Hex("abcd"));
  EXPECT_FALSE(t.key_length.has_value());
  // TLV longer than the transform.
  EXPECT_EQ(KindOf(Hex("00 00 0016 01 01 00 01  00 00 000e 01 00 000c 0011 0003 abcd")),
            CodecError::kBadLength);
}

TEST(SaPayloadTest, EnforcesLimits) {
  SaPayload sa;
  for (int i = 1; i <= static_cast<int>(kMaxProposals) + 1; ++i) {
    sa.proposals.push_back(testing::GcmIkeProposal(static_cast<uint8_t>(i)));
  }
  EXPECT_EQ(KindOf(EncodeWith(sa, EncodeSaPayload)), CodecError::kTooLarge);
  Proposal many = testing::GcmIkeProposal();
  many.transforms.assign(kMaxTransformsPerProposal + 1, many.transforms[1]);
  EXPECT_EQ(KindOf(EncodeWith(SaPayload{{many}}, EncodeSaPayload)), CodecError::kTooLarge);
}

TEST(SaPayloadTest, EveryTruncationFails) {
  const Bytes full = EncodeWith(SaPayload{{testing::CbcEspProposal(), testing::GcmIkeProposal(2)}},
                                EncodeSaPayload);
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(DecodeSaPayload(ByteSpan(full.data(), n)).ok()) << n;
  }
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
