#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto {

// Block ciphers in CBC mode without padding, for IKE's SK payload (RFC 7296 §3.14) and ESP
// (RFC 3602 AES-CBC, RFC 2451 3DES-CBC, RFC 2405 DES-CBC); the callers add their own
// padding. DES lives in OpenSSL 3's legacy provider, which is loaded on first use of DES.
enum class CbcAlgorithm { kAes128, kAes192, kAes256, k3Des, kDes };

size_t CbcKeySize(CbcAlgorithm algorithm);    // 16, 24, 32, 24, 8
size_t CbcBlockSize(CbcAlgorithm algorithm);  // 16 for AES, 8 for (3)DES
inline size_t CbcIvSize(CbcAlgorithm algorithm) { return CbcBlockSize(algorithm); }
const char* CbcName(CbcAlgorithm algorithm);  // "AES-128-CBC", ..., "DES-CBC"
// 3DES and DES: only when a policy opts into legacy algorithms.
bool IsLegacy(CbcAlgorithm algorithm);

// A keyed CBC cipher. Keeps one OpenSSL context per direction with the key schedule done
// once, so Encrypt/Decrypt make no allocation. Not thread-safe: one per SA direction (or IKE
// SA), used by one thread at a time. Movable.
class CbcCipher {
 public:
  // The key must be exactly CbcKeySize() bytes. kUnavailable if DES is asked for and OpenSSL's
  // legacy provider cannot be loaded.
  static Result<CbcCipher> Create(CbcAlgorithm algorithm, ByteSpan key);

  CbcAlgorithm algorithm() const { return algorithm_; }
  size_t block_size() const { return CbcBlockSize(algorithm_); }

  // Encrypts/decrypts `in` to `out` (in.size() bytes). `iv` is block_size() bytes and
  // in.size() a multiple of block_size(), else kInvalidArgument. In place is allowed
  // (out == in.data()); other overlaps are not.
  Status Encrypt(ByteSpan iv, ByteSpan in, uint8_t* out);
  Status Decrypt(ByteSpan iv, ByteSpan in, uint8_t* out);

 private:
  CbcCipher(CbcAlgorithm algorithm, OpenSslPtr<evp_cipher_ctx_st> encrypt,
            OpenSslPtr<evp_cipher_ctx_st> decrypt)
      : encrypt_(std::move(encrypt)), decrypt_(std::move(decrypt)), algorithm_(algorithm) {}
  Status Run(evp_cipher_ctx_st* ctx, ByteSpan iv, ByteSpan in, uint8_t* out);

  OpenSslPtr<evp_cipher_ctx_st> encrypt_;
  OpenSslPtr<evp_cipher_ctx_st> decrypt_;
  CbcAlgorithm algorithm_;
};

}  // namespace ipsec::engine::crypto
