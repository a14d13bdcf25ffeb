#include "engine/ike/codec/fragments.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::CountingRandom;
using testing::Filled;
using testing::Secret;

SkKeys GcmKeys() {
  return SkKeys::FromKeymat(EncrId::kAesGcm16, 256, Secret(Filled(36, 7)), IntegId::kNone, {});
}
SkKeys CbcKeys() {
  return SkKeys::FromKeymat(EncrId::kAesCbc, 128, Secret(Filled(16, 7)), IntegId::kHmacSha2_256_128,
                            Secret(Filled(32, 8)));
}

Header AuthHeader() {
  Header h;
  h.initiator_spi = 0xaaaaaaaaaaaaaaaaull;
  h.responder_spi = 0xbbbbbbbbbbbbbbbbull;
  h.exchange_type = ExchangeType::kIkeAuth;
  h.flags = kFlagResponse;
  h.message_id = 1;
  return h;
}

// SK {IDr, CERT (a 3000-octet certificate), AUTH, SA, TSi, TSr}
std::vector<PayloadEntry> BigInner() {
  return {
      testing::Entry(PayloadType::kIdr, IdPayload{IdType::kFqdn, {'r'}}),
      testing::Entry(PayloadType::kCert,
                     CertPayload{CertEncoding::kX509Signature, Filled(3000, 0xce)}),
      testing::Entry(PayloadType::kAuth, AuthPayload{AuthMethod::kRsaSignature, Filled(256, 1)}),
      testing::Entry(PayloadType::kSa, SaPayload{{testing::CbcEspProposal()}}),
      testing::Entry(PayloadType::kTsi, testing::AnyTs4()),
      testing::Entry(PayloadType::kTsr, testing::AnyTs4()),
  };
}

std::vector<Fragment> DecodeAll(const std::vector<Bytes>& wires, const SkKeys& keys) {
  std::vector<Fragment> out;
  for (const Bytes& wire : wires) {
    Result<Message> m = DecodeMessage(wire);
    EXPECT_TRUE(m.ok()) << m.error().ToString();
    if (!m.ok()) return {};
    EXPECT_EQ(m->header.message_id, 1u);
    EXPECT_TRUE(m->payloads.empty());
    Result<Fragment> f = DecodeFragment(wire, *m, keys);
    EXPECT_TRUE(f.ok()) << f.error().ToString();
    if (!f.ok()) return {};
    out.push_back(std::move(f).value());
  }
  return out;
}

TEST(FragmentsTest, RoundTripInAnyOrder) {
  const Bytes inner = EncodePayloadChain(BigInner());
  for (const SkKeys& keys : {GcmKeys(), CbcKeys()}) {
    CountingRandom random;
    Result<std::vector<Bytes>> wires =
        EncodeFragments(AuthHeader(), PayloadType::kIdr, inner, keys, random, 576);
    ASSERT_TRUE(wires.ok()) << wires.error().ToString();
    ASSERT_GE(wires->size(), 6u);
    for (const Bytes& w : *wires) EXPECT_LE(w.size(), 576u);
    EXPECT_GE(wires->front().size(), 560u);  // fragments are filled
    std::vector<Fragment> fragments = DecodeAll(*wires, keys);
    ASSERT_EQ(fragments.size(), wires->size());
    EXPECT_EQ(fragments[0].first_inner, PayloadType::kIdr);
    EXPECT_EQ(fragments[1].first_inner, PayloadType::kNone);
    EXPECT_EQ((*wires)[1][28], 0);  // Next Payload of later fragments is zero on the wire

    std::mt19937 shuffle(42);
    for (int round = 0; round < 5; ++round) {
      std::shuffle(fragments.begin(), fragments.end(), shuffle);
      FragmentAssembler assembler;
      for (size_t i = 0; i < fragments.size(); ++i) {
        Result<bool> done = assembler.Add(fragments[i]);
        ASSERT_TRUE(done.ok());
        EXPECT_EQ(*done, i + 1 == fragments.size());
      }
      Result<ReassembledMessage> whole = assembler.Take();
      ASSERT_TRUE(whole.ok());
      EXPECT_EQ(whole->first_inner, PayloadType::kIdr);
      EXPECT_EQ(whole->inner_payloads, inner);
      Result<std::vector<PayloadEntry>> payloads =
          DecodePayloadChain(whole->first_inner, whole->inner_payloads);
      ASSERT_TRUE(payloads.ok());
      EXPECT_EQ(*payloads, BigInner());
      EXPECT_FALSE(assembler.complete());  // Take resets
    }
  }
}

TEST(FragmentsTest, MissingAndDuplicateFragments) {
  CountingRandom random;
  Result<std::vector<Bytes>> wires = EncodeFragments(
      AuthHeader(), PayloadType::kIdr, EncodePayloadChain(BigInner()), GcmKeys(), random, 1280);
  ASSERT_TRUE(wires.ok());
  std::vector<Fragment> fragments = DecodeAll(*wires, GcmKeys());
  ASSERT_GE(fragments.size(), 3u);
  FragmentAssembler assembler;
  for (size_t i = 0; i + 1 < fragments.size(); ++i) {
    ASSERT_FALSE(*assembler.Add(fragments[i]));
    ASSERT_FALSE(*assembler.Add(fragments[i]));  // duplicate: ignored
  }
  EXPECT_EQ(assembler.received(), fragments.size() - 1);
  EXPECT_FALSE(assembler.complete());
  Result<ReassembledMessage> early = assembler.Take();
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(CodecErrorOf(early.error()), CodecError::kBadFragment);
  EXPECT_TRUE(*assembler.Add(fragments.back()));
  EXPECT_TRUE(assembler.Take().ok());
}

TEST(FragmentsTest, RefragmentationRestartsAndStaleFragmentsAreIgnored) {
  const Bytes inner = EncodePayloadChain(BigInner());
  CountingRandom random;
  std::vector<Fragment> big = DecodeAll(
      *EncodeFragments(AuthHeader(), PayloadType::kIdr, inner, GcmKeys(), random, 1280), GcmKeys());
  std::vector<Fragment> small = DecodeAll(
      *EncodeFragments(AuthHeader(), PayloadType::kIdr, inner, GcmKeys(), random, 576), GcmKeys());
  ASSERT_GT(small.size(), big.size());
  FragmentAssembler assembler;
  ASSERT_FALSE(*assembler.Add(big[0]));
  ASSERT_FALSE(*assembler.Add(small[1]));  // more fragments: the peer re-fragmented
  EXPECT_EQ(assembler.total(), small.size());
  EXPECT_EQ(assembler.received(), 1);
  ASSERT_FALSE(*assembler.Add(big[1]));  // stale
  EXPECT_EQ(assembler.received(), 1);
  for (const Fragment& f : small) ASSERT_TRUE(assembler.Add(f).ok());
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.Take()->inner_payloads, inner);
}

TEST(FragmentsTest, SmallMessagesMakeOneFragment) {
  CountingRandom random;
  Result<std::vector<Bytes>> wires =
      EncodeFragments(AuthHeader(), PayloadType::kNone, {}, CbcKeys(), random, 1280);
  ASSERT_TRUE(wires.ok());
  ASSERT_EQ(wires->size(), 1u);
  std::vector<Fragment> f = DecodeAll(*wires, CbcKeys());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].number, 1);
  EXPECT_EQ(f[0].total, 1);
  EXPECT_TRUE(f[0].content.empty());
}

TEST(FragmentsTest, LimitsAndTampering) {
  CountingRandom random;
  const Bytes inner = EncodePayloadChain(BigInner());
  Result<std::vector<Bytes>> tiny =
      EncodeFragments(AuthHeader(), PayloadType::kIdr, inner, GcmKeys(), random, 60);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(CodecErrorOf(tiny.error()), CodecError::kTooLarge);
  const Bytes huge(60000, 0);
  Result<std::vector<Bytes>> many =
      EncodeFragments(AuthHeader(), PayloadType::kIdr, huge, GcmKeys(), random, 300);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(CodecErrorOf(many.error()), CodecError::kTooLarge);

  Result<std::vector<Bytes>> wires =
      EncodeFragments(AuthHeader(), PayloadType::kIdr, inner, CbcKeys(), random, 576);
  ASSERT_TRUE(wires.ok());
  Bytes bad = (*wires)[2];
  StoreBigEndian16(bad.data() + 32, 1);  // Fragment Number: covered by the ICV
  Result<Message> m = DecodeMessage(bad);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(CodecErrorOf(DecodeFragment(bad, *m, CbcKeys()).error()), CodecError::kIntegrity);

  Message sk;
  sk.encrypted = EncryptedPayload{};
  EXPECT_EQ(CodecErrorOf(DecodeFragment(bad, sk, CbcKeys()).error()), CodecError::kInvalidSyntax);
}

TEST(FragmentsTest, AssemblerBounds) {
  FragmentAssembler assembler;
  EXPECT_EQ(CodecErrorOf(assembler.Add(Fragment{0, 2, PayloadType::kNone, {}}).error()),
            CodecError::kBadFragment);
  EXPECT_EQ(CodecErrorOf(assembler.Add(Fragment{3, 2, PayloadType::kNone, {}}).error()),
            CodecError::kBadFragment);
  EXPECT_EQ(
      CodecErrorOf(assembler.Add(Fragment{1, kMaxFragments + 1, PayloadType::kNone, {}}).error()),
      CodecError::kBadFragment);
  const size_t part = kMaxReassembledSize / 3 + 1;
  ASSERT_TRUE(assembler.Add(Fragment{1, 4, PayloadType::kSa, Bytes(part, 1)}).ok());
  ASSERT_TRUE(assembler.Add(Fragment{2, 4, PayloadType::kNone, Bytes(part, 2)}).ok());
  Result<bool> over = assembler.Add(Fragment{3, 4, PayloadType::kNone, Bytes(part, 3)});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(CodecErrorOf(over.error()), CodecError::kTooLarge);
  EXPECT_EQ(assembler.total(), 0);  // reset
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
