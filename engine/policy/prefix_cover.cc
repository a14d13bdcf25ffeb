#include "engine/policy/prefix_cover.h"

#include <bit>

namespace ipsec::engine::policy {
namespace {

int CountTrailingZeros(Uint128 v) {
  const uint64_t low = static_cast<uint64_t>(v);
  if (low != 0) return std::countr_zero(low);
  const uint64_t high = static_cast<uint64_t>(v >> 64);
  return high != 0 ? 64 + std::countr_zero(high) : 128;
}

int BitLength(Uint128 v) {
  const uint64_t high = static_cast<uint64_t>(v >> 64);
  if (high != 0) return 128 - std::countl_zero(high);
  return 64 - std::countl_zero(static_cast<uint64_t>(v));
}

// 2^k - 1 without overflowing at k = 128.
Uint128 LowOnes(int k) { return k >= 128 ? ~Uint128{0} : (Uint128{1} << k) - 1; }

}  // namespace

Uint128 PrefixMaskBits(int bits, int len) {
  if (len <= 0) return 0;
  const Uint128 all = LowOnes(bits);
  if (len >= bits) return all;
  return (all << (bits - len)) & all;
}

std::vector<Prefix> PrefixCover(Uint128 first, Uint128 last, int bits) {
  std::vector<Prefix> out;
  if (first > last) return out;
  Uint128 lo = first;
  while (true) {
    // The largest aligned block starting at lo that does not pass last.
    int k = CountTrailingZeros(lo);
    if (k > bits) k = bits;
    while (LowOnes(k) > last - lo) --k;
    out.push_back({lo, bits - k});
    if (LowOnes(k) == last - lo) break;
    lo += LowOnes(k) + 1;
  }
  return out;
}

Prefix CoveringPrefix(Uint128 first, Uint128 last, int bits) {
  const int len = bits - BitLength(first ^ last);
  return {first & PrefixMaskBits(bits, len), len};
}

}  // namespace ipsec::engine::policy
