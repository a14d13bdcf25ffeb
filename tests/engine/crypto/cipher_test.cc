#include "engine/crypto/cipher.h"

#include <gtest/gtest.h>
#include <openssl/provider.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;
using testing::Repeat;
using testing::Text;

struct Vector {
  const char* source;
  CbcAlgorithm algorithm;
  Bytes key;
  Bytes iv;
  Bytes plaintext;
  Bytes ciphertext;
};

std::vector<Vector> Vectors() {
  using A = CbcAlgorithm;
  const Bytes sp800_38a_plaintext =
      Hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
  const Bytes sp800_38a_iv = Hex("000102030405060708090a0b0c0d0e0f");
  return {
      {"RFC 3602 §4 case #1", A::kAes128, Hex("06a9214036b8a15b512e03d534120006"),
       Hex("3dafba429d9eb430b422da802c9fac41"), Text("Single block msg"),
       Hex("e353779c1079aeb82708942dbe77181a")},
      {"RFC 3602 §4 case #2", A::kAes128, Hex("c286696d887c9aa0611bbb3e2025a45a"),
       Hex("562e17996d093d28ddb3ba695a2e6f58"),
       Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
       Hex("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")},
      {"RFC 3602 §4 case #3", A::kAes128, Hex("6c3ea0477630ce21a2ce334aa746c2cd"),
       Hex("c782dc4c098c66cbd9cd27d825682c81"),
       Text("This is a 48-byte message (exactly 3 AES blocks)"),
       Hex("d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
           "021c19216bad525c8579695d83ba2684")},
      {"RFC 3602 §4 case #4", A::kAes128, Hex("56e47a38c5598974bc46903dba290349"),
       Hex("8ce82eefbea0da3c44699ed7db51b7d9"),
       Hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
           "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"),
       Hex("c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
           "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55")},
      {"NIST SP 800-38A F.2.3", A::kAes192, Hex("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"),
       sp800_38a_iv, sp800_38a_plaintext,
       Hex("4f021db243bc633d7178183a9fa071e8 b4d9ada9ad7dedf4e5e738763f69145a"
           "571b242012fb7ae07fa9baac3df102e0 08b0e27988598881d920a9e64f5615cd")},
      {"NIST SP 800-38A F.2.5", A::kAes256,
       Hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"), sp800_38a_iv,
       sp800_38a_plaintext,
       Hex("f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d"
           "39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b")},
      {"NIST TDES MMT (example 1)", A::k3Des,
       Hex("627f460e08104a10 43cd265d5840eaf1 313edf97df2a8a8c"), Hex("8e29f75ea77e5475"),
       Hex("326a494cd33fe756"), Hex("b22b8d66de970692")},
      {"NIST TDES MMT (example 2)", A::k3Des,
       Hex("37ae5ebf46dff2dc 0754b94f31cbb385 5e7fd36dc870bfae"), Hex("3d1de3cc132e3b65"),
       Hex("84401f78fe6c10876d8ea23094ea5309"), Hex("7b1f7c7e3b1c948ebd04a75ffba7d2f5")},
      {"FIPS 81 Appendix C (CBC)", A::kDes, Hex("0123456789abcdef"), Hex("1234567890abcdef"),
       Text("Now is the time for all "), Hex("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6")},
  };
}

// First in this file: nothing has used DES yet.
TEST(CbcTest, LegacyProviderIsLoadedOnlyForDes) {
  ASSERT_TRUE(CbcCipher::Create(CbcAlgorithm::kAes128, Repeat(1, 16)).ok());
  ASSERT_TRUE(CbcCipher::Create(CbcAlgorithm::k3Des, Repeat(1, 24)).ok());
  EXPECT_EQ(OSSL_PROVIDER_available(nullptr, "legacy"), 0);
  Result<CbcCipher> des = CbcCipher::Create(CbcAlgorithm::kDes, Repeat(1, 8));
  ASSERT_TRUE(des.ok()) << des.error().ToString();
  EXPECT_EQ(OSSL_PROVIDER_available(nullptr, "legacy"), 1);
}

TEST(CbcTest, Sizes) {
  EXPECT_EQ(CbcKeySize(CbcAlgorithm::kAes128), 16u);
  EXPECT_EQ(CbcKeySize(CbcAlgorithm::kAes192), 24u);
  EXPECT_EQ(CbcKeySize(CbcAlgorithm::kAes256), 32u);
  EXPECT_EQ(CbcKeySize(CbcAlgorithm::k3Des), 24u);
  EXPECT_EQ(CbcKeySize(CbcAlgorithm::kDes), 8u);
  EXPECT_EQ(CbcBlockSize(CbcAlgorithm::kAes256), 16u);
  EXPECT_EQ(CbcIvSize(CbcAlgorithm::k3Des), 8u);
  EXPECT_TRUE(IsLegacy(CbcAlgorithm::kDes));
  EXPECT_TRUE(IsLegacy(CbcAlgorithm::k3Des));
  EXPECT_FALSE(IsLegacy(CbcAlgorithm::kAes128));
}

TEST(CbcTest, KnownAnswersBothWays) {
  for (const Vector& v : Vectors()) {
    Result<CbcCipher> cipher = CbcCipher::Create(v.algorithm, v.key);
    ASSERT_TRUE(cipher.ok()) << v.source << ": " << cipher.error().ToString();
    Bytes out(v.plaintext.size());
    for (int round = 0; round < 2; ++round) {  // contexts are reused
      ASSERT_TRUE(cipher->Encrypt(v.iv, v.plaintext, out.data()).ok()) << v.source;
      EXPECT_EQ(ToHex(out), ToHex(v.ciphertext)) << v.source;
      ASSERT_TRUE(cipher->Decrypt(v.iv, v.ciphertext, out.data()).ok()) << v.source;
      EXPECT_EQ(out, v.plaintext) << v.source;
    }
  }
}

TEST(CbcTest, InPlace) {
  const Vector v = Vectors()[3];
  Result<CbcCipher> cipher = CbcCipher::Create(v.algorithm, v.key);
  ASSERT_TRUE(cipher.ok());
  Bytes buf = v.plaintext;
  ASSERT_TRUE(cipher->Encrypt(v.iv, buf, buf.data()).ok());
  EXPECT_EQ(buf, v.ciphertext);
  ASSERT_TRUE(cipher->Decrypt(v.iv, buf, buf.data()).ok());
  EXPECT_EQ(buf, v.plaintext);
}

TEST(CbcTest, TripleDesWithOneKeyThriceIsDes) {
  const Bytes k = Hex("0123456789abcdef"), iv = Hex("1234567890abcdef");
  Result<CbcCipher> des3 = CbcCipher::Create(CbcAlgorithm::k3Des, Concat({k, k, k}));
  ASSERT_TRUE(des3.ok());
  Bytes out(24);
  ASSERT_TRUE(des3->Encrypt(iv, Text("Now is the time for all "), out.data()).ok());
  EXPECT_EQ(ToHex(out), "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6");
}

TEST(CbcTest, EmptyInputIsFine) {
  Result<CbcCipher> cipher = CbcCipher::Create(CbcAlgorithm::kAes128, Repeat(1, 16));
  ASSERT_TRUE(cipher.ok());
  EXPECT_TRUE(cipher->Encrypt(Repeat(0, 16), {}, nullptr).ok());
}

TEST(CbcTest, RefusesBadSizes) {
  using A = CbcAlgorithm;
  for (A a : {A::kAes128, A::kAes192, A::kAes256, A::k3Des, A::kDes}) {
    Result<CbcCipher> bad_key = CbcCipher::Create(a, Repeat(1, CbcKeySize(a) + 1));
    ASSERT_FALSE(bad_key.ok());
    EXPECT_EQ(bad_key.error().code, ErrorCode::kInvalidArgument);
    Result<CbcCipher> cipher = CbcCipher::Create(a, Repeat(1, CbcKeySize(a)));
    ASSERT_TRUE(cipher.ok()) << CbcName(a) << ": " << cipher.error().ToString();
    const size_t block = CbcBlockSize(a);
    Bytes out(4 * block);
    Status short_iv = cipher->Encrypt(Repeat(0, block - 1), Repeat(0, block), out.data());
    EXPECT_EQ(short_iv.error().code, ErrorCode::kInvalidArgument);
    Status partial = cipher->Encrypt(Repeat(0, block), Repeat(0, block + 1), out.data());
    EXPECT_EQ(partial.error().code, ErrorCode::kInvalidArgument);
    Status partial_decrypt = cipher->Decrypt(Repeat(0, block), Repeat(0, 3), out.data());
    EXPECT_EQ(partial_decrypt.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace ipsec::engine::crypto
