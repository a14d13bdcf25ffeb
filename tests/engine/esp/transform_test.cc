#include "engine/esp/transform.h"

#include <gtest/gtest.h>

#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using Kind = ResolvedTransform::Kind;
using testing::AllEspTransforms;
using testing::KeyBytes;
using testing::MakeParams;
using testing::Secret;

TEST(TransformTest, ResolvesEverySupportedTransform) {
  for (const auto& t : AllEspTransforms()) {
    auto r = ResolveTransform(Protocol::kEsp, MakeParams(t, false).transform);
    ASSERT_TRUE(r.ok()) << t.name << ": " << r.error().ToString();
  }
}

TEST(TransformTest, Sizes) {
  const auto all = AllEspTransforms();
  auto resolve = [&](size_t i) {
    return ResolveTransform(Protocol::kEsp, MakeParams(all[i], false).transform).value();
  };
  ResolvedTransform gcm = resolve(0);
  EXPECT_EQ(gcm.kind, Kind::kAead);
  EXPECT_EQ(gcm.iv_size, 8u);  // RFC 4106 §3.1
  EXPECT_EQ(gcm.icv_size, 16u);
  EXPECT_EQ(gcm.block_size, 4u);
  ResolvedTransform chacha = resolve(2);
  EXPECT_EQ(chacha.aead, crypto::AeadAlgorithm::kChaCha20Poly1305);
  EXPECT_EQ(chacha.iv_size, 8u);  // RFC 7634 §2
  ResolvedTransform cbc = resolve(4);
  EXPECT_EQ(cbc.kind, Kind::kCbcHmac);
  EXPECT_EQ(cbc.iv_size, 16u);
  EXPECT_EQ(cbc.block_size, 16u);
  EXPECT_EQ(cbc.icv_size, 24u);  // HMAC-SHA-384-192, RFC 4868
  EXPECT_FALSE(cbc.legacy);
  ResolvedTransform null = resolve(8);
  EXPECT_EQ(null.kind, Kind::kNullHmac);
  EXPECT_EQ(null.iv_size, 0u);
  EXPECT_EQ(null.icv_size, 32u);
  ResolvedTransform des = resolve(9);
  EXPECT_EQ(des.block_size, 8u);
  EXPECT_EQ(des.icv_size, 12u);
  EXPECT_TRUE(des.legacy);
  EXPECT_TRUE(resolve(10).legacy);  // HMAC-MD5-96
}

TEST(TransformTest, Rejections) {
  const auto all = AllEspTransforms();
  struct Bad {
    const char* what;
    Transform t;
    ErrorCode code;
  };
  std::vector<Bad> bad;
  auto base = [&](size_t i) { return MakeParams(all[i], false).transform; };
  Transform t = base(0);
  t.encryption_key = Secret(KeyBytes(16, 0));  // no salt
  bad.push_back({"GCM without salt", t, ErrorCode::kInvalidArgument});
  t = base(0);
  t.encryption_key_bits = 192;
  bad.push_back({"GCM-192", t, ErrorCode::kInvalidArgument});
  t = base(0);
  t.integrity_id = kAuthHmacSha2_256_128;
  t.integrity_key = Secret(KeyBytes(32, 0));
  bad.push_back({"AEAD with integrity", t, ErrorCode::kInvalidArgument});
  t = base(3);
  t.integrity_id = kAuthNone;
  t.integrity_key = SecretBytes();
  bad.push_back({"CBC without integrity", t, ErrorCode::kInvalidArgument});
  t = base(3);
  t.integrity_key = Secret(KeyBytes(20, 0));
  bad.push_back({"short HMAC key", t, ErrorCode::kInvalidArgument});
  t = base(3);
  t.encryption_key_bits = 100;
  bad.push_back({"AES-CBC-100", t, ErrorCode::kInvalidArgument});
  t = base(7);
  t.integrity_id = kAuthNone;
  bad.push_back({"NULL/NULL", t, ErrorCode::kInvalidArgument});
  t = base(3);
  t.encryption_id = 13;  // ENCR_AES_CTR
  bad.push_back({"AES-CTR", t, ErrorCode::kUnimplemented});
  t = base(3);
  t.integrity_id = 5;  // AUTH_AES_XCBC_96
  bad.push_back({"AES-XCBC", t, ErrorCode::kUnimplemented});
  for (const Bad& b : bad) {
    auto r = ResolveTransform(Protocol::kEsp, b.t);
    ASSERT_FALSE(r.ok()) << b.what;
    EXPECT_EQ(r.error().code, b.code) << b.what;
  }
}

TEST(TransformTest, AhTakesIntegrityOnly) {
  Transform t;
  t.integrity_id = kAuthHmacSha2_256_128;
  t.integrity_key = Secret(KeyBytes(32, 0));
  auto r = ResolveTransform(Protocol::kAh, t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, Kind::kAhHmac);
  EXPECT_EQ(r->icv_size, 16u);
  t.encryption_id = kEncrAesCbc;
  EXPECT_FALSE(ResolveTransform(Protocol::kAh, t).ok());
}

TEST(TransformTest, Names) {
  EXPECT_STREQ(EncryptionName(kEncrAesGcm16), "AES-GCM-16");
  EXPECT_STREQ(EncryptionName(kEncrChaCha20Poly1305), "ChaCha20-Poly1305");
  EXPECT_STREQ(IntegrityIdName(kAuthHmacSha2_512_256), "HMAC-SHA-512-256");
  EXPECT_STREQ(IntegrityIdName(99), "unknown");
}

}  // namespace
}  // namespace ipsec::engine::esp
