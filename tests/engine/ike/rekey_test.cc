// CREATE_CHILD_SA between two in-process peers (RFC 7296 §1.3, §2.8, §2.18, §2.25): new child
// SAs, child and IKE SA rekeys (make-before-break, proven by the data path's call order),
// collisions, and the responder's refusals.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/engine/ike/rekey_fixture.h"

namespace ipsec::engine::ike {
namespace {

using dataplane::SaDirection;
using testing::IkePeer;

class RekeyTest : public RekeyFixture {};

TEST_F(RekeyTest, NewChildSaUnderAnEstablishedIkeSa) {
  Establish();
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());
  EXPECT_EQ(net_.DeliverAll(), 2);  // one CREATE_CHILD_SA request and response (§1.3.1)
  EXPECT_EQ(net_.a.observer.child_up, 2) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.child_up, 2) << net_.b.observer.Log();
  EXPECT_EQ(net_.a.backend.Sas().size(), 4u);
  EXPECT_EQ(net_.b.backend.Sas().size(), 4u);
  ExpectPaired();
  EXPECT_EQ(Children(net_.a).size(), 2u);
  EXPECT_EQ(net_.a.observer.child_rekeys, 0);
}

TEST_F(RekeyTest, ChildRekeyWithoutPfsInstallsTheNewSaBeforeDeletingTheOld) {
  Establish();
  const auto before = Children(net_.a)[0];
  net_.a.backend.ClearCalls();
  net_.b.backend.ClearCalls();
  ASSERT_TRUE(net_.a.manager->Rekey(before.id, net_.now).ok());
  // CREATE_CHILD_SA {N(REKEY_SA), SA, Ni, TSi, TSr} and its response, then INFORMATIONAL
  // {D(old)} and its response.
  EXPECT_EQ(net_.DeliverAll(), 4);
  auto after = Children(net_.a);
  ASSERT_EQ(after.size(), 1u) << net_.a.observer.Log();
  ASSERT_EQ(Children(net_.b).size(), 1u) << net_.b.observer.Log();
  EXPECT_NE(after[0].spi_in, before.spi_in);
  EXPECT_NE(after[0].spi_out, before.spi_out);
  EXPECT_FALSE(after[0].pfs);
  ExpectPaired();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_EQ(p->observer.child_rekeys, 1);
    EXPECT_EQ(p->observer.child_down, 0) << "a rekey is not a loss";
    EXPECT_EQ(p->backend.Sas().size(), 2u);
    ExpectMakeBeforeBreak(*p);
  }
  EXPECT_FALSE(net_.a.backend.FindSa(before.spi_in).has_value());
  EXPECT_FALSE(net_.b.backend.FindSa(before.spi_out).has_value());
}

TEST_F(RekeyTest, ChildRekeyWithPfsCarriesKeAndDerivesFreshKeys) {
  Configure(/*pfs=*/true);
  Establish();
  const auto before = Children(net_.a)[0];
  const SecretBytes old_key = net_.a.backend.FindSa(before.spi_out)->algorithms.encryption_key;
  net_.a.backend.ClearCalls();
  net_.b.backend.ClearCalls();
  ASSERT_TRUE(net_.a.manager->Rekey(before.id, net_.now).ok());
  EXPECT_EQ(net_.DeliverAll(), 4);
  auto after = Children(net_.a);
  ASSERT_EQ(after.size(), 1u) << net_.a.observer.Log();
  EXPECT_TRUE(after[0].pfs);
  EXPECT_NE(after[0].algorithms.find("curve25519"), std::string::npos) << after[0].algorithms;
  EXPECT_FALSE(net_.a.backend.FindSa(after[0].spi_out)->algorithms.encryption_key == old_key);
  ExpectPaired();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_EQ(p->observer.child_rekeys, 1);
    ExpectMakeBeforeBreak(*p);
  }
}

TEST_F(RekeyTest, ResponderCanRekeyTooAndAChildRekeysRepeatedly) {
  Establish();
  for (int i = 0; i < 3; ++i) {
    IkePeer& who = i % 2 ? net_.a : net_.b;
    ASSERT_TRUE(who.manager->Rekey(Children(who)[0].id, net_.now).ok());
    net_.DeliverAll();
    ASSERT_EQ(Children(net_.a).size(), 1u) << net_.a.observer.Log();
    ASSERT_EQ(Children(net_.b).size(), 1u) << net_.b.observer.Log();
    ExpectPaired();
  }
  EXPECT_EQ(net_.a.observer.child_rekeys, 3);
  EXPECT_EQ(net_.b.observer.child_rekeys, 3);
}

TEST_F(RekeyTest, IkeRekeyMovesChildrenToTheNewIkeSaAndDeletesTheOld) {
  Establish();
  const auto old_a = net_.a.manager->Snapshot(net_.now)[0];
  const auto child = Children(net_.a)[0];
  net_.a.backend.ClearCalls();
  ASSERT_TRUE(net_.a.manager->Rekey("ike-1", net_.now).ok());
  // CREATE_CHILD_SA {SA(IKE), Ni, KEi} + response; INFORMATIONAL {D(IKE)} on the old SA +
  // response (§2.18).
  EXPECT_EQ(net_.DeliverAll(), 4);
  auto a = net_.a.manager->Snapshot(net_.now);
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
  ASSERT_EQ(b.size(), 1u) << net_.b.observer.Log();
  EXPECT_NE(a[0].id, old_a.id);
  EXPECT_NE(a[0].spi_i, old_a.spi_i);
  EXPECT_NE(a[0].spi_r, old_a.spi_r);
  EXPECT_EQ(a[0].spi_i, b[0].spi_i);
  EXPECT_EQ(a[0].spi_r, b[0].spi_r);
  EXPECT_EQ(a[0].state, "established");
  EXPECT_EQ(b[0].state, "established");
  EXPECT_EQ(a[0].role, "initiator");
  EXPECT_EQ(b[0].role, "responder");
  EXPECT_EQ(a[0].remote_id, old_a.remote_id);
  ASSERT_EQ(a[0].children.size(), 1u);
  EXPECT_EQ(a[0].children[0].spi_in, child.spi_in) << "children survive the IKE rekey";
  EXPECT_TRUE(net_.a.backend.Calls().empty()) << "the data path is untouched";
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_EQ(p->observer.ike_rekeys, 1);
    EXPECT_EQ(p->observer.ike_down, 0);
    EXPECT_EQ(p->observer.child_down, 0);
    EXPECT_EQ(p->manager->sa_count(), 1u);
  }
  // The new IKE SA's keys agree on both sides: it carries further exchanges, each way.
  ASSERT_TRUE(net_.b.manager->Rekey(b[0].children[0].id, net_.now).ok());
  net_.DeliverAll();
  ASSERT_TRUE(net_.a.manager->InitiateChild(a[0].id, "r", net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(Children(net_.a).size(), 2u) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.child_rekeys, 1);
  ExpectPaired();
}

TEST_F(RekeyTest, ResponderRekeysTheIkeSaAndBecomesTheNewInitiator) {
  Establish();
  ASSERT_TRUE(net_.b.manager->Rekey(net_.b.manager->Snapshot(net_.now)[0].id, net_.now).ok());
  net_.DeliverAll();
  auto a = net_.a.manager->Snapshot(net_.now);
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].role, "initiator");  // §2.18: the rekey's initiator
  EXPECT_EQ(a[0].spi_i, b[0].spi_i);
  ASSERT_TRUE(net_.a.manager->Rekey(a[0].children[0].id, net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.child_rekeys, 1) << net_.a.observer.Log();
  ExpectPaired();
}

}  // namespace
}  // namespace ipsec::engine::ike
