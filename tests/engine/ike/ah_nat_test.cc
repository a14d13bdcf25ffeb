// AH child SAs and NAT (RFC 3715 §2.1: AH's ICV covers the addresses a NAT rewrites; RFC 3948
// encapsulates ESP only): two in-process peers whose rule offers AH first, then ESP. Without a
// NAT the responder chooses AH; with UDP encapsulation (a NAT, or forced) it skips AH and
// chooses ESP; with AH alone it answers NO_PROPOSAL_CHOSEN and no child SA is installed. The
// initiator's offer leaves AH out across a NAT when an ESP method remains.

#include <gtest/gtest.h>

#include "engine/ike/child_negotiation.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using testing::TwoPeers;

policy::SecurityMethod Ah() {
  policy::SecurityMethod m;
  m.protocol = policy::IpsecProtocol::kAh;
  m.ah_integrity = policy::IntegrityAlgorithm::kHmacSha256_128;
  return m;
}

policy::SecurityMethod Esp() { return policy::SecurityMethod{}; }  // AES-GCM-16-128

class AhNatTest : public ::testing::Test {
 protected:
  void Configure(const std::vector<policy::SecurityMethod>& methods, bool nat) {
    auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
    auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
    a->rules[0].security_methods = methods;
    b->rules[0].security_methods = methods;
    net_.a.manager->SetConfig(a);
    net_.b.manager->SetConfig(b);
    if (nat) net_.PutABehindNat();
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
    net_.DeliverAll();
  }
  TwoPeers net_;
};

TEST_F(AhNatTest, WithoutANatAhIsChosen) {
  Configure({Ah(), Esp()}, /*nat=*/false);
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  ASSERT_EQ(net_.b.backend.Sas().size(), 2u);
  for (const auto& sa : net_.b.backend.Sas()) {
    EXPECT_EQ(sa.protocol, dataplane::SaProtocol::kAh);
    EXPECT_FALSE(sa.udp_encapsulation);
  }
  EXPECT_EQ(net_.a.manager->Snapshot(net_.now)[0].children[0].protocol, "ah");
}

TEST_F(AhNatTest, AcrossANatEspIsChosenInsteadOfAh) {
  Configure({Ah(), Esp()}, /*nat=*/true);
  ASSERT_EQ(net_.a.observer.child_up, 1) << net_.a.observer.Log() << net_.b.observer.Log();
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  for (auto* peer : {&net_.a, &net_.b}) {
    ASSERT_EQ(peer->backend.Sas().size(), 2u);
    for (const auto& sa : peer->backend.Sas()) {
      EXPECT_EQ(sa.protocol, dataplane::SaProtocol::kEsp);
      EXPECT_TRUE(sa.udp_encapsulation);
    }
  }
}

TEST_F(AhNatTest, AcrossANatAhAloneIsRefusedNamingTheReason) {
  Configure({Ah()}, /*nat=*/true);
  EXPECT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();  // the IKE SA stands
  EXPECT_EQ(net_.a.observer.child_up, 0);
  EXPECT_EQ(net_.b.observer.child_up, 0);
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.b.backend.Sas().empty());
  EXPECT_NE(net_.b.observer.Log().find("not eligible across a NAT"), std::string::npos)
      << net_.b.observer.Log();
}

TEST(AhNatOfferTest, InitiatorLeavesAhOutAcrossANatWhenEspRemains) {
  dataplane::RecordingBackend backend;
  ChildInstaller installer(backend);
  NegotiateRule rule;
  rule.name = "r";
  rule.security_methods = {Ah(), Esp()};
  auto protocols = [&](bool udp) {
    auto r = PrepareChildRequest(installer, rule, {}, {}, codec::DhGroup::kNone, udp);
    EXPECT_TRUE(r.ok());
    std::vector<codec::ProtocolId> out;
    for (const auto& p : r->offer.proposals) out.push_back(p.protocol);
    return out;
  };
  using P = codec::ProtocolId;
  EXPECT_EQ(protocols(false), (std::vector<P>{P::kAh, P::kEsp}));
  EXPECT_EQ(protocols(true), (std::vector<P>{P::kEsp}));
  rule.security_methods = {Ah()};  // nothing else to offer: the responder refuses, naming why
  EXPECT_EQ(protocols(true), (std::vector<P>{P::kAh}));
}

}  // namespace
}  // namespace ipsec::engine::ike
