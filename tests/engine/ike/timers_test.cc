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
  net_.nat = [&](testing::Datagram& d) {  // A behind a NAT (as in two_peers_test)
    if (d.from.address == net_.a.address) {
      d.from = Endpoint{*IpAddress::Parse("192.0.2.7"), static_cast<uint16_t>(d.from.port + 1000)};
    } else if (d.to.address == *IpAddress::Parse("192.0.2.7")) {
      d.to = Endpoint{net_.a.address, static_cast<uint16_t>(d.to.port - 1000)};
    }
  };
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
