#pragma once

// The algorithms of one ESP or AH SA, by their IKEv2 transform IDs (RFC 7296 §3.3.2, IANA
// "IKEv2 Transform Type 1/3"), as dataplane::SaAlgorithms carries them, and their mapping to
// engine/crypto's keyed contexts. Pure: no state.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/aead.h"
#include "engine/crypto/cipher.h"
#include "engine/crypto/integrity.h"
#include "engine/esp/esp_wire.h"

namespace ipsec::engine::esp {

// IKEv2 transform IDs we implement.
inline constexpr uint16_t kEncr3Des = 3;               // RFC 2451 (legacy)
inline constexpr uint16_t kEncrNull = 11;              // RFC 2410 (FAQ 45: integrity only)
inline constexpr uint16_t kEncrAesCbc = 12;            // RFC 3602
inline constexpr uint16_t kEncrAesGcm16 = 20;          // RFC 4106, 16-octet ICV
inline constexpr uint16_t kEncrChaCha20Poly1305 = 28;  // RFC 7634
inline constexpr uint16_t kAuthNone = 0;
inline constexpr uint16_t kAuthHmacMd5_96 = 1;         // RFC 2403 (legacy)
inline constexpr uint16_t kAuthHmacSha1_96 = 2;        // RFC 2404 (legacy)
inline constexpr uint16_t kAuthHmacSha2_256_128 = 12;  // RFC 4868
inline constexpr uint16_t kAuthHmacSha2_384_192 = 13;  // RFC 4868
inline constexpr uint16_t kAuthHmacSha2_512_256 = 14;  // RFC 4868

struct Transform {
  uint16_t encryption_id = 0;  // ENCR_*; 0 for AH
  uint16_t encryption_key_bits = 0;
  uint16_t integrity_id = 0;   // AUTH_*; 0 with an AEAD
  bool esn = false;            // extended sequence numbers, RFC 4304
  SecretBytes encryption_key;  // AEAD: key || 4-byte salt (RFC 4106 §8.1, RFC 7634 §2)
  SecretBytes integrity_key;
};

// What a Transform resolves to: exactly one kind of ESP protection, or AH's integrity.
struct ResolvedTransform {
  enum class Kind { kAead, kCbcHmac, kNullHmac, kAhHmac };
  Kind kind = Kind::kAead;
  std::optional<crypto::AeadAlgorithm> aead;            // kAead
  std::optional<crypto::CbcAlgorithm> cbc;              // kCbcHmac
  std::optional<crypto::IntegrityAlgorithm> integrity;  // kCbcHmac, kNullHmac, kAhHmac
  size_t iv_size = 0;     // on the wire: 8 for GCM/ChaCha (RFC 4106 §3.1, RFC 7634 §2), block
  size_t block_size = 4;  // what the payload + trailer is padded to (>= 4, RFC 4303 §2.4)
  size_t icv_size = 0;
  bool legacy = false;  // 3DES, HMAC-MD5-96, HMAC-SHA1-96: only with a policy's opt-in
};

// One SA's parameters (a dataplane::SaConfig maps onto it).
struct SaParams {
  uint32_t spi = 0;  // host order
  Protocol protocol = Protocol::kEsp;
  Mode mode = Mode::kTunnel;
  Transform transform;
  uint32_t replay_window = kDefaultReplayWindow;  // inbound
  // Crypto contexts to keep: one per thread that may call Protect/Unprotect at the same time;
  // each call passes its own worker index < workers.
  unsigned workers = 1;
};

// Checks the IDs, key bits and key lengths; kInvalidArgument names what is wrong,
// kUnimplemented an ID we do not support. AH takes integrity only (encryption_id 0).
Result<ResolvedTransform> ResolveTransform(Protocol protocol, const Transform& transform);

// Human-readable name for logs ("AES-GCM-16-128", "AES-CBC-256/HMAC-SHA-256-128").
const char* EncryptionName(uint16_t encryption_id);
const char* IntegrityIdName(uint16_t integrity_id);

}  // namespace ipsec::engine::esp
