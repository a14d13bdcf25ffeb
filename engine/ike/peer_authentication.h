#pragma once

// What authenticated an IKE SA's peer in IKE_AUTH (RFC 7296 §2.15), and which rules' child SAs
// that lets it have. A rule is chosen for a child SA by its traffic selectors; without this a
// peer that authenticated with one rule's preshared key could obtain a child SA of another rule
// that demands a certificate or another key. The IKE SA records the credential that verified the
// peer; a child SA (IKE_AUTH's, CREATE_CHILD_SA's in either role) may belong only to a rule one
// of whose methods is the same credential. Carried over IKE SA rekeys (§2.18: the new IKE SA
// inherits the old one's authentication). Holds a key: never logged, never in a snapshot.

#include <memory>
#include <optional>
#include <string>

#include "engine/common/secret_bytes.h"
#include "engine/crypto/trust_store.h"
#include "engine/ike/ike_config.h"

namespace ipsec::engine::ike {

struct PeerAuthentication {
  policy::AuthKind kind = policy::AuthKind::kPreSharedKey;
  SecretBytes psk;                                  // kPreSharedKey
  std::string certificate_authority;                // kCertificate: as the rule names it
  std::shared_ptr<const crypto::TrustStore> trust;  // kCertificate: the anchors that verified

  static PeerAuthentication From(const Credential& verified);
};

// Whether `credential` is the one that authenticated the peer: the same preshared key (compared
// in constant time), or a certificate from the same CA (the same trust store, or the same name).
bool SameCredential(const PeerAuthentication& peer, const Credential& credential);

// Whether the peer may have child SAs of `rule`: one of its methods is the same credential. A
// peer not authenticated (yet) satisfies no rule.
bool Satisfies(const std::optional<PeerAuthentication>& peer, const NegotiateRule& rule);

// "a preshared key", "a certificate from 'corp-ca'": for logs and errors, never the key.
std::string Describe(const PeerAuthentication& peer);

}  // namespace ipsec::engine::ike
