#include "engine/crypto/random.h"

#include <gtest/gtest.h>

#include <set>

namespace ipsec::engine::crypto {
namespace {

TEST(SystemRandomTest, FillsWithDifferentBytesEachTime) {
  SystemRandom random;
  std::set<Bytes> seen;
  for (int i = 0; i < 16; ++i) {
    Bytes b(32, 0);
    random.Fill(b.data(), b.size());
    EXPECT_NE(b, Bytes(32, 0));
    seen.insert(b);
  }
  EXPECT_EQ(seen.size(), 16u);
  EXPECT_EQ(random.drbg_failures(), 0u);
  EXPECT_EQ(random.total_failures(), 0u);
}

TEST(SystemRandomTest, TryFillAndUint64) {
  SystemRandom random;
  Bytes b(1 << 20, 0);  // a large fill, in one call
  ASSERT_TRUE(random.TryFill(b).ok());
  size_t zeros = 0;
  for (uint8_t x : b) zeros += x == 0;
  EXPECT_LT(zeros, b.size() / 128);  // about 1/256 expected
  EXPECT_NE(random.Uint64(), random.Uint64());
  EXPECT_TRUE(random.TryFill({}).ok());
  random.Fill(nullptr, 0);
}

TEST(SystemRandomTest, IsARandom) {
  SystemRandom system;
  Random& random = system;  // injected as the common interface
  uint8_t buf[8] = {};
  random.Fill(buf, sizeof(buf));
  EXPECT_NE(Bytes(buf, buf + 8), Bytes(8, 0));
}

}  // namespace
}  // namespace ipsec::engine::crypto
