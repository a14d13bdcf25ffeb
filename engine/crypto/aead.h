#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

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

namespace internal {
struct AeadProviderFns;  // aead.cc
// Frees a provider's cipher context (its freectx function).
struct ProviderCtxFree {
  void (*free)(void*) = nullptr;
  void operator()(void* p) const {
    if (free != nullptr) free(p);
  }
};
}  // namespace internal

size_t AeadKeySize(AeadAlgorithm algorithm);    // 16, 32, 32
const char* AeadName(AeadAlgorithm algorithm);  // "AES-128-GCM", ...

// A keyed AEAD. Keeps one OpenSSL context per direction, keyed once, so Seal and Open make no
// allocation (../shared/STYLE.md; issue 4's hot path). Not thread-safe: one per SA direction
// (or IKE SA), used by one thread at a time. Movable.
// OpenSSL does the crypto. Per packet it is called through the provider's own cipher functions
// (OSSL_PROVIDER_query_operation's dispatch table: init with the nonce, update, final, the tag
// parameter) rather than EVP_*: OpenSSL 3.0's EVP_CipherInit_ex2 asks the provider for the IV
// length on every call (EVP_CIPHER_CTX_get_iv_length -> get_ctx_params -> OSSL_PARAM_locate ->
// strcmp), ~8% of each data path thread (issue 4). When the provider does not give the table,
// the EVP contexts do it all.
class Aead {
 public:
  // The key must be exactly AeadKeySize() bytes.
  static Result<Aead> Create(AeadAlgorithm algorithm, ByteSpan key);

  AeadAlgorithm algorithm() const { return algorithm_; }
  // True when Seal/Open call the provider's functions directly (see above), false: EVP.
  bool direct() const { return fns_ != nullptr; }

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
  using ProviderCtx = std::unique_ptr<void, internal::ProviderCtxFree>;

  Aead(AeadAlgorithm algorithm, OpenSslPtr<evp_cipher_ctx_st> seal,
       OpenSslPtr<evp_cipher_ctx_st> open)
      : seal_(std::move(seal)), open_(std::move(open)), algorithm_(algorithm) {}

  OpenSslPtr<evp_cipher_ctx_st> seal_;
  OpenSslPtr<evp_cipher_ctx_st> open_;
  AeadAlgorithm algorithm_;
  // The provider's functions and keyed contexts; null: EVP only.
  const internal::AeadProviderFns* fns_ = nullptr;
  ProviderCtx direct_seal_;
  ProviderCtx direct_open_;
};

// True iff `status` is Open()'s authentication failure: ErrorCode::kDataLoss (the data is
// corrupt or forged), the only use of that code in engine/crypto.
inline bool IsAuthFailure(const Status& status) {
  return !status.ok() && status.error().code == ErrorCode::kDataLoss;
}

}  // namespace ipsec::engine::crypto
