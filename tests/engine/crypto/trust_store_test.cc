#include "engine/crypto/trust_store.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_pki.h"

namespace ipsec::engine::crypto {
namespace {

using testing::CertOptions;
using testing::kDay;
using testing::KeyKind;
using testing::kTestNow;
using testing::TestCert;

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.Add(chain_.root.cert).ok()); }

  // Verifies and returns the failure, checking its kind.
  Error Fails(const Certificate& leaf, const std::vector<Certificate>& intermediates,
              CertificateProblem expected, int64_t now = kTestNow) {
    CertificateProblem problem = CertificateProblem::kNone;
    Result<std::vector<Certificate>> r = store_.Verify(leaf, intermediates, now, &problem);
    EXPECT_FALSE(r.ok()) << leaf.SubjectDn() << " verified";
    if (r.ok()) return Error{};
    EXPECT_EQ(problem, expected) << CertificateProblemName(problem) << ": " << r.error().message;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    return r.error();
  }

  testing::TestChain chain_ = testing::MakeChain(KeyKind::kEcP256, "Test");
  TrustStore store_;
};

TEST_F(TrustStoreTest, VerifiesAChainForEveryKeyType) {
  for (KeyKind kind : {KeyKind::kRsa2048, KeyKind::kEcP256, KeyKind::kEcP384, KeyKind::kEcP521,
                       KeyKind::kEd25519}) {
    testing::TestChain chain = testing::MakeChain(kind, "Kind" + std::to_string(int(kind)));
    TrustStore store;
    ASSERT_TRUE(store.Add(chain.root.cert).ok());
    CertificateProblem problem = CertificateProblem::kOther;
    Result<std::vector<Certificate>> path =
        store.Verify(chain.leaf.cert, {chain.intermediate.cert}, kTestNow, &problem);
    ASSERT_TRUE(path.ok()) << path.error().message;
    EXPECT_EQ(problem, CertificateProblem::kNone);
    ASSERT_EQ(path->size(), 3u);
    EXPECT_TRUE((*path)[0] == chain.leaf.cert);
    EXPECT_TRUE((*path)[1] == chain.intermediate.cert);
    EXPECT_TRUE((*path)[2] == chain.root.cert);
  }
}

TEST_F(TrustStoreTest, AnIntermediateCanBeTheAnchor) {
  TrustStore store;
  ASSERT_TRUE(store.Add(chain_.intermediate.cert).ok());
  Result<std::vector<Certificate>> path = store.Verify(chain_.leaf.cert, {}, kTestNow);
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(path->size(), 2u);
}

TEST_F(TrustStoreTest, ExpiredLeafNamesTheCertificateAndTheDate) {
  CertOptions options{.subject = "C=US, O=Test, CN=old.example",
                      .not_before = kTestNow - 29 * kDay,
                      .not_after = kTestNow - 2 * kDay};
  TestCert old = testing::Issue(options, chain_.intermediate);
  Error e = Fails(old.cert, {chain_.intermediate.cert}, CertificateProblem::kExpired);
  EXPECT_EQ(e.message,
            "certificate \"C=US, O=Test, CN=old.example\" expired at 2025-12-30T00:00:00Z "
            "(now 2026-01-01T00:00:00Z)");
  // The same certificate was fine while it was valid: the check uses `now`, not the clock.
  Result<std::vector<Certificate>> then =
      store_.Verify(old.cert, {chain_.intermediate.cert}, kTestNow - 10 * kDay);
  EXPECT_TRUE(then.ok()) << then.error().message;
}

TEST_F(TrustStoreTest, NotYetValid) {
  CertOptions options{.subject = "C=US, O=Test, CN=future.example",
                      .not_before = kTestNow + 10 * kDay,
                      .not_after = kTestNow + 20 * kDay};
  TestCert future = testing::Issue(options, chain_.intermediate);
  Error e = Fails(future.cert, {chain_.intermediate.cert}, CertificateProblem::kNotYetValid);
  EXPECT_TRUE(Contains(e.message,
                       "\"C=US, O=Test, CN=future.example\" is not valid before "
                       "2026-01-11T00:00:00Z"))
      << e.message;
}

TEST_F(TrustStoreTest, ExpiredIntermediateIsNamed) {
  CertOptions ca{.subject = "C=US, O=Test, CN=Old Intermediate",
                 .key_index = 7,
                 .not_before = kTestNow - 400 * kDay,
                 .not_after = kTestNow - kDay,
                 .is_ca = true};
  TestCert old_ca = testing::Issue(ca, chain_.root);
  TestCert leaf = testing::Issue({.subject = "CN=leaf", .key_index = 8}, old_ca);
  Error e = Fails(leaf.cert, {old_ca.cert}, CertificateProblem::kExpired);
  EXPECT_TRUE(Contains(e.message, "\"C=US, O=Test, CN=Old Intermediate\" expired at")) << e.message;
}

TEST_F(TrustStoreTest, MissingIntermediateIsAnUntrustedIssuer) {
  Error e = Fails(chain_.leaf.cert, {}, CertificateProblem::kUntrustedIssuer);
  EXPECT_EQ(e.message,
            "certificate \"C=US, O=Test, CN=peer.example\" has an untrusted issuer \"C=US, "
            "O=Test, CN=Test Intermediate CA\": not in the trust store, and no intermediate "
            "certificate leads to it");
}

TEST_F(TrustStoreTest, CertificateOfAnotherCaIsUntrusted) {
  testing::TestChain other = testing::MakeChain(KeyKind::kEcP256, "Other");
  Error e = Fails(other.leaf.cert, {other.intermediate.cert}, CertificateProblem::kUntrustedIssuer);
  EXPECT_TRUE(Contains(e.message, "CN=Other Root CA")) << e.message;
  // A CA impersonating ours by name, with another key, is not ours either.
  TestCert impostor = testing::SelfSigned(
      {.subject = "C=US, O=Test, CN=Test Root CA", .key_index = 55, .is_ca = true});
  TestCert forged = testing::Issue({.subject = "CN=forged", .key_index = 56}, impostor);
  Fails(forged.cert, {}, CertificateProblem::kUntrustedIssuer);
}

TEST_F(TrustStoreTest, SelfSignedLeafIsUntrusted) {
  TestCert self = testing::SelfSigned({.subject = "CN=self"});
  Error e = Fails(self.cert, {}, CertificateProblem::kUntrustedIssuer);
  EXPECT_EQ(e.message, "certificate \"CN=self\" is self-signed and not in the trust store");
}

TEST_F(TrustStoreTest, BadSignature) {
  Certificate bad = testing::WithBadSignature(chain_.leaf.cert);
  Error e = Fails(bad, {chain_.intermediate.cert}, CertificateProblem::kBadSignature);
  EXPECT_EQ(e.message,
            "certificate \"C=US, O=Test, CN=peer.example\" has a bad signature: it does not "
            "verify with the key of its issuer \"C=US, O=Test, CN=Test Intermediate CA\"");
}

TEST_F(TrustStoreTest, IssuerThatIsNotACa) {
  // The leaf (not a CA) signs another certificate.
  TestCert child = testing::Issue({.subject = "CN=child", .key_index = 9}, chain_.leaf);
  Error e =
      Fails(child.cert, {chain_.leaf.cert, chain_.intermediate.cert}, CertificateProblem::kNotCa);
  EXPECT_TRUE(Contains(e.message, "\"C=US, O=Test, CN=peer.example\" is not a CA")) << e.message;
}

TEST_F(TrustStoreTest, PathLengthConstraint) {
  // The intermediate has pathLenConstraint 0: it may not issue another CA.
  TestCert sub_ca =
      testing::Issue({.subject = "CN=Sub CA", .key_index = 10, .is_ca = true}, chain_.intermediate);
  TestCert leaf = testing::Issue({.subject = "CN=deep", .key_index = 11}, sub_ca);
  Error e = Fails(leaf.cert, {sub_ca.cert, chain_.intermediate.cert}, CertificateProblem::kNotCa);
  EXPECT_TRUE(Contains(e.message, "path length")) << e.message;
}

TEST_F(TrustStoreTest, AnchorsMustBeCas) {
  TrustStore store;
  Status s = store.Add(chain_.leaf.cert);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "certificate \"C=US, O=Test, CN=peer.example\" is not a CA certificate "
            "(basicConstraints cA), so it cannot be a trust anchor");
  EXPECT_EQ(store.size(), 0u);
  ASSERT_TRUE(store.Add(chain_.root.cert).ok());
  ASSERT_TRUE(store.Add(chain_.root.cert).ok());  // twice: once
  EXPECT_EQ(store.size(), 1u);
}

TEST_F(TrustStoreTest, CertReqLookups) {
  ASSERT_TRUE(store_.Add(chain_.intermediate.cert).ok());
  const Bytes root_sha1 = chain_.root.cert.SubjectPublicKeyInfoSha1();
  const Bytes inter_sha1 = chain_.intermediate.cert.SubjectPublicKeyInfoSha1();
  const Certificate* found = store_.FindIssuerBySpkiSha1(inter_sha1);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(*found == chain_.intermediate.cert);
  EXPECT_EQ(store_.FindIssuerBySpkiSha1(chain_.leaf.cert.SubjectPublicKeyInfoSha1()), nullptr);
  EXPECT_EQ(store_.FindIssuerBySpkiSha1({}), nullptr);
  EXPECT_EQ(store_.CertReqAuthorities(), Concat({root_sha1, inter_sha1}));
}

TEST(CertificateProblemTest, Names) {
  EXPECT_STREQ(CertificateProblemName(CertificateProblem::kExpired), "expired");
  EXPECT_STREQ(CertificateProblemName(CertificateProblem::kUntrustedIssuer), "untrusted_issuer");
  EXPECT_STREQ(CertificateProblemName(CertificateProblem::kNone), "none");
}

}  // namespace
}  // namespace ipsec::engine::crypto
