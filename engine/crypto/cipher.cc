#include "engine/crypto/cipher.h"

#include <openssl/evp.h>

#include <climits>
#include <string>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

Result<OpenSslPtr<EVP_CIPHER_CTX>> NewContext(CbcAlgorithm algorithm, ByteSpan key, int enc) {
  // Single DES lives in OpenSSL 3's legacy provider; 3DES is still in the default one.
  const EVP_CIPHER* cipher =
      internal::FetchedCipher(CbcName(algorithm), algorithm == CbcAlgorithm::kDes);
  if (cipher == nullptr) {
    if (algorithm == CbcAlgorithm::kDes) {
      return internal::OpenSslError(ErrorCode::kUnavailable,
                                    "DES-CBC needs OpenSSL's legacy provider (legacy.so in "
                                    "ossl-modules), which could not be loaded");
    }
    return internal::OpenSslError(ErrorCode::kUnavailable,
                                  std::string(CbcName(algorithm)) + " unavailable");
  }
  OpenSslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr ||
      EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), nullptr, enc, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal,
                                  std::string(CbcName(algorithm)) + " key setup");
  }
  return ctx;
}

}  // namespace

size_t CbcKeySize(CbcAlgorithm algorithm) {
  switch (algorithm) {
    case CbcAlgorithm::kAes128:
      return 16;
    case CbcAlgorithm::kAes192:
    case CbcAlgorithm::k3Des:
      return 24;
    case CbcAlgorithm::kAes256:
      return 32;
    case CbcAlgorithm::kDes:
      return 8;
  }
  return 0;
}

size_t CbcBlockSize(CbcAlgorithm algorithm) {
  return algorithm == CbcAlgorithm::k3Des || algorithm == CbcAlgorithm::kDes ? 8 : 16;
}

const char* CbcName(CbcAlgorithm algorithm) {
  switch (algorithm) {
    case CbcAlgorithm::kAes128:
      return "AES-128-CBC";
    case CbcAlgorithm::kAes192:
      return "AES-192-CBC";
    case CbcAlgorithm::kAes256:
      return "AES-256-CBC";
    case CbcAlgorithm::k3Des:
      return "DES-EDE3-CBC";
    case CbcAlgorithm::kDes:
      return "DES-CBC";
  }
  return "unknown";
}

bool IsLegacy(CbcAlgorithm algorithm) {
  return algorithm == CbcAlgorithm::k3Des || algorithm == CbcAlgorithm::kDes;
}

Result<CbcCipher> CbcCipher::Create(CbcAlgorithm algorithm, ByteSpan key) {
  if (key.size() != CbcKeySize(algorithm)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(CbcName(algorithm)) + " needs a " +
                                                      std::to_string(CbcKeySize(algorithm)) +
                                                      "-byte key, got " +
                                                      std::to_string(key.size()));
  }
  Result<OpenSslPtr<EVP_CIPHER_CTX>> encrypt = NewContext(algorithm, key, 1);
  if (!encrypt.ok()) return encrypt.error();
  Result<OpenSslPtr<EVP_CIPHER_CTX>> decrypt = NewContext(algorithm, key, 0);
  if (!decrypt.ok()) return decrypt.error();
  return CbcCipher(algorithm, std::move(encrypt).value(), std::move(decrypt).value());
}

Status CbcCipher::Encrypt(ByteSpan iv, ByteSpan in, uint8_t* out) {
  return Run(encrypt_.get(), iv, in, out);
}

Status CbcCipher::Decrypt(ByteSpan iv, ByteSpan in, uint8_t* out) {
  return Run(decrypt_.get(), iv, in, out);
}

Status CbcCipher::Run(EVP_CIPHER_CTX* ctx, ByteSpan iv, ByteSpan in, uint8_t* out) {
  const size_t block = block_size();
  if (iv.size() != block) {
    return MakeError(ErrorCode::kInvalidArgument, "CBC IV must be one block");
  }
  if (in.size() % block != 0 || in.size() > INT_MAX) {
    return MakeError(ErrorCode::kInvalidArgument, "CBC input not a whole number of blocks");
  }
  if (in.empty()) return Status::Ok();
  int len = 0;
  int final_len = 0;
  // enc = -1 keeps the context's direction; the key schedule is kept too.
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv.data(), -1, nullptr) != 1 ||
      EVP_CipherUpdate(ctx, out, &len, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx, out + len, &final_len) != 1 ||
      static_cast<size_t>(len + final_len) != in.size()) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(CbcName(algorithm_)));
  }
  return Status::Ok();
}

}  // namespace ipsec::engine::crypto
