#include "engine/crypto/keys.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_pki.h"

namespace ipsec::engine::crypto {
namespace {

using testing::KeyKind;

struct Kind {
  KeyKind kind;
  KeyType type;
  int bits;
  const char* description;
};

constexpr Kind kKinds[] = {
    {KeyKind::kRsa2048, KeyType::kRsa, 2048, "RSA-2048"},
    {KeyKind::kEcP256, KeyType::kEcdsaP256, 256, "ECDSA P-256"},
    {KeyKind::kEcP384, KeyType::kEcdsaP384, 384, "ECDSA P-384"},
    {KeyKind::kEcP521, KeyType::kEcdsaP521, 521, "ECDSA P-521"},
    {KeyKind::kEd25519, KeyType::kEd25519, 256, "Ed25519"},
};

TEST(PrivateKeyTest, ParsesPkcs8OfEveryType) {
  for (const Kind& k : kKinds) {
    Result<PrivateKey> key = PrivateKey::FromPem(testing::TestKeyPem(k.kind));
    ASSERT_TRUE(key.ok()) << k.description << ": " << key.error().ToString();
    EXPECT_EQ(key->type(), k.type);
    EXPECT_EQ(key->bits(), k.bits);
    PublicKey pub = key->Public();
    EXPECT_EQ(pub.type(), k.type);
    EXPECT_EQ(pub.Description(), k.description);
    EXPECT_TRUE(key->Matches(pub));
    EXPECT_FALSE(key->Matches(testing::TestKey(k.kind, 1).Public()));
  }
}

TEST(PrivateKeyTest, ParsesTraditionalPemAndSkipsOtherBlocks) {
  for (KeyKind kind : {KeyKind::kRsa2048, KeyKind::kEcP256}) {
    const std::string traditional = testing::TestKeyPemTraditional(kind);
    EXPECT_NE(traditional.find(kind == KeyKind::kRsa2048 ? "BEGIN RSA PRIVATE KEY"
                                                         : "BEGIN EC PRIVATE KEY"),
              std::string::npos);
    Result<PrivateKey> key = PrivateKey::FromPem(traditional);
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    EXPECT_TRUE(key->Matches(testing::TestKey(kind).Public()));
  }
  // A certificate block before the key, as some combined files have it.
  testing::TestCert cert = testing::SelfSigned({});
  Result<PrivateKey> key = PrivateKey::FromPem(cert.cert_pem() + cert.key_pem);
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(key->Matches(cert.cert.Key()));
}

TEST(PrivateKeyTest, RefusesWhatItCannotUse) {
  Result<PrivateKey> encrypted = PrivateKey::FromPem(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQww\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n");
  ASSERT_FALSE(encrypted.ok());
  EXPECT_NE(encrypted.error().message.find("encrypted private keys are not supported"),
            std::string::npos);

  Result<PrivateKey> garbage = PrivateKey::FromPem("not a key");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(garbage.error().message.find("no PEM private key: error:"), std::string::npos)
      << garbage.error().message;  // OpenSSL's reason follows

  Result<PrivateKey> k1 = PrivateKey::FromPem(testing::OtherKeyPem("EC", "secp256k1"));
  ASSERT_FALSE(k1.ok());
  EXPECT_EQ(k1.error().code, ErrorCode::kUnimplemented);
  EXPECT_NE(k1.error().message.find("secp256k1 is not supported"), std::string::npos);

  Result<PrivateKey> short_rsa = PrivateKey::FromPem(testing::OtherKeyPem("RSA", "768"));
  ASSERT_FALSE(short_rsa.ok());
  EXPECT_NE(short_rsa.error().message.find("768 bits is too short"), std::string::npos);

  Result<PrivateKey> x448 = PrivateKey::FromPem(testing::OtherKeyPem("ED448", nullptr));
  ASSERT_FALSE(x448.ok());
  EXPECT_NE(x448.error().message.find("ED448 is not supported"), std::string::npos)
      << x448.error().message;
}

TEST(PublicKeyTest, SpkiAndPemRoundTrips) {
  for (const Kind& k : kKinds) {
    PublicKey pub = testing::TestKey(k.kind).Public();
    Bytes spki = pub.SpkiDer();
    ASSERT_FALSE(spki.empty());
    Result<PublicKey> from_der = PublicKey::FromSpkiDer(spki);
    ASSERT_TRUE(from_der.ok()) << from_der.error().ToString();
    EXPECT_TRUE(*from_der == pub);
    Result<PublicKey> from_pem = PublicKey::FromPem(testing::PublicKeyPem(pub));
    ASSERT_TRUE(from_pem.ok()) << from_pem.error().ToString();
    EXPECT_TRUE(*from_pem == pub);
    EXPECT_EQ(from_pem->bits(), k.bits);
    PublicKey copy = pub;  // copies share the key
    EXPECT_TRUE(copy == pub);
    EXPECT_FALSE(copy == testing::TestKey(k.kind, 1).Public());
  }
  EXPECT_FALSE(testing::TestKey(KeyKind::kEcP256).Public() ==
               testing::TestKey(KeyKind::kEd25519).Public());
}

TEST(PublicKeyTest, RefusesBadEncodings) {
  Bytes spki = testing::TestKey(KeyKind::kEcP256).Public().SpkiDer();
  Bytes trailing = spki;
  trailing.push_back(0);
  EXPECT_FALSE(PublicKey::FromSpkiDer(trailing).ok());
  EXPECT_FALSE(PublicKey::FromSpkiDer(ByteSpan(spki).first(spki.size() - 1)).ok());
  EXPECT_FALSE(PublicKey::FromSpkiDer({}).ok());
  EXPECT_FALSE(PublicKey::FromPem("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n").ok());
}

}  // namespace
}  // namespace ipsec::engine::crypto
