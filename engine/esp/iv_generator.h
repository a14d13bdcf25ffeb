#pragma once

// Unpredictable per-packet IVs for CBC (RFC 3602 §3: "the IV MUST be chosen at random" and be
// unpredictable), cheap enough for every packet: AES-128 of a counter under a random key drawn
// once from OpenSSL's DRBG (SP 800-90A's CTR_DRBG output step without reseeding; the key never
// leaves this object). One per worker thread; not thread-safe. Owns its key schedule.

#include <cstddef>
#include <cstdint>

#include "engine/common/result.h"
#include "engine/crypto/cipher.h"

namespace ipsec::engine::esp {

class IvGenerator {
 public:
  static Result<IvGenerator> Create();

  // Writes n <= 16 unpredictable octets to `out`.
  Status Next(uint8_t* out, size_t n);

 private:
  explicit IvGenerator(crypto::CbcCipher cipher) : cipher_(std::move(cipher)) {}

  crypto::CbcCipher cipher_;
  uint64_t counter_ = 0;
  uint64_t nonce_ = 0;  // random, so two generators under one key could never collide either
};

}  // namespace ipsec::engine::esp
