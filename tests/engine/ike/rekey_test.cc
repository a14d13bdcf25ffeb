// CREATE_CHILD_SA between two in-process peers (RFC 7296 §1.3, §2.8, §2.18, §2.25): new child
// SAs, child and IKE SA rekeys (make-before-break, proven by the data path's call order),
// collisions, and the responder's refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

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

// §2.8.1: both ends rekey the same child SA at once. Whatever the nonces, both end with one
// child SA (the same pair at both ends) and nothing redundant in the data path.
TEST_F(RekeyTest, SimultaneousChildRekeysLeaveExactlyOnePair) {
  Establish();
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < round; ++i) net_.a.random.Uint64();  // vary the nonces' order
    const uint32_t old_in = Children(net_.a)[0].spi_in;
    ASSERT_TRUE(net_.a.manager->Rekey(Children(net_.a)[0].id, net_.now).ok());
    ASSERT_TRUE(net_.b.manager->Rekey(Children(net_.b)[0].id, net_.now).ok());
    net_.DeliverAll();
    auto a = Children(net_.a);
    auto b = Children(net_.b);
    ASSERT_EQ(a.size(), 1u) << "round " << round << "\n" << net_.a.observer.Log();
    ASSERT_EQ(b.size(), 1u) << "round " << round << "\n" << net_.b.observer.Log();
    EXPECT_NE(a[0].spi_in, old_in);
    EXPECT_EQ(a[0].spi_in, b[0].spi_out);
    EXPECT_EQ(a[0].spi_out, b[0].spi_in);
    EXPECT_EQ(a[0].state, "installed");
    ExpectPaired();
    ASSERT_EQ(net_.a.backend.Sas().size(), 2u);
    EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
  }
  EXPECT_EQ(net_.a.observer.child_down + net_.b.observer.child_down, 0)
      << "redundant and replaced SAs go silently";
  EXPECT_EQ(net_.a.observer.child_rekeys, 16) << "both exchanges of each round made an SA";
  // Both outcomes were exercised (the nonces' order varied).
  const std::string log = net_.a.observer.Log();
  EXPECT_NE(log.find("our new child SA is redundant"), std::string::npos) << log;
  EXPECT_NE(log.find("the peer's new child SA is redundant"), std::string::npos) << log;
}

// §2.8.2: both ends rekey the IKE SA at once: one new IKE SA survives at both ends, with the
// child SAs, and it works.
TEST_F(RekeyTest, SimultaneousIkeRekeysLeaveOneIkeSa) {
  Establish();
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < round; ++i) net_.b.random.Uint64();
    const auto child = Children(net_.a)[0];
    ASSERT_TRUE(net_.a.manager->Rekey(net_.a.manager->Snapshot(net_.now)[0].id, net_.now).ok());
    ASSERT_TRUE(net_.b.manager->Rekey(net_.b.manager->Snapshot(net_.now)[0].id, net_.now).ok());
    net_.DeliverAll();
    auto a = net_.a.manager->Snapshot(net_.now);
    auto b = net_.b.manager->Snapshot(net_.now);
    ASSERT_EQ(a.size(), 1u) << "round " << round << "\n" << net_.a.observer.Log();
    ASSERT_EQ(b.size(), 1u) << "round " << round << "\n" << net_.b.observer.Log();
    EXPECT_EQ(a[0].spi_i, b[0].spi_i);
    EXPECT_EQ(a[0].spi_r, b[0].spi_r);
    EXPECT_EQ(a[0].state, "established");
    EXPECT_EQ(b[0].state, "established");
    ASSERT_EQ(a[0].children.size(), 1u);
    EXPECT_EQ(a[0].children[0].spi_in, child.spi_in);
    EXPECT_EQ(net_.a.manager->sa_count(), 1u);
    EXPECT_EQ(net_.b.manager->sa_count(), 1u);
    // The survivor carries exchanges.
    ASSERT_TRUE(net_.b.manager->Rekey(b[0].children[0].id, net_.now).ok());
    net_.DeliverAll();
    ASSERT_EQ(Children(net_.a).size(), 1u) << net_.a.observer.Log();
    ExpectPaired();
  }
  EXPECT_EQ(net_.a.observer.ike_down + net_.b.observer.ike_down, 0);
  EXPECT_EQ(net_.a.observer.child_down + net_.b.observer.child_down, 0);
  const std::string log = net_.a.observer.Log();
  EXPECT_NE(log.find("our new IKE SA is redundant"), std::string::npos) << log;
  EXPECT_NE(log.find("the peer's new IKE SA is redundant"), std::string::npos) << log;
}

TEST_F(RekeyTest, ResponderWithoutAnAcceptableProposalAnswersNoProposalChosen) {
  // B's rule wants session key PFS (FAQ 18); A offers none. IKE_AUTH has no KE, so its child
  // SA is fine (§1.2); CREATE_CHILD_SA without a DH group is not.
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  b->rules[0].session_key_pfs = true;
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(b);
  configured_ = true;
  Establish();
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r", net_.now).ok());
  net_.DeliverAll();
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kNoProposalChosen)) << net_.a.observer.Log();
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kNoProposalChosen)) << net_.b.observer.Log();
  EXPECT_EQ(Children(net_.a).size(), 1u);
  EXPECT_EQ(net_.a.manager->sa_count(), 1u) << "the IKE SA stands";
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty()) << "the offered SPI is released";
  EXPECT_TRUE(net_.b.backend.ReservedSpis().empty());
  // A refused rekey leaves the old child SA in place.
  ASSERT_TRUE(net_.a.manager->Rekey(Children(net_.a)[0].id, net_.now).ok());
  net_.DeliverAll();
  ASSERT_EQ(Children(net_.a).size(), 1u);
  EXPECT_EQ(Children(net_.a)[0].state, "installed");
  EXPECT_EQ(Children(net_.a, net_.now)[0].rekey_in_seconds, 60) << "tried again later";
  ExpectPaired();
}

TEST_F(RekeyTest, ResponderRefusesTrafficOutsideItsRulesWithTsUnacceptable) {
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto extra = a->rules[0];
  extra.name = "r2";
  extra.traffic[0].local.addresses = IpRange::Single(*IpAddress::Parse("10.1.0.5"));
  a->rules.push_back(extra);
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
  configured_ = true;
  Establish();
  ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "r2", net_.now).ok());
  net_.DeliverAll();
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kTsUnacceptable)) << net_.a.observer.Log();
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kTsUnacceptable)) << net_.b.observer.Log();
  EXPECT_EQ(Children(net_.a).size(), 1u);
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
}

TEST_F(RekeyTest, InvalidKePayloadMakesTheInitiatorRetryWithTheResponderGroup) {
  // A prefers ECP-256 (its first proposal), B knows only Curve25519: the IKE SA ends up with
  // Curve25519 (IKE_SA_INIT's INVALID_KE), and A's PFS KE is ECP-256 again, which B answers with
  // INVALID_KE_PAYLOAD(31) in CREATE_CHILD_SA (§1.3); A retries with a new message ID.
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  policy::IkeProposal ecp = a->ike_proposals[0];
  ecp.dh_group = policy::DhGroup::kEcp256;
  policy::IkeProposal x25519 = a->ike_proposals[0];
  x25519.dh_group = policy::DhGroup::kCurve25519;
  a->ike_proposals = {ecp, x25519};
  b->ike_proposals = {x25519};
  a->rules[0].session_key_pfs = b->rules[0].session_key_pfs = true;
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(b);
  configured_ = true;
  Establish();
  ASSERT_TRUE(net_.a.manager->Rekey(Children(net_.a)[0].id, net_.now).ok());
  net_.DeliverAll();
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kInvalidKePayload)) << net_.b.observer.Log();
  auto after = Children(net_.a);
  ASSERT_EQ(after.size(), 1u) << net_.a.observer.Log();
  EXPECT_NE(after[0].algorithms.find("curve25519"), std::string::npos) << after[0].algorithms;
  EXPECT_EQ(net_.a.observer.child_rekeys, 1);
  EXPECT_EQ(net_.b.observer.child_rekeys, 1);
  ExpectPaired();
}

TEST_F(RekeyTest, RekeyOfAChildThePeerDeletedMeanwhileEndsWithChildSaNotFound) {
  Establish();
  // A rekeys while B deletes; B's Delete and A's answer overtake A's rekey request, which
  // then names an SA B no longer has (§2.25).
  ASSERT_TRUE(net_.a.manager->Rekey(Children(net_.a)[0].id, net_.now).ok());
  ASSERT_TRUE(net_.b.manager->Delete(Children(net_.b)[0].id, net_.now).ok());
  ASSERT_EQ(net_.wire.size(), 2u);
  std::swap(net_.wire[0], net_.wire[1]);
  net_.DeliverOne();  // B's Delete reaches A, which answers
  ASSERT_EQ(net_.wire.size(), 2u);
  std::swap(net_.wire[0], net_.wire[1]);
  net_.DeliverAll();
  EXPECT_TRUE(Children(net_.b).empty());
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kPeerError)) << net_.a.observer.Log();
  EXPECT_TRUE(Children(net_.a).empty()) << "§2.25: CHILD_SA_NOT_FOUND: ours goes too";
}

// A child rekey and an IKE rekey cross (§2.8, §2.25): the IKE SA's rekey wins or the child's
// request is answered TEMPORARY_FAILURE and retried; both ends agree afterwards.
TEST_F(RekeyTest, ChildRekeyCrossingAnIkeRekeyEndsConsistent) {
  Establish();
  for (int round = 0; round < 2; ++round) {
    IkePeer& ike_side = round == 0 ? net_.a : net_.b;
    IkePeer& child_side = round == 0 ? net_.b : net_.a;
    ASSERT_TRUE(ike_side.manager->Rekey(ike_side.manager->Snapshot(net_.now)[0].id, net_.now).ok());
    ASSERT_TRUE(child_side.manager->Rekey(Children(child_side)[0].id, net_.now).ok());
    net_.Run(std::chrono::seconds(30));
    auto a = net_.a.manager->Snapshot(net_.now);
    auto b = net_.b.manager->Snapshot(net_.now);
    ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
    ASSERT_EQ(b.size(), 1u) << net_.b.observer.Log();
    EXPECT_EQ(a[0].spi_i, b[0].spi_i);
    EXPECT_EQ(Children(net_.a).size(), 1u) << net_.a.observer.Log();
    EXPECT_EQ(Children(net_.b).size(), 1u) << net_.b.observer.Log();
    ExpectPaired();
  }
  EXPECT_EQ(net_.a.observer.child_down + net_.b.observer.child_down, 0);
  EXPECT_EQ(net_.a.observer.ike_rekeys, 2);
  EXPECT_EQ(net_.a.observer.child_rekeys, 2);
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kInternal) ||
              net_.b.observer.Failed(FailureReason::kInternal))
      << "one IKE rekey was answered TEMPORARY_FAILURE and retried";
}

// §2.8 with a reordering network: A rekeys the child SA; B answers (installing the new pair, its
// outbound SA held back) but the response is delayed. B is then asked to rekey the child SA
// (POST /v1/sas/child-1/rekey): the only installed pair is the one A does not know yet, so a
// REKEY_SA naming it would meet CHILD_SA_NOT_FOUND and §2.25 would have B drop the pair A is
// about to send on (B then lost the child SA entirely once A deleted the old one). B refuses
// until the pair is confirmed; afterwards its rekey goes through.
TEST_F(RekeyTest, RekeyOfAPairThePeerHasNotConfirmedWaitsForIt) {
  Establish();
  const std::string id = Children(net_.a)[0].id;
  ASSERT_TRUE(net_.a.manager->Rekey(id, net_.now).ok());
  ASSERT_TRUE(net_.DeliverOne());  // A's CREATE_CHILD_SA request; B's response is queued
  ASSERT_EQ(net_.wire.size(), 1u);
  const testing::Datagram response = net_.wire.front();
  net_.wire.pop_front();  // overtaken by whatever B sends next
  const Status refused = net_.b.manager->Rekey(id, net_.now);
  net_.DeliverAll();
  net_.wire.push_back(response);
  net_.DeliverAll();  // the response, then A's Delete of the old pair
  ASSERT_EQ(Children(net_.a).size(), 1u) << net_.a.observer.Log();
  ASSERT_EQ(Children(net_.b).size(), 1u) << net_.b.observer.Log();
  ExpectPaired();
  EXPECT_EQ(net_.a.observer.child_down + net_.b.observer.child_down, 0)
      << net_.a.observer.Log() << "\n"
      << net_.b.observer.Log();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition) << refused.error().ToString();
  const uint32_t confirmed = Children(net_.b)[0].spi_in;
  ASSERT_TRUE(net_.b.manager->Rekey(id, net_.now).ok());
  net_.DeliverAll();
  ASSERT_EQ(Children(net_.b).size(), 1u) << net_.b.observer.Log();
  EXPECT_NE(Children(net_.b)[0].spi_in, confirmed);
  ExpectPaired();
}

// §2.8.1: the loser of a child rekey collision keeps its redundant pair (its outbound SA never
// installed) until the Delete exchange for it completes, which loss can stretch to the whole
// retransmission budget. The timers must not come due again and again meanwhile: the pair's
// "is the peer sending on it yet?" poll never runs for a redundant pair, so its time must not
// count as a deadline (the IKE thread spun at 100% CPU on it, and forever when the Delete
// never came).
TEST_F(RekeyTest, RedundantPairAwaitingItsDeleteArmsNoTimerInThePast) {
  Establish();
  bool seen = false;
  for (int round = 0; round < 8 && !seen; ++round) {
    for (int i = 0; i < round; ++i) net_.a.random.Uint64();  // vary the nonces' order
    const std::string id = Children(net_.a)[0].id;
    ASSERT_TRUE(net_.a.manager->Rekey(id, net_.now).ok());
    ASSERT_TRUE(net_.b.manager->Rekey(id, net_.now).ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(net_.DeliverOne());  // both requests and answers
    for (IkePeer* loser : {&net_.a, &net_.b}) {
      if (loser->observer.Log().find("our new child SA is redundant") == std::string::npos) {
        continue;
      }
      seen = true;
      // Its Delete of the redundant pair is on the wire, unanswered, for a while.
      std::deque<testing::Datagram> held;
      std::swap(held, net_.wire);
      for (int step = 0; step < 5; ++step) {
        net_.now += std::chrono::seconds(1);
        loser->manager->OnTimer(net_.now);
        EXPECT_GT(loser->manager->NextDeadline(), net_.now) << "step " << step;
      }
      net_.wire.clear();  // the retransmissions
      std::swap(held, net_.wire);
      break;
    }
    net_.DeliverAll();
    ASSERT_EQ(Children(net_.a).size(), 1u) << net_.a.observer.Log();
    ASSERT_EQ(Children(net_.b).size(), 1u) << net_.b.observer.Log();
  }
  EXPECT_TRUE(seen) << "no round made a side's new pair the redundant one";
}

}  // namespace
}  // namespace ipsec::engine::ike
