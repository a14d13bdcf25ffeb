#include "engine/ike/auth.h"

#include "engine/ike/codec/payload.h"

namespace ipsec::engine::ike {

Bytes SignedOctets(const crypto::Prf& prf, ByteSpan real_message, ByteSpan peer_nonce,
                   const SecretBytes& sk_p, const codec::IdPayload& id) {
  Bytes rest_of_id = codec::EncodePayloadBody(id);
  Bytes maced_id = prf.Compute(crypto::SecretSpan(sk_p), rest_of_id);
  return Concat({real_message, peer_nonce, maced_id});
}

Bytes PskAuthData(const crypto::Prf& prf, const SecretBytes& psk, ByteSpan signed_octets) {
  static constexpr std::string_view kKeyPad = "Key Pad for IKEv2";  // §2.15
  Bytes padded_key = prf.Compute(crypto::SecretSpan(psk), AsBytes(kKeyPad));
  Bytes auth = prf.Compute(padded_key, signed_octets);
  std::fill(padded_key.begin(), padded_key.end(), 0);
  return auth;
}

bool AuthEquals(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace ipsec::engine::ike
