#include "engine/ike/codec/payload.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::Entry;
using testing::Hex;

// Every payload type the codec knows, once.
std::vector<PayloadEntry> OneOfEach() {
  std::vector<PayloadEntry> all = testing::IkeAuthRequestInner();
  all.push_back(Entry(PayloadType::kIdr, IdPayload{IdType::kIpv4Addr, Hex("0a000002")}));
  all.push_back(Entry(PayloadType::kCert, CertPayload{CertEncoding::kX509Signature, Hex("30")}));
  all.push_back(Entry(PayloadType::kKe, KePayload{DhGroup::kEcp256, testing::Filled(64, 3)}));
  all.push_back(Entry(PayloadType::kNonce, NoncePayload{testing::Filled(16, 4)}));
  all.push_back(Entry(PayloadType::kDelete, DeletePayload{ProtocolId::kEsp, {1, 2}}));
  all.push_back(Entry(PayloadType::kVendorId, VendorIdPayload{Hex("0102")}));
  all.push_back(Entry(PayloadType::kCp, CpPayload{CfgType::kRequest, {{1, {}}}}));
  all.push_back(Entry(PayloadType::kEap, OpaquePayload{Hex("01020004")}));
  all.push_back(PayloadEntry{static_cast<PayloadType>(200), false, OpaquePayload{Hex("ff")}});
  return all;
}

TEST(PayloadTest, ChainRoundTripsEveryPayloadType) {
  const std::vector<PayloadEntry> all = OneOfEach();
  const Bytes bytes = EncodePayloadChain(all);
  Result<std::vector<PayloadEntry>> decoded = DecodePayloadChain(all.front().type, bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded.value(), all);
}

TEST(PayloadTest, GenericHeaderLayout) {
  const std::vector<PayloadEntry> chain = {
      Entry(PayloadType::kVendorId, VendorIdPayload{Hex("aa")}),
      PayloadEntry{PayloadType::kNotify, true, MakeNotify(NotifyType::kInitialContact)},
  };
  // V: Next N(41), C=0, Length 5; N: Next none, C=1, Length 8.
  EXPECT_EQ(ToHex(EncodePayloadChain(chain)),
            "29000005aa"
            "00800008"
            "00004000");
  EXPECT_EQ(ToHex(EncodePayloadBody(chain[1].payload)), "00004000");
}

TEST(PayloadTest, UnknownPayloadsAndTheCriticalBit) {
  // V, then unknown type 200 (critical), then unknown 201 (not critical).
  const Bytes bytes =
      Hex("c8 00 0005 aa"
          "c9 80 0006 0102"
          "00 00 0004");
  Result<std::vector<PayloadEntry>> chain = DecodePayloadChain(PayloadType::kVendorId, bytes);
  ASSERT_TRUE(chain.ok()) << chain.error().ToString();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[1].type, static_cast<PayloadType>(200));
  EXPECT_TRUE((*chain)[1].critical);
  EXPECT_EQ(std::get<OpaquePayload>((*chain)[1].payload).data, Hex("0102"));
  EXPECT_EQ(FindUnsupportedCritical(*chain), static_cast<PayloadType>(200));
  (*chain)[1].critical = false;
  EXPECT_EQ(FindUnsupportedCritical(*chain), std::nullopt);
  // A known type's critical bit is ignored for this purpose (§3.2).
  (*chain)[0].critical = true;
  EXPECT_EQ(FindUnsupportedCritical(*chain), std::nullopt);
}

TEST(PayloadTest, RejectsEncryptedInsideEncryptedAndBadLengths) {
  Result<std::vector<PayloadEntry>> sk = DecodePayloadChain(PayloadType::kSk, Hex("00000004"));
  ASSERT_FALSE(sk.ok());
  EXPECT_EQ(CodecErrorOf(sk.error()), CodecError::kInvalidSyntax);
  EXPECT_EQ(sk.error().path, "/payloads/0(SK)");
  EXPECT_FALSE(DecodePayloadChain(PayloadType::kSkf, Hex("00000008 00010001")).ok());
  EXPECT_EQ(CodecErrorOf(DecodePayloadChain(PayloadType::kVendorId, Hex("00000003")).error()),
            CodecError::kBadLength);
  EXPECT_EQ(CodecErrorOf(DecodePayloadChain(PayloadType::kVendorId, Hex("00000006 aa")).error()),
            CodecError::kBadLength);
  EXPECT_EQ(CodecErrorOf(DecodePayloadChain(PayloadType::kVendorId, Hex("000000")).error()),
            CodecError::kTruncated);
  EXPECT_EQ(CodecErrorOf(DecodePayloadChain(PayloadType::kNone, Hex("00")).error()),
            CodecError::kBadLength);
  Result<std::vector<PayloadEntry>> empty = DecodePayloadChain(PayloadType::kNone, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(PayloadTest, InnerErrorsArePrefixedWithThePayload) {
  // Nonce of 4 octets after a V.
  Result<std::vector<PayloadEntry>> r =
      DecodePayloadChain(PayloadType::kVendorId, Hex("28 00 0004"
                                                     "00 00 0008 01020304"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CodecErrorOf(r.error()), CodecError::kInvalidSyntax);
  EXPECT_EQ(r.error().path, "/payloads/1(Nonce)");
}

TEST(PayloadTest, PayloadCountLimit) {
  std::vector<PayloadEntry> many(kMaxPayloadsPerChain + 1,
                                 Entry(PayloadType::kVendorId, VendorIdPayload{}));
  Result<std::vector<PayloadEntry>> r =
      DecodePayloadChain(PayloadType::kVendorId, EncodePayloadChain(many));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(CodecErrorOf(r.error()), CodecError::kTooLarge);
  many.pop_back();
  EXPECT_TRUE(DecodePayloadChain(PayloadType::kVendorId, EncodePayloadChain(many)).ok());
}

TEST(PayloadTest, EveryTruncationOfAChainFails) {
  const std::vector<PayloadEntry> all = OneOfEach();
  const Bytes bytes = EncodePayloadChain(all);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodePayloadChain(all.front().type, ByteSpan(bytes.data(), n)).ok()) << n;
  }
}

TEST(PayloadTest, FindHelpers) {
  const std::vector<PayloadEntry> all = OneOfEach();
  ASSERT_NE(FindPayload<IdPayload>(all, PayloadType::kIdr), nullptr);
  EXPECT_EQ(FindPayload<IdPayload>(all, PayloadType::kIdr)->type, IdType::kIpv4Addr);
  EXPECT_EQ(FindPayload<IdPayload>(all, PayloadType::kSa), nullptr);  // wrong alternative
  EXPECT_EQ(FindPayload<KePayload>({}, PayloadType::kKe), nullptr);
  EXPECT_NE(FindNotify(all, NotifyType::kInitialContact), nullptr);
  EXPECT_EQ(FindNotify(all, NotifyType::kCookie), nullptr);
  EXPECT_EQ(FindErrorNotify(all), nullptr);
  std::vector<PayloadEntry> with_error = all;
  with_error.push_back(Entry(PayloadType::kNotify, MakeNotify(NotifyType::kTsUnacceptable)));
  ASSERT_NE(FindErrorNotify(with_error), nullptr);
  EXPECT_EQ(FindErrorNotify(with_error)->type, NotifyType::kTsUnacceptable);
  EXPECT_STREQ(PayloadTypeName(PayloadType::kTsr), "TSr");
  EXPECT_STREQ(PayloadTypeName(static_cast<PayloadType>(99)), "unknown");
  EXPECT_TRUE(IsKnownPayloadType(PayloadType::kSkf));
  EXPECT_FALSE(IsKnownPayloadType(static_cast<PayloadType>(49)));
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
