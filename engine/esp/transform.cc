#include "engine/esp/transform.h"

#include <string>

namespace ipsec::engine::esp {
namespace {

using Kind = ResolvedTransform::Kind;

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::optional<crypto::IntegrityAlgorithm> IntegrityFor(uint16_t id) {
  switch (id) {
    case kAuthHmacMd5_96:
      return crypto::IntegrityAlgorithm::kHmacMd5_96;
    case kAuthHmacSha1_96:
      return crypto::IntegrityAlgorithm::kHmacSha1_96;
    case kAuthHmacSha2_256_128:
      return crypto::IntegrityAlgorithm::kHmacSha256_128;
    case kAuthHmacSha2_384_192:
      return crypto::IntegrityAlgorithm::kHmacSha384_192;
    case kAuthHmacSha2_512_256:
      return crypto::IntegrityAlgorithm::kHmacSha512_256;
    default:
      return std::nullopt;
  }
}

// Fills `out` with the integrity algorithm and checks its key.
Status ResolveIntegrity(const Transform& t, ResolvedTransform& out) {
  std::optional<crypto::IntegrityAlgorithm> integrity = IntegrityFor(t.integrity_id);
  if (!integrity) {
    return MakeError(ErrorCode::kUnimplemented,
                     "integrity transform " + std::to_string(t.integrity_id) + " not supported");
  }
  if (t.integrity_key.size() != crypto::IntegrityKeySize(*integrity)) {
    return Invalid(std::string(crypto::IntegrityName(*integrity)) + " needs a " +
                   std::to_string(crypto::IntegrityKeySize(*integrity)) + "-byte key, got " +
                   std::to_string(t.integrity_key.size()));
  }
  out.integrity = integrity;
  out.icv_size = crypto::IcvSize(*integrity);
  out.legacy = out.legacy || crypto::IsLegacy(*integrity);
  return Status::Ok();
}

Result<ResolvedTransform> ResolveAead(const Transform& t) {
  ResolvedTransform r;
  r.kind = Kind::kAead;
  if (t.integrity_id != kAuthNone) {
    // RFC 7296 §3.3: an AEAD proposal has no integrity transform.
    return Invalid("an AEAD transform takes no integrity transform");
  }
  if (t.encryption_id == kEncrAesGcm16) {
    if (t.encryption_key_bits == 128) {
      r.aead = crypto::AeadAlgorithm::kAes128Gcm16;
    } else if (t.encryption_key_bits == 256) {
      r.aead = crypto::AeadAlgorithm::kAes256Gcm16;
    } else {
      return Invalid("AES-GCM-16 key bits must be 128 or 256, got " +
                     std::to_string(t.encryption_key_bits));
    }
  } else {
    // RFC 7634 §2: a fixed 256-bit key; the key length attribute is absent.
    if (t.encryption_key_bits != 0 && t.encryption_key_bits != 256) {
      return Invalid("ChaCha20-Poly1305 key bits must be 256");
    }
    r.aead = crypto::AeadAlgorithm::kChaCha20Poly1305;
  }
  const size_t key_size = crypto::AeadKeySize(*r.aead) + crypto::kAeadSaltSize;
  if (t.encryption_key.size() != key_size) {
    return Invalid(std::string(crypto::AeadName(*r.aead)) + " needs a " + std::to_string(key_size) +
                   "-byte key with salt, got " + std::to_string(t.encryption_key.size()));
  }
  r.iv_size = 8;     // RFC 4106 §3.1, RFC 7634 §2
  r.block_size = 4;  // stream modes: the trailer ends on a 4-byte boundary (RFC 4303 §2.4)
  r.icv_size = crypto::kAeadTagSize;
  return r;
}

Result<ResolvedTransform> ResolveCbc(const Transform& t) {
  ResolvedTransform r;
  r.kind = Kind::kCbcHmac;
  if (t.encryption_id == kEncrAesCbc) {
    switch (t.encryption_key_bits) {
      case 128:
        r.cbc = crypto::CbcAlgorithm::kAes128;
        break;
      case 192:
        r.cbc = crypto::CbcAlgorithm::kAes192;
        break;
      case 256:
        r.cbc = crypto::CbcAlgorithm::kAes256;
        break;
      default:
        return Invalid("AES-CBC key bits must be 128, 192 or 256, got " +
                       std::to_string(t.encryption_key_bits));
    }
  } else {
    if (t.encryption_key_bits != 0 && t.encryption_key_bits != 192) {
      return Invalid("3DES key bits must be 192");
    }
    r.cbc = crypto::CbcAlgorithm::k3Des;
    r.legacy = true;
  }
  if (t.encryption_key.size() != crypto::CbcKeySize(*r.cbc)) {
    return Invalid(std::string(crypto::CbcName(*r.cbc)) + " needs a " +
                   std::to_string(crypto::CbcKeySize(*r.cbc)) + "-byte key, got " +
                   std::to_string(t.encryption_key.size()));
  }
  r.iv_size = crypto::CbcIvSize(*r.cbc);  // RFC 3602 §3, RFC 2451 §2.2
  r.block_size = crypto::CbcBlockSize(*r.cbc);
  if (t.integrity_id == kAuthNone) {
    // Encryption without integrity (RFC 4303 §3.2 allows it) is not offered: FAQ 45.
    return Invalid("CBC encryption needs an integrity transform");
  }
  if (Status s = ResolveIntegrity(t, r); !s.ok()) return s.error();
  return r;
}

}  // namespace

Result<ResolvedTransform> ResolveTransform(Protocol protocol, const Transform& t) {
  if (protocol == Protocol::kAh) {
    if (t.encryption_id != 0 || !t.encryption_key.empty()) {
      return Invalid("AH takes no encryption transform");
    }
    ResolvedTransform r;
    r.kind = Kind::kAhHmac;
    if (Status s = ResolveIntegrity(t, r); !s.ok()) return s.error();
    return r;
  }
  if (protocol != Protocol::kEsp) return Invalid("protocol must be ESP (50) or AH (51)");
  switch (t.encryption_id) {
    case kEncrAesGcm16:
    case kEncrChaCha20Poly1305:
      return ResolveAead(t);
    case kEncrAesCbc:
    case kEncr3Des:
      return ResolveCbc(t);
    case kEncrNull: {
      // RFC 2410 with an integrity transform: ESP-null (FAQ 45). RFC 4303 §3.2: confidentiality
      // and integrity may not both be null.
      if (!t.encryption_key.empty()) return Invalid("ENCR_NULL takes no key");
      if (t.integrity_id == kAuthNone) return Invalid("ESP-null needs an integrity transform");
      ResolvedTransform r;
      r.kind = Kind::kNullHmac;
      r.iv_size = 0;
      r.block_size = 4;
      if (Status s = ResolveIntegrity(t, r); !s.ok()) return s.error();
      return r;
    }
    default:
      return MakeError(
          ErrorCode::kUnimplemented,
          "encryption transform " + std::to_string(t.encryption_id) + " not supported");
  }
}

const char* EncryptionName(uint16_t encryption_id) {
  switch (encryption_id) {
    case 0:
      return "none";
    case kEncr3Des:
      return "3DES-CBC";
    case kEncrNull:
      return "NULL";
    case kEncrAesCbc:
      return "AES-CBC";
    case kEncrAesGcm16:
      return "AES-GCM-16";
    case kEncrChaCha20Poly1305:
      return "ChaCha20-Poly1305";
    default:
      return "unknown";
  }
}

const char* IntegrityIdName(uint16_t integrity_id) {
  if (integrity_id == kAuthNone) return "none";
  std::optional<crypto::IntegrityAlgorithm> a = IntegrityFor(integrity_id);
  return a ? crypto::IntegrityName(*a) : "unknown";
}

}  // namespace ipsec::engine::esp
