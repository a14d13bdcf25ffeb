#pragma once

// IKE identities (RFC 7296 §3.5): what IDi/IDr carry and what a peer is checked against.

#include <string>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/common/result.h"
#include "engine/ike/codec/id_payload.h"

namespace ipsec::engine::ike {

struct Identity {
  codec::IdType type = codec::IdType::kIpv4Addr;
  Bytes data;

  static Identity FromAddress(const IpAddress& a);
  static Identity Fqdn(std::string_view name);
  static Identity Email(std::string_view address);
  static Identity DerDn(ByteSpan der);  // ID_DER_ASN1_DN: the DER of an X.501 Name
  // "10.0.0.1", "fd00::1", "@host.example" (FQDN), "user@example" (RFC 822), or a
  // distinguished name in strongSwan's form ("C=CH, O=strongSwan, CN=moon", crypto/dn.h).
  // Parsed from a configured string: an address, "@fqdn" or "fqdn", "user@domain", or a DN
  // (text with '=' in it, as in swanctl.conf).
  static Result<Identity> Parse(std::string_view text);

  std::string ToString() const;
  codec::IdPayload ToPayload() const { return codec::IdPayload{type, data}; }
  static Identity FromPayload(const codec::IdPayload& p) { return Identity{p.type, p.data}; }
  bool operator==(const Identity&) const = default;
};

}  // namespace ipsec::engine::ike
