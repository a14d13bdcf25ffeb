#include "engine/ike/peer_authentication.h"

#include <algorithm>

namespace ipsec::engine::ike {

PeerAuthentication PeerAuthentication::From(const Credential& verified) {
  PeerAuthentication p;
  p.kind = verified.kind;
  if (verified.kind == policy::AuthKind::kPreSharedKey) p.psk = verified.psk;
  if (verified.kind == policy::AuthKind::kCertificate) {
    p.certificate_authority = verified.certificate_authority;
    p.trust = verified.trust;
  }
  return p;
}

bool SameCredential(const PeerAuthentication& peer, const Credential& c) {
  if (c.kind != peer.kind) return false;
  switch (c.kind) {
    case policy::AuthKind::kPreSharedKey:
      // SecretBytes::operator== runs in constant time for keys of one length.
      return !c.psk.empty() && !peer.psk.empty() && c.psk == peer.psk;
    case policy::AuthKind::kCertificate:
      return (c.trust != nullptr && c.trust == peer.trust) ||
             (!c.certificate_authority.empty() &&
              c.certificate_authority == peer.certificate_authority);
    case policy::AuthKind::kKerberos:
      return false;  // the engine authenticates no one with it
  }
  return false;
}

bool Satisfies(const std::optional<PeerAuthentication>& peer, const NegotiateRule& rule) {
  if (!peer) return false;
  return std::any_of(rule.credentials.begin(), rule.credentials.end(),
                     [&](const Credential& c) { return SameCredential(*peer, c); });
}

std::string Describe(const PeerAuthentication& peer) {
  switch (peer.kind) {
    case policy::AuthKind::kPreSharedKey:
      return "a preshared key";
    case policy::AuthKind::kCertificate:
      return "a certificate from '" + peer.certificate_authority + "'";
    case policy::AuthKind::kKerberos:
      return "Kerberos V5";
  }
  return "?";
}

}  // namespace ipsec::engine::ike
