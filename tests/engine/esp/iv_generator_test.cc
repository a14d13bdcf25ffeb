#include "engine/esp/iv_generator.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "engine/common/bytes.h"

namespace ipsec::engine::esp {
namespace {

TEST(IvGeneratorTest, IvsDoNotRepeatAndDifferBetweenGenerators) {
  auto a = IvGenerator::Create();
  auto b = IvGenerator::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  std::set<std::string> seen;  // hex: GCC 12 misfires on set<vector> compares
  for (int i = 0; i < 10000; ++i) {
    Bytes iv(16);
    ASSERT_TRUE(a->Next(iv.data(), 16).ok());
    EXPECT_TRUE(seen.insert(ToHex(iv)).second);
    ASSERT_TRUE(b->Next(iv.data(), 16).ok());
    EXPECT_TRUE(seen.insert(ToHex(iv)).second);
  }
}

TEST(IvGeneratorTest, ShortIvsAndLimits) {
  auto g = IvGenerator::Create();
  ASSERT_TRUE(g.ok());
  uint8_t iv[17] = {};
  EXPECT_TRUE(g->Next(iv, 8).ok());  // 3DES
  EXPECT_FALSE(g->Next(iv, 17).ok());
  // Roughly balanced bits over many IVs (a stuck or constant output would fail).
  size_t ones = 0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(g->Next(iv, 16).ok());
    for (int j = 0; j < 16; ++j) ones += static_cast<size_t>(__builtin_popcount(iv[j]));
  }
  EXPECT_GT(ones, 60000u);
  EXPECT_LT(ones, 68000u);
}

}  // namespace
}  // namespace ipsec::engine::esp
