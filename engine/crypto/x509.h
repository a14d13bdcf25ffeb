#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/common/result.h"
#include "engine/crypto/keys.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto {

// The subjectAltName entries IKEv2 identities match against (RFC 7296 §3.5 ID_FQDN,
// ID_IPV4_ADDR/ID_IPV6_ADDR, ID_RFC822_ADDR).
struct SubjectAltNames {
  std::vector<std::string> dns;
  std::vector<IpAddress> ip;
  std::vector<std::string> email;
};

// An X.509 certificate (RFC 5280), parsed once from DER or PEM; the original DER is kept
// (it is what the CERT payload carries, RFC 7296 §3.6). Shares one reference-counted,
// immutable OpenSSL object: copies are cheap and usable from several threads.
// It does not verify anything by itself: TrustStore does.
class Certificate {
 public:
  static Result<Certificate> FromDer(ByteSpan der);
  // The first "CERTIFICATE" block of `pem`.
  static Result<Certificate> FromPem(std::string_view pem);
  // Every "CERTIFICATE" block of `text`, in order (a leaf then its intermediates, or a CA
  // bundle); other blocks are skipped. At least one, else kInvalidArgument.
  static Result<std::vector<Certificate>> ParsePemChain(std::string_view text);

  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;
  ~Certificate() = default;

  const Bytes& Der() const { return der_; }
  std::string Pem() const;

  // Names in the one-line form of dn.h ("C=CH, O=strongSwan, CN=moon").
  std::string SubjectDn() const;
  std::string IssuerDn() const;
  // The DER of the subject Name: an ID_DER_ASN1_DN identity (RFC 7296 §3.5).
  Bytes SubjectDer() const;
  Bytes IssuerDer() const;
  SubjectAltNames AltNames() const;
  std::string SerialHex() const;

  // Validity, in Unix seconds.
  int64_t NotBefore() const;
  int64_t NotAfter() const;

  PublicKey Key() const;
  // SHA-1 of the DER SubjectPublicKeyInfo: how CERTREQ names a CA (RFC 7296 §3.7) and how
  // the "Hash and URL" encodings name keys.
  Bytes SubjectPublicKeyInfoSha1() const;
  // basicConstraints cA is TRUE (RFC 5280 §4.2.1.9).
  bool IsCa() const;
  // Subject equals issuer (a root, or a self-issued intermediate).
  bool IsSelfIssued() const;

  bool operator==(const Certificate& other) const { return der_ == other.der_; }

  // The OpenSSL certificate, for engine/crypto's own use.
  x509_st* get() const { return cert_.get(); }

 private:
  friend class CertificateFactory;
  Certificate(OpenSslPtr<x509_st> cert, Bytes der, PublicKey key)
      : cert_(std::move(cert)), der_(std::move(der)), key_(std::move(key)) {}

  OpenSslPtr<x509_st> cert_;
  Bytes der_;
  PublicKey key_;
};

}  // namespace ipsec::engine::crypto
