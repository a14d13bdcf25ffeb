#include "engine/crypto/prf.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;
using testing::Repeat;
using testing::SecretHex;
using testing::Text;

// RFC 4868 §2.7.1: PRF_HMAC_SHA2_256/384/512 test cases PRF-1 .. PRF-6.
TEST(PrfTest, Rfc4868KnownAnswers) {
  const Bytes large = Text(
      "This is a test using a larger than block-size key and a larger "
      "than block-size data. The key needs to be hashed before being "
      "used by the HMAC algorithm.");
  struct Case {
    const char* name;
    Hash hash;
    Bytes key;
    Bytes data;
    const char* out;
  } cases[] = {
      {"PRF-1", Hash::kSha256, Repeat(0x0b, 20), Text("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"PRF-3", Hash::kSha256, Repeat(0xaa, 20), Repeat(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"PRF-6", Hash::kSha256, Repeat(0xaa, 131), large,
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
      {"PRF-3", Hash::kSha384, Repeat(0xaa, 20), Repeat(0xdd, 50),
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
       "2a5ab39dc13814b94e3ab6e101a34f27"},
      {"PRF-4", Hash::kSha384, Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       Repeat(0xcd, 50),
       "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
       "6801dd23c4a7d679ccf8a386c674cffb"},
      {"PRF-6", Hash::kSha384, Repeat(0xaa, 131), large,
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
       "a678cc31e799176d3860e6110c46523e"},
      {"PRF-3", Hash::kSha512, Repeat(0xaa, 20), Repeat(0xdd, 50),
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
       "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
      {"PRF-4", Hash::kSha512, Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       Repeat(0xcd, 50),
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
       "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
      {"PRF-6", Hash::kSha512, Repeat(0xaa, 131), large,
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
       "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
  for (const Case& c : cases) {
    Prf prf(c.hash);
    EXPECT_EQ(ToHex(prf.Compute(c.key, c.data)), c.out) << c.name << " " << HashName(c.hash);
    Result<SecretBytes> secret = prf.ComputeSecret(c.key, c.data);
    ASSERT_TRUE(secret.ok());
    EXPECT_EQ(SecretHex(*secret), c.out) << c.name;
  }
}

TEST(PrfTest, OutputSize) {
  EXPECT_EQ(Prf(Hash::kSha1).output_size(), 20u);
  EXPECT_EQ(Prf(Hash::kSha256).output_size(), 32u);
  EXPECT_EQ(Prf(Hash::kSha512).output_size(), 64u);
}

// prf+ computed here independently from its definition (RFC 7296 §2.13) with plain HMAC.
Bytes ReferencePrfPlus(Hash hash, ByteSpan key, ByteSpan seed, size_t length) {
  Bytes out, t;
  for (uint8_t n = 1; out.size() < length; ++n) {
    const uint8_t counter[] = {n};
    t = Hmac(hash, key, Concat({t, seed, counter}));
    out.insert(out.end(), t.begin(), t.end());
  }
  out.resize(length);
  return out;
}

TEST(PrfPlusTest, MatchesIndependentComputation) {
  const Bytes key = Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Bytes seed = Text("Ni|Nr|SPIi|SPIr");
  for (Hash hash : {Hash::kSha1, Hash::kSha256, Hash::kSha384, Hash::kSha512}) {
    for (size_t length : {0u, 1u, 20u, 32u, 33u, 100u, 1000u}) {
      Result<SecretBytes> out = Prf(hash).PrfPlus(key, seed, length);
      ASSERT_TRUE(out.ok()) << out.error().ToString();
      EXPECT_EQ(SecretHex(*out), ToHex(ReferencePrfPlus(hash, key, seed, length)))
          << HashName(hash) << " " << length;
    }
  }
}

// Values computed with Python's hmac module (an implementation independent of ours).
TEST(PrfPlusTest, KnownAnswers) {
  Result<SecretBytes> sha256 =
      Prf(Hash::kSha256)
          .PrfPlus(Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                   Text("Ni|Nr|SPIi|SPIr"), 100);
  ASSERT_TRUE(sha256.ok());
  EXPECT_EQ(SecretHex(*sha256),
            "53c84cde72fd7c6ad66d83e8c2b5f60526edf011e9c91a3c09711fa47daedeec"
            "d4b99f0c696da3810e3d5d475efa27a7ebd4fa20cf32ec6b02bf5365c1f1606e"
            "81b9ec83219d0f89d66daaa2ca14c0ae452c9365892c29323d385f77ae9160aa"
            "2252eca7");
  Result<SecretBytes> sha1 =
      Prf(Hash::kSha1).PrfPlus(Hex("000102030405060708090a0b0c0d0e0f10111213"), Text("seed"), 45);
  ASSERT_TRUE(sha1.ok());
  EXPECT_EQ(SecretHex(*sha1),
            "fc6692ab20a215e10da622ae9d0ef252d290c5ce2afc818987d1e9bc79a29768"
            "2ff6f32fef1553343273ad9e5d");
}

TEST(PrfPlusTest, LengthLimitIs255Blocks) {
  Prf prf(Hash::kSha256);
  Result<SecretBytes> max = prf.PrfPlus(Repeat(1, 32), Text("s"), 255 * 32);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size(), 255u * 32);
  Result<SecretBytes> over = prf.PrfPlus(Repeat(1, 32), Text("s"), 255 * 32 + 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(over.error().message.find("RFC 7296 §2.13"), std::string::npos);
}

TEST(PrfPlusTest, SecretSpanViewsTheBytes) {
  SecretBytes s(std::string_view("\x01\x02", 2));
  ByteSpan span = SecretSpan(s);
  ASSERT_EQ(span.size(), 2u);
  EXPECT_EQ(span[1], 2);
}

}  // namespace
}  // namespace ipsec::engine::crypto
