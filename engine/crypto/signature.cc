#include "engine/crypto/signature.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <climits>
#include <string>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, internal::FreeWith<ECDSA_SIG_free>>;

bool IsRsa(SignatureScheme s) { return s <= SignatureScheme::kRsaPssSha512; }
bool IsPss(SignatureScheme s) {
  return s >= SignatureScheme::kRsaPssSha256 && s <= SignatureScheme::kRsaPssSha512;
}
bool IsEcdsa(SignatureScheme s) {
  return s >= SignatureScheme::kEcdsaSha256 && s <= SignatureScheme::kEcdsaSha512;
}

// Bytes of r and of s in the raw encoding: the size of the curve's order.
size_t EcdsaComponentSize(EVP_PKEY* key) {
  return static_cast<size_t>(EVP_PKEY_get_bits(key) + 7) / 8;
}

Result<Bytes> EcdsaDerToRaw(const Bytes& der, size_t n) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr) return internal::OpenSslError(ErrorCode::kInternal, "ECDSA signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bytes raw(2 * n);
  if (BN_bn2binpad(r, raw.data(), static_cast<int>(n)) < 0 ||
      BN_bn2binpad(s, raw.data() + n, static_cast<int>(n)) < 0) {
    return internal::OpenSslError(ErrorCode::kInternal, "ECDSA signature");
  }
  return raw;
}

Result<Bytes> EcdsaRawToDer(ByteSpan raw, size_t n) {
  if (raw.size() != 2 * n) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ECDSA signature (r || s) must be " + std::to_string(2 * n) + " bytes, got " +
                         std::to_string(raw.size()) + " (RFC 4754 §7)");
  }
  BIGNUM* r = BN_bin2bn(raw.data(), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + n, static_cast<int>(n), nullptr);
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return internal::OpenSslError(ErrorCode::kInternal, "ECDSA signature");
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return internal::OpenSslError(ErrorCode::kInternal, "ECDSA signature");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Status CheckFits(SignatureScheme scheme, KeyType type) {
  if (SchemeFitsKey(scheme, type)) return Status::Ok();
  return MakeError(ErrorCode::kInvalidArgument, std::string("signature scheme ") +
                                                    SchemeName(scheme) + " cannot be used with " +
                                                    KeyTypeName(type) + " keys");
}

// A digest-sign/verify context over `key` for `scheme` (PSS parameters set).
Result<internal::MdCtxPtr> NewContext(EVP_PKEY* key, SignatureScheme scheme, bool sign) {
  std::optional<Hash> hash = SchemeHash(scheme);
  const char* md = hash ? HashName(*hash) : nullptr;
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  int ok = ctx == nullptr ? 0
           : sign ? EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr)
                  : EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr);
  if (ok == 1 && IsPss(scheme)) {
    // RFC 4055 §3.1 parameters as RFC 7427 uses them: MGF1 with the same hash, salt = hLen.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, nullptr) == 1;
  }
  if (ok != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(SchemeName(scheme)) + " setup");
  }
  return ctx;
}

}  // namespace

const char* SchemeName(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1Sha1:
      return "rsa-pkcs1-sha1";
    case SignatureScheme::kRsaPkcs1Sha256:
      return "rsa-pkcs1-sha256";
    case SignatureScheme::kRsaPkcs1Sha384:
      return "rsa-pkcs1-sha384";
    case SignatureScheme::kRsaPkcs1Sha512:
      return "rsa-pkcs1-sha512";
    case SignatureScheme::kRsaPssSha256:
      return "rsa-pss-sha256";
    case SignatureScheme::kRsaPssSha384:
      return "rsa-pss-sha384";
    case SignatureScheme::kRsaPssSha512:
      return "rsa-pss-sha512";
    case SignatureScheme::kEcdsaSha256:
      return "ecdsa-sha256";
    case SignatureScheme::kEcdsaSha384:
      return "ecdsa-sha384";
    case SignatureScheme::kEcdsaSha512:
      return "ecdsa-sha512";
    case SignatureScheme::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

std::optional<Hash> SchemeHash(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1Sha1:
      return Hash::kSha1;
    case SignatureScheme::kRsaPkcs1Sha256:
    case SignatureScheme::kRsaPssSha256:
    case SignatureScheme::kEcdsaSha256:
      return Hash::kSha256;
    case SignatureScheme::kRsaPkcs1Sha384:
    case SignatureScheme::kRsaPssSha384:
    case SignatureScheme::kEcdsaSha384:
      return Hash::kSha384;
    case SignatureScheme::kRsaPkcs1Sha512:
    case SignatureScheme::kRsaPssSha512:
    case SignatureScheme::kEcdsaSha512:
      return Hash::kSha512;
    case SignatureScheme::kEd25519:
      return std::nullopt;
  }
  return std::nullopt;
}

uint16_t SignatureHashId(SignatureScheme scheme) {
  std::optional<Hash> hash = SchemeHash(scheme);
  if (!hash) return 5;  // Identity
  switch (*hash) {
    case Hash::kSha1:
      return 1;
    case Hash::kSha256:
      return 2;
    case Hash::kSha384:
      return 3;
    case Hash::kSha512:
      return 4;
    case Hash::kMd5:
      break;
  }
  return 0;
}

bool SchemeFitsKey(SignatureScheme scheme, KeyType type) {
  if (IsRsa(scheme)) return type == KeyType::kRsa;
  if (IsEcdsa(scheme)) {
    return type == KeyType::kEcdsaP256 || type == KeyType::kEcdsaP384 ||
           type == KeyType::kEcdsaP521;
  }
  return type == KeyType::kEd25519;
}

std::vector<SignatureScheme> SchemesFor(const PublicKey& key) {
  using S = SignatureScheme;
  switch (key.type()) {
    case KeyType::kRsa:
      return {S::kRsaPkcs1Sha256, S::kRsaPkcs1Sha384, S::kRsaPkcs1Sha512,
              S::kRsaPssSha256,   S::kRsaPssSha384,   S::kRsaPssSha512};
    case KeyType::kEcdsaP256:
      return {S::kEcdsaSha256, S::kEcdsaSha384, S::kEcdsaSha512};
    case KeyType::kEcdsaP384:
      return {S::kEcdsaSha384, S::kEcdsaSha512, S::kEcdsaSha256};
    case KeyType::kEcdsaP521:
      return {S::kEcdsaSha512, S::kEcdsaSha384, S::kEcdsaSha256};
    case KeyType::kEd25519:
      return {S::kEd25519};
  }
  return {};
}

Result<Bytes> Sign(const PrivateKey& key, SignatureScheme scheme, ByteSpan data,
                   EcdsaEncoding encoding) {
  if (Status s = CheckFits(scheme, key.type()); !s.ok()) return s.error();
  Result<internal::MdCtxPtr> ctx = NewContext(key.get(), scheme, /*sign=*/true);
  if (!ctx.ok()) return ctx.error();
  size_t len = 0;
  if (EVP_DigestSign(ctx->get(), nullptr, &len, data.data(), data.size()) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(SchemeName(scheme)));
  }
  Bytes signature(len);
  if (EVP_DigestSign(ctx->get(), signature.data(), &len, data.data(), data.size()) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(SchemeName(scheme)));
  }
  signature.resize(len);
  if (IsEcdsa(scheme) && encoding == EcdsaEncoding::kRaw) {
    return EcdsaDerToRaw(signature, EcdsaComponentSize(key.get()));
  }
  return signature;
}

Status Verify(const PublicKey& key, SignatureScheme scheme, ByteSpan data, ByteSpan signature,
              EcdsaEncoding encoding) {
  if (Status s = CheckFits(scheme, key.type()); !s.ok()) return s;
  Bytes der;
  if (IsEcdsa(scheme) && encoding == EcdsaEncoding::kRaw) {
    Result<Bytes> converted = EcdsaRawToDer(signature, EcdsaComponentSize(key.get()));
    if (!converted.ok()) return converted.error();
    der = std::move(converted).value();
    signature = der;
  }
  Result<internal::MdCtxPtr> ctx = NewContext(key.get(), scheme, /*sign=*/false);
  if (!ctx.ok()) return ctx.error();
  int rc =
      EVP_DigestVerify(ctx->get(), signature.data(), signature.size(), data.data(), data.size());
  internal::ClearOpenSslErrors();
  if (rc != 1) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(SchemeName(scheme)) +
                                                      " signature does not verify with the " +
                                                      key.Description() + " key");
  }
  return Status::Ok();
}

}  // namespace ipsec::engine::crypto
