#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto {

// AEAD transforms for ESP and IKE's SK payload, all with a 16-byte ICV and a 12-byte nonce:
//   kAes128Gcm16 / kAes256Gcm16  AES-GCM, RFC 4106 (ESP), RFC 5282 (IKEv2)
//   kChaCha20Poly1305            RFC 7539 construction; RFC 7634 (ESP and IKEv2)
// Key sizes here EXCLUDE the 4-byte salt that IKE derives after the key (RFC 4106 §8.1,
// RFC 7634 §2): the caller splits KEYMAT and builds the nonce salt || IV (RFC 4106 §4,
// RFC 7634 §2, RFC 5282 §4) itself.
enum class AeadAlgorithm { kAes128Gcm16, kAes256Gcm16, kChaCha20Poly1305 };

inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadSaltSize = 4;  // salt bytes that follow the key in KEYMAT

size_t AeadKeySize(AeadAlgorithm algorithm);    // 16, 32, 32
const char* AeadName(AeadAlgorithm algorithm);  // "AES-128-GCM", ...

// A keyed AEAD. Keeps one OpenSSL context per direction, keyed once, so Seal and Open make no
// allocation (../shared/STYLE.md; issue 4's hot path). Not thread-safe: one per SA direction
// (or IKE SA), used by one thread at a time. Movable.
class Aead {
 public:
  // The key must be exactly AeadKeySize() bytes.
  static Result<Aead> Create(AeadAlgorithm algorithm, ByteSpan key);

  AeadAlgorithm algorithm() const { return algorithm_; }

  // Encrypts `plaintext` and authenticates it with `aad`; writes plaintext.size() bytes of
  // ciphertext and then the 16-byte tag to `out`. `nonce` is kAeadNonceSize bytes. In place is
  // allowed (out == plaintext.data()); other overlaps are not.
  Status Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, uint8_t* out);

  // As Seal, for a plaintext given in `count` parts (their concatenation), written out of
  // place: the ciphertext of all parts, then the tag, to `out`, which must not overlap any
  // part. Byte-identical to Seal of the concatenated parts; saves the caller the copy that
  // would gather them (issue 4: a TUN super-packet's segment is encrypted straight into the
  // send slot).
  Status SealParts(ByteSpan nonce, ByteSpan aad, const ByteSpan* parts, size_t count, uint8_t* out);

  // Checks and decrypts `ciphertext_and_tag` (ciphertext, then the 16-byte tag); writes
  // ciphertext_and_tag.size() - 16 bytes of plaintext to `out`. In place is allowed. When the
  // tag does not verify, returns the authentication failure (IsAuthFailure()): cheap, with no
  // allocation and no log, because forged packets are an attacker's to send; `out` is then
  // wiped, so no unauthenticated plaintext escapes.
  Status Open(ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext_and_tag, uint8_t* out);

 private:
  Aead(AeadAlgorithm algorithm, OpenSslPtr<evp_cipher_ctx_st> seal,
       OpenSslPtr<evp_cipher_ctx_st> open)
      : seal_(std::move(seal)), open_(std::move(open)), algorithm_(algorithm) {}

  OpenSslPtr<evp_cipher_ctx_st> seal_;
  OpenSslPtr<evp_cipher_ctx_st> open_;
  AeadAlgorithm algorithm_;
};

// True iff `status` is Open()'s authentication failure: ErrorCode::kDataLoss (the data is
// corrupt or forged), the only use of that code in engine/crypto.
inline bool IsAuthFailure(const Status& status) {
  return !status.ok() && status.error().code == ErrorCode::kDataLoss;
}

}  // namespace ipsec::engine::crypto
