#include "engine/esp/outbound_sa.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "engine/crypto/hash.h"
#include "engine/esp/inbound_sa.h"
#include "engine/esp/ip_packet.h"
#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using testing::Hex;
using testing::MakeParams;
using testing::PacketBuffer;
using testing::Secret;

// A published ESP packet: keys, SPI, sequence number, IV, the payload with its next header, and
// the expected packet (SPI through ICV, or through the trailer when the source has no ICV).
struct EspVector {
  const char* source;
  uint16_t encryption_id;
  uint16_t key_bits;
  Bytes key;  // with salt for AEADs
  uint16_t integrity_id;
  bool esn;
  uint32_t spi;
  uint64_t seq;
  Bytes iv;
  Bytes payload;
  uint8_t next_header;
  Bytes expected;  // from the SPI on
};

std::vector<EspVector> AeadVectors() {
  return {
      // RFC 7634 Appendix A: the ESP example (tunnel mode, IPv4 ICMP echo).
      {"RFC 7634 Appendix A", kEncrChaCha20Poly1305, 256,
       Hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3"), kAuthNone,
       false, 0x01020304, 5, Hex("1011121314151617"),
       Hex("4500 0054 a6f2 0000 4001 e778 c633 6405 c000 0205 0800 5b7a 3a08 0000 553b ec10"
           "0007 3627 0809 0a0b 0c0d 0e0f 1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223"
           "2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637"),
       4,
       Hex("01020304 00000005 1011121314151617"
           "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
           "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
           "cbec163fac469b502773f6fb94e664da9165b82829f641e0"
           "76aaa8266b7fb0f7b11b369907e1ad43")},
      // draft-mcgrew-gcm-test-01 §4 (GCM test cases for ESP), the AES-128 case with a 32-bit
      // sequence number: key feffe992... (GCM spec test case 3/4 key), salt cafebabe, the
      // GCM spec's IV facedbaddecaf888. AAD = SPI || seq (RFC 4106 §5).
      {"draft-mcgrew-gcm-test-01 AES-128 seq 0a", kEncrAesGcm16, 128,
       Hex("feffe9928665731c6d6a8f9467308308 cafebabe"), kAuthNone, false, 0x0000a5f8, 0x0a,
       Hex("facedbaddecaf888"),
       Hex("4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
           "0001000000000000037369700963796265726369747902646b0000010001"),
       1,
       Hex("0000a5f80000000afacedbaddecaf888"
           "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
           "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1"
           "83b70d3aa8bc6ee4c309e9d85a41ad4a")},
      // draft-mcgrew-gcm-test-01, AES-128 with an extended sequence number: AAD = SPI ||
      // seq high || seq low (RFC 4106 §5); only the low half 00000000 is on the wire.
      {"draft-mcgrew-gcm-test-01 AES-128 ESN 8765432100000000", kEncrAesGcm16, 128,
       Hex("4c80cdefbb5d10da906ac73c3613a634 2e443b68"), kAuthNone, true, 0x00004321,
       0x8765'4321'0000'0000ull, Hex("4956ed7e3b244cfe"),
       Hex("45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
           "00000000045f736970045f7564700373697009637962657263697479"
           "02646b0000210001"),
       1,
       Hex("00004321000000004956ed7e3b244cfe"
           "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
           "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
           "61bc17d768fd9732459018148f6cbe722fd04796562dfdb4")},
      // draft-mcgrew-gcm-test-01, AES-256, 32-bit sequence number 2.
      {"draft-mcgrew-gcm-test-01 AES-256 seq 2", kEncrAesGcm16, 256,
       Hex("abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344"), kAuthNone,
       false, 0x4a2cbfe3, 2, Hex("0102030405060708"),
       Hex("4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
           "7002400020bf0000020405b401010402"),
       1,
       Hex("4a2cbfe3000000020102030405060708"
           "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
           "748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
           "15956c96")},
      // draft-mcgrew-gcm-test-01, AES-256 with ESN ffffffffffffffff (the last number).
      {"draft-mcgrew-gcm-test-01 AES-256 ESN ffffffffffffffff", kEncrAesGcm16, 256,
       Hex("6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961 7475726e"), kAuthNone,
       true, 0x796b6963, 0xFFFF'FFFF'FFFF'FFFFull, Hex("333021696765746d"),
       Hex("45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
           "65666768696a6b6c6d6e6f7071727374"),
       1,
       Hex("796b6963ffffffff333021696765746d"
           "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
           "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
           "9fb4c053")},
  };
}

// RFC 3602 §4 cases #5 and #6: transport-mode ESP with AES-128-CBC, published without an ICV.
// Our SA adds HMAC-SHA-256-128 (any key); everything up to the ICV must match.
std::vector<EspVector> CbcVectors() {
  const Bytes key = Hex("90d382b410eeba7ad938c46cec1a82bf");
  return {
      {"RFC 3602 §4 case #5", kEncrAesCbc, 128, key, kAuthHmacSha2_256_128, false, 0x4321, 1,
       Hex("e96e8c08ab465763fd098d45dd3ff893"),
       Hex("08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
           "202122232425262728292a2b2c2d2e2f3031323334353637"),
       1,
       Hex("0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849"
           "a4870b66cc6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c"
           "538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6")},
      {"RFC 3602 §4 case #6", kEncrAesCbc, 128, key, kAuthHmacSha2_256_128, false, 0x4321, 8,
       Hex("69d08df7d203329db093fc4924e5bd80"),
       Hex("0800b5e8a80a0500a69c083d0b660e00777777777777777777777777"), 1,
       Hex("000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109"
           "689bb379d2d750c0d915dca346a89f75")},
  };
}

SaParams VectorParams(const EspVector& v) {
  SaParams p;
  p.spi = v.spi;
  p.mode = Mode::kTunnel;
  p.transform.encryption_id = v.encryption_id;
  p.transform.encryption_key_bits = v.key_bits;
  p.transform.integrity_id = v.integrity_id;
  p.transform.esn = v.esn;
  p.transform.encryption_key = Secret(v.key);
  if (v.integrity_id != kAuthNone) p.transform.integrity_key = Secret(Bytes(32, 0x33));
  return p;
}

TEST(OutboundSaTest, KnownAnswerPackets) {
  std::vector<EspVector> vectors = AeadVectors();
  for (EspVector& v : CbcVectors()) vectors.push_back(std::move(v));
  for (const EspVector& v : vectors) {
    SCOPED_TRACE(v.source);
    auto sa = OutboundSa::Create(VectorParams(v));
    ASSERT_TRUE(sa.ok()) << sa.error().ToString();
    (*sa)->SetNextSequenceForTesting(v.seq);
    PacketBuffer buf(v.payload, (*sa)->headroom(), (*sa)->max_tailroom());
    auto p = (*sa)->ProtectWithIv(0, buf.bytes.data(), buf.bytes.size(), buf.offset, buf.length,
                                  v.next_header, v.iv);
    ASSERT_TRUE(p.ok()) << p.error().ToString();
    EXPECT_EQ(p->offset, 0u);
    EXPECT_EQ(p->sequence, v.seq);
    const Bytes out(buf.bytes.begin(), buf.bytes.begin() + static_cast<long>(p->length));
    if (v.integrity_id == kAuthNone) {
      EXPECT_EQ(ToHex(out), ToHex(v.expected));
    } else {
      ASSERT_EQ(out.size(), v.expected.size() + 16);
      EXPECT_EQ(ToHex(ByteSpan(out).first(v.expected.size())), ToHex(v.expected));
    }
    EXPECT_EQ(p->length, (*sa)->ProtectedLength(v.payload.size()));
  }
}

// The same published packets, received: the inbound side authenticates and decrypts them.
TEST(OutboundSaTest, KnownAnswerPacketsDecryptInbound) {
  for (const EspVector& v : AeadVectors()) {
    SCOPED_TRACE(v.source);
    auto sa = InboundSa::Create(VectorParams(v));
    ASSERT_TRUE(sa.ok()) << sa.error().ToString();
    // Move the window next to the vector's number so the ESN high half is inferred right.
    if (v.seq > 1) (*sa)->CommitForTesting(v.seq - 1);
    Bytes packet = v.expected;
    auto r = (*sa)->Unprotect(0, packet.data(), packet.size());
    ASSERT_TRUE(std::holds_alternative<InboundSa::Unprotected>(r))
        << DropReasonName(std::get<DropReason>(r));
    const auto& u = std::get<InboundSa::Unprotected>(r);
    EXPECT_EQ(u.sequence, v.seq);
    EXPECT_EQ(u.next_header, v.next_header);
    EXPECT_EQ(ToHex(ByteSpan(packet).subspan(u.payload_offset, u.payload_length)),
              ToHex(v.payload));
  }
}

// The ICV is the leftmost half of HMAC-SHA-2 (RFC 4868 §2.6; the truncated vectors of
// §2.7.2 are checked in tests/engine/crypto/integrity_test.cc) over SPI..next header, with the
// ESN high half appended but not sent (RFC 4303 §3.3.2.2.1, RFC 4304 §2). Checked against
// untruncated one-shot HMACs over a packet assembled by hand.
TEST(OutboundSaTest, IcvIsTruncatedHmacOverTheEspPacket) {
  const auto all = testing::AllEspTransforms();
  const std::pair<size_t, crypto::Hash> cases[] = {
      {7, crypto::Hash::kSha256}, {8, crypto::Hash::kSha512}, {4, crypto::Hash::kSha384}};
  for (const auto& [index, hash] : cases) {
    for (bool esn : {false, true}) {
      SCOPED_TRACE(all[index].name + (esn ? " ESN" : ""));
      const SaParams params = MakeParams(all[index], esn);
      auto sa = OutboundSa::Create(params);
      ASSERT_TRUE(sa.ok());
      (*sa)->SetNextSequenceForTesting(0x1'0000'0002ull);
      PacketBuffer buf(Bytes(21, 0x61), (*sa)->headroom(), (*sa)->max_tailroom());
      auto p = (*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, 21, 6);
      if (!esn) {
        ASSERT_FALSE(p.ok());  // beyond 32 bits
        continue;
      }
      ASSERT_TRUE(p.ok());
      const size_t icv_size = (*sa)->transform().icv_size;
      const size_t covered = p->length - icv_size;
      Bytes data(buf.bytes.begin(), buf.bytes.begin() + static_cast<long>(covered));
      EXPECT_EQ(Load32(&data[4]), 2u);  // low half on the wire
      data.insert(data.end(), {0, 0, 0, 1});
      const Bytes full = crypto::Hmac(
          hash,
          ByteSpan(params.transform.integrity_key.data(), params.transform.integrity_key.size()),
          data);
      ASSERT_EQ(full.size(), icv_size * 2);
      EXPECT_EQ(ToHex(ByteSpan(buf.bytes).subspan(covered, icv_size)),
                ToHex(ByteSpan(full).first(icv_size)));
    }
  }
}

// ProtectParts (out of place, the payload in parts) builds the very packet Protect builds in
// place (deterministic transforms: AEADs, ESP-null), and every transform's packet decrypts to
// the concatenated parts.
TEST(OutboundSaTest, ProtectPartsMatchesProtectInPlace) {
  for (const auto& t : testing::AllEspTransforms()) {
    for (bool esn : {false, true}) {
      SCOPED_TRACE(t.name + (esn ? " esn" : ""));
      const SaParams params = MakeParams(t, esn);
      auto in_place = OutboundSa::Create(params);
      auto parts_sa = OutboundSa::Create(params);
      auto inbound = InboundSa::Create(params);
      ASSERT_TRUE(in_place.ok() && parts_sa.ok() && inbound.ok());
      const bool deterministic = t.encryption_id != kEncrAesCbc && t.encryption_id != kEncr3Des;
      for (size_t len : {0, 1, 3, 16, 17, 52, 1400, 1448}) {
        Bytes payload(len);
        for (size_t i = 0; i < len; ++i) payload[i] = static_cast<uint8_t>(i * 7 + len);
        PacketBuffer buf(payload, (*in_place)->headroom(), (*in_place)->max_tailroom());
        auto p = (*in_place)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, len, 4);
        ASSERT_TRUE(p.ok());
        const ByteSpan whole(payload);
        const size_t cut = std::min<size_t>(len, 52);  // a header, then the segment's payload
        const ByteSpan parts[] = {whole.first(cut / 2), whole.subspan(cut / 2, cut - cut / 2),
                                  whole.subspan(cut)};
        Bytes out((*parts_sa)->ProtectedLength(len) + 1, 0xEE);
        auto q = (*parts_sa)->ProtectParts(0, parts, 3, 4, out.data(), out.size() - 1);
        ASSERT_TRUE(q.ok()) << q.error().ToString();
        EXPECT_EQ(q->offset, 0u);
        EXPECT_EQ(q->length, p->length);
        EXPECT_EQ(q->sequence, p->sequence);
        EXPECT_EQ(out.back(), 0xEE);  // nothing past the capacity
        if (deterministic) {
          EXPECT_EQ(ToHex(ByteSpan(out).first(q->length)),
                    ToHex(ByteSpan(buf.bytes).subspan(p->offset, p->length)))
              << "length " << len;
        }
        auto r = (*inbound)->Unprotect(0, out.data(), q->length);
        ASSERT_TRUE(std::holds_alternative<InboundSa::Unprotected>(r));
        const auto& u = std::get<InboundSa::Unprotected>(r);
        EXPECT_EQ(u.next_header, 4);
        EXPECT_EQ(ToHex(ByteSpan(out).subspan(u.payload_offset, u.payload_length)), ToHex(whole));
      }
      // Too little room and too many parts are refused, before a sequence number is used.
      const uint64_t next = (*parts_sa)->next_sequence();
      Bytes small(20);
      const ByteSpan one[] = {ByteSpan(small)};
      EXPECT_FALSE((*parts_sa)->ProtectParts(0, one, 1, 4, small.data() + 0, 10).ok());
      const ByteSpan many[OutboundSa::kMaxParts + 1] = {};
      Bytes big(256);
      EXPECT_FALSE(
          (*parts_sa)->ProtectParts(0, many, OutboundSa::kMaxParts + 1, 4, big.data(), 256).ok());
      EXPECT_EQ((*parts_sa)->next_sequence(), next);
    }
  }
}

TEST(OutboundSaTest, DefaultPaddingIsMonotonic) {
  // RFC 4303 §2.4: 1, 2, 3, ...; ESP-null shows it in clear.
  SaParams params = MakeParams(testing::AllEspTransforms()[7], false);  // NullSha256
  auto sa = OutboundSa::Create(params);
  ASSERT_TRUE(sa.ok());
  for (size_t len = 0; len < 12; ++len) {
    PacketBuffer buf(Bytes(len, 0xAB), (*sa)->headroom(), (*sa)->max_tailroom());
    auto p = (*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, len, 17);
    ASSERT_TRUE(p.ok());
    const size_t body = p->length - kEspHeaderSize - 16;
    EXPECT_EQ(body % 4, 0u);
    const uint8_t* trailer = buf.bytes.data() + kEspHeaderSize + len;
    const size_t pad = body - len - 2;
    EXPECT_LT(pad, 4u);
    for (size_t i = 0; i < pad; ++i) EXPECT_EQ(trailer[i], i + 1);
    EXPECT_EQ(trailer[pad], pad);
    EXPECT_EQ(trailer[pad + 1], 17);
  }
}

TEST(OutboundSaTest, CbcPadsToTheBlockAndUsesFreshIvs) {
  SaParams params = MakeParams(testing::AllEspTransforms()[3], false);  // AesCbc128Sha256
  auto sa = OutboundSa::Create(params);
  ASSERT_TRUE(sa.ok());
  EXPECT_EQ((*sa)->headroom(), 8u + 16u);
  EXPECT_EQ((*sa)->max_tailroom(), 15u + 2u + 16u);
  Bytes first_iv;
  for (size_t len : {0u, 1u, 13u, 14u, 15u, 16u, 1400u}) {
    PacketBuffer buf(Bytes(len, 1), (*sa)->headroom(), (*sa)->max_tailroom());
    auto p = (*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, len, 4);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((p->length - 24 - 16) % 16, 0u) << len;
    EXPECT_EQ(p->length, (*sa)->ProtectedLength(len));
    const Bytes iv(buf.bytes.begin() + 8, buf.bytes.begin() + 24);
    EXPECT_NE(iv, first_iv);
    if (first_iv.empty()) first_iv = iv;
  }
}

TEST(OutboundSaTest, SequenceNumbersCountFromOneAndRefuseToCycle) {
  SaParams params = MakeParams(testing::AllEspTransforms()[0], false);
  auto sa = OutboundSa::Create(params);
  ASSERT_TRUE(sa.ok());
  PacketBuffer buf(Bytes(10, 0), (*sa)->headroom(), (*sa)->max_tailroom());
  auto protect = [&] {
    return (*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, 10, 4);
  };
  auto p1 = protect();
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->sequence, 1u);
  EXPECT_FALSE(p1->rekey_due);
  (*sa)->SetNextSequenceForTesting(kSeqRekeyThreshold);
  auto p2 = protect();
  ASSERT_TRUE(p2.ok());
  EXPECT_TRUE(p2->rekey_due);
  (*sa)->SetNextSequenceForTesting(kMaxSequence32);
  auto last = protect();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->sequence, kMaxSequence32);
  // RFC 4303 §3.3.3: no cycling; every further attempt fails.
  for (int i = 0; i < 3; ++i) {
    auto p = protect();
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, ErrorCode::kFailedPrecondition);
  }
}

TEST(OutboundSaTest, EsnRunsPastThirtyTwoBits) {
  SaParams params = MakeParams(testing::AllEspTransforms()[0], true);
  auto sa = OutboundSa::Create(params);
  ASSERT_TRUE(sa.ok());
  (*sa)->SetNextSequenceForTesting(kMaxSequence32);
  PacketBuffer buf(Bytes(10, 0), (*sa)->headroom(), (*sa)->max_tailroom());
  for (uint64_t expected : {kMaxSequence32, kMaxSequence32 + 1}) {
    auto p = (*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, 10, 4);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->sequence, expected);
    // RFC 4304 §2: only the low 32 bits on the wire.
    EXPECT_EQ(Bytes(buf.bytes.begin() + 4, buf.bytes.begin() + 8),
              Bytes({static_cast<uint8_t>(expected >> 24), static_cast<uint8_t>(expected >> 16),
                     static_cast<uint8_t>(expected >> 8), static_cast<uint8_t>(expected)}));
  }
  (*sa)->SetNextSequenceForTesting(0xFFFF'FFFF'FFFF'FFFFull);
  EXPECT_TRUE((*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, 10, 4).ok());
  EXPECT_FALSE((*sa)->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, 10, 4).ok());
}

TEST(OutboundSaTest, RejectsBadArguments) {
  auto sa = OutboundSa::Create(MakeParams(testing::AllEspTransforms()[0], false));
  ASSERT_TRUE(sa.ok());
  const size_t head = (*sa)->headroom(), tail = (*sa)->max_tailroom();
  PacketBuffer buf(Bytes(100, 0), head, tail);
  uint8_t* b = buf.bytes.data();
  const size_t cap = buf.bytes.size();
  EXPECT_FALSE((*sa)->Protect(1, b, cap, head, 100, 4).ok());             // worker
  EXPECT_FALSE((*sa)->Protect(0, b, cap, head - 1, 100, 4).ok());         // headroom
  EXPECT_FALSE((*sa)->Protect(0, b, head + 100 + 2, head, 100, 4).ok());  // tailroom
  EXPECT_FALSE((*sa)->Protect(0, b, cap, head, cap, 4).ok());             // past the end
  EXPECT_FALSE((*sa)->Protect(0, nullptr, cap, head, 100, 4).ok());
  EXPECT_FALSE((*sa)->ProtectWithIv(0, b, cap, head, 100, 4, Bytes(3)).ok());
  EXPECT_EQ((*sa)->next_sequence(), 1u);  // nothing consumed a number
  EXPECT_TRUE((*sa)->Protect(0, b, cap, head, 100, 4).ok());
}

TEST(OutboundSaTest, CreateRejectsBadTransforms) {
  SaParams p = MakeParams(testing::AllEspTransforms()[0], false);
  p.protocol = Protocol::kAh;
  EXPECT_FALSE(OutboundSa::Create(p).ok());
  p = MakeParams(testing::AllEspTransforms()[0], false);
  p.workers = 0;
  EXPECT_FALSE(OutboundSa::Create(p).ok());
}

TEST(OutboundSaTest, MaxPayloadForFitsTheBudget) {
  for (const auto& t : testing::AllEspTransforms()) {
    auto sa = OutboundSa::Create(MakeParams(t, false));
    ASSERT_TRUE(sa.ok()) << t.name;
    for (size_t budget : {100u, 1400u, 1441u, 1500u}) {
      const size_t p = (*sa)->MaxPayloadFor(budget);
      EXPECT_LE((*sa)->ProtectedLength(p), budget) << t.name;
      EXPECT_GT((*sa)->ProtectedLength(p + 1), budget) << t.name;
      EXPECT_LE((*sa)->ProtectedLength(p) - p, kMaxEspOverhead) << t.name;
    }
  }
}

// Several workers protect on one SA at once: every sequence number is used exactly once.
TEST(OutboundSaTest, ConcurrentWorkersGetUniqueSequenceNumbers) {
  constexpr unsigned kWorkers = 4;
  constexpr int kPerWorker = 2000;
  auto sa = OutboundSa::Create(
      MakeParams(testing::AllEspTransforms()[3], false, Mode::kTunnel, 7, kWorkers));
  ASSERT_TRUE(sa.ok());
  std::vector<std::vector<uint64_t>> seen(kWorkers);
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      PacketBuffer buf(Bytes(64, 1), (*sa)->headroom(), (*sa)->max_tailroom());
      for (int i = 0; i < kPerWorker; ++i) {
        auto p = (*sa)->Protect(w, buf.bytes.data(), buf.bytes.size(), buf.offset, 64, 4);
        if (p.ok()) seen[w].push_back(p->sequence);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<bool> used(kWorkers * kPerWorker + 1, false);
  size_t total = 0;
  for (const auto& v : seen) {
    for (uint64_t s : v) {
      ASSERT_LT(s, used.size());
      EXPECT_FALSE(used[s]) << s;
      used[s] = true;
      ++total;
    }
  }
  EXPECT_EQ(total, kWorkers * kPerWorker);
}

}  // namespace
}  // namespace ipsec::engine::esp
