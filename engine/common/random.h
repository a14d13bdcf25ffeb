#pragma once

#include <cstddef>
#include <cstdint>

namespace ipsec {

// Randomness as the engine sees it: injected, so tests are deterministic (../shared/STYLE.md
// rule 5). engine/crypto provides the real one (OpenSSL's DRBG).
class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(uint8_t* out, size_t n) = 0;
  uint64_t Uint64() {
    uint64_t v;
    Fill(reinterpret_cast<uint8_t*>(&v), sizeof(v));
    return v;
  }
};

}  // namespace ipsec
