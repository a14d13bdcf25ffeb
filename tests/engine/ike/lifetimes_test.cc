// Lifetimes of IKE and child SAs (RFC 7296 §2.8: rekey at the soft lifetime, jittered; delete
// at the hard one), in seconds from the policy and in bytes from the data path's events.
#include <gtest/gtest.h>

#include "tests/engine/ike/rekey_fixture.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using dataplane::SaProtocol;
using testing::IkePeer;

class LifetimesTest : public RekeyFixture {
 protected:
  void ChildSeconds(uint32_t seconds, double rekey_fraction = 0.9) {
    Configure(false, [&](IkeConfig& c) {
      for (auto& m : c.rules[0].security_methods) m.lifetime_seconds = seconds;
      c.timers.rekey_fraction = rekey_fraction;
    });
  }
};

TEST_F(LifetimesTest, SnapshotShowsJitteredRekeyAndHardExpiry) {
  Configure(false, [](IkeConfig& c) {
    c.ike_lifetime_seconds = 1000;
    for (auto& m : c.rules[0].security_methods) m.lifetime_seconds = 100;
  });
  Establish();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    auto s = p->manager->Snapshot(net_.now)[0];
    EXPECT_EQ(s.expire_in_seconds, 1000);
    // Soft lifetime: [0.85, 0.9] of the hard one (rekey_fraction 0.9, rekey_jitter 0.05).
    EXPECT_GE(s.rekey_in_seconds, 849);
    EXPECT_LE(s.rekey_in_seconds, 900);
    ASSERT_EQ(s.children.size(), 1u);
    EXPECT_EQ(s.children[0].expire_in_seconds, 100);
    EXPECT_GE(s.children[0].rekey_in_seconds, 84);
    EXPECT_LE(s.children[0].rekey_in_seconds, 90);
  }
  net_.now += 30s;
  EXPECT_EQ(Children(net_.a, net_.now)[0].expire_in_seconds, 70);
}

TEST_F(LifetimesTest, SoftLifetimeRekeysTheChildBeforeItExpires) {
  ChildSeconds(100);
  Establish();
  const auto before = Children(net_.a)[0];
  net_.Run(95s);
  auto a = Children(net_.a, net_.now);
  ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
  ASSERT_EQ(Children(net_.b, net_.now).size(), 1u) << net_.b.observer.Log();
  EXPECT_NE(a[0].spi_in, before.spi_in);
  EXPECT_GT(a[0].expire_in_seconds, 90);  // a fresh lifetime
  EXPECT_EQ(net_.a.observer.child_rekeys + net_.b.observer.child_rekeys, 2)
      << "one rekey, seen by both: the jitter keeps the peers apart";
  EXPECT_EQ(net_.a.observer.child_down, 0);
  ExpectPaired();
  // And again at the next soft lifetime.
  net_.Run(95s);
  EXPECT_EQ(net_.a.observer.child_rekeys, 2) << net_.a.observer.Log();
  ExpectPaired();
}

TEST_F(LifetimesTest, HardLifetimeDeletesAChildThatWasNotRekeyed) {
  ChildSeconds(100, /*rekey_fraction=*/2.0);  // soft after hard: never rekeyed
  Establish();
  net_.Run(99s);
  EXPECT_EQ(Children(net_.a, net_.now).size(), 1u);
  net_.Run(2s);
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_TRUE(Children(*p, net_.now).empty()) << p->observer.Log();
    EXPECT_TRUE(p->backend.Sas().empty());
    EXPECT_EQ(p->observer.child_down, 1);
    EXPECT_EQ(p->manager->sa_count(), 1u) << "the IKE SA stays";
  }
}

TEST_F(LifetimesTest, IkeSoftLifetimeRekeysTheIkeSaKeepingItsChildren) {
  Configure(false, [](IkeConfig& c) { c.ike_lifetime_seconds = 200; });
  Establish();
  const auto before = net_.a.manager->Snapshot(net_.now)[0];
  net_.Run(190s);
  auto a = net_.a.manager->Snapshot(net_.now);
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
  ASSERT_EQ(b.size(), 1u) << net_.b.observer.Log();
  EXPECT_NE(a[0].spi_i, before.spi_i);
  EXPECT_EQ(a[0].spi_i, b[0].spi_i);
  EXPECT_EQ(a[0].spi_r, b[0].spi_r);
  EXPECT_GT(a[0].expire_in_seconds, 170);
  ASSERT_EQ(a[0].children.size(), 1u);
  EXPECT_EQ(a[0].children[0].spi_in, before.children[0].spi_in);
  EXPECT_EQ(net_.a.observer.ike_rekeys, 1);
  EXPECT_EQ(net_.b.observer.ike_rekeys, 1);
  EXPECT_EQ(net_.a.observer.ike_down + net_.b.observer.ike_down, 0);
}

TEST_F(LifetimesTest, IkeHardLifetimeDeletesTheIkeSaAndItsChildren) {
  Configure(false, [](IkeConfig& c) {
    c.ike_lifetime_seconds = 200;
    c.timers.rekey_fraction = 2.0;
  });
  Establish();
  net_.Run(201s);
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_EQ(p->manager->sa_count(), 0u) << p->observer.Log();
    EXPECT_TRUE(p->backend.Sas().empty());
    EXPECT_EQ(p->observer.ike_down, 1);
    EXPECT_EQ(p->observer.child_down, 1);
  }
}

TEST_F(LifetimesTest, ByteLifetimeFromTheDataPathRekeysThenDeletes) {
  Configure(false, [](IkeConfig& c) {
    for (auto& m : c.rules[0].security_methods) m.lifetime_kilobytes = 10;  // 10240 bytes
  });
  Establish();
  const auto before = Children(net_.a)[0];
  auto sa = net_.a.backend.FindSa(before.spi_out);
  ASSERT_TRUE(sa.has_value());
  EXPECT_EQ(sa->lifetime.hard_bytes, 10240u);
  // Past the soft limit (90%): the data path says so; IKE rekeys.
  ASSERT_TRUE(net_.a.backend.AddTraffic(SaProtocol::kEsp, before.spi_out, 9300, 10, 0).ok());
  net_.DeliverAll();
  auto after = Children(net_.a);
  ASSERT_EQ(after.size(), 1u) << net_.a.observer.Log();
  EXPECT_NE(after[0].spi_in, before.spi_in);
  EXPECT_EQ(net_.a.observer.child_rekeys, 1);
  ExpectPaired();
  // The hard limit (a rekey that did not come in time): the data path dropped the SA; IKE
  // deletes the pair at both ends.
  ASSERT_TRUE(net_.b.backend.FireExpire(SaProtocol::kEsp, after[0].spi_in, /*hard=*/true));
  net_.DeliverAll();
  EXPECT_TRUE(Children(net_.a).empty()) << net_.a.observer.Log();
  EXPECT_TRUE(Children(net_.b).empty()) << net_.b.observer.Log();
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.b.backend.Sas().empty());
}

}  // namespace
}  // namespace ipsec::engine::ike
