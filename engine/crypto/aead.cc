#include "engine/crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <string>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

Result<OpenSslPtr<EVP_CIPHER_CTX>> NewContext(AeadAlgorithm algorithm, ByteSpan key, int enc) {
  const EVP_CIPHER* cipher = internal::FetchedCipher(AeadName(algorithm), /*legacy=*/false);
  if (cipher == nullptr) {
    return internal::OpenSslError(ErrorCode::kUnavailable,
                                  std::string(AeadName(algorithm)) + " unavailable");
  }
  OpenSslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  // The default IV length of both GCM and ChaCha20-Poly1305 is 12 bytes (kAeadNonceSize).
  if (ctx == nullptr ||
      EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), nullptr, enc, nullptr) != 1 ||
      EVP_CIPHER_CTX_get_iv_length(ctx.get()) != static_cast<int>(kAeadNonceSize)) {
    return internal::OpenSslError(ErrorCode::kInternal,
                                  std::string(AeadName(algorithm)) + " key setup");
  }
  return ctx;
}

// Reads or sets the 16-byte tag through the provider's parameters directly (a little cheaper
// per packet than EVP_CIPHER_CTX_ctrl, which builds the same parameter).
bool TagParam(EVP_CIPHER_CTX* ctx, uint8_t* tag, bool get) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kAeadTagSize),
      OSSL_PARAM_construct_end(),
  };
  return (get ? EVP_CIPHER_CTX_get_params(ctx, params) : EVP_CIPHER_CTX_set_params(ctx, params)) ==
         1;
}

// Errors of the per-packet paths. Their messages fit the small-string buffer (no allocation).
Error BadNonce() { return MakeError(ErrorCode::kInvalidArgument, "bad AEAD nonce"); }
Error TooLong() { return MakeError(ErrorCode::kInvalidArgument, "AEAD input long"); }
Error TooShort() { return MakeError(ErrorCode::kInvalidArgument, "no AEAD tag"); }
Error AuthFailed() { return MakeError(ErrorCode::kDataLoss, "ICV mismatch"); }

}  // namespace

size_t AeadKeySize(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kAes128Gcm16 ? 16 : 32;
}

const char* AeadName(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes128Gcm16:
      return "AES-128-GCM";
    case AeadAlgorithm::kAes256Gcm16:
      return "AES-256-GCM";
    case AeadAlgorithm::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return "unknown";
}

Result<Aead> Aead::Create(AeadAlgorithm algorithm, ByteSpan key) {
  if (key.size() != AeadKeySize(algorithm)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(AeadName(algorithm)) + " needs a " +
                                                      std::to_string(AeadKeySize(algorithm)) +
                                                      "-byte key (without the salt), got " +
                                                      std::to_string(key.size()));
  }
  Result<OpenSslPtr<EVP_CIPHER_CTX>> seal = NewContext(algorithm, key, 1);
  if (!seal.ok()) return seal.error();
  Result<OpenSslPtr<EVP_CIPHER_CTX>> open = NewContext(algorithm, key, 0);
  if (!open.ok()) return open.error();
  return Aead(algorithm, std::move(seal).value(), std::move(open).value());
}

Status Aead::Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, uint8_t* out) {
  if (nonce.size() != kAeadNonceSize) return BadNonce();
  if (plaintext.size() > INT_MAX - kAeadTagSize || aad.size() > INT_MAX) return TooLong();
  EVP_CIPHER_CTX* ctx = seal_.get();
  int len = 0;
  int final_len = 0;
  const int n = static_cast<int>(plaintext.size());
  if (EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (n > 0 && EVP_EncryptUpdate(ctx, out, &len, plaintext.data(), n) != 1) ||
      EVP_EncryptFinal_ex(ctx, out + (n > 0 ? len : 0), &final_len) != 1 ||
      !TagParam(ctx, out + n, /*get=*/true)) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(AeadName(algorithm_)));
  }
  return Status::Ok();
}

Status Aead::SealParts(ByteSpan nonce, ByteSpan aad, const ByteSpan* parts, size_t count,
                       uint8_t* out) {
  if (nonce.size() != kAeadNonceSize) return BadNonce();
  if (aad.size() > INT_MAX) return TooLong();
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    total += parts[i].size();
    if (parts[i].size() > INT_MAX || total > INT_MAX - kAeadTagSize) return TooLong();
  }
  EVP_CIPHER_CTX* ctx = seal_.get();
  int len = 0;
  bool ok = EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1 &&
            (aad.empty() ||
             EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1);
  // GCM and ChaCha20-Poly1305 are stream modes: each update writes exactly its input's length.
  size_t written = 0;
  for (size_t i = 0; ok && i < count; ++i) {
    if (parts[i].empty()) continue;
    ok = EVP_EncryptUpdate(ctx, out + written, &len, parts[i].data(),
                           static_cast<int>(parts[i].size())) == 1;
    written += static_cast<size_t>(len);
  }
  int final_len = 0;
  if (!ok || written != total || EVP_EncryptFinal_ex(ctx, out + written, &final_len) != 1 ||
      !TagParam(ctx, out + total, /*get=*/true)) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(AeadName(algorithm_)));
  }
  return Status::Ok();
}

Status Aead::Open(ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext_and_tag, uint8_t* out) {
  if (nonce.size() != kAeadNonceSize) return BadNonce();
  if (ciphertext_and_tag.size() < kAeadTagSize) return TooShort();
  if (ciphertext_and_tag.size() > INT_MAX || aad.size() > INT_MAX) return TooLong();
  EVP_CIPHER_CTX* ctx = open_.get();
  const int n = static_cast<int>(ciphertext_and_tag.size() - kAeadTagSize);
  // The tag is copied into the context first, so decrypting in place cannot disturb it.
  auto* tag = const_cast<uint8_t*>(ciphertext_and_tag.data() + n);
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) != 1 ||
      !TagParam(ctx, tag, /*get=*/false) ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (n > 0 && EVP_DecryptUpdate(ctx, out, &len, ciphertext_and_tag.data(), n) != 1)) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(AeadName(algorithm_)));
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, out + (n > 0 ? len : 0), &final_len) != 1) {
    if (n > 0) OPENSSL_cleanse(out, static_cast<size_t>(n));
    internal::ClearOpenSslErrors();
    return AuthFailed();
  }
  return Status::Ok();
}

}  // namespace ipsec::engine::crypto
