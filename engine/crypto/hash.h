#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto {

// Hash functions the engine uses: IKE PRFs and integrity (RFC 7296 §3.3.2), ESP/AH ICVs, RFC
// 7427 signature hashes, NAT detection (SHA-1, RFC 7296 §2.23) and CERTREQ (SHA-1, §3.7).
enum class Hash { kMd5, kSha1, kSha256, kSha384, kSha512 };

size_t DigestSize(Hash hash);     // 16, 20, 32, 48, 64
size_t BlockSize(Hash hash);      // 64, or 128 for SHA-384/512
const char* HashName(Hash hash);  // "MD5", "SHA1", "SHA256", "SHA384", "SHA512"

// One-shot digest and HMAC (RFC 2104). An empty result means OpenSSL failed (out of memory,
// or the algorithm is disabled by the configured providers); it never happens for valid
// input with Debian's default configuration.
Bytes Digest(Hash hash, ByteSpan data);
Bytes Hmac(Hash hash, ByteSpan key, ByteSpan data);

// HMAC with a key set once, for many messages (ESP/AH integrity, prf+). Holds one OpenSSL MAC
// context; not thread-safe (one per SA direction, used by one thread at a time). Movable.
//
// Each message: Reset(), any number of Update(), then Final() -- or Compute() for one buffer.
// Our code makes no allocation per message; OpenSSL 3.0 itself, when it re-initialises an HMAC
// under the same key, duplicates a digest state (two small malloc/free pairs per message).
class HmacContext {
 public:
  // Any key length (RFC 2104 §3: longer than a block is hashed first).
  static Result<HmacContext> Create(Hash hash, ByteSpan key);

  HmacContext(HmacContext&&) noexcept = default;
  HmacContext& operator=(HmacContext&&) noexcept = default;
  ~HmacContext() = default;

  Hash hash() const { return hash_; }
  size_t size() const { return DigestSize(hash_); }

  // Starts a new message under the same key.
  Status Reset();
  Status Update(ByteSpan data);
  // Writes size() bytes to `out`.
  Status Final(uint8_t* out);
  // Reset(), Update(data), Final(out).
  Status Compute(ByteSpan data, uint8_t* out);

 private:
  HmacContext(Hash hash, OpenSslPtr<evp_mac_ctx_st> ctx) : ctx_(std::move(ctx)), hash_(hash) {}

  OpenSslPtr<evp_mac_ctx_st> ctx_;
  Hash hash_;
};

}  // namespace ipsec::engine::crypto
