#include "engine/ike/codec/message.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/payload_rules.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::Hex;
using testing::IkeSaInitRequest;

// IkeSaInitRequest() laid out by hand from RFC 7296 §3.1–§3.10 field diagrams.
const char kIkeSaInitRequestHex[] =
    // §3.1 HDR: SPIi, SPIr, Next Payload SA(33), MjVer 2 MnVer 0, IKE_SA_INIT(34), I flag,
    // Message ID 0, Length 208.
    "0102030405060708 0000000000000000 21 20 22 08 00000000 000000d0"
    // §3.3 SA: Next KE(34), C=0, Length 40.
    "22 00 0028"
    //   §3.3.1 Proposal: last, Length 36, #1, IKE, SPI size 0, 3 transforms.
    "00 00 0024 01 01 00 03"
    //   §3.3.2 Transform: more, Length 12, ENCR, AES_GCM_16(20); §3.3.5 Key Length(TV) 256.
    "03 00 000c 01 00 0014 800e 0100"
    //   Transform: more, Length 8, PRF, HMAC_SHA2_256(5).
    "03 00 0008 02 00 0005"
    //   Transform: last, Length 8, DH, Curve25519(31).
    "00 00 0008 04 00 001f"
    // §3.4 KE: Next Nonce(40), Length 40, group 31, RESERVED, 32 octets.
    "28 00 0028 001f 0000"
    "1111111111111111111111111111111111111111111111111111111111111111"
    // §3.9 Nonce: Next N(41), Length 36, 32 octets.
    "29 00 0024"
    "2222222222222222222222222222222222222222222222222222222222222222"
    // §3.10 N: Next N, Length 28, Protocol 0, SPI size 0, NAT_DETECTION_SOURCE_IP(16388).
    "29 00 001c 00 00 4004 3333333333333333333333333333333333333333"
    // N: Next N, Length 28, NAT_DETECTION_DESTINATION_IP(16389).
    "29 00 001c 00 00 4005 4444444444444444444444444444444444444444"
    // N: Next none, Length 8, IKEV2_FRAGMENTATION_SUPPORTED(16430).
    "00 00 0008 00 00 402e";

TEST(MessageTest, EncodesIkeSaInitByteForByte) {
  const Bytes encoded = EncodeMessage(IkeSaInitRequest());
  EXPECT_EQ(ToHex(encoded), ToHex(Hex(kIkeSaInitRequestHex)));
  EXPECT_EQ(encoded.size(), 208u);
}

TEST(MessageTest, DecodesIkeSaInit) {
  Result<Message> m = DecodeMessage(Hex(kIkeSaInitRequestHex));
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  Message expected = IkeSaInitRequest();
  expected.header.next_payload = PayloadType::kSa;
  expected.header.length = 208;
  EXPECT_EQ(m.value(), expected);
  EXPECT_TRUE(m->header.is_initiator());
  EXPECT_FALSE(m->header.is_response());
  EXPECT_FALSE(m->encrypted.has_value());
}

TEST(MessageTest, EveryTruncationFails) {
  const Bytes full = Hex(kIkeSaInitRequestHex);
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + n);
    EXPECT_FALSE(DecodeMessage(cut).ok()) << n;
    // With the header's Length agreeing, the chain decoder itself must notice the cut.
    if (n >= kHeaderSize) {
      StoreBigEndian32(cut.data() + 24, static_cast<uint32_t>(n));
      Result<Message> m = DecodeMessage(cut);
      ASSERT_FALSE(m.ok()) << n;
      CodecError kind = CodecErrorOf(m.error());
      EXPECT_TRUE(kind == CodecError::kTruncated || kind == CodecError::kBadLength ||
                  kind == CodecError::kInvalidSyntax)
          << n << " " << m.error().ToString();
    }
  }
}

TEST(MessageTest, EverySingleByteMutationIsHandled) {
  const Bytes full = Hex(kIkeSaInitRequestHex);
  size_t decoded = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    for (int v = 0; v < 256; ++v) {
      Bytes mutated = full;
      mutated[i] = static_cast<uint8_t>(v);
      Result<Message> m = DecodeMessage(mutated);
      if (!m.ok() || m->encrypted.has_value()) continue;
      ++decoded;
      // Whatever decodes re-encodes to something that decodes to the same message.
      Result<Message> again = DecodeMessage(EncodeMessage(m.value()));
      ASSERT_TRUE(again.ok()) << i << " " << v << " " << again.error().ToString();
      Message a = m.value(), b = again.value();
      a.header.length = b.header.length = 0;
      EXPECT_EQ(a, b) << i << " " << v;
    }
  }
  EXPECT_GT(decoded, full.size());
}

TEST(MessageTest, RejectsWrongLengthAndVersionAndSize) {
  Bytes bytes = Hex(kIkeSaInitRequestHex);
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(CodecErrorOf(DecodeMessage(longer).error()), CodecError::kBadLength);
  StoreBigEndian32(longer.data() + 24, static_cast<uint32_t>(longer.size()));
  Result<Message> trailing = DecodeMessage(longer);
  EXPECT_EQ(CodecErrorOf(trailing.error()), CodecError::kBadLength);

  Bytes v3 = bytes;
  v3[17] = 0x30;
  Result<Message> m = DecodeMessage(v3);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(CodecErrorOf(m.error()), CodecError::kUnsupportedVersion);
  Result<Header> h = DecodeHeader(v3);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->major_version, 3);
  EXPECT_EQ(h->initiator_spi, 0x0102030405060708ull);

  Bytes minor = bytes;
  minor[17] = 0x21;  // minor version 1 is accepted
  EXPECT_TRUE(DecodeMessage(minor).ok());

  Bytes huge(kMaxMessageSize + 1, 0);
  EXPECT_EQ(CodecErrorOf(DecodeMessage(huge).error()), CodecError::kTooLarge);
}

TEST(MessageTest, ErrorsCarryAPath) {
  Bytes bytes = Hex(kIkeSaInitRequestHex);
  bytes[28 + 4 + 8 + 8] = 0x00;  // Key Length attribute with the AF bit off: TLV
  Result<Message> m = DecodeMessage(bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(CodecErrorOf(m.error()), CodecError::kInvalidSyntax) << m.error().ToString();
  EXPECT_EQ(m.error().path, "/payloads/0(SA)/proposals/0/transforms/0/attributes/0");
}

TEST(MessageTest, RecordsTheEncryptedPayloadWithoutDecrypting) {
  Message m;
  m.header.exchange_type = ExchangeType::kIkeAuth;
  m.header.message_id = 1;
  m.payloads = {testing::Entry(PayloadType::kVendorId, VendorIdPayload{{1, 2, 3}})};
  Bytes bytes = EncodeMessage(m);
  // Append SK: Next Payload IDi, Length 4 + 20 (IV and ciphertext, opaque here).
  const Bytes sk = Hex("23 00 0018 000102030405060708090a0b0c0d0e0f10111213");
  bytes[28 + 0] = static_cast<uint8_t>(PayloadType::kSk);  // V's Next Payload
  bytes.insert(bytes.end(), sk.begin(), sk.end());
  StoreBigEndian32(bytes.data() + 24, static_cast<uint32_t>(bytes.size()));
  Result<Message> d = DecodeMessage(bytes);
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  ASSERT_TRUE(d->encrypted.has_value());
  EXPECT_EQ(d->payloads.size(), 1u);
  EXPECT_EQ(d->encrypted->type, PayloadType::kSk);
  EXPECT_EQ(d->encrypted->first_inner, PayloadType::kIdi);
  EXPECT_EQ(d->encrypted->offset, 28u + 7u);
  EXPECT_EQ(d->encrypted->length, 24u);
  EXPECT_EQ(d->encrypted->header_size(), 4u);

  // SK must be last: give it a successor by extending its length short of the end.
  Bytes not_last = bytes;
  not_last[28 + 7 + 3] = 0x10;
  EXPECT_EQ(CodecErrorOf(DecodeMessage(not_last).error()), CodecError::kInvalidSyntax);
}

TEST(MessageTest, EmptyMessage) {
  Message m;
  m.header.exchange_type = ExchangeType::kInformational;
  m.header.flags = kFlagResponse;
  const Bytes bytes = EncodeMessage(m);
  EXPECT_EQ(bytes.size(), kHeaderSize);
  Result<Message> d = DecodeMessage(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->payloads.empty());
  EXPECT_TRUE(d->header.is_response());
}

// A real IKE_SA_INIT from strongSwan's charon; testdata/README.md says how it was captured.
Bytes CharonIkeSaInit() {
  std::ifstream in(std::string(IKE_CODEC_TESTDATA) + "/charon_ike_sa_init.hex");
  std::stringstream text;
  text << in.rdbuf();
  std::optional<Bytes> bytes = FromHex(text.str());
  return bytes.value_or(Bytes{});
}

Transform T(TransformType type, uint16_t id, std::optional<uint16_t> key_length = std::nullopt) {
  return Transform{type, id, key_length, {}};
}

TEST(MessageTest, DecodesCharonsIkeSaInit) {
  const Bytes wire = CharonIkeSaInit();
  ASSERT_EQ(wire.size(), 312u);
  Result<Message> m = DecodeMessage(wire);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->header.initiator_spi, 0x2691dfb9a5d66008ull);
  EXPECT_EQ(m->header.responder_spi, 0u);
  EXPECT_EQ(m->header.exchange_type, ExchangeType::kIkeSaInit);
  EXPECT_EQ(m->header.flags, kFlagInitiator);
  EXPECT_EQ(m->header.message_id, 0u);
  ASSERT_EQ(m->payloads.size(), 8u);

  const SaPayload* sa = FindPayload<SaPayload>(m->payloads, PayloadType::kSa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 2u);
  using TT = TransformType;
  const std::vector<Transform> first = {
      T(TT::kEncr, 20, 128), T(TT::kEncr, 20, 256), T(TT::kPrf, 5), T(TT::kPrf, 6),
      T(TT::kDh, 31),        T(TT::kDh, 19),        T(TT::kDh, 14)};
  const std::vector<Transform> second = {T(TT::kEncr, 12, 128), T(TT::kInteg, 12), T(TT::kPrf, 5),
                                         T(TT::kDh, 31)};
  EXPECT_EQ(sa->proposals[0].number, 1);
  EXPECT_EQ(sa->proposals[0].protocol, ProtocolId::kIke);
  EXPECT_TRUE(sa->proposals[0].spi.empty());
  EXPECT_EQ(sa->proposals[0].transforms, first);
  EXPECT_EQ(sa->proposals[1].number, 2);
  EXPECT_EQ(sa->proposals[1].transforms, second);

  const KePayload* ke = FindPayload<KePayload>(m->payloads, PayloadType::kKe);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->group, DhGroup::kCurve25519);
  EXPECT_EQ(ToHex(ke->data), "fb7d558405c013a5f65a70ac31ab1df6a2706dbfee909e904ee93f04b30eff7f");
  ASSERT_NE(FindPayload<NoncePayload>(m->payloads, PayloadType::kNonce), nullptr);
  EXPECT_EQ(FindPayload<NoncePayload>(m->payloads, PayloadType::kNonce)->nonce.size(), 32u);
  for (NotifyType t : {NotifyType::kNatDetectionSourceIp, NotifyType::kNatDetectionDestinationIp,
                       NotifyType::kIkev2FragmentationSupported,
                       NotifyType::kSignatureHashAlgorithms, static_cast<NotifyType>(16406)}) {
    EXPECT_NE(FindNotify(m->payloads, t), nullptr) << static_cast<int>(t);
  }
  EXPECT_EQ(FindNotify(m->payloads, NotifyType::kNatDetectionSourceIp)->data.size(), 20u);

  EXPECT_TRUE(CheckPayloadRules(m.value(), nullptr).ok());
  // strongSwan sends RESERVED fields as zero and minimal lengths, as we do: byte for byte.
  EXPECT_EQ(ToHex(EncodeMessage(m.value())), ToHex(wire));
}

TEST(MessageTest, EveryTruncationOfCharonsIkeSaInitFails) {
  const Bytes full = CharonIkeSaInit();
  ASSERT_FALSE(full.empty());
  for (size_t n = kHeaderSize; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + n);
    StoreBigEndian32(cut.data() + 24, static_cast<uint32_t>(n));
    EXPECT_FALSE(DecodeMessage(cut).ok()) << n;
  }
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
