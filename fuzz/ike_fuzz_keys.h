#pragma once

// Fixed SK keys and a deterministic Random shared by the IKE fuzzers and their seed writer.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/common/random.h"
#include "engine/common/secret_bytes.h"
#include "engine/ike/codec/sk.h"

namespace ipsec::fuzz {

namespace codec = engine::ike::codec;

inline SecretBytes Pattern(size_t n, uint8_t start) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(start + i);
  return SecretBytes(s);
}

// One key set per SK suite we support, indexed by the fuzzer's first input octet.
inline std::vector<codec::SkKeys> FuzzKeys() {
  using codec::EncrId;
  using codec::IntegId;
  using codec::SkKeys;
  return {
      SkKeys::FromKeymat(EncrId::kAesGcm16, 128, Pattern(20, 1), IntegId::kNone, {}),
      SkKeys::FromKeymat(EncrId::kAesGcm16, 256, Pattern(36, 2), IntegId::kNone, {}),
      SkKeys::FromKeymat(EncrId::kChaCha20Poly1305, 0, Pattern(36, 3), IntegId::kNone, {}),
      SkKeys::FromKeymat(EncrId::kAesCbc, 128, Pattern(16, 4), IntegId::kHmacSha2_256_128,
                         Pattern(32, 5)),
      SkKeys::FromKeymat(EncrId::kAesCbc, 256, Pattern(32, 6), IntegId::kHmacSha2_512_256,
                         Pattern(64, 7)),
      SkKeys::FromKeymat(EncrId::k3Des, 0, Pattern(24, 8), IntegId::kHmacSha1_96, Pattern(20, 9)),
  };
}

class FuzzRandom final : public Random {
 public:
  void Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(next_++ * 131);
  }

 private:
  uint32_t next_ = 0;
};

}  // namespace ipsec::fuzz
