#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto {

// Diffie-Hellman groups, by their IKEv2 Transform Type 4 IDs (IANA "Transform Type 4 - Key
// Exchange Method Transform IDs").
enum class Group : uint16_t {
  kModp1024 = 2,     // RFC 2409 §6.2 (legacy)
  kModp2048 = 14,    // RFC 3526 §3
  kModp3072 = 15,    // RFC 3526 §4
  kEcp256 = 19,      // RFC 5903
  kEcp384 = 20,      // RFC 5903
  kEcp521 = 21,      // RFC 5903
  kCurve25519 = 31,  // RFC 8031
};

// True iff `id` (from the wire) names one of the groups above.
bool IsSupportedGroup(uint16_t id);
const char* GroupName(Group group);  // "MODP-2048", "ECP-256", "Curve25519", ...
// Bytes of the KE payload's Key Exchange Data, and of the shared secret g^ir.
size_t PublicValueSize(Group group);   // 128, 256, 384, 64, 96, 132, 32
size_t SharedSecretSize(Group group);  // 128, 256, 384, 32, 48, 66, 32
// Group 2: only when a policy opts into legacy algorithms.
bool IsLegacy(Group group);

// One ephemeral Diffie-Hellman key pair (RFC 7296 §1.2 KE payload), encoded as IKEv2 does:
//   MODP:  public value and shared secret big-endian, zero-padded to the prime's length
//          (RFC 7296 §3.4, §2.14);
//   ECP:   public value x || y without the 0x04 prefix, shared secret x alone, each coordinate
//          zero-padded to the field size (RFC 5903 §7);
//   X25519: 32 bytes each (RFC 8031 §2).
// Group parameters are built once per process and shared; each pair owns its private key.
// Immutable after creation: ComputeShared() may run on any thread.
class KeyExchange {
 public:
  static Result<std::unique_ptr<KeyExchange>> Generate(Group group);
  // A key pair from a fixed private key, for known-answer tests only (RFC 7748 §6.1,
  // RFC 5903 §8): X25519 takes 32 bytes, ECP the scalar (field size), MODP the exponent
  // (prime size, big-endian).
  static Result<std::unique_ptr<KeyExchange>> FromPrivateForTest(Group group, ByteSpan private_key);

  KeyExchange(const KeyExchange&) = delete;
  KeyExchange& operator=(const KeyExchange&) = delete;
  ~KeyExchange() = default;

  Group group() const { return group_; }
  const Bytes& PublicValue() const { return public_value_; }

  // g^ir from the peer's Key Exchange Data. The peer value is untrusted and checked first:
  // its exact length; 1 < y < p-1 for MODP (RFC 7296 §2.12, RFC 6989 §2.1: enough for safe
  // primes); a point on the curve for ECP (RFC 6989 §2.3); an all-zero X25519 result is
  // refused (RFC 8031 §2.3). Every refusal is kInvalidArgument naming the check.
  Result<SecretBytes> ComputeShared(ByteSpan peer_public) const;

 private:
  KeyExchange(Group group, OpenSslPtr<evp_pkey_st> key, Bytes public_value)
      : key_(std::move(key)), public_value_(std::move(public_value)), group_(group) {}

  OpenSslPtr<evp_pkey_st> key_;
  Bytes public_value_;
  Group group_;
};

}  // namespace ipsec::engine::crypto
