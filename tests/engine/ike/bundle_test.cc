// FAQ 46's AH+ESP bundle negotiated between two in-process peers (engine/ike/bundle.h): one
// child SA whose ESP pair has an AH pair over it, keyed in RFC 7296 §2.17's order, rekeyed and
// deleted as one, refused across a NAT and by a peer whose method is not ah+esp; plus the
// notification's codec and the proposal choice.
#include "engine/ike/bundle.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/ike/keys.h"
#include "engine/ike/proposals.h"
#include "tests/engine/ike/rekey_fixture.h"

namespace ipsec::engine::ike {
namespace {

using codec::IntegId;
using dataplane::SaDirection;
using dataplane::SaProtocol;
using testing::IkePeer;

policy::SecurityMethod Bundle(
    policy::IntegrityAlgorithm ah = policy::IntegrityAlgorithm::kHmacSha256_128) {
  policy::SecurityMethod m;  // AES-GCM-16-128 ESP
  m.protocol = policy::IpsecProtocol::kAhEsp;
  m.ah_integrity = ah;
  return m;
}

policy::SecurityMethod Esp() { return policy::SecurityMethod{}; }

class BundleTest : public RekeyFixture {
 protected:
  void ConfigureMethods(std::vector<policy::SecurityMethod> a,
                        std::vector<policy::SecurityMethod> b) {
    auto ca = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
    auto cb = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
    ca->rules[0].security_methods = std::move(a);
    cb->rules[0].security_methods = std::move(b);
    net_.a.manager->SetConfig(ca);
    net_.b.manager->SetConfig(cb);
    configured_ = true;
  }
  static std::vector<dataplane::SaConfig> Of(const IkePeer& p, SaProtocol protocol) {
    std::vector<dataplane::SaConfig> out;
    for (const auto& sa : p.backend.Sas()) {
      if (sa.protocol == protocol) out.push_back(sa);
    }
    return out;
  }
  // Each side: one ESP pair and one AH pair, all marked bundle, one reqid; each SA's partner at
  // the other side (same protocol and SPI, other direction) has the same keys.
  void ExpectBundlePaired() {
    for (auto [x, y] : {std::pair{&net_.a, &net_.b}, std::pair{&net_.b, &net_.a}}) {
      auto sas = x->backend.Sas();
      ASSERT_EQ(sas.size(), 4u);
      for (const auto& sa : sas) {
        EXPECT_TRUE(sa.bundle);
        EXPECT_EQ(sa.reqid, sas[0].reqid);
        auto peer = y->backend.FindSa(sa.protocol, sa.spi);
        ASSERT_TRUE(peer.has_value()) << "SPI " << sa.spi << " has no partner";
        EXPECT_NE(peer->direction, sa.direction);
        EXPECT_TRUE(peer->algorithms.encryption_key == sa.algorithms.encryption_key);
        EXPECT_TRUE(peer->algorithms.integrity_key == sa.algorithms.integrity_key);
      }
      auto ah = Of(*x, SaProtocol::kAh);
      auto esp = Of(*x, SaProtocol::kEsp);
      ASSERT_EQ(ah.size(), 2u);
      ASSERT_EQ(esp.size(), 2u);
      for (const auto& a : ah) {
        EXPECT_EQ(a.algorithms.encryption_id, 0);
        EXPECT_EQ(a.algorithms.integrity_id, static_cast<uint16_t>(IntegId::kHmacSha2_256_128));
        EXPECT_EQ(a.algorithms.integrity_key.size(), 32u);
        EXPECT_FALSE(a.udp_encapsulation);
      }
      for (const auto& e : esp) {
        EXPECT_EQ(e.algorithms.encryption_id, 20);           // AES-GCM-16
        EXPECT_EQ(e.algorithms.encryption_key.size(), 20u);  // key || salt
      }
    }
  }
};

TEST_F(BundleTest, BothSidesAhEspGetAnEspPairWithAnAhPair) {
  ConfigureMethods({Bundle()}, {Bundle()});
  Establish();
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  ExpectBundlePaired();
  // The ESP pair's SPIs are the child SA's; the AH pair's beside them.
  for (IkePeer* p : {&net_.a, &net_.b}) {
    auto c = Children(*p);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].protocol, "ah+esp");
    EXPECT_EQ(c[0].algorithms, "esp:aes128gcm16-noesn+ah:sha256");
    ASSERT_TRUE(p->backend.FindSa(SaProtocol::kEsp, c[0].spi_in).has_value());
    ASSERT_TRUE(p->backend.FindSa(SaProtocol::kAh, c[0].ah_spi_in).has_value());
    EXPECT_EQ(p->backend.FindSa(SaProtocol::kAh, c[0].ah_spi_in)->direction, SaDirection::kInbound);
    EXPECT_EQ(p->backend.FindSa(SaProtocol::kAh, c[0].ah_spi_out)->direction,
              SaDirection::kOutbound);
  }
  EXPECT_EQ(Children(net_.a)[0].ah_spi_in, Children(net_.b)[0].ah_spi_out);
  // The AH pair's keys are not the ESP pair's (§2.17: each SA has its own).
  auto ah = Of(net_.a, SaProtocol::kAh);
  auto esp = Of(net_.a, SaProtocol::kEsp);
  EXPECT_FALSE(ah[0].algorithms.integrity_key == ah[1].algorithms.integrity_key);
  for (const auto& e : esp) {
    for (const auto& a : ah) {
      EXPECT_FALSE(SecretBytes(std::string_view(
                       reinterpret_cast<const char*>(e.algorithms.encryption_key.data()), 16)) ==
                   SecretBytes(std::string_view(
                       reinterpret_cast<const char*>(a.algorithms.integrity_key.data()), 16)));
    }
  }
  // The outbound ESP SA goes in after its AH partner (the data path never finds it alone).
  std::vector<SaProtocol> out_order;
  for (const auto& sa : net_.a.backend.Sas()) {
    if (sa.direction == SaDirection::kOutbound) out_order.push_back(sa.protocol);
  }
  EXPECT_EQ(out_order, (std::vector<SaProtocol>{SaProtocol::kAh, SaProtocol::kEsp}));
}

TEST_F(BundleTest, KeysAreTakenAhFirstThenEspInEachDirection) {
  // RFC 7296 §2.17: i->r keys before r->i; within a direction in header order, AH then ESP.
  // prf+ output does not depend on its length, so the bundle's KEYMAT starts like the plain
  // ESP SA's: AH_i || ENCR_i || INTEG_i == (ESP alone) ENCR_i || INTEG_i || ...
  ChildAlgorithms esp;
  esp.encryption = codec::EncrId::kAesCbc;
  esp.encryption_key_bits = 128;
  esp.integrity = IntegId::kHmacSha2_256_128;
  ChildAlgorithms bundle = esp;
  bundle.ah_integrity = IntegId::kHmacSha2_256_128;
  const SecretBytes sk_d(std::string(32, '\x42'));
  const Bytes ni(32, 1), nr(32, 2);
  auto plain = DeriveChildKeys(esp, codec::PrfId::kHmacSha2_256, sk_d, nullptr, ni, nr);
  auto both = DeriveChildKeys(bundle, codec::PrfId::kHmacSha2_256, sk_d, nullptr, ni, nr);
  ASSERT_TRUE(plain.ok() && both.ok());
  auto bytes = [](std::initializer_list<const SecretBytes*> parts) {
    std::string s;
    for (const SecretBytes* p : parts)
      s.append(reinterpret_cast<const char*>(p->data()), p->size());
    return s;
  };
  ASSERT_EQ(both->ah_integrity_i.size(), 32u);
  ASSERT_EQ(both->ah_integrity_r.size(), 32u);
  // 48 octets of each: AH_i(32) ENCR_i(16) vs ENCR_i(16) INTEG_i(32).
  EXPECT_EQ(bytes({&both->ah_integrity_i, &both->encryption_i}),
            bytes({&plain->encryption_i, &plain->integrity_i}));
  // Then INTEG_i(32) of the bundle is the plain's ENCR_r(16) and the start of INTEG_r.
  EXPECT_EQ(bytes({&both->integrity_i}).substr(0, 16), bytes({&plain->encryption_r}));
  EXPECT_TRUE(plain->ah_integrity_i.empty());
}

TEST_F(BundleTest, RekeyReplacesAllFourSasAndDeleteNamesBothProtocols) {
  ConfigureMethods({Bundle()}, {Bundle()});
  Establish();
  const auto before = Children(net_.a)[0];
  net_.a.backend.ClearCalls();
  net_.b.backend.ClearCalls();
  ASSERT_TRUE(net_.a.manager->Rekey(before.id, net_.now).ok());
  EXPECT_EQ(net_.DeliverAll(), 4);
  auto after = Children(net_.a);
  ASSERT_EQ(after.size(), 1u) << net_.a.observer.Log();
  EXPECT_EQ(after[0].id, before.id);
  EXPECT_EQ(after[0].protocol, "ah+esp");
  EXPECT_NE(after[0].spi_in, before.spi_in);
  EXPECT_NE(after[0].ah_spi_in, before.ah_spi_in);
  ExpectBundlePaired();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    auto calls = p->backend.Calls();
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "AddSa"), 4) << p->observer.Log();
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "DeleteSa"), 4) << p->observer.Log();
    EXPECT_EQ(p->observer.child_down, 0);
  }
  EXPECT_FALSE(net_.a.backend.FindSa(SaProtocol::kAh, before.ah_spi_in).has_value());
  EXPECT_FALSE(net_.b.backend.FindSa(SaProtocol::kAh, before.ah_spi_out).has_value());

  // Rekeyed from the other side (the responder of this one held its outbound SAs back).
  ASSERT_TRUE(net_.b.manager->Rekey(Children(net_.b)[0].id, net_.now).ok());
  net_.DeliverAll();
  ExpectBundlePaired();

  ASSERT_TRUE(net_.b.manager->Delete(Children(net_.b)[0].id, net_.now).ok());
  net_.DeliverAll();
  EXPECT_TRUE(net_.a.backend.Sas().empty()) << ::testing::PrintToString(net_.a.backend.CallLog());
  EXPECT_TRUE(net_.b.backend.Sas().empty());
  EXPECT_TRUE(Children(net_.a).empty());
}

TEST_F(BundleTest, AnAhSoftExpiryRekeysTheChildSa) {
  ConfigureMethods({Bundle()}, {Bundle()});
  Establish();
  const auto before = Children(net_.a)[0];
  ASSERT_TRUE(net_.a.backend.FireExpire(SaProtocol::kAh, before.ah_spi_out, /*hard=*/false));
  net_.DeliverAll();
  auto after = Children(net_.a);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].ah_spi_in, before.ah_spi_in) << net_.a.observer.Log();
  EXPECT_EQ(net_.a.observer.child_rekeys, 1);
  ExpectBundlePaired();
}

TEST_F(BundleTest, ResponderWithEspOnlyRefusesABundle) {
  ConfigureMethods({Bundle()}, {Esp()});
  ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();  // the IKE SA stands
  EXPECT_EQ(net_.a.observer.child_up, 0);
  EXPECT_EQ(net_.b.observer.child_up, 0);
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.b.backend.Sas().empty());
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kNoProposalChosen)) << net_.a.observer.Log();
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty()) << "the AH SPI is given back";
}

TEST(BundleRefusalTest, InitiatorEspOnlyIsNotAnsweredWithABundle) {
  testing::TwoPeers net;
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  b->rules[0].security_methods = {Bundle()};
  net.a.manager->SetConfig(a);
  net.b.manager->SetConfig(b);
  ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
  net.DeliverAll();
  EXPECT_EQ(net.a.observer.ike_up, 1);
  EXPECT_EQ(net.a.observer.child_up, 0);
  EXPECT_TRUE(net.b.backend.Sas().empty());
  EXPECT_TRUE(net.b.backend.ReservedSpis().empty());
}

TEST_F(BundleTest, BundleThenEspFallsBackToEspAcrossANatAndAloneIsRefused) {
  ConfigureMethods({Bundle(), Esp()}, {Bundle(), Esp()});
  net_.PutABehindNat();
  Establish();
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    ASSERT_EQ(p->backend.Sas().size(), 2u);
    for (const auto& sa : p->backend.Sas()) {
      EXPECT_EQ(sa.protocol, SaProtocol::kEsp);
      EXPECT_FALSE(sa.bundle);
      EXPECT_TRUE(sa.udp_encapsulation);
    }
  }
  EXPECT_EQ(Children(net_.a)[0].protocol, "esp");
}

TEST(BundleNatTest, BundleAloneAcrossANatIsRefused) {
  testing::TwoPeers net;
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  a->rules[0].security_methods = {Bundle()};
  b->rules[0].security_methods = {Bundle()};
  net.a.manager->SetConfig(a);
  net.b.manager->SetConfig(b);
  net.PutABehindNat();
  ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
  net.DeliverAll();
  EXPECT_EQ(net.a.observer.ike_up, 1) << net.a.observer.Log();
  EXPECT_EQ(net.a.observer.child_up, 0);
  EXPECT_TRUE(net.a.backend.Sas().empty());
  EXPECT_TRUE(net.b.backend.Sas().empty());
}

// --- The notification and the proposal choice, without peers.

TEST(BundleNotifyTest, RoundTripsAndRefusesMalformedOnes) {
  BundleNotify b{0x01020304, {{1, IntegId::kHmacSha2_256_128}, {3, IntegId::kHmacSha2_512_256}}};
  codec::NotifyPayload n = ToNotify(b);
  EXPECT_EQ(n.type, kAhEspBundleNotify);
  EXPECT_GE(static_cast<uint16_t>(n.type), 40960);  // private use, RFC 7296 §3.10.1
  EXPECT_EQ(n.protocol, codec::ProtocolId::kAh);
  EXPECT_EQ(n.spi, (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(n.data, (Bytes{1, 0, 0, 12, 3, 0, 0, 14}));
  auto back = ParseBundleNotify(n);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, b);
  EXPECT_EQ(BundleIntegrityFor(&*back, 3), IntegId::kHmacSha2_512_256);
  EXPECT_FALSE(BundleIntegrityFor(&*back, 2).has_value());
  EXPECT_FALSE(BundleIntegrityFor(nullptr, 1).has_value());

  auto bad = [&](auto edit) {
    codec::NotifyPayload m = n;
    edit(m);
    return ParseBundleNotify(m);
  };
  EXPECT_FALSE(bad([](auto& m) { m.protocol = codec::ProtocolId::kEsp; }).ok());
  EXPECT_FALSE(bad([](auto& m) { m.spi = {1, 2, 3}; }).ok());
  EXPECT_FALSE(bad([](auto& m) { m.spi = {0, 0, 0, 0}; }).ok());
  EXPECT_FALSE(bad([](auto& m) { m.data.clear(); }).ok());
  EXPECT_FALSE(bad([](auto& m) { m.data.pop_back(); }).ok());
  EXPECT_FALSE(bad([](auto& m) { m.data[1] = 1; }).ok());
  EXPECT_FALSE(bad([](auto& m) { m.data[2] = m.data[3] = 0; }).ok());
}

TEST(BundleProposalTest, ChoiceAndReplyCheck) {
  std::vector<policy::SecurityMethod> methods = {Bundle(), Esp()};
  codec::SaPayload offer = MakeChildOffer(methods, 0x1000, codec::DhGroup::kNone);
  auto bundle = MakeBundleOffer(methods, 0x2000);
  ASSERT_TRUE(bundle.has_value());
  ASSERT_EQ(bundle->entries.size(), 1u);
  EXPECT_EQ(bundle->entries[0], (BundleEntry{1, IntegId::kHmacSha2_256_128}));
  EXPECT_FALSE(MakeBundleOffer({Esp()}, 0x2000).has_value());

  // A responder with ah+esp chooses #1 as a bundle; with esp only, #2 (not the bundle's).
  auto with_bundle = ChooseChildProposal(offer, {Bundle()}, {}, &*bundle);
  ASSERT_TRUE(with_bundle.ok()) << with_bundle.error().ToString();
  EXPECT_EQ(with_bundle->reply.number, 1);
  EXPECT_EQ(with_bundle->algorithms.ah_integrity, IntegId::kHmacSha2_256_128);
  auto esp_only = ChooseChildProposal(offer, {Esp()}, {}, &*bundle);
  ASSERT_TRUE(esp_only.ok());
  EXPECT_EQ(esp_only->reply.number, 2);
  EXPECT_FALSE(esp_only->algorithms.bundle());
  // Another AH integrity, or no notification at all: not a match.
  EXPECT_FALSE(ChooseChildProposal(offer, {Bundle(policy::IntegrityAlgorithm::kHmacSha384_192)}, {},
                                   &*bundle)
                   .ok());
  EXPECT_FALSE(ChooseChildProposal(offer, {Bundle()}, {}, nullptr).ok());

  // The initiator's check of the reply.
  codec::SaPayload reply{{with_bundle->reply}};
  reply.proposals[0].spi = {0, 0, 0x30, 0};
  BundleNotify answer{0x4000, {{1, IntegId::kHmacSha2_256_128}}};
  auto ok = AcceptChildReply(offer, reply, &*bundle, &answer);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->algorithms.ah_integrity, IntegId::kHmacSha2_256_128);
  // ESP alone for the bundle proposal (a peer that ignores the notification): refused.
  auto alone = AcceptChildReply(offer, reply, &*bundle, nullptr);
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(alone.error().message.find("ESP alone"), std::string::npos);
  BundleNotify other_integrity{0x4000, {{1, IntegId::kHmacSha2_512_256}}};
  EXPECT_FALSE(AcceptChildReply(offer, reply, &*bundle, &other_integrity).ok());
  BundleNotify two{0x4000, {{1, IntegId::kHmacSha2_256_128}, {1, IntegId::kHmacSha2_256_128}}};
  EXPECT_FALSE(AcceptChildReply(offer, reply, &*bundle, &two).ok());
  // A bundle for the plain ESP proposal #2: invalid.
  codec::SaPayload reply2{{esp_only->reply}};
  reply2.proposals[0].spi = {0, 0, 0x30, 0};
  BundleNotify for2{0x4000, {{2, IntegId::kHmacSha2_256_128}}};
  EXPECT_FALSE(AcceptChildReply(offer, reply2, &*bundle, &for2).ok());
  EXPECT_TRUE(AcceptChildReply(offer, reply2, &*bundle, nullptr).ok());
}

}  // namespace
}  // namespace ipsec::engine::ike
