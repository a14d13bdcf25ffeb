#pragma once

// Signature AUTH payloads (RFC 7296 §2.15, §3.8): the classic methods -- RSA Digital Signature
// (method 1: RSASSA-PKCS1-v1_5 with SHA-1, §3.8) and ECDSA with SHA-256/384/512 on P-256/384/521
// (methods 9/10/11, RFC 4754 §7, the signature as r | s) -- and Digital Signature (method 14,
// RFC 7427 §3: an ASN.1 length octet, the AlgorithmIdentifier, then the signature value),
// negotiated with N(SIGNATURE_HASH_ALGORITHMS) in IKE_SA_INIT (RFC 7427 §4).
//
// Pure functions over keys and octets; the certificate that holds the peer's key is
// auth_cert.h's business.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/keys.h"
#include "engine/crypto/signature.h"
#include "engine/ike/codec/auth_payload.h"

namespace ipsec::engine::ike {

// RFC 7427 §4: the hash algorithms we announce and accept in a Digital Signature AUTH:
// SHA2-256 (2), SHA2-384 (3), SHA2-512 (4), and Identity (5, RFC 8420: Ed25519 signs the
// octets themselves).
const std::vector<uint16_t>& OurSignatureHashes();
// The Notification Data of N(SIGNATURE_HASH_ALGORITHMS): 16-bit identifiers in network order.
Bytes EncodeSignatureHashes(const std::vector<uint16_t>& hashes);
// Its inverse; a trailing odd octet is ignored (the peer's data is untrusted).
std::vector<uint16_t> DecodeSignatureHashes(ByteSpan data);

// True for the AUTH methods a public key verifies: 1, 9, 10, 11 and 14.
bool IsSignatureMethod(codec::AuthMethod method);

// Signs `octets` (§2.15) with `key`. With `peer_hashes` (the peer's SIGNATURE_HASH_ALGORITHMS)
// non-empty: RFC 7427 method 14 with our first scheme for the key whose hash the peer named
// (RFC 7427 §4: "MUST use one of the announced hash algorithms"); otherwise, or when none fits,
// the classic method of the key: 1 for RSA, 9/10/11 by curve. kFailedPrecondition when the key
// has no method the peer can verify (Ed25519 without RFC 7427).
Result<codec::AuthPayload> CreateSignatureAuth(const crypto::PrivateKey& key,
                                               const std::vector<uint16_t>& peer_hashes,
                                               ByteSpan octets);

// Why a signature AUTH did not verify.
enum class SignatureProblem {
  kNone,
  kMalformed,     // method 14 data that is not length | AlgorithmIdentifier | signature
  kUnsupported,   // an algorithm or hash we do not accept
  kWrongKey,      // the method does not fit the certificate's key (ECDSA-256 with RSA...)
  kBadSignature,  // the signature does not verify with the certificate's key
};

struct SignatureCheck {
  SignatureProblem problem = SignatureProblem::kNone;
  std::string scheme;  // e.g. "ecdsa-sha256 (RFC 7427)", "rsa-pkcs1-sha1 (method 1)"
  std::string detail;  // for failure_detail when problem != kNone
  bool ok() const { return problem == SignatureProblem::kNone; }
};

// What a signature AUTH payload uses, for the log and the API: "ecdsa-sha256 (RFC 7427)",
// "rsa-pkcs1-sha1 (method 1)"; "method <n>" when it cannot tell.
std::string DescribeSignatureAuth(const codec::AuthPayload& auth);

// Verifies a signature AUTH payload over `octets` with the peer's `key`.
SignatureCheck VerifySignatureAuth(const crypto::PublicKey& key, const codec::AuthPayload& auth,
                                   ByteSpan octets);

}  // namespace ipsec::engine::ike
