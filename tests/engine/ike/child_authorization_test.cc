// Child SAs are bound to what authenticated the IKE SA's peer (peer_authentication.h): a peer
// that authenticated with one rule's preshared key gets no child SA of a rule that demands a
// certificate or another key, in IKE_AUTH (the rule is picked by traffic AND AUTH) or in
// CREATE_CHILD_SA (either role), also after an IKE SA rekey (RFC 7296 §2.18).
#include <gtest/gtest.h>

#include "engine/ike/traffic_selectors.h"
#include "engine/policy/templates.h"
#include "tests/engine/crypto/test_pki.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using crypto::testing::CertOptions;
using crypto::testing::KeyKind;
using crypto::testing::TestCert;
using testing::IkePeer;
using testing::TwoPeers;

dataplane::TrafficSelector Ts(const std::string& prefix) {
  const auto slash = prefix.find('/');
  const IpAddress a = *IpAddress::Parse(prefix.substr(0, slash));
  return {slash == std::string::npos ? IpRange::Single(a)
                                     : IpRange::FromPrefix(a, std::stoi(prefix.substr(slash + 1)))};
}

Credential Psk(const std::string& key) {
  return {policy::AuthKind::kPreSharedKey, SecretBytes(key), ""};
}

// A rule in tunnel mode to `peer` securing `local` <-> `remote`.
NegotiateRule Rule(const std::string& name, const std::string& peer, const std::string& local,
                   const std::string& remote, std::vector<Credential> credentials) {
  NegotiateRule r;
  r.name = name;
  r.credentials = std::move(credentials);
  r.security_methods = policy::DefaultSecurityMethods();
  r.tunnel_endpoint = IpAddress::Parse(peer);
  r.traffic.push_back({Ts(local), Ts(remote)});
  return r;
}

std::shared_ptr<IkeConfig> Config(std::vector<NegotiateRule> rules) {
  auto c = std::make_shared<IkeConfig>();
  c->policy = "test";
  c->ike_proposals = policy::DefaultIkeProposals();
  c->rules = std::move(rules);
  return c;
}

// A CA ("lab-ca") and a certificate for each peer, naming its address.
TestCert LabCa() {
  CertOptions ca;
  ca.subject = "C=US, O=ipsec-sidecar test, CN=Lab CA";
  ca.is_ca = true;
  return crypto::testing::SelfSigned(ca);
}

struct Pki {
  Pki() : root(LabCa()) {
    trust = std::make_shared<crypto::TrustStore>();
    EXPECT_TRUE(trust->Add(root.cert).ok());
    for (auto [name, ip, index] :
         {std::tuple{"a", "10.1.0.1", 1}, std::tuple{"b", "10.2.0.1", 2}}) {
      CertOptions o;
      o.subject = std::string("C=US, O=ipsec-sidecar test, CN=") + name + ".example";
      o.key_index = index;
      o.ips = {ip};
      TestCert cert = crypto::testing::Issue(o, root);
      local[name] =
          std::make_shared<LocalCertificate>(LocalCertificate{name, {cert.cert}, cert.key});
    }
  }
  // Certificates from the lab CA; `who` ("a", "b") authenticates itself with its own.
  Credential Cert(const std::string& who, const std::string& ca_name = "lab-ca") const {
    Credential c;
    c.kind = policy::AuthKind::kCertificate;
    c.certificate_authority = ca_name;
    c.trust = trust;
    c.local_certificate = local.at(who);
    return c;
  }
  TestCert root;
  std::shared_ptr<crypto::TrustStore> trust;
  std::map<std::string, std::shared_ptr<const LocalCertificate>> local;
};

// Establishes A's IKE SA for `rule` with B, with its first child SA.
void Establish(TwoPeers& net, const std::string& rule = "x") {
  auto id = net.a.manager->Initiate(rule, net.a.endpoint(), net.b.endpoint(), net.now);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  net.DeliverAll();
  ASSERT_EQ(net.b.observer.ike_up, 1) << net.b.observer.Log();
  ASSERT_EQ(net.b.observer.child_up, 1) << net.b.observer.Log();
}

// The rules of a peer's child SAs, in order.
std::vector<std::string> ChildRules(TwoPeers& net, IkePeer& p) {
  std::vector<std::string> out;
  for (const auto& sa : p.manager->Snapshot(net.now)) {
    for (const auto& c : sa.children) out.push_back(c.rule);
  }
  return out;
}

// A = 10.1.0.1, B = 10.2.0.1. Rule "x" secures the two addresses; "y" their subnets
// 10.11/16 <-> 10.22/16; "z" and "w" others.
class ChildAuthorizationTest : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(Credentials, ChildAuthorizationTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? std::string("Certificate") : std::string("Psk");
                         });

// A authenticated with "x"'s key, then asks B for a child SA of "y", which demands another key
// or a certificate: B refuses it (TS_UNACCEPTABLE, naming why); the IKE SA stands.
TEST_P(ChildAuthorizationTest, CreateChildSaForARuleOfAnotherCredentialIsRefused) {
  Pki pki;
  const bool certificate = GetParam();  // y demands a certificate, or another preshared key
  {
    TwoPeers net_;
    // A believes "y" takes x's key too; B does not.
    net_.a.manager->SetConfig(
        Config({Rule("x", "10.2.0.1", "10.1.0.1", "10.2.0.1", {Psk("key-x")}),
                Rule("y", "10.2.0.1", "10.11.0.0/16", "10.22.0.0/16", {Psk("key-x")})}));
    net_.b.manager->SetConfig(Config({Rule("x", "10.1.0.1", "10.2.0.1", "10.1.0.1", {Psk("key-x")}),
                                      Rule("y", "10.1.0.1", "10.22.0.0/16", "10.11.0.0/16",
                                           {certificate ? pki.Cert("b") : Psk("key-y")})}));
    ASSERT_NO_FATAL_FAILURE(Establish(net_));
    ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "y", net_.now).ok());
    net_.DeliverAll();
    EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kTsUnacceptable)) << net_.b.observer.Log();
    EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kTsUnacceptable)) << net_.a.observer.Log();
    EXPECT_NE(net_.b.observer.Log().find("rule 'y' covers TSi 10.11.0.0/16 TSr 10.22.0.0/16 but "
                                         "does not accept what authenticated the peer (a "
                                         "preshared key)"),
              std::string::npos)
        << net_.b.observer.Log();
    EXPECT_EQ(ChildRules(net_, net_.b), std::vector<std::string>{"x"});
    EXPECT_EQ(ChildRules(net_, net_.a), std::vector<std::string>{"x"});
    EXPECT_EQ(net_.b.backend.Policies().size(), 2u);  // x's, both directions
    EXPECT_EQ(net_.b.manager->sa_count(), 1u);
    // The key never reaches a log line.
    EXPECT_EQ(net_.b.observer.Log().find("key-x"), std::string::npos);
  }
}

// A rule holding the same credential is the same authorization: the same key, or a
// certificate from the same CA (the same trust store, or the same name).
TEST_P(ChildAuthorizationTest, RulesWithTheSameCredentialShareTheIkeSa) {
  Pki pki;
  const bool certificate = GetParam();  // certificates from lab-ca, or one preshared key
  {
    TwoPeers net_;
    auto a_cred = certificate ? pki.Cert("a") : Psk("key-x");
    auto b_cred = certificate ? pki.Cert("b") : Psk("key-x");
    Credential b_same_ca_other_name = pki.Cert("b", "C=US, O=ipsec-sidecar test, CN=Lab CA");
    net_.a.manager->SetConfig(
        Config({Rule("x", "10.2.0.1", "10.1.0.1", "10.2.0.1", {a_cred}),
                Rule("z", "10.2.0.1", "10.13.0.0/16", "10.23.0.0/16", {a_cred}),
                Rule("w", "10.2.0.1", "10.14.0.0/16", "10.24.0.0/16", {a_cred})}));
    net_.b.manager->SetConfig(
        Config({Rule("x", "10.1.0.1", "10.2.0.1", "10.1.0.1", {b_cred}),
                Rule("z", "10.1.0.1", "10.23.0.0/16", "10.13.0.0/16", {Psk("key-other"), b_cred}),
                Rule("w", "10.1.0.1", "10.24.0.0/16", "10.14.0.0/16",
                     {certificate ? b_same_ca_other_name : b_cred})}));
    ASSERT_NO_FATAL_FAILURE(Establish(net_));
    ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "z", net_.now).ok());
    ASSERT_TRUE(net_.a.manager->InitiateChild("ike-1", "w", net_.now).ok());
    net_.DeliverAll();
    EXPECT_EQ(ChildRules(net_, net_.b), (std::vector<std::string>{"x", "z", "w"}))
        << net_.b.observer.Log();
  }
}

// Our own side: a child SA on an IKE SA whose peer authenticated with a credential the rule does
// not hold is refused at once, saying why (it needs an IKE SA of its own).
TEST(ChildAuthorization, InitiateChildForARuleTheIkeSaDoesNotSatisfyIsRefused) {
  TwoPeers net_;
  net_.a.manager->SetConfig(
      Config({Rule("x", "10.2.0.1", "10.1.0.1", "10.2.0.1", {Psk("key-x")}),
              Rule("y", "10.2.0.1", "10.11.0.0/16", "10.22.0.0/16", {Psk("key-y")})}));
  net_.b.manager->SetConfig(
      Config({Rule("x", "10.1.0.1", "10.2.0.1", "10.1.0.1", {Psk("key-x")}),
              Rule("y", "10.1.0.1", "10.22.0.0/16", "10.11.0.0/16", {Psk("key-y")})}));
  ASSERT_NO_FATAL_FAILURE(Establish(net_));
  net_.wire.clear();
  Status s = net_.a.manager->InitiateChild("ike-1", "y", net_.now);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(s.error().message,
            "ike-1's peer authenticated with a preshared key, which rule 'y' does not accept: its "
            "child SAs need an IKE SA of their own");
  EXPECT_TRUE(net_.wire.empty());
  // Its own IKE SA works.
  ASSERT_TRUE(net_.a.manager->Initiate("y", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(ChildRules(net_, net_.b).size(), 2u) << net_.b.observer.Log();
}

// IKE_AUTH picks the rule by traffic AND AUTH (kept as it was): x's key offering y's traffic
// fails authentication; a wide offer with x's key gets x, narrowed to x's traffic.
TEST(ChildAuthorization, IkeAuthPicksTheRuleByTrafficAndAuth) {
  TwoPeers net_;
  Pki pki;
  auto b = Config({Rule("x", "10.1.0.1", "10.2.0.1", "10.1.0.1", {Psk("key-x")}),
                   Rule("y", "10.1.0.1", "10.22.0.0/16", "10.11.0.0/16", {pki.Cert("b")})});
  net_.a.manager->SetConfig(
      Config({Rule("y", "10.2.0.1", "10.11.0.0/16", "10.22.0.0/16", {Psk("key-x")})}));
  net_.b.manager->SetConfig(b);
  ASSERT_TRUE(net_.a.manager->Initiate("y", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kAuthenticationFailed))
      << net_.b.observer.Log();
  EXPECT_EQ(net_.b.observer.ike_up, 0);
  EXPECT_TRUE(net_.b.backend.Sas().empty());

  TwoPeers net;
  net.a.manager->SetConfig(
      Config({Rule("wide", "10.2.0.1", "0.0.0.0/0", "0.0.0.0/0", {Psk("key-x")})}));
  net.b.manager->SetConfig(b);
  ASSERT_TRUE(net.a.manager->Initiate("wide", net.a.endpoint(), net.b.endpoint(), net.now).ok());
  net.DeliverAll();
  auto s = net.b.manager->Snapshot(net.now);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].rule, "x");
  ASSERT_EQ(s[0].children.size(), 1u) << net.b.observer.Log();
  EXPECT_EQ(s[0].children[0].rule, "x");
  EXPECT_EQ(s[0].children[0].local_ts, std::vector<std::string>{"10.2.0.1"});
  EXPECT_EQ(s[0].children[0].remote_ts, std::vector<std::string>{"10.1.0.1"});
}

// §2.18: the rekeyed IKE SA inherits what authenticated the peer, on both sides: a rule with
// the same key still gets child SAs under it, another rule still does not.
TEST(ChildAuthorization, AnIkeSaRekeyCarriesTheAuthorization) {
  TwoPeers net_;
  net_.a.manager->SetConfig(
      Config({Rule("x", "10.2.0.1", "10.1.0.1", "10.2.0.1", {Psk("key-x")}),
              Rule("y", "10.2.0.1", "10.11.0.0/16", "10.22.0.0/16", {Psk("key-x")}),
              Rule("z", "10.2.0.1", "10.13.0.0/16", "10.23.0.0/16", {Psk("key-x")})}));
  net_.b.manager->SetConfig(
      Config({Rule("x", "10.1.0.1", "10.2.0.1", "10.1.0.1", {Psk("key-x")}),
              Rule("y", "10.1.0.1", "10.22.0.0/16", "10.11.0.0/16", {Psk("key-y")}),
              Rule("z", "10.1.0.1", "10.23.0.0/16", "10.13.0.0/16", {Psk("key-x")})}));
  ASSERT_NO_FATAL_FAILURE(Establish(net_));
  ASSERT_TRUE(net_.a.manager->Rekey("ike-1", net_.now).ok());
  net_.DeliverAll();
  auto a = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(a.size(), 1u) << net_.a.observer.Log();
  ASSERT_NE(a[0].id, "ike-1");
  ASSERT_TRUE(net_.a.manager->InitiateChild(a[0].id, "z", net_.now).ok());
  ASSERT_TRUE(net_.a.manager->InitiateChild(a[0].id, "y", net_.now).ok());
  net_.DeliverAll();
  EXPECT_EQ(ChildRules(net_, net_.b), (std::vector<std::string>{"x", "z"}))
      << net_.b.observer.Log();
  EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kTsUnacceptable));
  // And the other way round: B, the rekey's responder, asks under the new IKE SA.
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(b.size(), 1u);
  Status refused = net_.b.manager->InitiateChild(b[0].id, "y", net_.now);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ipsec::engine::ike
