#include "engine/crypto/hash.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;
using testing::Repeat;
using testing::Text;

TEST(DigestTest, SizesAndNames) {
  EXPECT_EQ(DigestSize(Hash::kMd5), 16u);
  EXPECT_EQ(DigestSize(Hash::kSha1), 20u);
  EXPECT_EQ(DigestSize(Hash::kSha256), 32u);
  EXPECT_EQ(DigestSize(Hash::kSha384), 48u);
  EXPECT_EQ(DigestSize(Hash::kSha512), 64u);
  EXPECT_EQ(BlockSize(Hash::kSha256), 64u);
  EXPECT_EQ(BlockSize(Hash::kSha512), 128u);
  EXPECT_STREQ(HashName(Hash::kSha384), "SHA384");
}

// "abc": RFC 1321 §A.5 (MD5), FIPS 180-2 Appendices A-D (SHA-1, SHA-256, SHA-384, SHA-512).
TEST(DigestTest, AbcKnownAnswers) {
  EXPECT_EQ(ToHex(Digest(Hash::kMd5, Text("abc"))), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(ToHex(Digest(Hash::kSha1, Text("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(ToHex(Digest(Hash::kSha256, Text("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Digest(Hash::kSha384, Text("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(ToHex(Digest(Hash::kSha512, Text("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

struct HmacVector {
  const char* source;
  Hash hash;
  Bytes key;
  Bytes data;
  const char* mac;
};

// RFC 4231 §4.2-4.8 (HMAC-SHA-256/384/512) and RFC 2202 §2-3 (HMAC-MD5, HMAC-SHA-1).
std::vector<HmacVector> HmacVectors() {
  const Bytes jefe = Text("Jefe");
  const Bytes wdywfn = Text("what do ya want for nothing?");
  const Bytes large_key_data = Text("Test Using Larger Than Block-Size Key - Hash Key First");
  return {
      {"RFC 4231 4.2", Hash::kSha256, Repeat(0x0b, 20), Text("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"RFC 4231 4.2", Hash::kSha384, Repeat(0x0b, 20), Text("Hi There"),
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
       "faea9ea9076ede7f4af152e8b2fa9cb6"},
      {"RFC 4231 4.2", Hash::kSha512, Repeat(0x0b, 20), Text("Hi There"),
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"RFC 4231 4.3", Hash::kSha256, jefe, wdywfn,
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"RFC 4231 4.3", Hash::kSha384, jefe, wdywfn,
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       "8e2240ca5e69e2c78b3239ecfab21649"},
      {"RFC 4231 4.3", Hash::kSha512, jefe, wdywfn,
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"RFC 4231 4.4", Hash::kSha256, Repeat(0xaa, 20), Repeat(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"RFC 4231 4.5", Hash::kSha256, Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       Repeat(0xcd, 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"RFC 4231 4.7", Hash::kSha256, Repeat(0xaa, 131), large_key_data,
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"RFC 4231 4.7", Hash::kSha512, Repeat(0xaa, 131), large_key_data,
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
       "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {"RFC 2202 3 (1)", Hash::kSha1, Repeat(0x0b, 20), Text("Hi There"),
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {"RFC 2202 3 (2)", Hash::kSha1, jefe, wdywfn, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"RFC 2202 3 (3)", Hash::kSha1, Repeat(0xaa, 20), Repeat(0xdd, 50),
       "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {"RFC 2202 3 (6)", Hash::kSha1, Repeat(0xaa, 80), large_key_data,
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
      {"RFC 2202 2 (1)", Hash::kMd5, Repeat(0x0b, 16), Text("Hi There"),
       "9294727a3638bb1c13f48ef8158bfc9d"},
      {"RFC 2202 2 (2)", Hash::kMd5, jefe, wdywfn, "750c783e6ab0b503eaa86e310a5db738"},
      {"RFC 2202 2 (3)", Hash::kMd5, Repeat(0xaa, 16), Repeat(0xdd, 50),
       "56be34521d144c88dbb8c733f0e8b3f6"},
  };
}

TEST(HmacTest, KnownAnswers) {
  for (const HmacVector& v : HmacVectors()) {
    EXPECT_EQ(ToHex(Hmac(v.hash, v.key, v.data)), v.mac) << v.source << " " << HashName(v.hash);
  }
}

TEST(HmacContextTest, ReusedContextGivesTheSameAnswers) {
  for (const HmacVector& v : HmacVectors()) {
    Result<HmacContext> ctx = HmacContext::Create(v.hash, v.key);
    ASSERT_TRUE(ctx.ok()) << ctx.error().ToString();
    Bytes out(ctx->size());
    for (int round = 0; round < 3; ++round) {
      ASSERT_TRUE(ctx->Compute(v.data, out.data()).ok());
      EXPECT_EQ(ToHex(out), v.mac) << v.source << " round " << round;
    }
  }
}

TEST(HmacContextTest, MultiPartEqualsOnePart) {
  const HmacVector v = HmacVectors()[3];  // "what do ya want for nothing?"
  Result<HmacContext> ctx = HmacContext::Create(v.hash, v.key);
  ASSERT_TRUE(ctx.ok());
  Bytes out(ctx->size());
  ASSERT_TRUE(ctx->Reset().ok());
  ByteSpan data(v.data);
  ASSERT_TRUE(ctx->Update(data.first(5)).ok());
  ASSERT_TRUE(ctx->Update({}).ok());
  ASSERT_TRUE(ctx->Update(data.subspan(5)).ok());
  ASSERT_TRUE(ctx->Final(out.data()).ok());
  EXPECT_EQ(ToHex(out), v.mac);
}

TEST(HmacContextTest, EmptyKeyAndEmptyMessage) {
  // HMAC-SHA-256 with an empty key of an empty message (independently computed value).
  EXPECT_EQ(ToHex(Hmac(Hash::kSha256, {}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacContextTest, MovedContextStillWorks) {
  Result<HmacContext> ctx = HmacContext::Create(Hash::kSha256, Repeat(0x0b, 20));
  ASSERT_TRUE(ctx.ok());
  HmacContext moved = std::move(ctx).value();
  Bytes out(32);
  ASSERT_TRUE(moved.Compute(Text("Hi There"), out.data()).ok());
  EXPECT_EQ(ToHex(out), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

}  // namespace
}  // namespace ipsec::engine::crypto
