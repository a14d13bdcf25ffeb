#include "engine/crypto/integrity.h"

#include <openssl/crypto.h>

#include <cstring>
#include <string>

namespace ipsec::engine::crypto {

size_t IntegrityKeySize(IntegrityAlgorithm algorithm) {
  return DigestSize(IntegrityHash(algorithm));
}

size_t IcvSize(IntegrityAlgorithm algorithm) {
  switch (algorithm) {
    case IntegrityAlgorithm::kHmacMd5_96:
    case IntegrityAlgorithm::kHmacSha1_96:
      return 12;
    case IntegrityAlgorithm::kHmacSha256_128:
      return 16;
    case IntegrityAlgorithm::kHmacSha384_192:
      return 24;
    case IntegrityAlgorithm::kHmacSha512_256:
      return 32;
  }
  return 0;
}

Hash IntegrityHash(IntegrityAlgorithm algorithm) {
  switch (algorithm) {
    case IntegrityAlgorithm::kHmacMd5_96:
      return Hash::kMd5;
    case IntegrityAlgorithm::kHmacSha1_96:
      return Hash::kSha1;
    case IntegrityAlgorithm::kHmacSha256_128:
      return Hash::kSha256;
    case IntegrityAlgorithm::kHmacSha384_192:
      return Hash::kSha384;
    case IntegrityAlgorithm::kHmacSha512_256:
      return Hash::kSha512;
  }
  return Hash::kSha256;
}

const char* IntegrityName(IntegrityAlgorithm algorithm) {
  switch (algorithm) {
    case IntegrityAlgorithm::kHmacMd5_96:
      return "HMAC-MD5-96";
    case IntegrityAlgorithm::kHmacSha1_96:
      return "HMAC-SHA1-96";
    case IntegrityAlgorithm::kHmacSha256_128:
      return "HMAC-SHA-256-128";
    case IntegrityAlgorithm::kHmacSha384_192:
      return "HMAC-SHA-384-192";
    case IntegrityAlgorithm::kHmacSha512_256:
      return "HMAC-SHA-512-256";
  }
  return "unknown";
}

bool IsLegacy(IntegrityAlgorithm algorithm) {
  return algorithm == IntegrityAlgorithm::kHmacMd5_96 ||
         algorithm == IntegrityAlgorithm::kHmacSha1_96;
}

Result<Integrity> Integrity::Create(IntegrityAlgorithm algorithm, ByteSpan key) {
  if (key.size() != IntegrityKeySize(algorithm)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(IntegrityName(algorithm)) + " needs a " +
                         std::to_string(IntegrityKeySize(algorithm)) + "-byte key, got " +
                         std::to_string(key.size()));
  }
  Result<HmacContext> hmac = HmacContext::Create(IntegrityHash(algorithm), key);
  if (!hmac.ok()) return hmac.error();
  return Integrity(algorithm, std::move(hmac).value());
}

Status Integrity::Compute(ByteSpan data, uint8_t* icv) {
  if (Status s = Begin(); !s.ok()) return s;
  if (Status s = Update(data); !s.ok()) return s;
  return Finish(icv);
}

bool Integrity::Verify(ByteSpan data, ByteSpan icv) {
  return Begin().ok() && Update(data).ok() && FinishAndVerify(icv);
}

Status Integrity::Begin() { return hmac_.Reset(); }

Status Integrity::Update(ByteSpan data) { return hmac_.Update(data); }

Status Integrity::Finish(uint8_t* icv) {
  uint8_t full[64];
  Status s = hmac_.Final(full);
  if (s.ok()) std::memcpy(icv, full, icv_size());  // RFC 4868 §2.2: the leftmost bits
  OPENSSL_cleanse(full, sizeof(full));
  return s;
}

bool Integrity::FinishAndVerify(ByteSpan icv) {
  uint8_t computed[64];
  bool ok = hmac_.Final(computed).ok() && icv.size() == icv_size() &&
            CRYPTO_memcmp(computed, icv.data(), icv_size()) == 0;
  OPENSSL_cleanse(computed, sizeof(computed));
  return ok;
}

}  // namespace ipsec::engine::crypto
