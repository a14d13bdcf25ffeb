#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/hash.h"
#include "engine/crypto/keys.h"

namespace ipsec::engine::crypto {

// Signature schemes for IKEv2 AUTH payloads: the classic methods (RFC 7296 §3.8 method 1 =
// RSA PKCS #1 v1.5 with SHA-1; RFC 4754 methods 9/10/11 = ECDSA with SHA-256/384/512 on
// P-256/384/521) and RFC 7427 Digital Signatures (method 14) with any of these. RSA-PSS uses
// MGF1 with the same hash and a salt as long as the hash (RFC 4055 §3.1, as strongSwan does).
enum class SignatureScheme {
  kRsaPkcs1Sha1,
  kRsaPkcs1Sha256,
  kRsaPkcs1Sha384,
  kRsaPkcs1Sha512,
  kRsaPssSha256,
  kRsaPssSha384,
  kRsaPssSha512,
  kEcdsaSha256,
  kEcdsaSha384,
  kEcdsaSha512,
  kEd25519,
};

// How an ECDSA signature is laid out: kDer is X9.62's Ecdsa-Sig-Value SEQUENCE {r, s}, as RFC
// 7427 §3 carries it; kRaw is r || s, each zero-padded to the curve's order size, as RFC 4754
// §7 carries it. Ignored for RSA and Ed25519.
enum class EcdsaEncoding { kDer, kRaw };

const char* SchemeName(SignatureScheme scheme);  // "rsa-pkcs1-sha256", "ecdsa-sha384", ...
// The hash the scheme signs with; nullopt for Ed25519 (it hashes internally: "Identity").
std::optional<Hash> SchemeHash(SignatureScheme scheme);
// The RFC 7427 §7 hash algorithm identifier (SIGNATURE_HASH_ALGORITHMS notify): SHA1 1,
// SHA2-256 2, SHA2-384 3, SHA2-512 4, Identity 5 (RFC 8420, Ed25519).
uint16_t SignatureHashId(SignatureScheme scheme);
// True iff `scheme` can sign with a key of `type` (RSA schemes need RSA, ECDSA any of our
// curves, Ed25519 Ed25519).
bool SchemeFitsKey(SignatureScheme scheme, KeyType type);
// The schemes for a key, in our order of preference: RSA -> PKCS #1 v1.5 SHA-256/384/512
// (what peers verify most widely), then PSS SHA-256/384/512 (SHA-1 never: only when asked for
// by name); ECDSA -> the curve's own hash first (RFC 4754 pairs), then the others; Ed25519 ->
// Ed25519.
std::vector<SignatureScheme> SchemesFor(const PublicKey& key);

// Signs `data` (the AUTH octets, RFC 7296 §2.15). kInvalidArgument if the scheme does not fit
// the key.
Result<Bytes> Sign(const PrivateKey& key, SignatureScheme scheme, ByteSpan data,
                   EcdsaEncoding encoding = EcdsaEncoding::kDer);
// Ok iff `signature` is a valid signature of `data` under `key`; otherwise kInvalidArgument
// ("signature does not verify", or why it could not be checked).
Status Verify(const PublicKey& key, SignatureScheme scheme, ByteSpan data, ByteSpan signature,
              EcdsaEncoding encoding = EcdsaEncoding::kDer);

// RFC 7427 §3: the DER AlgorithmIdentifier in front of a Digital Signature AUTH payload, as
// RFC 7427 Appendix A lists them (RSA PKCS #1 with NULL parameters, ECDSA and Ed25519 without
// parameters, RSASSA-PSS with explicit RFC 4055 parameters in strongSwan's encoding).
Bytes AlgorithmIdentifierDer(SignatureScheme scheme);
// The scheme an AlgorithmIdentifier names, or nullopt if it is malformed or not one of ours
// (e.g. RSASSA-PSS with a salt length other than the hash length, or MGF1 with another hash).
// Accepts both NULL and absent hash parameters (RFC 4055 §2.1) and an explicit trailerField 1.
std::optional<SignatureScheme> SchemeFromAlgorithmIdentifier(ByteSpan der);

}  // namespace ipsec::engine::crypto
