#include "engine/crypto/signature.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"
#include "tests/engine/crypto/test_pki.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;
using testing::KeyKind;
using testing::Text;
using S = SignatureScheme;

constexpr S kAllSchemes[] = {S::kRsaPkcs1Sha1,   S::kRsaPkcs1Sha256, S::kRsaPkcs1Sha384,
                             S::kRsaPkcs1Sha512, S::kRsaPssSha256,   S::kRsaPssSha384,
                             S::kRsaPssSha512,   S::kEcdsaSha256,    S::kEcdsaSha384,
                             S::kEcdsaSha512,    S::kEd25519};
constexpr KeyKind kAllKinds[] = {KeyKind::kRsa2048, KeyKind::kEcP256, KeyKind::kEcP384,
                                 KeyKind::kEcP521, KeyKind::kEd25519};

TEST(SignatureTest, SignAndVerifyEveryFittingPair) {
  const Bytes data = Text("IKE_SA_INIT message | Nr | prf(SK_pi, IDi')");
  for (KeyKind kind : kAllKinds) {
    const PrivateKey& key = testing::TestKey(kind);
    const PublicKey pub = key.Public();
    const PublicKey other = testing::TestKey(kind, 1).Public();
    for (S scheme : kAllSchemes) {
      if (!SchemeFitsKey(scheme, key.type())) continue;
      Result<Bytes> sig = Sign(key, scheme, data);
      ASSERT_TRUE(sig.ok()) << SchemeName(scheme) << ": " << sig.error().ToString();
      EXPECT_TRUE(Verify(pub, scheme, data, *sig).ok()) << SchemeName(scheme);
      Bytes tampered_data = data;
      tampered_data[0] ^= 1;
      EXPECT_FALSE(Verify(pub, scheme, tampered_data, *sig).ok()) << SchemeName(scheme);
      Bytes tampered_sig = *sig;
      tampered_sig[tampered_sig.size() / 2] ^= 1;
      EXPECT_FALSE(Verify(pub, scheme, data, tampered_sig).ok()) << SchemeName(scheme);
      Status wrong_key = Verify(other, scheme, data, *sig);
      ASSERT_FALSE(wrong_key.ok()) << SchemeName(scheme);
      EXPECT_EQ(wrong_key.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(wrong_key.error().message.find("signature does not verify"), std::string::npos);
      EXPECT_FALSE(Verify(pub, scheme, data, {}).ok());
    }
  }
}

TEST(SignatureTest, PssAndPkcs1AreNotInterchangeable) {
  const PrivateKey& key = testing::TestKey(KeyKind::kRsa2048);
  const Bytes data = Text("data");
  Result<Bytes> pss = Sign(key, S::kRsaPssSha256, data);
  Result<Bytes> pkcs1 = Sign(key, S::kRsaPkcs1Sha256, data);
  ASSERT_TRUE(pss.ok() && pkcs1.ok());
  EXPECT_FALSE(Verify(key.Public(), S::kRsaPkcs1Sha256, data, *pss).ok());
  EXPECT_FALSE(Verify(key.Public(), S::kRsaPssSha256, data, *pkcs1).ok());
  EXPECT_FALSE(Verify(key.Public(), S::kRsaPssSha384, data, *pss).ok());  // other hash
  // PKCS #1 v1.5 is deterministic, PSS is randomized.
  EXPECT_EQ(*pkcs1, *Sign(key, S::kRsaPkcs1Sha256, data));
  EXPECT_NE(*pss, *Sign(key, S::kRsaPssSha256, data));
}

TEST(SignatureTest, EcdsaRawEncodingOfRfc4754) {
  const Bytes data = Text("auth octets");
  struct {
    KeyKind kind;
    S scheme;
    size_t size;
  } cases[] = {{KeyKind::kEcP256, S::kEcdsaSha256, 64},
               {KeyKind::kEcP384, S::kEcdsaSha384, 96},
               {KeyKind::kEcP521, S::kEcdsaSha512, 132}};
  for (const auto& c : cases) {
    const PrivateKey& key = testing::TestKey(c.kind);
    for (int i = 0; i < 20; ++i) {  // r or s with leading zeros must still be full width
      Result<Bytes> raw = Sign(key, c.scheme, data, EcdsaEncoding::kRaw);
      ASSERT_TRUE(raw.ok());
      ASSERT_EQ(raw->size(), c.size) << SchemeName(c.scheme);
      EXPECT_TRUE(Verify(key.Public(), c.scheme, data, *raw, EcdsaEncoding::kRaw).ok());
      EXPECT_FALSE(Verify(key.Public(), c.scheme, data, *raw, EcdsaEncoding::kDer).ok());
    }
    Result<Bytes> der = Sign(key, c.scheme, data, EcdsaEncoding::kDer);
    ASSERT_TRUE(der.ok());
    EXPECT_EQ((*der)[0], 0x30);  // SEQUENCE { r, s }
    Status wrong_size = Verify(key.Public(), c.scheme, data, *der, EcdsaEncoding::kRaw);
    ASSERT_FALSE(wrong_size.ok());
    EXPECT_NE(wrong_size.error().message.find("RFC 4754 §7"), std::string::npos);
  }
}

// RFC 6979 A.2.5: ECDSA P-256 with SHA-256 over "sample" (deterministic k); r || s is the
// RFC 4754 encoding.
TEST(SignatureTest, Rfc6979KnownSignatureVerifies) {
  Result<PublicKey> pub = PublicKey::FromSpkiDer(
      Hex("3059301306072a8648ce3d020106082a8648ce3d030107034200"
          "04 60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
          "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"));
  ASSERT_TRUE(pub.ok()) << pub.error().ToString();
  const Bytes rs =
      Hex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
          "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
  EXPECT_TRUE(Verify(*pub, S::kEcdsaSha256, Text("sample"), rs, EcdsaEncoding::kRaw).ok());
  EXPECT_FALSE(Verify(*pub, S::kEcdsaSha256, Text("sample!"), rs, EcdsaEncoding::kRaw).ok());
}

// RFC 8032 §7.1 TEST 1: Ed25519 is deterministic, so signing gives the published signature.
TEST(SignatureTest, Rfc8032Ed25519KnownAnswer) {
  Result<PrivateKey> key = PrivateKey::FromPem(
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
      "-----END PRIVATE KEY-----\n");
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(ToHex(key->Public().SpkiDer()),
            "302a300506032b6570032100"
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Result<Bytes> sig = Sign(*key, S::kEd25519, {});
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(ToHex(*sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
            "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(Verify(key->Public(), S::kEd25519, {}, *sig).ok());
}

TEST(SignatureTest, SchemeMustFitTheKey) {
  const PrivateKey& ec = testing::TestKey(KeyKind::kEcP256);
  Result<Bytes> sig = Sign(ec, S::kRsaPssSha256, Text("x"));
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(sig.error().message,
            "signature scheme rsa-pss-sha256 cannot be used with ECDSA P-256 keys");
  EXPECT_FALSE(
      Verify(testing::TestKey(KeyKind::kRsa2048).Public(), S::kEd25519, Text("x"), Bytes(64, 0))
          .ok());
  EXPECT_FALSE(Sign(testing::TestKey(KeyKind::kEd25519), S::kEcdsaSha256, Text("x")).ok());
}

TEST(SignatureTest, SchemesForKeysAndHashIds) {
  auto schemes = [](KeyKind kind) { return SchemesFor(testing::TestKey(kind).Public()); };
  EXPECT_EQ(schemes(KeyKind::kRsa2048),
            (std::vector<S>{S::kRsaPkcs1Sha256, S::kRsaPkcs1Sha384, S::kRsaPkcs1Sha512,
                            S::kRsaPssSha256, S::kRsaPssSha384, S::kRsaPssSha512}));
  EXPECT_EQ(schemes(KeyKind::kEcP256).front(), S::kEcdsaSha256);
  EXPECT_EQ(schemes(KeyKind::kEcP384).front(), S::kEcdsaSha384);
  EXPECT_EQ(schemes(KeyKind::kEcP521).front(), S::kEcdsaSha512);
  EXPECT_EQ(schemes(KeyKind::kEd25519), std::vector<S>{S::kEd25519});
  EXPECT_EQ(SignatureHashId(S::kRsaPkcs1Sha1), 1);
  EXPECT_EQ(SignatureHashId(S::kEcdsaSha256), 2);
  EXPECT_EQ(SignatureHashId(S::kRsaPssSha384), 3);
  EXPECT_EQ(SignatureHashId(S::kRsaPkcs1Sha512), 4);
  EXPECT_EQ(SignatureHashId(S::kEd25519), 5);
  EXPECT_EQ(SchemeHash(S::kEd25519), std::nullopt);
  EXPECT_TRUE(SchemeFitsKey(S::kEcdsaSha512, KeyType::kEcdsaP256));
  EXPECT_FALSE(SchemeFitsKey(S::kRsaPkcs1Sha256, KeyType::kEcdsaP256));
}

// RFC 7427 Appendix A (A.1 RSA PKCS #1, A.3 ECDSA), RFC 8420 (Ed25519), and RSASSA-PSS as
// strongSwan encodes it (test_signature_params.c: the RFC 7427 A.4.3 form without the
// default trailerField).
TEST(AlgorithmIdentifierTest, ExactDer) {
  const struct {
    S scheme;
    const char* der;
  } cases[] = {
      {S::kRsaPkcs1Sha1, "300d06092a864886f70d0101050500"},
      {S::kRsaPkcs1Sha256, "300d06092a864886f70d01010b0500"},
      {S::kRsaPkcs1Sha384, "300d06092a864886f70d01010c0500"},
      {S::kRsaPkcs1Sha512, "300d06092a864886f70d01010d0500"},
      {S::kEcdsaSha256, "300a06082a8648ce3d040302"},
      {S::kEcdsaSha384, "300a06082a8648ce3d040303"},
      {S::kEcdsaSha512, "300a06082a8648ce3d040304"},
      {S::kEd25519, "300506032b6570"},
      {S::kRsaPssSha256,
       "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886"
       "f70d010108300d06096086480165030402010500a203020120"},
      {S::kRsaPssSha384,
       "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886"
       "f70d010108300d06096086480165030402020500a203020130"},
      {S::kRsaPssSha512,
       "304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a06092a864886"
       "f70d010108300d06096086480165030402030500a203020140"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ToHex(AlgorithmIdentifierDer(c.scheme)), c.der) << SchemeName(c.scheme);
    EXPECT_EQ(SchemeFromAlgorithmIdentifier(Hex(c.der)), c.scheme) << SchemeName(c.scheme);
  }
}

TEST(AlgorithmIdentifierTest, AcceptsEquivalentEncodings) {
  // RFC 7427 A.4.3 as published, with trailerField 1.
  EXPECT_EQ(SchemeFromAlgorithmIdentifier(
                Hex("304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a"
                    "864886f70d010108300d06096086480165030402010500a203020120a303020101")),
            S::kRsaPssSha256);
  // Hash parameters absent instead of NULL (RFC 4055 §2.1).
  EXPECT_EQ(SchemeFromAlgorithmIdentifier(
                Hex("303d06092a864886f70d01010a3030a00d300b0609608648016503040201a11a301806092a8648"
                    "86f70d010108300b0609608648016503040201a203020120")),
            S::kRsaPssSha256);
  EXPECT_EQ(SchemeFromAlgorithmIdentifier(Hex("300b06092a864886f70d01010b")),
            S::kRsaPkcs1Sha256);  // RSA with absent parameters
}

TEST(AlgorithmIdentifierTest, RefusesWhatItDoesNotSupport) {
  const char* refused[] = {
      "",
      "300d06092a864886f70d01010b050000",  // trailing byte inside
      "300d06092a864886f70d01010b0500"
      "00",                              // trailing byte outside
      "300d06092a864886f70d01010b05",    // truncated
      "300c06082a8648ce3d0403020500",    // ECDSA with NULL parameters
      "300906072a8648ce3d0401",          // ecdsa-with-SHA1: not ours
      "300d06092a864886f70d0101040500",  // md5WithRSAEncryption
      "300d06092a864886f70d01010a3000",  // PSS, all defaults: SHA-1
      // PSS SHA-256 with salt 0 (strongSwan's "no salt" vector).
      "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886"
      "f70d010108300d06096086480165030402010500a203020100",
      // PSS with only the hash given: MGF1 defaults to SHA-1.
      "301e06092a864886f70d01010a3011a00f300d06096086480165030402010500",
      // PSS with trailerField 2.
      "301206092a864886f70d01010a3005a303020102",
      // Non-minimal long-form length.
      "30810d06092a864886f70d01010b0500",
  };
  for (const char* der : refused) {
    EXPECT_EQ(SchemeFromAlgorithmIdentifier(Hex(der)), std::nullopt) << der;
  }
}

}  // namespace
}  // namespace ipsec::engine::crypto
