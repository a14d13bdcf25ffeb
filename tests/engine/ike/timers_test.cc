// Time-driven behaviour besides lifetimes: FAQ 55/58 idle timeouts, RFC 7296 §2.4 liveness
// checks (dead peer detection), RFC 3948 §2.3 NAT keepalives, FAQ 18 child SAs per IKE SA.
#include <gtest/gtest.h>

#include "tests/engine/ike/rekey_fixture.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using dataplane::SaProtocol;
using testing::IkePeer;

class TimersTest : public RekeyFixture {
 protected:
  // Traffic through the child SA, as both data paths count it.
  void Traffic() {
    const auto c = Children(net_.a, net_.now)[0];
    ASSERT_TRUE(
        net_.a.backend.AddTraffic(SaProtocol::kEsp, c.spi_out, 1000, 1, net_.a.clock.unix_seconds)
            .ok());
    ASSERT_TRUE(
        net_.b.backend.AddTraffic(SaProtocol::kEsp, c.spi_out, 1000, 1, net_.b.clock.unix_seconds)
            .ok());
  }
  int Sent(codec::ExchangeType exchange, const IpAddress& from) const {
    int n = 0;
    for (const auto& d : net_.sent_log) {
      auto m = codec::DecodeMessage(d.data);
      n += m.ok() && d.from.address == from && m->header.exchange_type == exchange &&
           !m->header.is_response();
    }
    return n;
  }
};

TEST_F(TimersTest, ChildSaWithoutTrafficIsDeletedAfterFiveMinutes) {
  Establish();
  net_.Run(299s);
  EXPECT_EQ(Children(net_.a, net_.now).size(), 1u) << net_.a.observer.Log();
  net_.Run(2s);
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_TRUE(Children(*p, net_.now).empty()) << p->observer.Log();
    EXPECT_TRUE(p->backend.Sas().empty());
    EXPECT_EQ(p->observer.child_down, 1);
    EXPECT_EQ(p->manager->sa_count(), 1u) << "only the child SA idles out";
  }
}

TEST_F(TimersTest, TrafficKeepsTheChildSaAndIdleTimeCountsFromTheLastPacket) {
  Establish();
  for (int i = 0; i < 6; ++i) {
    net_.Run(100s);
    Traffic();
  }
  EXPECT_EQ(Children(net_.a, net_.now).size(), 1u) << net_.a.observer.Log();
  net_.Run(290s);
  EXPECT_EQ(Children(net_.a, net_.now).size(), 1u) << net_.a.observer.Log();
  net_.Run(15s);
  EXPECT_TRUE(Children(net_.a, net_.now).empty()) << net_.a.observer.Log();
  EXPECT_TRUE(Children(net_.b, net_.now).empty()) << net_.b.observer.Log();
}

TEST_F(TimersTest, ClusterPeersIdleOutAfterOneMinute) {
  Configure(false, [](IkeConfig& c) {
    c.cluster_peers = {*IpAddress::Parse("10.1.0.1"), *IpAddress::Parse("10.2.0.1")};
  });
  Establish();
  net_.Run(59s);
  EXPECT_EQ(Children(net_.a, net_.now).size(), 1u);
  net_.Run(2s);
  EXPECT_TRUE(Children(net_.a, net_.now).empty()) << net_.a.observer.Log();
  EXPECT_TRUE(Children(net_.b, net_.now).empty()) << net_.b.observer.Log();
}

TEST_F(TimersTest, IdleTimerSurvivesAChildRekey) {
  Establish();
  net_.Run(200s);
  ASSERT_TRUE(net_.a.manager->Rekey(Children(net_.a, net_.now)[0].id, net_.now).ok());
  net_.DeliverAll();
  ASSERT_EQ(Children(net_.a, net_.now).size(), 1u);
  net_.Run(101s);  // 301 s without traffic, across the rekey
  EXPECT_TRUE(Children(net_.a, net_.now).empty()) << net_.a.observer.Log();
}

TEST_F(TimersTest, LivenessChecksWhileThePeerAnswers) {
  Establish();
  net_.Run(100s);
  EXPECT_GE(Sent(codec::ExchangeType::kInformational, net_.a.address), 1);
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);
  EXPECT_EQ(net_.a.observer.ike_down, 0);
  EXPECT_EQ(net_.a.observer.retransmits, 0);
}

// RFC 7296 §2.4: a liveness check only when nothing cryptographically protected came from the
// peer for the interval, IKE or ESP: ESP the data path received (its inbound SA's last use)
// makes the check unnecessary; ESP we sent does not.
TEST_F(TimersTest, InboundEspTrafficMakesLivenessChecksUnnecessary) {
  Establish();
  const auto a = Children(net_.a, net_.now)[0];
  const auto b = Children(net_.b, net_.now)[0];
  for (int i = 0; i < 12; ++i) {  // 120 s of ESP both ways, no IKE message
    net_.Run(10s);
    ASSERT_TRUE(
        net_.a.backend.AddTraffic(SaProtocol::kEsp, a.spi_in, 1000, 1, net_.a.clock.unix_seconds)
            .ok());
    ASSERT_TRUE(
        net_.b.backend.AddTraffic(SaProtocol::kEsp, b.spi_in, 1000, 1, net_.b.clock.unix_seconds)
            .ok());
  }
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 0) << net_.a.observer.Log();
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.b.address), 0) << net_.b.observer.Log();
  // The ESP stops: one interval after the last packet the check is due again.
  net_.Run(25s);
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 0);
  net_.Run(10s);
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);
  EXPECT_EQ(net_.a.observer.retransmits, 0);
}

TEST_F(TimersTest, OnlyOutboundEspDoesNotProveThePeerAlive) {
  Establish();
  net_.filter = [](const testing::Datagram&) { return false; };  // the peer is gone
  const auto a = Children(net_.a, net_.now)[0];
  for (int i = 0; i < 3; ++i) {  // A keeps sending ESP into the void
    ASSERT_TRUE(
        net_.a.backend.AddTraffic(SaProtocol::kEsp, a.spi_out, 1000, 1, net_.a.clock.unix_seconds)
            .ok());
    net_.Run(10s);
  }
  net_.Run(500ms);
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 1);
  net_.Run(70s);
  EXPECT_EQ(net_.a.manager->sa_count(), 0u) << net_.a.observer.Log();
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kTimeout));
}

// Inbound ESP keeps suppressing the checks only while it flows: a peer that dies after its last
// packet is detected one interval after it plus the retransmissions.
TEST_F(TimersTest, PeerDeadAfterItsLastEspIsDetected) {
  Establish();
  const auto a = Children(net_.a, net_.now)[0];
  net_.Run(20s);
  ASSERT_TRUE(
      net_.a.backend.AddTraffic(SaProtocol::kEsp, a.spi_in, 1000, 1, net_.a.clock.unix_seconds)
          .ok());
  net_.filter = [](const testing::Datagram&) { return false; };
  net_.Run(29s);
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 0);
  net_.Run(1500ms);
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 1);
  net_.Run(64s);
  EXPECT_EQ(net_.a.manager->sa_count(), 0u) << net_.a.observer.Log();
}

TEST_F(TimersTest, SilentPeerIsDeclaredDeadAfterRetransmissions) {
  Establish();
  net_.filter = [](const testing::Datagram&) { return false; };  // the peer is gone
  net_.Run(30s + 500ms);
  EXPECT_EQ(Sent(codec::ExchangeType::kInformational, net_.a.address), 1);  // §2.4 liveness
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);
  net_.Run(70s);  // 1 + 2 + 4 + 8 + 16 + 32 s of retransmissions (§2.1)
  EXPECT_EQ(net_.a.observer.retransmits, 5);
  EXPECT_EQ(net_.a.manager->sa_count(), 0u) << net_.a.observer.Log();
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_EQ(net_.a.observer.ike_down, 1);
  EXPECT_EQ(net_.a.observer.child_down, 1);
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kTimeout));
  // The statistics' retransmission total outlives the SA that retransmitted.
  EXPECT_EQ(net_.a.manager->Statistics().retransmits_total, 5u);
}

TEST_F(TimersTest, NatKeepalivesOnlyFromBehindANat) {
  Configure();
  net_.PutABehindNat();
  Establish();
  net_.Run(65s);  // nat_keepalive 20 s: at 0, 20, 40, 60 s
  EXPECT_EQ(net_.a.keepalives, 4);
  EXPECT_EQ(net_.b.keepalives, 0);
}

TEST_F(TimersTest, MaxChildSasPerIkeSaForcesAnIkeRekeyFirst) {
  Configure(false, [](IkeConfig& c) { c.max_child_sas = 2; });
  Establish();  // child SA 1
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());
  net_.DeliverAll();  // child SA 2, same IKE SA
  EXPECT_EQ(net_.a.observer.ike_rekeys, 0);
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());
  net_.DeliverAll();  // FAQ 18: the IKE SA is rekeyed, then child SA 3 is made under the new one
  EXPECT_EQ(net_.a.observer.ike_rekeys, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.ike_rekeys, 1);
  auto a = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].id, "ike-1");
  EXPECT_EQ(a[0].children.size(), 3u);
  EXPECT_EQ(Children(net_.b).size(), 3u);
  EXPECT_EQ(net_.a.observer.child_up, 3);
  ExpectPaired();
  // Unlimited (0): no rekey however many.
}

// FAQ 18: the limit counts every derivation of child SA keys from the IKE SA's SK_d, and a
// child SA's rekey is one (a quick mode in the FAQ's IKEv1): at the limit, the IKE SA is rekeyed
// first and the child SA's rekey runs under the new one (as the idle and lifetime timers'
// rekeys do).
TEST_F(TimersTest, ChildRekeysCountTowardsMaxChildSasAndForceAnIkeRekey) {
  Configure(false, [](IkeConfig& c) { c.max_child_sas = 2; });
  Establish();  // derivation 1 (IKE_AUTH)
  const auto child = Children(net_.a, net_.now)[0];
  ASSERT_TRUE(net_.a.manager->Rekey(child.id, net_.now).ok());
  net_.DeliverAll();  // derivation 2, under ike-1
  EXPECT_EQ(net_.a.observer.ike_rekeys, 0) << net_.a.observer.Log();
  EXPECT_EQ(net_.a.observer.child_rekeys, 1);
  EXPECT_EQ(net_.a.manager->Snapshot(net_.now)[0].id, "ike-1");
  ASSERT_TRUE(net_.a.manager->Rekey(child.id, net_.now).ok());
  net_.DeliverAll();  // would be derivation 3: the IKE SA first, then the child SA under it
  EXPECT_EQ(net_.a.observer.ike_rekeys, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.ike_rekeys, 1);
  EXPECT_EQ(net_.a.observer.child_rekeys, 2) << net_.a.observer.Log();
  auto a = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].id, "ike-1");
  ASSERT_EQ(a[0].children.size(), 1u);
  EXPECT_EQ(a[0].children[0].id, child.id);
  EXPECT_NE(a[0].children[0].spi_in, child.spi_in);
  EXPECT_NE(net_.a.observer.Log().find("FAQ 18"), std::string::npos);
  ExpectPaired();
}

// RFC 7296 §2.18: a request for a new child SA still queued on an IKE SA when it is rekeyed is
// made under the new IKE SA, not dropped with the old one.
TEST_F(TimersTest, NewChildQueuedBehindAnIkeRekeyMovesToTheNewIkeSa) {
  Establish();
  ASSERT_TRUE(net_.a.manager->Rekey("ike-1", net_.now).ok());               // outstanding
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());  // queued behind it
  net_.DeliverAll();
  auto a = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
  EXPECT_NE(a[0].id, "ike-1");
  EXPECT_EQ(a[0].children.size(), 2u) << net_.a.observer.Log();
  EXPECT_EQ(Children(net_.b).size(), 2u) << net_.b.observer.Log();
  EXPECT_EQ(net_.a.observer.child_up, 2);
  EXPECT_EQ(net_.b.observer.child_up, 2);
  EXPECT_EQ(net_.a.observer.ike_rekeys, 1);
  ExpectPaired();
}

// The same when the peer rekeys the IKE SA while our request waits behind another exchange (a
// liveness check of ours).
TEST_F(TimersTest, NewChildQueuedWhenThePeerRekeysTheIkeSaMovesToo) {
  Establish();
  // B makes a second child SA; its response reaches B 5 s after its request reached A, so A's
  // liveness check falls due 5 s before B's.
  ASSERT_TRUE(net_.b.manager->InitiateChild("ike-1", "r", net_.now).ok());
  ASSERT_TRUE(net_.DeliverOne());
  net_.now += 5s;
  net_.DeliverAll();
  ASSERT_EQ(Children(net_.a).size(), 2u);
  net_.Advance(25500ms);
  ASSERT_EQ(net_.wire.size(), 1u) << "A's liveness check, outstanding";
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());  // queued behind it
  ASSERT_EQ(net_.wire.size(), 1u);
  ASSERT_TRUE(net_.b.manager->Rekey("ike-1", net_.now).ok());
  net_.DeliverAll();
  auto a = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
  EXPECT_NE(a[0].id, "ike-1");
  EXPECT_EQ(a[0].children.size(), 3u) << net_.a.observer.Log();
  EXPECT_EQ(Children(net_.b).size(), 3u) << net_.b.observer.Log();
  EXPECT_EQ(net_.a.observer.child_up, 3);
  EXPECT_EQ(net_.a.observer.ike_rekeys, 1);
  ExpectPaired();
}

TEST_F(TimersTest, NoLimitMeansNoForcedIkeRekey) {
  Establish();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());
    net_.DeliverAll();
  }
  EXPECT_EQ(net_.a.observer.ike_rekeys, 0);
  EXPECT_EQ(Children(net_.a).size(), 6u);
}

}  // namespace
}  // namespace ipsec::engine::ike
