// Every SPI the engine allocates in the data path (dataplane::Backend::AllocateSpi) is installed
// as an SA or released, whatever ends the negotiation it was for: the IKE SA deleted under it,
// retransmissions exhausted, a bundle refused. A leaked SPI stays reserved in the data path for
// the daemon's life (and a busy peer could make it leak them one by one). Found by
// fuzz/ike_state_fuzz, whose teardown checks that no SPI is left.
#include <gtest/gtest.h>

#include "engine/policy/templates.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using testing::Datagram;
using testing::IkePeer;
using testing::TwoPeers;

class SpiBalanceTest : public ::testing::Test {
 protected:
  void Establish() {
    net_.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret"));
    net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
    ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
    net_.DeliverAll();
    ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
    ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  }
  static std::string IkeId(IkePeer& p) {
    auto sas = p.manager->Snapshot({});
    return sas.empty() ? "" : sas[0].id;
  }
  // Nothing left in either data path: no SA, no policy, no SPI reserved.
  void ExpectNothingLeft() {
    for (IkePeer* p : {&net_.a, &net_.b}) {
      SCOPED_TRACE(p->address.ToString());
      EXPECT_EQ(p->manager->sa_count(), 0u) << p->observer.Log();
      EXPECT_TRUE(p->backend.Sas().empty());
      EXPECT_TRUE(p->backend.Policies().empty());
      EXPECT_TRUE(p->backend.ReservedSpis().empty())
          << p->backend.ReservedSpis().size() << " SPIs reserved, never installed nor released: "
          << ::testing::PrintToString(p->backend.CallLog());
    }
  }
  TwoPeers net_;
};

// A asks for a further child SA (its inbound SPI allocated); B's Delete of the IKE SA crosses
// the request, so A's CREATE_CHILD_SA never completes: its SPI must be released with the SA.
TEST_F(SpiBalanceTest, ChildRequestOutstandingWhenThePeerDeletesTheIkeSa) {
  Establish();
  ASSERT_TRUE(net_.a.manager->InitiateChild(IkeId(net_.a), "r", net_.now).ok());
  ASSERT_EQ(net_.a.backend.ReservedSpis().size(), 1u);  // the request is on the wire
  ASSERT_TRUE(net_.b.manager->Delete(IkeId(net_.b), net_.now).ok());
  net_.DeliverAll();
  ExpectNothingLeft();
}

// The same request, the peer silent: A's retransmissions run out and the IKE SA goes.
TEST_F(SpiBalanceTest, ChildRequestOutstandingWhenRetransmissionsRunOut) {
  Establish();
  net_.filter = [](const Datagram&) { return false; };
  ASSERT_TRUE(net_.a.manager->InitiateChild(IkeId(net_.a), "r", net_.now).ok());
  net_.Run(std::chrono::minutes(10));
  EXPECT_EQ(net_.a.manager->sa_count(), 0u) << net_.a.observer.Log();
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty())
      << ::testing::PrintToString(net_.a.backend.CallLog());
  EXPECT_TRUE(net_.a.backend.Sas().empty());
}

// A child SA rekey outstanding (its new inbound SPI allocated) when the IKE SA is deleted
// through the API.
TEST_F(SpiBalanceTest, ChildRekeyOutstandingWhenTheIkeSaIsDeleted) {
  Establish();
  const auto child = net_.a.manager->Snapshot(net_.now)[0].children[0].id;
  ASSERT_TRUE(net_.a.manager->Rekey(child, net_.now).ok());
  ASSERT_TRUE(net_.b.manager->Delete(IkeId(net_.b), net_.now).ok());
  net_.DeliverAll();
  ExpectNothingLeft();
}

// FAQ 46: A offers only the AH+ESP bundle (an ESP SPI and an AH SPI allocated), B accepts only
// ESP and answers NO_PROPOSAL_CHOSEN; and the other way round, B's ESP offer refused by A. No
// SPI stays reserved on either side, then or after the retries.
TEST_F(SpiBalanceTest, RefusedBundleReleasesBothSpis) {
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  policy::SecurityMethod bundle;
  bundle.protocol = policy::IpsecProtocol::kAhEsp;
  bundle.ah_integrity = policy::IntegrityAlgorithm::kHmacSha256_128;
  a->rules[0].security_methods = {bundle};
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(b);
  ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.a.observer.child_up, 0);
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty())
      << ::testing::PrintToString(net_.a.backend.CallLog());
  EXPECT_TRUE(net_.b.backend.ReservedSpis().empty());
  ASSERT_TRUE(net_.b.manager->InitiateChild(IkeId(net_.b), "r", net_.now).ok());
  net_.DeliverAll();
  EXPECT_TRUE(net_.b.backend.ReservedSpis().empty())
      << ::testing::PrintToString(net_.b.backend.CallLog());
  net_.a.manager->DeleteAll(net_.now);
  net_.Run(std::chrono::minutes(5));
  ExpectNothingLeft();
}

// §2.4: B restarts (a new engine: its SAs are gone, A's stay) and negotiates anew with
// INITIAL_CONTACT; A removes its stale SA. The stale SA must leave A's table, not linger there
// dead: sa_count() counted it, and nothing ever freed it (one entry per peer restart).
TEST_F(SpiBalanceTest, SaRemovedByInitialContactLeavesTheTable) {
  Establish();
  IkeManager::Options o;
  o.random = &net_.b.random;
  o.observer = &net_.b.observer;
  o.sink = &net_.b;
  o.backend = &net_.b.backend;
  o.clock = &net_.b.clock;
  net_.b.manager = std::make_unique<IkeManager>(o);
  net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
  ASSERT_TRUE(net_.b.manager->Initiate("r", net_.b.endpoint(), net_.a.endpoint(), net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.last_down_reason, "the peer sent INITIAL_CONTACT")
      << net_.a.observer.Log();
  EXPECT_EQ(net_.a.manager->Snapshot(net_.now).size(), 1u);
  EXPECT_EQ(net_.a.manager->sa_count(), 1u) << "the removed SA is still in the table";
  EXPECT_EQ(net_.a.manager->CheckAdmission(), "");
  net_.a.manager->DeleteAll(net_.now);
  net_.Run(std::chrono::minutes(5));
  EXPECT_EQ(net_.a.manager->sa_count(), 0u) << net_.a.observer.Log();
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
}

}  // namespace
}  // namespace ipsec::engine::ike
