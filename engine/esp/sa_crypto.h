#pragma once

// The keyed crypto contexts of one SA direction, one set per worker thread (engine/crypto's
// contexts are not thread-safe, and keying them per packet would allocate). Internal to
// engine/esp: OutboundSa, InboundSa and the AH SAs own one each.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/aead.h"
#include "engine/crypto/cipher.h"
#include "engine/crypto/integrity.h"
#include "engine/esp/iv_generator.h"
#include "engine/esp/transform.h"

namespace ipsec::engine::esp {

// One worker's contexts, on its own cache lines.
struct alignas(64) WorkerCrypto {
  std::optional<crypto::Aead> aead;            // ResolvedTransform::Kind::kAead
  std::optional<crypto::CbcCipher> cbc;        // kCbcHmac
  std::optional<crypto::Integrity> integrity;  // kCbcHmac, kNullHmac, kAhHmac
  std::optional<IvGenerator> iv;               // kCbcHmac, outbound only
};

class SaCrypto {
 public:
  // Keys `workers` context sets from `transform`'s keys. `outbound` adds IV generators.
  static Result<std::unique_ptr<SaCrypto>> Create(const ResolvedTransform& resolved,
                                                  const Transform& transform, unsigned workers,
                                                  bool outbound);

  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }
  // Precondition: index < workers().
  WorkerCrypto& worker(unsigned index) { return workers_[index]; }
  // The AEAD salt (RFC 4106 §4, RFC 7634 §2): the 4 octets after the key.
  const uint8_t* salt() const { return salt_.data(); }

 private:
  SaCrypto() = default;
  std::vector<WorkerCrypto> workers_;
  SecretBytes salt_;  // kAeadSaltSize octets with an AEAD, else empty
};

}  // namespace ipsec::engine::esp
