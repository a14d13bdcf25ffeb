#include "engine/esp/sa_crypto.h"

#include <gtest/gtest.h>

#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using testing::AllEspTransforms;
using testing::MakeParams;

TEST(SaCryptoTest, OneContextSetPerWorker) {
  for (const auto& t : AllEspTransforms()) {
    SaParams p = MakeParams(t, false);
    auto resolved = ResolveTransform(Protocol::kEsp, p.transform);
    ASSERT_TRUE(resolved.ok()) << t.name;
    for (bool outbound : {false, true}) {
      auto c = SaCrypto::Create(*resolved, p.transform, 3, outbound);
      ASSERT_TRUE(c.ok()) << t.name;
      EXPECT_EQ((*c)->workers(), 3u);
      for (unsigned w = 0; w < 3; ++w) {
        const WorkerCrypto& wc = (*c)->worker(w);
        const bool aead = resolved->kind == ResolvedTransform::Kind::kAead;
        const bool cbc = resolved->kind == ResolvedTransform::Kind::kCbcHmac;
        EXPECT_EQ(wc.aead.has_value(), aead) << t.name;
        EXPECT_EQ(wc.cbc.has_value(), cbc) << t.name;
        EXPECT_EQ(wc.integrity.has_value(), !aead) << t.name;
        EXPECT_EQ(wc.iv.has_value(), cbc && outbound) << t.name;
      }
      if (resolved->kind == ResolvedTransform::Kind::kAead) {
        // The salt is the last 4 key octets (KeyBytes(n, 0x10) -> 0x10 + n - 4 ...).
        const size_t n = p.transform.encryption_key.size();
        EXPECT_EQ((*c)->salt()[0], static_cast<uint8_t>(0x10 + n - 4));
      }
    }
  }
}

TEST(SaCryptoTest, WorkerLimits) {
  SaParams p = MakeParams(AllEspTransforms()[0], false);
  auto resolved = ResolveTransform(Protocol::kEsp, p.transform);
  ASSERT_TRUE(resolved.ok());
  EXPECT_FALSE(SaCrypto::Create(*resolved, p.transform, 0, true).ok());
  EXPECT_FALSE(SaCrypto::Create(*resolved, p.transform, 5000, true).ok());
}

TEST(SaCryptoTest, WorkersSitOnTheirOwnCacheLines) {
  EXPECT_EQ(alignof(WorkerCrypto), 64u);
  EXPECT_EQ(sizeof(WorkerCrypto) % 64, 0u);
}

}  // namespace
}  // namespace ipsec::engine::esp
