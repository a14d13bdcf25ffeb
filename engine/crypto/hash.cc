#include "engine/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {

size_t DigestSize(Hash hash) {
  switch (hash) {
    case Hash::kMd5:
      return 16;
    case Hash::kSha1:
      return 20;
    case Hash::kSha256:
      return 32;
    case Hash::kSha384:
      return 48;
    case Hash::kSha512:
      return 64;
  }
  return 0;
}

size_t BlockSize(Hash hash) { return hash == Hash::kSha384 || hash == Hash::kSha512 ? 128 : 64; }

const char* HashName(Hash hash) {
  switch (hash) {
    case Hash::kMd5:
      return "MD5";
    case Hash::kSha1:
      return "SHA1";
    case Hash::kSha256:
      return "SHA256";
    case Hash::kSha384:
      return "SHA384";
    case Hash::kSha512:
      return "SHA512";
  }
  return "unknown";
}

Bytes Digest(Hash hash, ByteSpan data) {
  const EVP_MD* md = internal::FetchedDigest(hash);
  if (md == nullptr) return {};
  Bytes out(DigestSize(hash));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 ||
      len != out.size()) {
    internal::ClearOpenSslErrors();
    return {};
  }
  return out;
}

Bytes Hmac(Hash hash, ByteSpan key, ByteSpan data) {
  Result<HmacContext> ctx = HmacContext::Create(hash, key);
  if (!ctx.ok()) return {};
  Bytes out(DigestSize(hash));
  if (!ctx->Compute(data, out.data()).ok()) return {};
  return out;
}

Result<HmacContext> HmacContext::Create(Hash hash, ByteSpan key) {
  EVP_MAC* mac = internal::FetchedHmac();
  if (internal::FetchedDigest(hash) == nullptr || mac == nullptr) {
    return internal::OpenSslError(ErrorCode::kUnimplemented,
                                  std::string("HMAC-") + HashName(hash) + " unavailable");
  }
  OpenSslPtr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac));
  if (ctx == nullptr) return internal::OpenSslError(ErrorCode::kInternal, "EVP_MAC_CTX_new");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(HashName(hash)), 0),
      OSSL_PARAM_construct_end(),
  };
  // EVP_MAC_init with a null key means "same key as before"; an empty key must still be set.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_data = key.empty() ? &kEmpty : key.data();
  if (EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal,
                                  std::string("HMAC-") + HashName(hash) + " key setup");
  }
  return HmacContext(hash, std::move(ctx));
}

Status HmacContext::Reset() {
  if (EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, "HMAC reset");
  }
  return Status::Ok();
}

Status HmacContext::Update(ByteSpan data) {
  if (data.empty()) return Status::Ok();
  if (EVP_MAC_update(ctx_.get(), data.data(), data.size()) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, "HMAC update");
  }
  return Status::Ok();
}

Status HmacContext::Final(uint8_t* out) {
  size_t len = 0;
  if (EVP_MAC_final(ctx_.get(), out, &len, size()) != 1 || len != size()) {
    return internal::OpenSslError(ErrorCode::kInternal, "HMAC final");
  }
  return Status::Ok();
}

Status HmacContext::Compute(ByteSpan data, uint8_t* out) {
  if (Status s = Reset(); !s.ok()) return s;
  if (Status s = Update(data); !s.ok()) return s;
  return Final(out);
}

}  // namespace ipsec::engine::crypto
