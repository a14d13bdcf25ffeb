#pragma once

// Ranges as prefixes, for the classifier's tuple space (classifier.cc): a hash lookup needs a
// fixed mask, so every address range is split into the prefixes that cover it exactly.

#include <vector>

#include "engine/common/ip_address.h"

namespace ipsec::engine::policy {

struct Prefix {
  Uint128 value = 0;  // the network (host bits zero)
  int len = 0;
  bool operator==(const Prefix&) const = default;
};

// The mask with the top `len` of `bits` bits set (bits is 32 or 128).
Uint128 PrefixMaskBits(int bits, int len);

// The fewest prefixes whose union is exactly [first, last], in ascending order. A range of a
// `bits`-bit space needs at most 2 * bits - 2 of them (e.g. 0.0.0.1-255.255.255.254).
std::vector<Prefix> PrefixCover(Uint128 first, Uint128 last, int bits);

// The longest single prefix containing all of [first, last].
Prefix CoveringPrefix(Uint128 first, Uint128 last, int bits);

}  // namespace ipsec::engine::policy
