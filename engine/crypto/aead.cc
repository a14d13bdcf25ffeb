#include "engine/crypto/aead.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <strings.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {

namespace internal {
// The provider's cipher functions for one algorithm (see aead.h), from its dispatch table.
struct AeadProviderFns {
  OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
  OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
  OSSL_FUNC_cipher_encrypt_init_fn* einit = nullptr;
  OSSL_FUNC_cipher_decrypt_init_fn* dinit = nullptr;
  OSSL_FUNC_cipher_update_fn* update = nullptr;
  OSSL_FUNC_cipher_final_fn* final = nullptr;
  OSSL_FUNC_cipher_get_ctx_params_fn* get_ctx_params = nullptr;
  void* provctx = nullptr;
};
}  // namespace internal

namespace {

using internal::AeadProviderFns;

// True iff `name` is one of the colon-separated names in `names` (case-insensitive).
bool NameListHas(const char* names, const char* name) {
  const size_t n = std::strlen(name);
  for (const char* p = names; p != nullptr && *p != '\0';) {
    const char* end = std::strchr(p, ':');
    const size_t len = end != nullptr ? static_cast<size_t>(end - p) : std::strlen(p);
    if (len == n && strncasecmp(p, name, n) == 0) return true;
    p = end != nullptr ? end + 1 : nullptr;
  }
  return false;
}

// The provider functions of `cipher` (the fetched EVP_CIPHER, which keeps its provider loaded),
// looked up once per algorithm; null when the provider does not offer them (EVP is used then).
// IPSEC_AEAD_EVP_ONLY=1 forces EVP (measurements only: bench/results).
const AeadProviderFns* ProviderFunctions(AeadAlgorithm algorithm, const EVP_CIPHER* cipher) {
  static std::mutex mu;
  static const AeadProviderFns* cache[3] = {};
  static bool tried[3] = {};
  const auto i = static_cast<size_t>(algorithm);
  std::lock_guard<std::mutex> lock(mu);
  if (tried[i]) return cache[i];
  tried[i] = true;
  if (const char* e = std::getenv("IPSEC_AEAD_EVP_ONLY"); e != nullptr && *e == '1') {
    return nullptr;
  }
  const OSSL_PROVIDER* prov = EVP_CIPHER_get0_provider(cipher);
  if (prov == nullptr) return nullptr;
  int no_cache = 0;
  const OSSL_ALGORITHM* algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
  AeadProviderFns f;
  for (const OSSL_ALGORITHM* a = algs; a != nullptr && a->algorithm_names != nullptr; ++a) {
    if (!NameListHas(a->algorithm_names, AeadName(algorithm))) continue;
    for (const OSSL_DISPATCH* d = a->implementation; d->function_id != 0; ++d) {
      switch (d->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX:
          f.newctx = OSSL_FUNC_cipher_newctx(d);
          break;
        case OSSL_FUNC_CIPHER_FREECTX:
          f.freectx = OSSL_FUNC_cipher_freectx(d);
          break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
          f.einit = OSSL_FUNC_cipher_encrypt_init(d);
          break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT:
          f.dinit = OSSL_FUNC_cipher_decrypt_init(d);
          break;
        case OSSL_FUNC_CIPHER_UPDATE:
          f.update = OSSL_FUNC_cipher_update(d);
          break;
        case OSSL_FUNC_CIPHER_FINAL:
          f.final = OSSL_FUNC_cipher_final(d);
          break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
          f.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
          break;
        default:
          break;
      }
    }
    break;
  }
  if (algs != nullptr) OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
  f.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
  if (f.newctx == nullptr || f.freectx == nullptr || f.einit == nullptr || f.dinit == nullptr ||
      f.update == nullptr || f.final == nullptr || f.get_ctx_params == nullptr) {
    return nullptr;
  }
  cache[i] = new AeadProviderFns(f);  // for the life of the process, as the fetched cipher
  return cache[i];
}

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
  Aead aead(algorithm, std::move(seal).value(), std::move(open).value());
  const EVP_CIPHER* cipher = internal::FetchedCipher(AeadName(algorithm), /*legacy=*/false);
  if (const AeadProviderFns* f =
          cipher != nullptr ? ProviderFunctions(algorithm, cipher) : nullptr) {
    ProviderCtx s(f->newctx(f->provctx), internal::ProviderCtxFree{f->freectx});
    ProviderCtx o(f->newctx(f->provctx), internal::ProviderCtxFree{f->freectx});
    if (s != nullptr && o != nullptr &&
        f->einit(s.get(), key.data(), key.size(), nullptr, 0, nullptr) == 1 &&
        f->dinit(o.get(), key.data(), key.size(), nullptr, 0, nullptr) == 1) {
      aead.fns_ = f;
      aead.direct_seal_ = std::move(s);
      aead.direct_open_ = std::move(o);
    } else {
      internal::ClearOpenSslErrors();  // EVP it is
    }
  }
  return aead;
}

Status Aead::Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, uint8_t* out) {
  // One part, in place or not: the stream modes read each block before writing it.
  return SealParts(nonce, aad, &plaintext, 1, out);
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
  if (fns_ != nullptr) {
    void* ctx = direct_seal_.get();
    size_t len = 0;
    bool ok =
        fns_->einit(ctx, nullptr, 0, nonce.data(), nonce.size(), nullptr) == 1 &&
        (aad.empty() || fns_->update(ctx, nullptr, &len, aad.size(), aad.data(), aad.size()) == 1);
    size_t written = 0;
    for (size_t i = 0; ok && i < count; ++i) {
      if (parts[i].empty()) continue;
      ok = fns_->update(ctx, out + written, &len, parts[i].size(), parts[i].data(),
                        parts[i].size()) == 1;
      written += len;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out + total, kAeadTagSize),
        OSSL_PARAM_construct_end(),
    };
    if (!ok || written != total || fns_->final(ctx, out + written, &len, kAeadTagSize) != 1 ||
        fns_->get_ctx_params(ctx, params) != 1) {
      return internal::OpenSslError(ErrorCode::kInternal, std::string(AeadName(algorithm_)));
    }
    return Status::Ok();
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
  const int n = static_cast<int>(ciphertext_and_tag.size() - kAeadTagSize);
  // The tag is copied into the context first, so decrypting in place cannot disturb it.
  auto* tag = const_cast<uint8_t*>(ciphertext_and_tag.data() + n);
  if (fns_ != nullptr) {
    void* ctx = direct_open_.get();
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kAeadTagSize),
        OSSL_PARAM_construct_end(),
    };
    size_t len = 0;
    const auto size = static_cast<size_t>(n);
    if (fns_->dinit(ctx, nullptr, 0, nonce.data(), nonce.size(), params) != 1 ||
        (!aad.empty() &&
         fns_->update(ctx, nullptr, &len, aad.size(), aad.data(), aad.size()) != 1) ||
        (n > 0 && fns_->update(ctx, out, &len, size, ciphertext_and_tag.data(), size) != 1)) {
      return internal::OpenSslError(ErrorCode::kInternal, std::string(AeadName(algorithm_)));
    }
    if (fns_->final(ctx, out + (n > 0 ? len : 0), &len, 0) != 1) {
      if (n > 0) OPENSSL_cleanse(out, size);
      internal::ClearOpenSslErrors();
      return AuthFailed();
    }
    return Status::Ok();
  }
  EVP_CIPHER_CTX* ctx = open_.get();
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
