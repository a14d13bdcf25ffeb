#include "engine/crypto/x509.h"

#include <gtest/gtest.h>

#include "engine/crypto/dn.h"
#include "engine/crypto/hash.h"
#include "tests/engine/crypto/test_pki.h"

namespace ipsec::engine::crypto {
namespace {

using testing::kDay;
using testing::KeyKind;
using testing::kTestNow;

class CertificateTest : public ::testing::Test {
 protected:
  testing::TestChain chain_ = testing::MakeChain(KeyKind::kEcP256, "Example");
};

TEST_F(CertificateTest, NamesInStrongSwanForm) {
  const Certificate& leaf = chain_.leaf.cert;
  EXPECT_EQ(leaf.SubjectDn(), "C=US, O=Example, CN=peer.example");
  EXPECT_EQ(leaf.IssuerDn(), "C=US, O=Example, CN=Example Intermediate CA");
  Result<Bytes> subject = DnFromString("C=US, O=Example, CN=peer.example");
  ASSERT_TRUE(subject.ok());
  EXPECT_TRUE(DnEqual(leaf.SubjectDer(), *subject));
  EXPECT_EQ(leaf.IssuerDer(), chain_.intermediate.cert.SubjectDer());
  Result<std::string> text = DnToString(leaf.SubjectDer());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, leaf.SubjectDn());
}

TEST_F(CertificateTest, AltNames) {
  SubjectAltNames names = chain_.leaf.cert.AltNames();
  EXPECT_EQ(names.dns, std::vector<std::string>{"peer.example"});
  EXPECT_EQ(names.email, std::vector<std::string>{"peer@example.org"});
  ASSERT_EQ(names.ip.size(), 2u);
  EXPECT_EQ(names.ip[0].ToString(), "192.0.2.1");
  EXPECT_EQ(names.ip[1].ToString(), "2001:db8::1");
  SubjectAltNames none = chain_.root.cert.AltNames();
  EXPECT_TRUE(none.dns.empty() && none.ip.empty() && none.email.empty());
}

TEST_F(CertificateTest, ValidityKeyAndFlags) {
  const Certificate& leaf = chain_.leaf.cert;
  EXPECT_EQ(leaf.NotBefore(), kTestNow - kDay);
  EXPECT_EQ(leaf.NotAfter(), kTestNow + 365 * kDay);
  EXPECT_TRUE(leaf.Key() == chain_.leaf.key.Public());
  EXPECT_EQ(leaf.Key().type(), KeyType::kEcdsaP256);
  EXPECT_FALSE(leaf.IsCa());
  EXPECT_FALSE(leaf.IsSelfIssued());
  EXPECT_TRUE(chain_.intermediate.cert.IsCa());
  EXPECT_FALSE(chain_.intermediate.cert.IsSelfIssued());
  EXPECT_TRUE(chain_.root.cert.IsCa());
  EXPECT_TRUE(chain_.root.cert.IsSelfIssued());
  EXPECT_FALSE(leaf.SerialHex().empty());
  EXPECT_NE(leaf.SerialHex(), chain_.root.cert.SerialHex());
}

TEST_F(CertificateTest, SpkiSha1IsTheCertReqHash) {
  // RFC 7296 §3.7: SHA-1 of the DER SubjectPublicKeyInfo.
  const Certificate& root = chain_.root.cert;
  Bytes sha1 = root.SubjectPublicKeyInfoSha1();
  EXPECT_EQ(sha1.size(), 20u);
  EXPECT_EQ(sha1, Digest(Hash::kSha1, root.Key().SpkiDer()));
  EXPECT_NE(sha1, chain_.intermediate.cert.SubjectPublicKeyInfoSha1());
}

TEST_F(CertificateTest, DerAndPemRoundTrip) {
  const Certificate& leaf = chain_.leaf.cert;
  Result<Certificate> from_der = Certificate::FromDer(leaf.Der());
  ASSERT_TRUE(from_der.ok());
  EXPECT_TRUE(*from_der == leaf);
  std::string pem = leaf.Pem();
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  Result<Certificate> from_pem = Certificate::FromPem(pem);
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->Der(), leaf.Der());
  Certificate copy = leaf;
  EXPECT_TRUE(copy == leaf);
  copy = chain_.root.cert;
  EXPECT_EQ(copy.SubjectDn(), chain_.root.cert.SubjectDn());
}

// The PEM form carries the certificate's own octets, as the CERT payload does (RFC 7296 §3.6),
// even when they are BER that OpenSSL would re-encode: here the signature BIT STRING says 7
// unused bits and leaves them set (DER wants them zero, X.690 §11.2.1). Pem() wrote OpenSSL's
// re-encoding (the bits cleared), so the certificate read back from it was other octets. Found
// by fuzz/x509_fuzz.
TEST_F(CertificateTest, PemCarriesTheOriginalOctets) {
  Bytes der = chain_.leaf.cert.Der();
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
  auto skip = [&der](size_t at) {  // the offset after the TLV at `at` (definite lengths)
    size_t length = der[at + 1], header = 2;
    if (length & 0x80) {
      const size_t n = length & 0x7f;
      length = 0;
      for (size_t i = 0; i < n; ++i) length = length << 8 | der[at + 2 + i];
      header += n;
    }
    return at + header + length;
  };
  const size_t outer_header = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  const size_t bit_string = skip(skip(outer_header));
  ASSERT_EQ(der[bit_string], 0x03);
  ASSERT_LT(der[bit_string + 1], 0x80);  // short length: the unused-bits octet follows
  der[bit_string + 2] = 7;
  der.back() |= 0x15;
  Result<Certificate> ber = Certificate::FromDer(der);
  ASSERT_TRUE(ber.ok()) << ber.error().ToString();
  Result<Certificate> from_pem = Certificate::FromPem(ber->Pem());
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->Der(), der);
}

TEST_F(CertificateTest, PemChainInOrderSkippingOtherBlocks) {
  std::string text = chain_.leaf.cert_pem() + chain_.leaf.key_pem + chain_.intermediate.cert_pem() +
                     "\n# comment\n" + chain_.root.cert_pem();
  Result<std::vector<Certificate>> certs = Certificate::ParsePemChain(text);
  ASSERT_TRUE(certs.ok()) << certs.error().ToString();
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_TRUE((*certs)[0] == chain_.leaf.cert);
  EXPECT_TRUE((*certs)[1] == chain_.intermediate.cert);
  EXPECT_TRUE((*certs)[2] == chain_.root.cert);
}

TEST_F(CertificateTest, RefusesBadInput) {
  Bytes der = chain_.leaf.cert.Der();
  Bytes trailing = der;
  trailing.push_back(0);
  Result<Certificate> t = Certificate::FromDer(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("trailing bytes"), std::string::npos);
  Result<Certificate> truncated = Certificate::FromDer(ByteSpan(der).first(der.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(truncated.error().message.find("not a DER certificate: error:"), std::string::npos);
  EXPECT_FALSE(Certificate::FromDer({}).ok());
  EXPECT_FALSE(Certificate::FromPem("garbage").ok());
  EXPECT_FALSE(Certificate::ParsePemChain(chain_.leaf.key_pem).ok());
  EXPECT_FALSE(Certificate::ParsePemChain("").ok());
  // A damaged block after a good one is reported, not silently dropped.
  std::string damaged = chain_.root.cert_pem();
  damaged.replace(damaged.find('\n') + 5, 4, "!!!!");
  Result<std::vector<Certificate>> bad =
      Certificate::ParsePemChain(chain_.leaf.cert_pem() + damaged);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("PEM certificate 1"), std::string::npos)
      << bad.error().message;
}

TEST(CertificateKeysTest, EveryKeyType) {
  for (KeyKind kind : {KeyKind::kRsa2048, KeyKind::kEcP384, KeyKind::kEcP521, KeyKind::kEd25519}) {
    testing::TestCert cert = testing::SelfSigned({.key = kind, .is_ca = true});
    EXPECT_TRUE(cert.cert.Key() == cert.key.Public());
    EXPECT_TRUE(cert.cert.IsCa());
  }
}

}  // namespace
}  // namespace ipsec::engine::crypto
