#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/openssl_types.h"
#include "engine/crypto/x509.h"

namespace ipsec::engine::crypto {

// Why a certificate path did not verify, for metrics (a bounded label) and for choosing the
// IKE notification; the Error message gives the details.
enum class CertificateProblem {
  kNone,
  kExpired,          // a certificate's notAfter is before `now`
  kNotYetValid,      // a certificate's notBefore is after `now`
  kUntrustedIssuer,  // no path to a trust anchor: unknown CA, or a missing intermediate
  kBadSignature,     // a signature does not verify with its issuer's key
  kNotCa,            // an issuer is not a CA (basicConstraints), or exceeds its path length
  kOther,            // anything else OpenSSL reports (bad encoding, unsupported critical ext)
};

const char* CertificateProblemName(CertificateProblem problem);  // "expired", ...

// The CA certificates we trust (FAQ 29: "certificate from a named CA"), and path validation
// against them (RFC 5280 §6, by OpenSSL's X509_verify_cert). Any CA certificate may be an
// anchor, root or intermediate (OpenSSL's partial-chain mode, as strongSwan trusts every CA
// certificate it loads). Revocation (CRL/OCSP) is not checked.
//
// Build it, then share it: Verify() and the lookups are const and thread-safe; Add() must not
// run concurrently with them.
class TrustStore {
 public:
  TrustStore();
  TrustStore(TrustStore&&) noexcept = default;
  TrustStore& operator=(TrustStore&&) noexcept = default;
  ~TrustStore() = default;

  // Adds a trust anchor. kInvalidArgument if it is not a CA certificate; adding one twice is
  // a no-op.
  Status Add(const Certificate& ca);
  size_t size() const { return anchors_.size(); }
  const std::vector<Certificate>& anchors() const { return anchors_; }

  // The anchor whose SubjectPublicKeyInfo has this SHA-1 (a CERTREQ entry, RFC 7296 §3.7),
  // or nullptr. The pointer is valid until the next Add().
  const Certificate* FindIssuerBySpkiSha1(ByteSpan sha1) const;
  // Every anchor's SPKI SHA-1, concatenated: the Certification Authority field of our CERTREQ.
  Bytes CertReqAuthorities() const;

  // Verifies `leaf` at time `unix_now`, with `intermediates` as untrusted helpers (the peer's
  // other CERT payloads). Returns the path, leaf first, ending at an anchor. On failure, the
  // message names the certificate (its subject) and the reason, e.g.
  //   certificate "C=US, O=Test, CN=peer" expired at 2025-01-01T00:00:00Z (now
  //   2026-01-01T00:00:00Z)
  // and `problem` (optional: null means not wanted) says which kind.
  Result<std::vector<Certificate>> Verify(const Certificate& leaf,
                                          const std::vector<Certificate>& intermediates,
                                          int64_t unix_now,
                                          CertificateProblem* problem = nullptr) const;

 private:
  OpenSslPtr<x509_store_st> store_;
  std::vector<Certificate> anchors_;
  std::vector<Bytes> anchor_spki_sha1_;
};

}  // namespace ipsec::engine::crypto
