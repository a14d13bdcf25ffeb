#include "engine/crypto/integrity.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Repeat;
using testing::Text;

Bytes Repeated(std::string_view s, int times) {
  Bytes out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), s.begin(), s.end());
  return out;
}

struct Vector {
  const char* source;
  IntegrityAlgorithm algorithm;
  Bytes key;
  Bytes data;
  const char* icv;
};

// RFC 4868 §2.7.2 (AUTH256-1..3, AUTH384-1..3, AUTH512-1..3); RFC 2404 §3 and RFC 2403 §3
// define HMAC-SHA1-96 and HMAC-MD5-96 as RFC 2202's HMACs truncated to 96 bits (test cases
// 1 and 5, "Test With Truncation").
std::vector<Vector> Vectors() {
  using A = IntegrityAlgorithm;
  const Bytes wdywfn = Text("what do ya want for nothing?");
  return {
      {"AUTH256-1", A::kHmacSha256_128, Repeat(0x0b, 32), Text("Hi There"),
       "198a607eb44bfbc69903a0f1cf2bbdc5"},
      {"AUTH256-2", A::kHmacSha256_128, Repeated("Jefe", 8), wdywfn,
       "167f928588c5cc2eef8e3093caa0e87c"},
      {"AUTH256-3", A::kHmacSha256_128, Repeat(0xaa, 32), Repeat(0xdd, 50),
       "cdcb1220d1ecccea91e53aba3092f962"},
      {"AUTH384-1", A::kHmacSha384_192, Repeat(0x0b, 48), Text("Hi There"),
       "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"},
      {"AUTH384-2", A::kHmacSha384_192, Repeated("Jefe", 12), wdywfn,
       "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d"},
      {"AUTH384-3", A::kHmacSha384_192, Repeat(0xaa, 48), Repeat(0xdd, 50),
       "809f439be00274321d4a538652164b53554a508184a0c316"},
      {"AUTH512-1", A::kHmacSha512_256, Repeat(0x0b, 64), Text("Hi There"),
       "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
      {"AUTH512-2", A::kHmacSha512_256, Repeated("Jefe", 16), wdywfn,
       "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"},
      {"AUTH512-3", A::kHmacSha512_256, Repeat(0xaa, 64), Repeat(0xdd, 50),
       "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"},
      {"RFC 2202 3 (1)", A::kHmacSha1_96, Repeat(0x0b, 20), Text("Hi There"),
       "b617318655057264e28bc0b6"},
      {"RFC 2202 3 (5)", A::kHmacSha1_96, Repeat(0x0c, 20), Text("Test With Truncation"),
       "4c1a03424b55e07fe7f27be1"},
      {"RFC 2202 2 (1)", A::kHmacMd5_96, Repeat(0x0b, 16), Text("Hi There"),
       "9294727a3638bb1c13f48ef8"},
      {"RFC 2202 2 (5)", A::kHmacMd5_96, Repeat(0x0c, 16), Text("Test With Truncation"),
       "56461ef2342edc00f9bab995"},
  };
}

TEST(IntegrityTest, SizesAndNames) {
  using A = IntegrityAlgorithm;
  EXPECT_EQ(IntegrityKeySize(A::kHmacSha1_96), 20u);
  EXPECT_EQ(IntegrityKeySize(A::kHmacSha256_128), 32u);
  EXPECT_EQ(IntegrityKeySize(A::kHmacSha384_192), 48u);
  EXPECT_EQ(IntegrityKeySize(A::kHmacSha512_256), 64u);
  EXPECT_EQ(IntegrityKeySize(A::kHmacMd5_96), 16u);
  EXPECT_EQ(IcvSize(A::kHmacSha1_96), 12u);
  EXPECT_EQ(IcvSize(A::kHmacSha256_128), 16u);
  EXPECT_EQ(IcvSize(A::kHmacSha384_192), 24u);
  EXPECT_EQ(IcvSize(A::kHmacSha512_256), 32u);
  EXPECT_EQ(IcvSize(A::kHmacMd5_96), 12u);
  EXPECT_TRUE(IsLegacy(A::kHmacMd5_96));
  EXPECT_TRUE(IsLegacy(A::kHmacSha1_96));
  EXPECT_FALSE(IsLegacy(A::kHmacSha256_128));
  EXPECT_STREQ(IntegrityName(A::kHmacSha384_192), "HMAC-SHA-384-192");
}

TEST(IntegrityTest, KnownAnswers) {
  for (const Vector& v : Vectors()) {
    Result<Integrity> integrity = Integrity::Create(v.algorithm, v.key);
    ASSERT_TRUE(integrity.ok()) << v.source << ": " << integrity.error().ToString();
    Bytes icv(integrity->icv_size());
    for (int round = 0; round < 2; ++round) {  // the context is reused
      ASSERT_TRUE(integrity->Compute(v.data, icv.data()).ok());
      EXPECT_EQ(ToHex(icv), v.icv) << v.source;
      EXPECT_TRUE(integrity->Verify(v.data, icv)) << v.source;
    }
  }
}

TEST(IntegrityTest, VerifyRejectsTamperingAndWrongLengths) {
  for (const Vector& v : Vectors()) {
    Result<Integrity> integrity = Integrity::Create(v.algorithm, v.key);
    ASSERT_TRUE(integrity.ok());
    Bytes icv(integrity->icv_size());
    ASSERT_TRUE(integrity->Compute(v.data, icv.data()).ok());
    Bytes bad_icv = icv;
    bad_icv.back() ^= 0x80;
    EXPECT_FALSE(integrity->Verify(v.data, bad_icv)) << v.source;
    Bytes bad_data = v.data;
    bad_data[0] ^= 0x01;
    EXPECT_FALSE(integrity->Verify(bad_data, icv)) << v.source;
    EXPECT_FALSE(integrity->Verify(v.data, ByteSpan(icv).first(icv.size() - 1))) << v.source;
    Bytes longer = icv;
    longer.push_back(0);
    EXPECT_FALSE(integrity->Verify(v.data, longer)) << v.source;
    EXPECT_FALSE(integrity->Verify(v.data, {})) << v.source;
    EXPECT_TRUE(integrity->Verify(v.data, icv)) << v.source;  // still usable afterwards
  }
}

TEST(IntegrityTest, MultiPartCoversScatteredParts) {
  // RFC 4303 §3.3.2.2.1: with ESN the ICV covers header || payload || seq_hi.
  Result<Integrity> integrity =
      Integrity::Create(IntegrityAlgorithm::kHmacSha256_128, Repeat(0x42, 32));
  ASSERT_TRUE(integrity.ok());
  const Bytes header = Repeat(1, 8), payload = Repeat(2, 100), seq_hi = Repeat(3, 4);
  Bytes one(16), multi(16);
  ASSERT_TRUE(integrity->Compute(Concat({header, payload, seq_hi}), one.data()).ok());
  ASSERT_TRUE(integrity->Begin().ok());
  ASSERT_TRUE(integrity->Update(header).ok());
  ASSERT_TRUE(integrity->Update(payload).ok());
  ASSERT_TRUE(integrity->Update(seq_hi).ok());
  ASSERT_TRUE(integrity->Finish(multi.data()).ok());
  EXPECT_EQ(one, multi);
  ASSERT_TRUE(integrity->Begin().ok());
  ASSERT_TRUE(integrity->Update(Concat({header, payload})).ok());
  ASSERT_TRUE(integrity->Update(seq_hi).ok());
  EXPECT_TRUE(integrity->FinishAndVerify(one));
  ASSERT_TRUE(integrity->Begin().ok());
  ASSERT_TRUE(integrity->Update(Concat({header, payload})).ok());  // seq_hi left out
  EXPECT_FALSE(integrity->FinishAndVerify(one));
}

TEST(IntegrityTest, RefusesWrongKeySizes) {
  using A = IntegrityAlgorithm;
  for (A a : {A::kHmacSha1_96, A::kHmacSha256_128, A::kHmacSha384_192, A::kHmacSha512_256,
              A::kHmacMd5_96}) {
    for (size_t size : {size_t{0}, IntegrityKeySize(a) - 1, IntegrityKeySize(a) + 1}) {
      Result<Integrity> integrity = Integrity::Create(a, Repeat(1, size));
      ASSERT_FALSE(integrity.ok()) << IntegrityName(a) << " " << size;
      EXPECT_EQ(integrity.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(integrity.error().message.find("-byte key"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ipsec::engine::crypto
