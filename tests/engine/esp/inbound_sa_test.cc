#include "engine/esp/inbound_sa.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "engine/crypto/aead.h"
#include "engine/crypto/integrity.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/outbound_sa.h"
#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using testing::AllEspTransforms;
using testing::MakeParams;
using testing::NamedTransform;
using testing::PacketBuffer;

using Unprotected = InboundSa::Unprotected;

struct Pair {
  std::unique_ptr<OutboundSa> out;
  std::unique_ptr<InboundSa> in;
};

Pair MakePair(const SaParams& params) {
  auto out = OutboundSa::Create(params);
  auto in = InboundSa::Create(params);
  EXPECT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_TRUE(in.ok()) << in.error().ToString();
  if (!out.ok() || !in.ok()) return {};
  return {std::move(out).value(), std::move(in).value()};
}

// Protects `payload` and returns the ESP packet.
Bytes ProtectOne(OutboundSa& sa, const Bytes& payload, uint8_t next_header) {
  PacketBuffer buf(payload, sa.headroom(), sa.max_tailroom());
  auto p = sa.Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, buf.length, next_header);
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  if (!p.ok()) return {};
  return Bytes(buf.bytes.begin() + static_cast<long>(p->offset),
               buf.bytes.begin() + static_cast<long>(p->offset + p->length));
}

std::variant<Unprotected, DropReason> UnprotectCopy(InboundSa& sa, Bytes packet) {
  return sa.Unprotect(0, packet.data(), packet.size());
}

DropReason DropOf(const std::variant<Unprotected, DropReason>& r) {
  EXPECT_TRUE(std::holds_alternative<DropReason>(r)) << "accepted";
  return std::holds_alternative<DropReason>(r) ? std::get<DropReason>(r) : DropReason::kInternal;
}

class EveryTransform : public ::testing::TestWithParam<std::tuple<NamedTransform, bool, Mode>> {
 protected:
  SaParams Params() const {
    const auto& [t, esn, mode] = GetParam();
    return MakeParams(t, esn, mode);
  }
  uint8_t NextHeader() const {
    return std::get<2>(GetParam()) == Mode::kTunnel ? kNextHeaderIpv4 : kNextHeaderUdp;
  }
};

// Every algorithm x mode x ESN: payloads of many sizes survive the round trip.
TEST_P(EveryTransform, RoundTrip) {
  Pair sa = MakePair(Params());
  ASSERT_TRUE(sa.out && sa.in);
  uint64_t expected_seq = 0;
  for (size_t len : {0u, 1u, 2u, 3u, 7u, 8u, 15u, 16u, 17u, 63u, 64u, 100u, 1400u, 1500u}) {
    Bytes payload = testing::KeyBytes(len, static_cast<uint8_t>(len));
    Bytes packet = ProtectOne(*sa.out, payload, NextHeader());
    ASSERT_EQ(packet.size(), sa.out->ProtectedLength(len));
    auto r = sa.in->Unprotect(0, packet.data(), packet.size());
    ASSERT_TRUE(std::holds_alternative<Unprotected>(r))
        << len << ": " << DropReasonName(std::get<DropReason>(r));
    const Unprotected& u = std::get<Unprotected>(r);
    EXPECT_EQ(u.sequence, ++expected_seq);
    EXPECT_EQ(u.next_header, NextHeader());
    EXPECT_EQ(Bytes(packet.begin() + static_cast<long>(u.payload_offset),
                    packet.begin() + static_cast<long>(u.payload_offset + u.payload_length)),
              payload);
  }
  EXPECT_EQ(sa.in->highest_sequence(), expected_seq);
}

// A flipped bit anywhere is caught: in the SPI as a mismatch, elsewhere by the ICV. The
// original still goes through afterwards: failed packets do not move the window.
TEST_P(EveryTransform, TamperedByteAtEveryPosition) {
  Pair sa = MakePair(Params());
  ASSERT_TRUE(sa.out && sa.in);
  const Bytes packet = ProtectOne(*sa.out, testing::KeyBytes(45, 3), NextHeader());
  for (size_t i = 0; i < packet.size(); ++i) {
    Bytes bad = packet;
    bad[i] ^= 0x80;
    const DropReason d = DropOf(UnprotectCopy(*sa.in, bad));
    EXPECT_EQ(d, i < 4 ? DropReason::kMalformed : DropReason::kIntegrity) << "byte " << i;
  }
  EXPECT_TRUE(std::holds_alternative<Unprotected>(UnprotectCopy(*sa.in, packet)));
  EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, packet)), DropReason::kReplay);
}

TEST_P(EveryTransform, TruncatedAndExtendedPacketsAreDropped) {
  Pair sa = MakePair(Params());
  ASSERT_TRUE(sa.out && sa.in);
  const Bytes packet = ProtectOne(*sa.out, testing::KeyBytes(40, 9), NextHeader());
  const ResolvedTransform& t = sa.in->transform();
  const size_t min_length = kEspHeaderSize + t.iv_size +
                            (t.kind == ResolvedTransform::Kind::kCbcHmac ? t.block_size : 2) +
                            t.icv_size;
  for (size_t len = 0; len < packet.size(); ++len) {
    Bytes cut(packet.begin(), packet.begin() + static_cast<long>(len));
    const DropReason d = DropOf(UnprotectCopy(*sa.in, cut));
    if (len < min_length) {
      EXPECT_EQ(d, DropReason::kMalformed) << len;
    } else {
      EXPECT_TRUE(d == DropReason::kMalformed || d == DropReason::kIntegrity) << len;
    }
  }
  Bytes longer = packet;
  longer.push_back(0);
  const DropReason d = DropOf(UnprotectCopy(*sa.in, longer));
  EXPECT_TRUE(d == DropReason::kMalformed || d == DropReason::kIntegrity);
  EXPECT_TRUE(std::holds_alternative<Unprotected>(UnprotectCopy(*sa.in, packet)));
}

TEST_P(EveryTransform, ReplayAndReorder) {
  Pair sa = MakePair(Params());
  ASSERT_TRUE(sa.out && sa.in);
  std::vector<Bytes> packets;
  for (int i = 0; i < 10; ++i) packets.push_back(ProtectOne(*sa.out, Bytes(20, 1), NextHeader()));
  // Out of order within the window: all accepted once.
  for (int i : {9, 0, 5, 3, 1, 2, 4, 8, 7, 6}) {
    EXPECT_TRUE(std::holds_alternative<Unprotected>(UnprotectCopy(*sa.in, packets[i]))) << i;
  }
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, packets[i])), DropReason::kReplay);
}

std::string Name(const ::testing::TestParamInfo<EveryTransform::ParamType>& info) {
  const auto& [t, esn, mode] = info.param;
  return t.name + (esn ? "_Esn" : "_Seq32") + (mode == Mode::kTunnel ? "_Tunnel" : "_Transport");
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, EveryTransform,
                         ::testing::Combine(::testing::ValuesIn(AllEspTransforms()),
                                            ::testing::Bool(),
                                            ::testing::Values(Mode::kTunnel, Mode::kTransport)),
                         Name);

// ---- Crafted packets: authentic, but with bad contents ----------------------------------------

// Builds an ESP-null/HMAC-SHA-256 packet around `body` (payload, padding and trailer as given),
// with a valid ICV, the way a peer with our keys could.
Bytes CraftNullPacket(const SaParams& params, uint32_t seq, const Bytes& body) {
  Bytes packet(8 + body.size() + 16, 0);
  Store32(packet.data(), params.spi);
  Store32(packet.data() + 4, seq);
  std::copy(body.begin(), body.end(), packet.begin() + 8);
  auto mac = crypto::Integrity::Create(
      crypto::IntegrityAlgorithm::kHmacSha256_128,
      ByteSpan(params.transform.integrity_key.data(), params.transform.integrity_key.size()));
  EXPECT_TRUE(mac.ok());
  EXPECT_TRUE(
      mac->Compute(ByteSpan(packet.data(), 8 + body.size()), packet.data() + 8 + body.size()).ok());
  return packet;
}

// The same with AES-GCM-128 (RFC 4106: nonce salt || IV, AAD SPI || seq).
Bytes CraftGcmPacket(const SaParams& params, uint32_t seq, const Bytes& body) {
  const SecretBytes& k = params.transform.encryption_key;
  auto aead = crypto::Aead::Create(crypto::AeadAlgorithm::kAes128Gcm16, ByteSpan(k.data(), 16));
  EXPECT_TRUE(aead.ok());
  Bytes packet(16, 0);
  Store32(packet.data(), params.spi);
  Store32(packet.data() + 4, seq);
  Store32(packet.data() + 12, seq);  // IV = 0 || seq
  uint8_t nonce[12];
  std::memcpy(nonce, k.data() + 16, 4);
  std::memcpy(nonce + 4, packet.data() + 8, 8);
  packet.resize(16 + body.size() + 16);
  EXPECT_TRUE(aead->Seal(nonce, ByteSpan(packet.data(), 8), body, packet.data() + 16).ok());
  return packet;
}

TEST(InboundSaTest, PaddingChecks) {
  for (bool gcm : {false, true}) {
    SCOPED_TRACE(gcm ? "AES-GCM-128" : "ESP-null");
    const SaParams params = MakeParams(AllEspTransforms()[gcm ? 0 : 7], false);
    auto in = InboundSa::Create(params);
    ASSERT_TRUE(in.ok());
    auto craft = [&](uint32_t seq, const Bytes& body) {
      return gcm ? CraftGcmPacket(params, seq, body) : CraftNullPacket(params, seq, body);
    };
    // Good: payload 'ab', padding 1 2, pad length 2, next header 4.
    auto ok = UnprotectCopy(**in, craft(1, {0xab, 0xcd, 1, 2, 2, 4}));
    ASSERT_TRUE(std::holds_alternative<Unprotected>(ok));
    EXPECT_EQ(std::get<Unprotected>(ok).payload_length, 2u);
    // Padding not 1, 2 (RFC 4303 §2.4).
    EXPECT_EQ(DropOf(UnprotectCopy(**in, craft(2, {0xab, 0xcd, 1, 3, 2, 4}))),
              DropReason::kPadding);
    EXPECT_EQ(DropOf(UnprotectCopy(**in, craft(3, {0xab, 0xcd, 0, 0, 2, 4}))),
              DropReason::kPadding);
    // Pad length longer than the body.
    EXPECT_EQ(DropOf(UnprotectCopy(**in, craft(4, {0xab, 0xcd, 1, 2, 5, 4}))),
              DropReason::kPadding);
    EXPECT_EQ(DropOf(UnprotectCopy(**in, craft(5, {1, 2, 3, 255, 4}))), DropReason::kPadding);
    // Zero padding and the whole body as padding are fine.
    EXPECT_TRUE(std::holds_alternative<Unprotected>(UnprotectCopy(**in, craft(6, {9, 9, 0, 6}))));
    EXPECT_TRUE(std::holds_alternative<Unprotected>(UnprotectCopy(**in, craft(7, {1, 2, 2, 6}))));
    // RFC 4303 §2.6: next header 59 is a dummy packet: dropped, counted apart, and (being
    // authentic) its number is used up.
    const Bytes dummy = craft(8, {1, 2, 3, 4, 4, kNextHeaderNone});
    EXPECT_EQ(DropOf(UnprotectCopy(**in, dummy)), DropReason::kDummy);
    EXPECT_EQ(DropOf(UnprotectCopy(**in, dummy)), DropReason::kReplay);
    // Authentic packets with bad padding still count as received (committed after the ICV).
    EXPECT_EQ(DropOf(UnprotectCopy(**in, craft(2, {0xab, 0xcd, 1, 3, 2, 4}))), DropReason::kReplay);
  }
}

TEST(InboundSaTest, WrongSpiAndZeroSequence) {
  const SaParams params = MakeParams(AllEspTransforms()[7], false);
  auto in = InboundSa::Create(params);
  ASSERT_TRUE(in.ok());
  SaParams other = params;
  other.spi = 0x99999999;
  EXPECT_EQ(DropOf(UnprotectCopy(**in, CraftNullPacket(other, 1, {0, 4}))), DropReason::kMalformed);
  EXPECT_EQ(DropOf(UnprotectCopy(**in, CraftNullPacket(params, 0, {0, 4}))), DropReason::kReplay);
  EXPECT_EQ(DropOf((*in)->Unprotect(0, nullptr, 100)), DropReason::kMalformed);
  Bytes p = CraftNullPacket(params, 1, {0, 4});
  EXPECT_EQ(DropOf((*in)->Unprotect(1, p.data(), p.size())), DropReason::kInternal);  // worker
}

TEST(InboundSaTest, OldPacketsLeftOfTheWindow) {
  SaParams params = MakeParams(AllEspTransforms()[0], false);
  params.replay_window = 1024;
  Pair sa = MakePair(params);
  ASSERT_TRUE(sa.out && sa.in);
  const Bytes first = ProtectOne(*sa.out, Bytes(10, 1), 4);
  for (int i = 0; i < 1100; ++i) {
    Bytes p = ProtectOne(*sa.out, Bytes(10, 1), 4);
    if (i == 1099) {
      EXPECT_TRUE(std::holds_alternative<Unprotected>(UnprotectCopy(*sa.in, p)));
    }
  }
  EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, first)), DropReason::kReplay);
}

// ESN across the 32-bit wrap: the receiver infers the high half (RFC 4303 Appendix A), which
// is in the ICV but not on the wire (RFC 4304 §2).
TEST(InboundSaTest, EsnAcrossTheWrap) {
  for (const NamedTransform& t : AllEspTransforms()) {
    SCOPED_TRACE(t.name);
    Pair sa = MakePair(MakeParams(t, true));
    ASSERT_TRUE(sa.out && sa.in);
    sa.out->SetNextSequenceForTesting(kMaxSequence32 - 2);
    sa.in->CommitForTesting(kMaxSequence32 - 3);
    std::vector<Bytes> packets;
    for (int i = 0; i < 6; ++i) packets.push_back(ProtectOne(*sa.out, Bytes(33, 7), 4));
    // Deliver the post-wrap ones first, then the late pre-wrap ones.
    for (int i : {3, 4, 0, 5, 1, 2}) {
      auto r = UnprotectCopy(*sa.in, packets[i]);
      ASSERT_TRUE(std::holds_alternative<Unprotected>(r)) << i;
      EXPECT_EQ(std::get<Unprotected>(r).sequence, kMaxSequence32 - 2 + i);
    }
  }
}

// Without ESN a sender that wrongly kept counting would be refused by the receiver too.
TEST(InboundSaTest, EsnMismatchFailsIntegrity) {
  Pair sender = MakePair(MakeParams(AllEspTransforms()[0], true));
  Pair receiver = MakePair(MakeParams(AllEspTransforms()[0], false));
  sender.out->SetNextSequenceForTesting(kMaxSequence32 + 5);
  const Bytes p = ProtectOne(*sender.out, Bytes(10, 1), 4);
  EXPECT_EQ(DropOf(UnprotectCopy(*receiver.in, p)), DropReason::kIntegrity);
}

// Workers decrypt in parallel; the window is shared: each number is accepted exactly once.
TEST(InboundSaTest, ConcurrentWorkersAcceptEachPacketOnce) {
  constexpr unsigned kWorkers = 4;
  Pair sa = MakePair(MakeParams(AllEspTransforms()[3], false, Mode::kTunnel, 0x1234, kWorkers));
  ASSERT_TRUE(sa.out && sa.in);
  std::vector<Bytes> packets;
  for (int i = 0; i < 500; ++i) packets.push_back(ProtectOne(*sa.out, Bytes(200, 2), 4));
  std::atomic<int> accepted{0}, replayed{0}, other{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (const Bytes& p : packets) {  // every worker tries every packet
        Bytes copy = p;
        auto r = sa.in->Unprotect(w, copy.data(), copy.size());
        if (std::holds_alternative<Unprotected>(r)) {
          ++accepted;
        } else if (std::get<DropReason>(r) == DropReason::kReplay) {
          ++replayed;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 500);
  EXPECT_EQ(replayed.load(), 500 * (kWorkers - 1));
  EXPECT_EQ(other.load(), 0);
}

TEST(InboundSaTest, DropReasonNames) {
  EXPECT_STREQ(DropReasonName(DropReason::kReplay), "replay");
  EXPECT_STREQ(DropReasonName(DropReason::kIntegrity), "integrity");
  EXPECT_STREQ(DropReasonName(DropReason::kDummy), "dummy");
  EXPECT_EQ(static_cast<size_t>(DropReason::kInternal) + 1, kDropReasonCount);
}

}  // namespace
}  // namespace ipsec::engine::esp
