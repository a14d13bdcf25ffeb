// Certificate authentication between two in-process peers (RFC 7296 §2.15, §3.5-3.8; RFC 7427;
// RFC 4754; FAQ 29): RSA and ECDSA, RFC 7427 and the classic methods, intermediates, CERTREQ,
// ID types, and every way a certificate is refused.
#include <gtest/gtest.h>

#include "engine/crypto/hash.h"
#include "engine/crypto/signature.h"
#include "engine/ike/auth_cert.h"
#include "engine/ike/certificate_store.h"
#include "engine/ike/codec/message.h"
#include "engine/policy/templates.h"
#include "tests/engine/crypto/test_pki.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using crypto::Certificate;
using crypto::testing::CertOptions;
using crypto::testing::Issue;
using crypto::testing::kDay;
using crypto::testing::KeyKind;
using crypto::testing::kTestNow;
using crypto::testing::SelfSigned;
using crypto::testing::TestCert;
using testing::TwoPeers;

TestCert MakeCa(const std::string& cn, KeyKind kind, int index = 0) {
  CertOptions o;
  o.subject = "C=US, O=ipsec-sidecar test, CN=" + cn;
  o.key = kind;
  o.key_index = index;
  o.is_ca = true;
  o.not_before = kTestNow - 10 * kDay;
  return SelfSigned(o);
}

// An end-entity certificate for a peer named `name` at `ip`, with subjectAltNames
// DNS:<name>.example, IP:<ip>, IP:2001:db8::<suffix>.
TestCert MakePeerCert(const std::string& name, const std::string& ip, const std::string& v6,
                      KeyKind kind, const TestCert& issuer, int key_index = 1) {
  CertOptions o;
  o.subject = "C=US, O=ipsec-sidecar test, CN=" + name + ".example";
  o.key = kind;
  o.key_index = key_index;
  o.dns = {name + ".example"};
  o.ips = {ip, v6};
  return Issue(o, issuer);
}

Credential CertCredential(const std::vector<Certificate>& trusted,
                          std::optional<TestCert> own = std::nullopt,
                          std::vector<Certificate> intermediates = {},
                          std::optional<crypto::PrivateKey> key_override = std::nullopt) {
  Credential c;
  c.kind = policy::AuthKind::kCertificate;
  c.certificate_authority = "lab-ca";
  auto trust = std::make_shared<crypto::TrustStore>();
  for (const auto& t : trusted) EXPECT_TRUE(trust->Add(t).ok());
  c.trust = std::move(trust);
  if (own) {
    auto local = std::make_shared<LocalCertificate>(
        LocalCertificate{"test", {own->cert}, key_override ? *key_override : own->key});
    for (auto& i : intermediates) local->chain.push_back(i);
    c.local_certificate = std::move(local);
  }
  return c;
}

std::shared_ptr<IkeConfig> Config(const std::string& local, const std::string& remote,
                                  std::vector<Credential> credentials) {
  auto c = testing::SimpleConfig(local, remote, "unused");
  c->rules[0].credentials = std::move(credentials);
  return c;
}

class CertAuthTest : public ::testing::Test {
 protected:
  void Run() {
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
    net_.DeliverAll();
  }
  void ExpectUp() {
    EXPECT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
    EXPECT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
    EXPECT_EQ(net_.a.observer.child_up, 1);
    EXPECT_EQ(net_.b.observer.child_up, 1);
  }
  // The responder refused the initiator: AUTHENTICATION_FAILED on both sides, `reason` in the
  // responder's log, no SA and no reserved SPI left on either side.
  void ExpectRefusedByResponder(const std::string& reason) {
    EXPECT_EQ(net_.a.observer.ike_up, 0);
    EXPECT_EQ(net_.b.observer.ike_up, 0);
    EXPECT_TRUE(net_.b.observer.Failed(FailureReason::kAuthenticationFailed))
        << net_.b.observer.Log();
    EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kAuthenticationFailed))
        << net_.a.observer.Log();
    EXPECT_NE(net_.b.observer.Log().find(reason), std::string::npos) << net_.b.observer.Log();
    EXPECT_EQ(net_.a.manager->sa_count(), 0u);
    EXPECT_EQ(net_.b.manager->sa_count(), 0u);
    EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
    EXPECT_TRUE(net_.b.backend.ReservedSpis().empty());
  }
  IkeSaSnapshot SnapshotOf(testing::IkePeer& p) {
    auto s = p.manager->Snapshot(net_.now);
    EXPECT_EQ(s.size(), 1u);
    return s.empty() ? IkeSaSnapshot{} : s[0];
  }
  // Both peers' certificates under one root; each trusts the root.
  void SetUpPair(KeyKind kind, bool a_rfc7427 = true, bool b_rfc7427 = true) {
    root_ = MakeCa("Root", kind);
    a_cert_ = MakePeerCert("a", "10.1.0.1", "2001:db8::a", kind, *root_, 1);
    b_cert_ = MakePeerCert("b", "10.2.0.1", "2001:db8::b", kind, *root_, 2);
    auto a = Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, a_cert_)});
    auto b = Config("10.2.0.1", "10.1.0.1", {CertCredential({root_->cert}, b_cert_)});
    a->announce_signature_hashes = a_rfc7427;
    b->announce_signature_hashes = b_rfc7427;
    net_.a.manager->SetConfig(a);
    net_.b.manager->SetConfig(b);
  }

  TwoPeers net_;
  std::optional<TestCert> root_, a_cert_, b_cert_;
};

TEST_F(CertAuthTest, RsaWithRfc7427) {
  SetUpPair(KeyKind::kRsa2048);
  Run();
  ExpectUp();
  auto a = SnapshotOf(net_.a);
  auto b = SnapshotOf(net_.b);
  EXPECT_EQ(a.local_auth, "certificate, rsa-pkcs1-sha256 (RFC 7427)");
  EXPECT_EQ(a.remote_auth, "certificate, rsa-pkcs1-sha256 (RFC 7427)");
  EXPECT_EQ(b.remote_auth, a.local_auth);
  // §3.5: without a configured identity, ID_DER_ASN1_DN of the certificate's subject.
  EXPECT_EQ(a.remote_id, "C=US, O=ipsec-sidecar test, CN=b.example");
  EXPECT_EQ(b.remote_id, "C=US, O=ipsec-sidecar test, CN=a.example");
}

TEST_F(CertAuthTest, EcdsaWithRfc7427) {
  SetUpPair(KeyKind::kEcP256);
  Run();
  ExpectUp();
  EXPECT_EQ(SnapshotOf(net_.a).local_auth, "certificate, ecdsa-sha256 (RFC 7427)");
  EXPECT_EQ(SnapshotOf(net_.b).local_auth, "certificate, ecdsa-sha256 (RFC 7427)");
}

TEST_F(CertAuthTest, RsaClassicWhenThePeerDoesNotAnnounceHashes) {
  // RFC 7427 §4: the initiator sends no N(SIGNATURE_HASH_ALGORITHMS), so neither side may use
  // Digital Signature: RSA Digital Signature (method 1) both ways.
  SetUpPair(KeyKind::kRsa2048, /*a_rfc7427=*/false);
  Run();
  ExpectUp();
  EXPECT_EQ(SnapshotOf(net_.a).local_auth, "certificate, rsa-pkcs1-sha1 (method 1)");
  EXPECT_EQ(SnapshotOf(net_.b).local_auth, "certificate, rsa-pkcs1-sha1 (method 1)");
  // The responder did not announce hashes either (it answers only an announcement).
  codec::Message response;
  for (const auto& d : net_.sent_log) {
    auto m = codec::DecodeMessage(d.data);
    ASSERT_TRUE(m.ok());
    if (m->header.exchange_type == codec::ExchangeType::kIkeSaInit && m->header.is_response()) {
      response = *m;
    }
  }
  EXPECT_EQ(codec::FindNotify(response.payloads, codec::NotifyType::kSignatureHashAlgorithms),
            nullptr);
}

TEST_F(CertAuthTest, EcdsaClassicMethodsByCurve) {
  // RFC 4754 §7: ECDSA with SHA-384 on P-384 is method 10; the responder lacks RFC 7427 here.
  SetUpPair(KeyKind::kEcP384, /*a_rfc7427=*/true, /*b_rfc7427=*/false);
  Run();
  ExpectUp();
  EXPECT_EQ(SnapshotOf(net_.a).local_auth, "certificate, ecdsa-sha384 (method 10)");
  EXPECT_EQ(SnapshotOf(net_.b).local_auth, "certificate, ecdsa-sha384 (method 10)");
}

TEST_F(CertAuthTest, ResponderSendsCertReqNamingItsCasBySpkiSha1) {
  SetUpPair(KeyKind::kEcP256);
  TestCert other_ca = MakeCa("Other", KeyKind::kEcP256, 3);
  auto b = Config("10.2.0.1", "10.1.0.1", {CertCredential({root_->cert, other_ca.cert}, b_cert_)});
  net_.b.manager->SetConfig(b);
  Run();
  ExpectUp();
  const codec::CertReqPayload* certreq = nullptr;
  codec::Message response;
  for (const auto& d : net_.sent_log) {
    auto m = codec::DecodeMessage(d.data);
    ASSERT_TRUE(m.ok());
    if (m->header.exchange_type == codec::ExchangeType::kIkeSaInit && m->header.is_response()) {
      response = *m;
    }
  }
  certreq =
      codec::FindPayload<codec::CertReqPayload>(response.payloads, codec::PayloadType::kCertReq);
  ASSERT_NE(certreq, nullptr);
  EXPECT_EQ(certreq->encoding, codec::CertEncoding::kX509Signature);
  // §3.7: the SHA-1 of each trusted CA's SubjectPublicKeyInfo, concatenated.
  Bytes expected = root_->cert.SubjectPublicKeyInfoSha1();
  Bytes other = other_ca.cert.SubjectPublicKeyInfoSha1();
  expected.insert(expected.end(), other.begin(), other.end());
  EXPECT_EQ(certreq->authorities, expected);
  EXPECT_EQ(certreq->authorities.size(), 40u);
}

TEST(CertificateRequestTest, InitiatorCertReqAndCertPayloadsInOrder) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  TestCert inter = Issue(
      CertOptions{.subject = "C=US, O=ipsec-sidecar test, CN=Inter", .key_index = 4, .is_ca = true},
      root);
  TestCert leaf = MakePeerCert("a", "10.1.0.1", "2001:db8::a", KeyKind::kEcP256, inter);
  Credential c = CertCredential({root.cert}, leaf, {inter.cert});
  NegotiateRule rule;
  rule.credentials = {c, c};  // the same store twice is named once
  OutMessage out;
  AddCertificates(*c.local_certificate, out);
  AddCertificateRequest(TrustStoresOf(rule), out);
  ASSERT_EQ(out.payloads.size(), 3u);
  // §3.6: our certificate first, then the intermediate.
  EXPECT_EQ(std::get<codec::CertPayload>(out.payloads[0].payload).data, leaf.cert.Der());
  EXPECT_EQ(std::get<codec::CertPayload>(out.payloads[1].payload).data, inter.cert.Der());
  EXPECT_EQ(out.payloads[2].type, codec::PayloadType::kCertReq);
  EXPECT_EQ(std::get<codec::CertReqPayload>(out.payloads[2].payload).authorities,
            root.cert.SubjectPublicKeyInfoSha1());
  // No trust store: no CERTREQ.
  OutMessage none;
  AddCertificateRequest({}, none);
  EXPECT_TRUE(none.payloads.empty());
}

TEST_F(CertAuthTest, IntermediatesTravelInCertPayloads) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  TestCert inter = Issue(
      CertOptions{.subject = "C=US, O=ipsec-sidecar test, CN=Inter", .key_index = 4, .is_ca = true},
      root);
  TestCert a = MakePeerCert("a", "10.1.0.1", "2001:db8::a", KeyKind::kEcP256, inter, 1);
  TestCert b = MakePeerCert("b", "10.2.0.1", "2001:db8::b", KeyKind::kRsa2048, root, 2);
  // B trusts only the root: A's path needs the intermediate A sends (§3.6).
  net_.a.manager->SetConfig(
      Config("10.1.0.1", "10.2.0.1", {CertCredential({root.cert}, a, {inter.cert})}));
  net_.b.manager->SetConfig(Config("10.2.0.1", "10.1.0.1", {CertCredential({root.cert}, b)}));
  Run();
  ExpectUp();
  // Mixed keys: B signs with RSA, A with ECDSA.
  EXPECT_EQ(SnapshotOf(net_.b).local_auth, "certificate, rsa-pkcs1-sha256 (RFC 7427)");
  EXPECT_EQ(SnapshotOf(net_.b).remote_auth, "certificate, ecdsa-sha256 (RFC 7427)");
}

TEST_F(CertAuthTest, MissingIntermediateIsAnUnknownCa) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  TestCert inter = Issue(
      CertOptions{.subject = "C=US, O=ipsec-sidecar test, CN=Inter", .key_index = 4, .is_ca = true},
      root);
  TestCert a = MakePeerCert("a", "10.1.0.1", "2001:db8::a", KeyKind::kEcP256, inter, 1);
  TestCert b = MakePeerCert("b", "10.2.0.1", "2001:db8::b", KeyKind::kEcP256, root, 2);
  net_.a.manager->SetConfig(Config("10.1.0.1", "10.2.0.1", {CertCredential({root.cert}, a)}));
  net_.b.manager->SetConfig(Config("10.2.0.1", "10.1.0.1", {CertCredential({root.cert}, b)}));
  Run();
  ExpectRefusedByResponder("unknown CA");
}

struct IdCase {
  const char* name;
  const char* configured;  // A's local identity
  const char* shown;       // as B's snapshot shows A's ID
};

class CertIdTest : public CertAuthTest, public ::testing::WithParamInterface<IdCase> {};

TEST_P(CertIdTest, IdentityNamedByTheCertificate) {
  SetUpPair(KeyKind::kEcP256);
  auto a = Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, a_cert_)});
  auto id = Identity::Parse(GetParam().configured);
  ASSERT_TRUE(id.ok());
  a->local_identity = *id;
  net_.a.manager->SetConfig(a);
  Run();
  ExpectUp();
  EXPECT_EQ(SnapshotOf(net_.b).remote_id, GetParam().shown);
  EXPECT_EQ(SnapshotOf(net_.a).local_id, GetParam().shown);
}

INSTANTIATE_TEST_SUITE_P(IdTypes, CertIdTest,
                         ::testing::Values(IdCase{"Dn", "C=US, O=ipsec-sidecar test, CN=a.example",
                                                  "C=US, O=ipsec-sidecar test, CN=a.example"},
                                           IdCase{"Fqdn", "@a.example", "a.example"},
                                           IdCase{"Ipv4", "10.1.0.1", "10.1.0.1"},
                                           IdCase{"Ipv6", "2001:db8::a", "2001:db8::a"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(CertAuthTest, ConfiguredIdTheCertificateDoesNotNameFallsBackToTheSubjectDn) {
  SetUpPair(KeyKind::kEcP256);
  auto a = Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, a_cert_)});
  a->local_identity = *Identity::Parse("@other.example");
  net_.a.manager->SetConfig(a);
  Run();
  ExpectUp();
  EXPECT_EQ(SnapshotOf(net_.b).remote_id, "C=US, O=ipsec-sidecar test, CN=a.example");
}

TEST(MatchIdentityTest, EachIdTypeAgainstTheCertificate) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  TestCert a = MakePeerCert("a", "10.1.0.1", "2001:db8::a", KeyKind::kEcP256, root);
  const Certificate& c = a.cert;
  EXPECT_TRUE(MatchIdentity(Identity::DerDn(c.SubjectDer()), c).ok());
  EXPECT_TRUE(MatchIdentity(*Identity::Parse("@A.Example"), c).ok());  // case-insensitive
  EXPECT_TRUE(MatchIdentity(*Identity::Parse("10.1.0.1"), c).ok());
  EXPECT_TRUE(MatchIdentity(*Identity::Parse("2001:db8::a"), c).ok());
  auto dn = MatchIdentity(*Identity::Parse("C=US, O=ipsec-sidecar test, CN=b.example"), c);
  ASSERT_FALSE(dn.ok());
  EXPECT_NE(dn.error().message.find("its subject differs"), std::string::npos);
  auto fqdn = MatchIdentity(*Identity::Parse("@b.example"), c);
  ASSERT_FALSE(fqdn.ok());
  EXPECT_NE(fqdn.error().message.find("subjectAltName DNS: a.example"), std::string::npos)
      << fqdn.error().message;
  EXPECT_FALSE(MatchIdentity(*Identity::Parse("10.1.0.2"), c).ok());
  auto v6 = MatchIdentity(*Identity::Parse("2001:db8::b"), c);
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(v6.error().message.find("2001:db8::a"), std::string::npos) << v6.error().message;
}

// The responder's verification of an initiator whose ID the certificate does not name: the
// message is built as the task manager hands it over (IDi, CERT, AUTH).
TEST(PeerCertificatesTest, IdNotNamedByTheCertificateFails) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  TestCert a = MakePeerCert("a", "10.1.0.1", "2001:db8::a", KeyKind::kEcP256, root);
  crypto::TrustStore trust;
  ASSERT_TRUE(trust.Add(root.cert).ok());
  InMessage in;
  in.payloads.push_back({codec::PayloadType::kCert, false,
                         codec::CertPayload{codec::CertEncoding::kX509Signature, a.cert.Der()}});
  const Bytes octets = {1, 2, 3, 4};
  auto auth = CreateSignatureAuth(a.key, OurSignatureHashes(), octets);
  ASSERT_TRUE(auth.ok());
  PeerCertificates certs(in);
  EXPECT_TRUE(certs.Verify(trust, *Identity::Parse("@a.example"), *auth, octets, kTestNow).ok());
  auto s = certs.Verify(trust, *Identity::Parse("@b.example"), *auth, octets, kTestNow);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("ID mismatch: b.example is not named by certificate"),
            std::string::npos)
      << s.error().message;
  auto v4 = certs.Verify(trust, *Identity::Parse("10.9.9.9"), *auth, octets, kTestNow);
  ASSERT_FALSE(v4.ok());
  EXPECT_NE(v4.error().message.find("ID mismatch"), std::string::npos);
  // No CERT at all.
  PeerCertificates none(InMessage{});
  auto n = none.Verify(trust, *Identity::Parse("@a.example"), *auth, octets, kTestNow);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("sent no certificate"), std::string::npos);
}

TEST_F(CertAuthTest, UntrustedCaFails) {
  SetUpPair(KeyKind::kEcP256);
  TestCert other_ca = MakeCa("Other", KeyKind::kEcP256, 3);
  net_.b.manager->SetConfig(
      Config("10.2.0.1", "10.1.0.1", {CertCredential({other_ca.cert}, b_cert_)}));
  Run();
  ExpectRefusedByResponder("unknown CA");
}

TEST_F(CertAuthTest, ExpiredCertificateFails) {
  SetUpPair(KeyKind::kEcP256);
  CertOptions o{.subject = "C=US, O=ipsec-sidecar test, CN=a.example",
                .key_index = 1,
                .not_before = kTestNow - 30 * kDay,
                .not_after = kTestNow - kDay,
                .dns = {"a.example"}};
  TestCert old = Issue(o, *root_);
  net_.a.manager->SetConfig(Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, old)}));
  Run();
  ExpectRefusedByResponder(
      "expired certificate: certificate \"C=US, O=ipsec-sidecar test, "
      "CN=a.example\" expired at 2025-12-31T00:00:00Z");
}

TEST_F(CertAuthTest, NotYetValidCertificateFails) {
  SetUpPair(KeyKind::kEcP256);
  CertOptions o{.subject = "C=US, O=ipsec-sidecar test, CN=a.example",
                .key_index = 1,
                .not_before = kTestNow + kDay,
                .not_after = kTestNow + 30 * kDay,
                .dns = {"a.example"}};
  TestCert early = Issue(o, *root_);
  net_.a.manager->SetConfig(Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, early)}));
  Run();
  ExpectRefusedByResponder("certificate not yet valid");
}

TEST_F(CertAuthTest, ExpiryIsJudgedAtTheResponderClock) {
  SetUpPair(KeyKind::kEcP256);
  net_.b.clock.unix_seconds = kTestNow + 400 * kDay;  // after every certificate's notAfter
  Run();
  ExpectRefusedByResponder("expired certificate");
}

TEST_F(CertAuthTest, WrongKeyForTheCertificateFails) {
  SetUpPair(KeyKind::kEcP256);
  // A's certificate, but a different key signs AUTH.
  const crypto::PrivateKey& wrong = crypto::testing::TestKey(KeyKind::kEcP256, 7);
  net_.a.manager->SetConfig(
      Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, a_cert_, {}, wrong)}));
  Run();
  ExpectRefusedByResponder("bad signature");
}

TEST_F(CertAuthTest, KeyTypeNotMatchingTheCertificateFails) {
  SetUpPair(KeyKind::kEcP256);
  // An RSA key signs for an ECDSA certificate: the AUTH's algorithm cannot be the cert's.
  const crypto::PrivateKey& rsa = crypto::testing::TestKey(KeyKind::kRsa2048, 0);
  net_.a.manager->SetConfig(
      Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, a_cert_, {}, rsa)}));
  Run();
  ExpectRefusedByResponder("wrong key");
}

TEST_F(CertAuthTest, InitiatorRefusesAnUntrustedResponder) {
  SetUpPair(KeyKind::kEcP256);
  TestCert other_ca = MakeCa("Other", KeyKind::kEcP256, 3);
  TestCert b_other = MakePeerCert("b", "10.2.0.1", "2001:db8::b", KeyKind::kEcP256, other_ca, 2);
  // B trusts A's root, but its own certificate comes from a CA A does not trust.
  net_.b.manager->SetConfig(
      Config("10.2.0.1", "10.1.0.1", {CertCredential({root_->cert}, b_other)}));
  Run();
  EXPECT_EQ(net_.a.observer.ike_up, 0);
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kAuthenticationFailed))
      << net_.a.observer.Log();
  EXPECT_NE(net_.a.observer.Log().find("unknown CA"), std::string::npos) << net_.a.observer.Log();
  EXPECT_EQ(net_.a.manager->sa_count(), 0u);
  EXPECT_TRUE(net_.a.backend.Sas().empty());
  EXPECT_TRUE(net_.a.backend.ReservedSpis().empty());
  // RFC 7296 §2.21.2: A said so in an INFORMATIONAL; B, which had accepted A, deletes too.
  EXPECT_EQ(net_.b.observer.ike_up, 1);
  EXPECT_EQ(net_.b.observer.ike_down, 1) << net_.b.observer.Log();
  EXPECT_NE(net_.b.observer.last_down_reason.find("the initiator refused our authentication"),
            std::string::npos)
      << net_.b.observer.last_down_reason;
  EXPECT_EQ(net_.b.manager->sa_count(), 0u);
  EXPECT_TRUE(net_.b.backend.Sas().empty());
}

TEST_F(CertAuthTest, PskOneWayCertificateTheOther) {
  // A authenticates with its certificate; B has no certificate of its own, so it answers
  // with the preshared key, the next method of its rule (FAQ 11).
  SetUpPair(KeyKind::kEcP256);
  Credential psk{policy::AuthKind::kPreSharedKey, SecretBytes(std::string("secret")), ""};
  net_.a.manager->SetConfig(
      Config("10.1.0.1", "10.2.0.1", {CertCredential({root_->cert}, a_cert_), psk}));
  net_.b.manager->SetConfig(Config("10.2.0.1", "10.1.0.1", {CertCredential({root_->cert}), psk}));
  Run();
  ExpectUp();
  auto a = SnapshotOf(net_.a);
  EXPECT_EQ(a.local_auth, "certificate, ecdsa-sha256 (RFC 7427)");
  EXPECT_EQ(a.remote_auth, "preshared key");
  auto b = SnapshotOf(net_.b);
  EXPECT_EQ(b.local_auth, "preshared key");
  EXPECT_EQ(b.remote_auth, "certificate, ecdsa-sha256 (RFC 7427)");
}

TEST_F(CertAuthTest, PskPeerAgainstACertificateOnlyRuleFails) {
  SetUpPair(KeyKind::kEcP256);
  Credential psk{policy::AuthKind::kPreSharedKey, SecretBytes(std::string("secret")), ""};
  net_.a.manager->SetConfig(Config("10.1.0.1", "10.2.0.1", {psk}));
  Run();
  ExpectRefusedByResponder("not a signature");
}

// Untrusted AUTH and CERT contents: each is a precise refusal, never a crash.
TEST(SignatureAuthTest, MalformedAndMismatchedAuthData) {
  const TestCert root = MakeCa("Root", KeyKind::kEcP256);
  const crypto::PublicKey key = root.cert.Key();
  const Bytes octets = {9, 8, 7};
  using codec::AuthMethod;
  auto check = [&](AuthMethod method, Bytes data) {
    return VerifySignatureAuth(key, codec::AuthPayload{method, std::move(data)}, octets);
  };
  EXPECT_EQ(check(AuthMethod::kDigitalSignature, {}).problem, SignatureProblem::kMalformed);
  EXPECT_EQ(check(AuthMethod::kDigitalSignature, {40, 1, 2}).problem,
            SignatureProblem::kMalformed);  // ASN.1 length beyond the payload
  EXPECT_EQ(check(AuthMethod::kDigitalSignature, {3, 1, 2, 3, 4}).problem,
            SignatureProblem::kUnsupported);  // not an AlgorithmIdentifier we know
  // RFC 7427 §4: SHA-1 was not announced by us.
  Bytes sha1 = crypto::AlgorithmIdentifierDer(crypto::SignatureScheme::kRsaPkcs1Sha1);
  Bytes data{static_cast<uint8_t>(sha1.size())};
  data.insert(data.end(), sha1.begin(), sha1.end());
  data.push_back(0);
  EXPECT_EQ(check(AuthMethod::kDigitalSignature, data).problem, SignatureProblem::kUnsupported);
  // An RSA algorithm for an ECDSA key; a classic method for another curve.
  Bytes rsa = crypto::AlgorithmIdentifierDer(crypto::SignatureScheme::kRsaPkcs1Sha256);
  Bytes rsa_data{static_cast<uint8_t>(rsa.size())};
  rsa_data.insert(rsa_data.end(), rsa.begin(), rsa.end());
  rsa_data.push_back(0);
  EXPECT_EQ(check(AuthMethod::kDigitalSignature, rsa_data).problem, SignatureProblem::kWrongKey);
  EXPECT_EQ(check(AuthMethod::kEcdsaSha384P384, Bytes(96, 1)).problem, SignatureProblem::kWrongKey);
  EXPECT_EQ(check(AuthMethod::kRsaSignature, Bytes(256, 1)).problem, SignatureProblem::kWrongKey);
  // The right method with garbage: a bad signature. PSK MIC is no signature.
  EXPECT_EQ(check(AuthMethod::kEcdsaSha256P256, Bytes(64, 1)).problem,
            SignatureProblem::kBadSignature);
  EXPECT_EQ(check(AuthMethod::kEcdsaSha256P256, {}).problem, SignatureProblem::kBadSignature);
  EXPECT_EQ(check(AuthMethod::kSharedKeyMic, Bytes(32, 1)).problem, SignatureProblem::kUnsupported);
  // A good one verifies, and a classic ECDSA signature is r | s (RFC 4754 §7: 64 octets).
  auto classic = CreateSignatureAuth(root.key, {}, octets);
  ASSERT_TRUE(classic.ok());
  EXPECT_EQ(classic->method, AuthMethod::kEcdsaSha256P256);
  EXPECT_EQ(classic->data.size(), 64u);
  EXPECT_TRUE(VerifySignatureAuth(key, *classic, octets).ok());
  EXPECT_FALSE(VerifySignatureAuth(key, *classic, Bytes{9, 8, 6}).ok());
  // RFC 7427 only with a hash the peer announced: none of ours -> classic.
  auto other_hashes = CreateSignatureAuth(root.key, {1}, octets);
  ASSERT_TRUE(other_hashes.ok());
  EXPECT_EQ(other_hashes->method, AuthMethod::kEcdsaSha256P256);
  // Ed25519 signs only with RFC 7427 (RFC 8420).
  const crypto::PrivateKey& ed = crypto::testing::TestKey(KeyKind::kEd25519);
  EXPECT_FALSE(CreateSignatureAuth(ed, {}, octets).ok());
  auto ed_auth = CreateSignatureAuth(ed, OurSignatureHashes(), octets);
  ASSERT_TRUE(ed_auth.ok());
  EXPECT_EQ(DescribeSignatureAuth(*ed_auth), "ed25519 (RFC 7427)");
  EXPECT_TRUE(VerifySignatureAuth(ed.Public(), *ed_auth, octets).ok());
}

TEST(PeerCertificatesTest, GarbageAndForeignCertPayloads) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  crypto::TrustStore trust;
  ASSERT_TRUE(trust.Add(root.cert).ok());
  const Bytes octets = {1};
  auto auth = CreateSignatureAuth(root.key, {}, octets);
  ASSERT_TRUE(auth.ok());
  InMessage garbage;
  garbage.payloads.push_back({codec::PayloadType::kCert, false,
                              codec::CertPayload{codec::CertEncoding::kX509Signature, {0x30, 1}}});
  auto g = PeerCertificates(garbage).Verify(trust, Identity::Fqdn("x"), *auth, octets, kTestNow);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("does not parse"), std::string::npos) << g.error().message;
  InMessage foreign;  // hash and URL (§3.6 encoding 12): not taken
  foreign.payloads.push_back(
      {codec::PayloadType::kCert, false,
       codec::CertPayload{codec::CertEncoding::kHashAndUrlX509Cert, {1, 2}}});
  auto f = PeerCertificates(foreign).Verify(trust, Identity::Fqdn("x"), *auth, octets, kTestNow);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("no X.509 certificate we can use"), std::string::npos);
}

TEST(CertificateResolverTest, ByBundleNameOrCaSubjectAndWarnings) {
  TestCert root = MakeCa("Root", KeyKind::kEcP256);
  TestCert leaf = MakePeerCert("a", "10.1.0.1", "2001:db8::a", KeyKind::kEcP256, root);
  CertificateStore store;
  store.trust_bundles["corp"] = {root.cert};
  store.local.push_back(
      std::make_shared<LocalCertificate>(LocalCertificate{"pod", {leaf.cert}, leaf.key}));
  CertificateResolver resolver(store);
  std::vector<std::string> warnings;
  Credential by_name;
  by_name.kind = policy::AuthKind::kCertificate;
  by_name.certificate_authority = "corp";
  resolver.Resolve(by_name, "rule 'x'", &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_TRUE(CertificateUsable(by_name));
  Credential by_dn = by_name;
  by_dn.certificate_authority = "C=US, O=ipsec-sidecar test, CN=Root";
  by_dn.trust.reset();
  resolver.Resolve(by_dn, "rule 'y'", &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_NE(by_dn.trust, nullptr);
  EXPECT_EQ(by_dn.trust->anchors().at(0), root.cert);
  EXPECT_EQ(by_dn.local_certificate->name, "pod");
  Credential missing = by_name;
  missing.certificate_authority = "nobody";
  missing.trust.reset();
  missing.local_certificate.reset();
  resolver.Resolve(missing, "rule 'z'", &warnings);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("rule 'z': certificate authority 'nobody' is neither"),
            std::string::npos)
      << warnings[0];
  EXPECT_FALSE(CertificateUsable(missing));
  EXPECT_EQ(CertificateUnusableReason(missing), "certificate authority 'nobody' is not loaded");
}

}  // namespace
}  // namespace ipsec::engine::ike
