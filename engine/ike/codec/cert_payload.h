#pragma once

// RFC 7296 §3.6: Certificate Payload, and §3.7: Certificate Request Payload (same layout)
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Cert Encoding |                                               |
// +-+-+-+-+-+-+-+-+                                               |
// ~             Certificate Data / Certification Authority        ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// For X.509 signatures, CERTREQ's Certification Authority field is a concatenation of SHA-1
// hashes (20 octets each) of trusted CAs' public keys (§3.7); it may be empty.

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct CertPayload {
  CertEncoding encoding = CertEncoding::kX509Signature;
  Bytes data;  // DER certificate for X.509 signature; hash and URL for 12/13
  bool operator==(const CertPayload&) const = default;
};

struct CertReqPayload {
  CertEncoding encoding = CertEncoding::kX509Signature;
  Bytes authorities;  // SHA-1 hashes of CA SubjectPublicKeyInfo, 20 octets each
  bool operator==(const CertReqPayload&) const = default;
};

inline constexpr size_t kCaHashSize = 20;

Result<CertPayload> DecodeCertPayload(ByteSpan body);
void EncodeCertPayload(const CertPayload& cert, ByteWriter& out);

Result<CertReqPayload> DecodeCertReqPayload(ByteSpan body);
void EncodeCertReqPayload(const CertReqPayload& req, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
