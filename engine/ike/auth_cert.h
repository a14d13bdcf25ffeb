#pragma once

// The certificate authentication method (FAQ 29: a certificate from a trusted root, unexpired,
// its key making the signature) for the IKE_AUTH task, as strongSwan's ike_cert_pre/post and
// pubkey_authenticator split it:
//   - IKE_SA_INIT: N(SIGNATURE_HASH_ALGORITHMS) both ways (RFC 7427 §4), and the responder's
//     CERTREQ naming the CAs it trusts (RFC 7296 §3.7, SHA-1 of their SubjectPublicKeyInfo);
//   - IKE_AUTH: our ID (ID_DER_ASN1_DN of our subject by default, §3.5), CERT payloads with our
//     certificate then its intermediates (§3.6), the initiator's CERTREQ, and AUTH signed with
//     our key (auth_signature.h);
//   - verifying the peer: its first CERT is the one that signed AUTH (§3.6); the path from it to
//     one of the rule's CA certificates at `now` (crypto::TrustStore), its ID named by the
//     certificate (subject DN or subjectAltName), then the AUTH signature (§2.15).
// No I/O; time is the caller's `unix_now`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/trust_store.h"
#include "engine/crypto/x509.h"
#include "engine/ike/auth_signature.h"
#include "engine/ike/identity.h"
#include "engine/ike/ike_config.h"
#include "engine/ike/message.h"

namespace ipsec::engine::ike {

// The method can authenticate us and verify a peer: our certificate and the CA are loaded.
bool CertificateUsable(const Credential& credential);
// Why not, for failure details ("no certificate of ours is loaded").
std::string CertificateUnusableReason(const Credential& credential);

// Our identity under the certificate method: `configured` when the certificate names it
// (subject DN or subjectAltName), else ID_DER_ASN1_DN of the certificate's subject (§3.5).
Identity CertificateIdentity(const LocalCertificate& local,
                             const std::optional<Identity>& configured);

// Ok iff `id` names the holder of `cert` (RFC 7296 §3.5 with RFC 4945 §3.1's matching): a
// DN equal to the subject, or an FQDN / RFC 822 address / IP address among its subjectAltNames.
// The error says which and what the certificate holds.
Status MatchIdentity(const Identity& id, const crypto::Certificate& cert);

// §3.6: CERT payloads (X.509 Certificate - Signature), our certificate first.
void AddCertificates(const LocalCertificate& local, OutMessage& out);
// §3.7: one CERTREQ naming the anchors of every store given (duplicates once); nothing when
// there are none.
void AddCertificateRequest(const std::vector<const crypto::TrustStore*>& stores, OutMessage& out);
// The trust stores of a rule's certificate methods, and of every rule of a configuration.
std::vector<const crypto::TrustStore*> TrustStoresOf(const NegotiateRule& rule);
std::vector<const crypto::TrustStore*> TrustStoresOf(const IkeConfig& config);

// RFC 7427 §4: our N(SIGNATURE_HASH_ALGORITHMS), and the hashes a peer's message announces.
void AddSignatureHashes(OutMessage& out);
std::vector<uint16_t> PeerSignatureHashes(const InMessage& in);

// The peer's CERT payloads of one IKE_AUTH message, parsed once; verified against as many
// rules' certificate methods as the responder tries (results cached per trust store).
class PeerCertificates {
 public:
  explicit PeerCertificates(const InMessage& in);

  // Ok iff the peer authenticated under a certificate method trusting `trust`: the path from
  // its certificate to an anchor verifies at `unix_now`, `peer_id` is named by the certificate,
  // and `auth` is its key's signature over `octets`. The error is the precise reason:
  //   certificate "CN=peer" expired at 2025-01-01T00:00:00Z (now 2026-01-01T00:00:00Z)
  // Call with the same `auth` and `octets` every time (the signature result is cached).
  Status Verify(const crypto::TrustStore& trust, const Identity& peer_id,
                const codec::AuthPayload& auth, ByteSpan octets, int64_t unix_now) const;

  const crypto::Certificate* leaf() const { return leaf_ ? &*leaf_ : nullptr; }

 private:
  std::optional<crypto::Certificate> leaf_;
  std::vector<crypto::Certificate> intermediates_;
  std::string missing_;  // why there is no leaf
  mutable std::map<const crypto::TrustStore*, Status> paths_;
  mutable std::optional<SignatureCheck> signature_;
};

// Signs our AUTH with our certificate's key (auth_signature.h picks the method).
Result<codec::AuthPayload> CreateCertificateAuth(const LocalCertificate& local,
                                                 const std::vector<uint16_t>& peer_hashes,
                                                 ByteSpan octets);

}  // namespace ipsec::engine::ike
