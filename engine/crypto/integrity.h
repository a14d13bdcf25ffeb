#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/hash.h"

namespace ipsec::engine::crypto {

// Integrity (authentication) transforms for ESP/AH and for IKE's SK payload with CBC:
//   kHmacMd5_96       RFC 2403  key 16, ICV 12   (legacy)
//   kHmacSha1_96      RFC 2404  key 20, ICV 12   (legacy)
//   kHmacSha256_128   RFC 4868  key 32, ICV 16
//   kHmacSha384_192   RFC 4868  key 48, ICV 24
//   kHmacSha512_256   RFC 4868  key 64, ICV 32
enum class IntegrityAlgorithm {
  kHmacSha1_96,
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256,
  kHmacMd5_96
};

size_t IntegrityKeySize(IntegrityAlgorithm algorithm);
size_t IcvSize(IntegrityAlgorithm algorithm);
Hash IntegrityHash(IntegrityAlgorithm algorithm);
const char* IntegrityName(IntegrityAlgorithm algorithm);  // "HMAC-SHA-256-128", ...
// MD5 and SHA-1 integrity: only when a policy opts into legacy algorithms.
bool IsLegacy(IntegrityAlgorithm algorithm);

// A keyed integrity transform: the truncated HMAC of RFC 2404/4868 §2.2 over a message.
// Holds one HMAC context (see HmacContext for allocation behaviour); not thread-safe: one per
// SA direction, used by one thread at a time. Movable.
class Integrity {
 public:
  // The key must be exactly IntegrityKeySize() bytes (RFC 4868 §2.1.2: the key length equals
  // the output length of the hash); anything else is kInvalidArgument.
  static Result<Integrity> Create(IntegrityAlgorithm algorithm, ByteSpan key);

  IntegrityAlgorithm algorithm() const { return algorithm_; }
  size_t icv_size() const { return IcvSize(algorithm_); }

  // One-part: writes icv_size() bytes to `icv`.
  Status Compute(ByteSpan data, uint8_t* icv);
  // True iff `icv` is the ICV of `data`; compares in constant time.
  bool Verify(ByteSpan data, ByteSpan icv);

  // Multi-part, for an ICV over scattered parts (ESP header, payload, and the high half of an
  // extended sequence number, RFC 4303 §3.3.2.2.1): Begin(), Update() per part, then Finish()
  // or FinishAndVerify().
  Status Begin();
  Status Update(ByteSpan data);
  Status Finish(uint8_t* icv);
  bool FinishAndVerify(ByteSpan icv);

 private:
  Integrity(IntegrityAlgorithm algorithm, HmacContext hmac)
      : hmac_(std::move(hmac)), algorithm_(algorithm) {}

  HmacContext hmac_;
  IntegrityAlgorithm algorithm_;
};

}  // namespace ipsec::engine::crypto
