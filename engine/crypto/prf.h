#pragma once

#include <cstddef>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/hash.h"

namespace ipsec::engine::crypto {

// An IKEv2 pseudorandom function over HMAC (PRF_HMAC_MD5/SHA1, RFC 2104; PRF_HMAC_SHA2_256/
// 384/512, RFC 4868 §2.1), and prf+ (RFC 7296 §2.13) that expands it into key material.
// Stateless: a Prf is a value (the hash), safe to share between threads.
class Prf {
 public:
  explicit Prf(Hash hash) : hash_(hash) {}

  Hash hash() const { return hash_; }
  // Bytes per PRF output; also the preferred key length (RFC 7296 §2.14 for SK_d, SK_pi, SK_pr).
  size_t output_size() const { return DigestSize(hash_); }

  // prf(key, data). Empty only if OpenSSL fails (see Hmac()). For public results such as the
  // AUTH payload's octets (RFC 7296 §2.15).
  Bytes Compute(ByteSpan key, ByteSpan data) const;
  // prf(key, data) for a result that is key material, e.g. SKEYSEED = prf(Ni | Nr, g^ir)
  // (RFC 7296 §2.14).
  Result<SecretBytes> ComputeSecret(ByteSpan key, ByteSpan data) const;

  // prf+(key, seed) truncated to `length` bytes (RFC 7296 §2.13):
  //   T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), prf+ = T1 | T2 | ...
  // The counter is one byte, so at most 255 * output_size() bytes: more is kInvalidArgument.
  Result<SecretBytes> PrfPlus(ByteSpan key, ByteSpan seed, size_t length) const;

 private:
  Hash hash_;
};

// Views a secret as bytes, to pass it as a PRF key or a cipher key.
inline ByteSpan SecretSpan(const SecretBytes& secret) {
  return ByteSpan(secret.data(), secret.size());
}

}  // namespace ipsec::engine::crypto
