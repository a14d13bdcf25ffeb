#pragma once

// IKEv2 authentication octets (RFC 7296 §2.15).

#include "engine/common/bytes.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/prf.h"
#include "engine/ike/codec/id_payload.h"

namespace ipsec::engine::ike {

// InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI, with
// MACedIDForI = prf(SK_pi, RestOfInitIDPayload); the responder's mirror image uses
// RealMessage2, NonceIData and SK_pr (§2.15). RestOfIDPayload is the ID payload's body.
Bytes SignedOctets(const crypto::Prf& prf, ByteSpan real_message, ByteSpan peer_nonce,
                   const SecretBytes& sk_p, const codec::IdPayload& id);

// AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>) (§2.15).
Bytes PskAuthData(const crypto::Prf& prf, const SecretBytes& psk, ByteSpan signed_octets);

// Constant-time comparison for AUTH values.
bool AuthEquals(ByteSpan a, ByteSpan b);

}  // namespace ipsec::engine::ike
