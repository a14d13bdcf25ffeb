// Two in-process peers negotiating IKEv2 message by message (RFC 7296 §1.2-1.4).
#include <gtest/gtest.h>

#include "engine/policy/templates.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using dataplane::SaDirection;
using testing::TwoPeers;

class TwoPeersTest : public ::testing::Test {
 protected:
  void Configure(const std::string& psk_a = "secret", const std::string& psk_b = "secret") {
    net_.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", psk_a));
    net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", psk_b));
  }
  std::string Initiate() {
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now);
    EXPECT_TRUE(id.ok()) << id.error().ToString();
    return id.ok() ? *id : "";
  }
  TwoPeers net_;
};

TEST_F(TwoPeersTest, PskHandshakeInstallsMatchingChildSas) {
  Configure();
  Initiate();
  EXPECT_EQ(net_.DeliverAll(), 4);  // IKE_SA_INIT and IKE_AUTH, request and response each
  ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  EXPECT_EQ(net_.a.observer.child_up, 1);
  EXPECT_EQ(net_.b.observer.child_up, 1);

  auto a_sas = net_.a.backend.Sas();
  auto b_sas = net_.b.backend.Sas();
  ASSERT_EQ(a_sas.size(), 2u);
  ASSERT_EQ(b_sas.size(), 2u);
  // Each side's outbound SA is the other's inbound one: same SPI, same keys (§2.17).
  for (const auto& out : a_sas) {
    if (out.direction != SaDirection::kOutbound) continue;
    auto in = net_.b.backend.FindSa(out.spi);
    ASSERT_TRUE(in.has_value());
    EXPECT_EQ(in->direction, SaDirection::kInbound);
    EXPECT_TRUE(in->algorithms.encryption_key == out.algorithms.encryption_key);
    EXPECT_EQ(in->algorithms.encryption_key.size(), 20u);  // AES-128-GCM key + salt
    EXPECT_EQ(in->algorithms.encryption_id, 20);
  }
  auto snapshot = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].state, "established");
  EXPECT_EQ(snapshot[0].algorithms, "aes128gcm16-prfsha256-curve25519");
  EXPECT_EQ(snapshot[0].remote_id, "10.2.0.1");
  ASSERT_EQ(snapshot[0].children.size(), 1u);
  EXPECT_EQ(snapshot[0].children[0].mode, "tunnel");
  EXPECT_EQ(snapshot[0].children[0].local_ts, std::vector<std::string>{"10.1.0.1"});
}

// §2.2: each side's snapshot shows the message ID of its next request and of the peer's next
// request; IKE_SA_INIT and IKE_AUTH took 0 and 1 of the initiator's; the responder's child SA
// rekey takes its 0 (CREATE_CHILD_SA) and 1 (the INFORMATIONAL deleting the old pair).
TEST_F(TwoPeersTest, SnapshotShowsBothMessageIds) {
  Configure();
  Initiate();
  net_.DeliverAll();
  auto a = net_.a.manager->Snapshot(net_.now);
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].message_id_out, 2u);
  EXPECT_EQ(a[0].message_id_in, 0u);
  EXPECT_EQ(b[0].message_id_out, 0u);
  EXPECT_EQ(b[0].message_id_in, 2u);
  ASSERT_EQ(b[0].children.size(), 1u);
  ASSERT_TRUE(net_.b.manager->Rekey(b[0].children[0].id, net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(net_.b.manager->Snapshot(net_.now)[0].message_id_out, 2u);
  EXPECT_EQ(net_.a.manager->Snapshot(net_.now)[0].message_id_in, 2u);
}

// §2.8.1: the two sides' soft lifetimes differ (each draws from its own inbound SPI), so both
// rarely start a rekey together; both stay within [fraction - jitter, fraction] of the hard one.
TEST_F(TwoPeersTest, SoftLifetimesDifferBetweenThePeers) {
  Configure();
  Initiate();
  net_.DeliverAll();
  auto a = net_.a.manager->Snapshot(net_.now);
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(a[0].children.size(), 1u);
  ASSERT_EQ(b[0].children.size(), 1u);
  const auto& ca = a[0].children[0];
  const auto& cb = b[0].children[0];
  EXPECT_NE(ca.rekey_in_seconds, cb.rekey_in_seconds);
  for (const auto* c : {&ca, &cb}) {
    EXPECT_GE(c->rekey_in_seconds, static_cast<int64_t>(c->expire_in_seconds * 0.85) - 1);
    EXPECT_LE(c->rekey_in_seconds, static_cast<int64_t>(c->expire_in_seconds * 0.9) + 1);
  }
  for (const auto& sa : net_.a.backend.Sas()) {
    if (sa.lifetime.hard_bytes == 0) continue;
    EXPECT_GE(sa.lifetime.soft_bytes, sa.lifetime.hard_bytes * 85 / 100);
    EXPECT_LE(sa.lifetime.soft_bytes, sa.lifetime.hard_bytes * 90 / 100);
  }
}

TEST_F(TwoPeersTest, WrongPskFailsOnBothSidesWithAuthenticationFailed) {
  Configure("secret", "other");
  Initiate();
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.ike_up, 0);
  EXPECT_EQ(net_.b.observer.ike_up, 0);
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kAuthenticationFailed))
      << net_.b.observer.Log();
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kAuthenticationFailed))
      << net_.a.observer.Log();
  EXPECT_EQ(net_.a.manager->sa_count(), 0u);
  EXPECT_EQ(net_.b.manager->sa_count(), 0u);
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
}

TEST_F(TwoPeersTest, InvalidKePayloadMakesTheInitiatorRetryWithTheResponderGroup) {
  Configure();
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  b->ike_proposals = {{policy::EncryptionAlgorithm::kAes256Gcm16, policy::IntegrityAlgorithm::kNone,
                       policy::PrfAlgorithm::kHmacSha384, policy::DhGroup::kEcp384}};
  net_.b.manager->SetConfig(b);
  Initiate();
  EXPECT_EQ(net_.DeliverAll(), 6);
  ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.a.manager->Snapshot(net_.now)[0].algorithms, "aes256gcm16-prfsha384-ecp384");
}

TEST_F(TwoPeersTest, NoCommonProposalIsRefused) {
  Configure();
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  b->ike_proposals = {{policy::EncryptionAlgorithm::kChaCha20Poly1305,
                       policy::IntegrityAlgorithm::kNone, policy::PrfAlgorithm::kHmacSha512,
                       policy::DhGroup::kModp3072}};
  net_.b.manager->SetConfig(b);
  Initiate();
  net_.DeliverAll();
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kNoProposalChosen)) << net_.a.observer.Log();
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kNoProposalChosen));
  EXPECT_EQ(net_.a.manager->sa_count(), 0u);
}

TEST_F(TwoPeersTest, LostResponsesAreRetransmittedAndDuplicatesAnsweredFromCache) {
  Configure();
  Initiate();
  int dropped = 0;
  net_.filter = [&](const testing::Datagram& d) {
    // Drop the first IKE_AUTH response (B -> A, the fourth message).
    if (d.from.address == net_.b.address && ++dropped == 2) return false;
    return true;
  };
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.ike_up, 0);
  EXPECT_EQ(net_.b.observer.ike_up, 1);
  net_.Advance(std::chrono::milliseconds(1100));
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.retransmits, 1);
  ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.child_up, 1) << "the retransmitted request must not make a 2nd child";
}

TEST_F(TwoPeersTest, DeadPeerTimesOut) {
  Configure();
  Initiate();
  net_.filter = [](const testing::Datagram&) { return false; };
  net_.DeliverAll();
  net_.Advance(std::chrono::seconds(120));
  net_.DeliverAll();
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kTimeout));
  EXPECT_EQ(net_.a.observer.retransmits, 5);
  EXPECT_EQ(net_.a.manager->sa_count(), 0u);
}

TEST_F(TwoPeersTest, DeleteFromEitherSideRemovesEverything) {
  for (bool from_a : {true, false}) {
    TwoPeers net;
    net.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "k"));
    net.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "k"));
    ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
    net.DeliverAll();
    auto& deleter = from_a ? net.a : net.b;
    std::string id = deleter.manager->Snapshot(net.now)[0].id;
    ASSERT_TRUE(deleter.manager->Delete(id, net.now).ok());
    net.DeliverAll();
    EXPECT_EQ(net.a.manager->sa_count(), 0u);
    EXPECT_EQ(net.b.manager->sa_count(), 0u);
    EXPECT_TRUE(net.a.backend.Sas().empty());
    EXPECT_TRUE(net.b.backend.Sas().empty());
    EXPECT_EQ(net.a.observer.child_down, 1);
    EXPECT_EQ(net.b.observer.child_down, 1);
  }
}

TEST_F(TwoPeersTest, ChildDeleteKeepsTheIkeSa) {
  Configure();
  Initiate();
  net_.DeliverAll();
  auto snapshot = net_.b.manager->Snapshot(net_.now);
  ASSERT_TRUE(net_.b.manager->Delete(snapshot[0].children[0].id, net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.b.backend.Sas().empty());
  EXPECT_EQ(net_.a.manager->Snapshot(net_.now)[0].children.size(), 0u);
}

TEST_F(TwoPeersTest, NatIsDetectedAndBothFloatToPort4500) {
  Configure();
  net_.PutABehindNat();  // 10.1.0.1:* -> 192.0.2.7:(port+1000)
  Initiate();
  net_.DeliverAll();
  ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  auto a = net_.a.manager->Snapshot(net_.now)[0];
  auto b = net_.b.manager->Snapshot(net_.now)[0];
  EXPECT_TRUE(a.nat_local);
  EXPECT_TRUE(b.nat_remote);
  EXPECT_TRUE(a.udp_4500);
  EXPECT_EQ(b.remote, "192.0.2.7:5500");
  auto sa = net_.b.backend.Sas()[0];
  EXPECT_TRUE(sa.udp_encapsulation);
  EXPECT_EQ(sa.remote.port, 5500);
  // Only the first message used port 500 (FAQ 56).
  int on_500 = 0;
  for (const auto& d : net_.sent_log) on_500 += d.from.port == 500 || d.to.port == 500;
  EXPECT_EQ(on_500, 2);
}

TEST_F(TwoPeersTest, ForcedUdpEncapsulationFloatsAndEncapsulatesWithoutANat) {
  IkeManager::Options o;  // B as --force-udp-encapsulation runs it
  o.random = &net_.b.random;
  o.observer = &net_.b.observer;
  o.sink = &net_.b;
  o.backend = &net_.b.backend;
  o.clock = &net_.b.clock;
  o.force_udp_encapsulation = true;
  net_.b.manager = std::make_unique<IkeManager>(o);
  Configure();
  Initiate();
  net_.DeliverAll();
  ASSERT_EQ(net_.a.observer.child_up, 1) << net_.a.observer.Log();
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  auto a = net_.a.manager->Snapshot(net_.now)[0];
  auto b = net_.b.manager->Snapshot(net_.now)[0];
  // A believes B is behind a NAT (B's source hash matched nothing); nobody is really.
  EXPECT_FALSE(a.nat_local);
  EXPECT_TRUE(a.nat_remote);
  EXPECT_FALSE(b.nat_local);
  EXPECT_FALSE(b.nat_remote);
  EXPECT_TRUE(a.udp_4500);
  EXPECT_TRUE(b.udp_4500);
  ASSERT_EQ(b.children.size(), 1u);
  EXPECT_TRUE(b.children[0].udp_encapsulation);
  for (auto* peer : {&net_.a, &net_.b}) {
    ASSERT_EQ(peer->backend.Sas().size(), 2u);
    for (const auto& sa : peer->backend.Sas()) {
      EXPECT_TRUE(sa.udp_encapsulation);
      EXPECT_EQ(sa.local.port, 4500);
      EXPECT_EQ(sa.remote.port, 4500);
    }
  }
}

TEST_F(TwoPeersTest, TrafficOutsideEveryRuleGetsTsUnacceptableButTheIkeSaStands) {
  Configure();
  auto b = testing::SimpleConfig("10.2.0.1", "10.9.9.9", "secret");  // B secures another peer
  net_.b.manager->SetConfig(b);
  Initiate();
  net_.DeliverAll();
  // No rule matched A's traffic, so no rule could authenticate A either (FAQ 11).
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kAuthenticationFailed));
  // With a default response rule (FAQ 19), B answers and takes A's traffic as proposed.
  TwoPeers net;
  net.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "k"));
  auto with_default = testing::SimpleConfig("10.2.0.1", "10.9.9.9", "other");
  NegotiateRule d;
  d.name = "default-response";
  d.dynamic_traffic = true;
  d.credentials.push_back({policy::AuthKind::kPreSharedKey, SecretBytes("k"), ""});
  d.security_methods = policy::DefaultSecurityMethods();
  with_default->default_response = d;
  net.b.manager->SetConfig(with_default);
  ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
  net.DeliverAll();
  ASSERT_EQ(net.b.observer.child_up, 1) << net.b.observer.Log();
  EXPECT_EQ(net.b.manager->Snapshot(net.now)[0].rule, "default-response");
}

}  // namespace
}  // namespace ipsec::engine::ike
