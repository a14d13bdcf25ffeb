#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "engine/common/bytes.h"
#include "engine/common/secret_bytes.h"

namespace ipsec::engine::crypto::testing {

// Hex as RFCs print it (spaces and line breaks ignored) to bytes; a typo fails the test.
inline Bytes Hex(std::string_view hex) {
  std::optional<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test: " << hex;
  return bytes.value_or(Bytes());
}

inline Bytes Repeat(uint8_t byte, size_t n) { return Bytes(n, byte); }

inline Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline std::string SecretHex(const SecretBytes& s) { return ToHex(ByteSpan(s.data(), s.size())); }

}  // namespace ipsec::engine::crypto::testing
