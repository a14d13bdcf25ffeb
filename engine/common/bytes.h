#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipsec {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string ToHex(ByteSpan bytes);
// Hex text (whitespace and ':' ignored) to bytes; nullopt on anything else.
std::optional<Bytes> FromHex(std::string_view hex);

inline Bytes Concat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  size_t n = 0;
  for (ByteSpan p : parts) n += p.size();
  out.reserve(n);
  for (ByteSpan p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace ipsec
