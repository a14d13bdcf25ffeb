#include "engine/policy/prefix_cover.h"

#include <gtest/gtest.h>

namespace ipsec::engine::policy {
namespace {

Uint128 Size(const Prefix& p, int bits) { return Uint128{1} << (bits - p.len); }

// Checks exactness (the prefixes tile [first, last] in order) and minimality (no two
// neighbours are the halves of one larger prefix).
void ExpectExactCover(Uint128 first, Uint128 last, int bits) {
  std::vector<Prefix> cover = PrefixCover(first, last, bits);
  ASSERT_FALSE(cover.empty());
  Uint128 next = first;
  for (size_t i = 0; i < cover.size(); ++i) {
    const Prefix& p = cover[i];
    ASSERT_EQ(p.value, next);
    ASSERT_EQ(p.value & ~PrefixMaskBits(bits, p.len) & PrefixMaskBits(bits, bits), 0u);
    next = p.value + Size(p, bits);
    if (i > 0) {
      const Prefix& q = cover[i - 1];
      const bool siblings = q.len == p.len && q.len > 0 &&
                            (q.value & PrefixMaskBits(bits, q.len - 1)) ==
                                (p.value & PrefixMaskBits(bits, p.len - 1));
      ASSERT_FALSE(siblings) << "not minimal";
    }
  }
  ASSERT_EQ(next - 1, last);
  ASSERT_LE(cover.size(), static_cast<size_t>(2 * bits - 2 > 0 ? 2 * bits - 2 : 1));
}

TEST(PrefixCoverTest, ExhaustiveOnEightBits) {
  for (unsigned first = 0; first < 256; ++first) {
    for (unsigned last = first; last < 256; ++last) {
      ExpectExactCover(first, last, 8);
      if (HasFatalFailure()) FAIL() << first << "-" << last;
    }
  }
}

TEST(PrefixCoverTest, KnownCovers) {
  // 10.0.0.5-10.0.0.9 = .5/32, .6/31, .8/31
  auto cover = PrefixCover(0x0a000005u, 0x0a000009u, 32);
  EXPECT_EQ(cover, (std::vector<Prefix>{{0x0a000005u, 32}, {0x0a000006u, 31},
                                        {0x0a000008u, 31}}));
  EXPECT_EQ(PrefixCover(0, 0xffffffffu, 32), (std::vector<Prefix>{{0, 0}}));
  EXPECT_EQ(PrefixCover(0, ~Uint128{0}, 128), (std::vector<Prefix>{{0, 0}}));
  EXPECT_EQ(PrefixCover(1, 0xfffffffeu, 32).size(), 62u);
  EXPECT_TRUE(PrefixCover(5, 4, 32).empty());
  ExpectExactCover(1, ~Uint128{0} - 1, 128);
  ExpectExactCover(~Uint128{0}, ~Uint128{0}, 128);
  ExpectExactCover(Uint128{1} << 100, (Uint128{1} << 101) + 12345, 128);
}

TEST(PrefixCoverTest, CoveringPrefix) {
  EXPECT_EQ(CoveringPrefix(0x0a000005u, 0x0a000009u, 32), (Prefix{0x0a000000u, 28}));
  EXPECT_EQ(CoveringPrefix(0x0a000005u, 0x0a000005u, 32), (Prefix{0x0a000005u, 32}));
  EXPECT_EQ(CoveringPrefix(1, 0xfffffffeu, 32), (Prefix{0, 0}));
  EXPECT_EQ(CoveringPrefix(0, ~Uint128{0}, 128), (Prefix{0, 0}));
  EXPECT_EQ(PrefixMaskBits(32, 24), 0xffffff00u);
  EXPECT_EQ(PrefixMaskBits(128, 128), ~Uint128{0});
  EXPECT_EQ(PrefixMaskBits(128, 0), 0u);
}

}  // namespace
}  // namespace ipsec::engine::policy
