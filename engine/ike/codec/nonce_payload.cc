#include "engine/ike/codec/nonce_payload.h"

#include <string>

#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

Result<NoncePayload> DecodeNoncePayload(ByteSpan body) {
  if (body.size() < kMinNonceSize || body.size() > kMaxNonceSize) {
    return MakeCodecError(CodecError::kInvalidSyntax,
                          "nonce of " + std::to_string(body.size()) + " octets (16..256)");
  }
  return NoncePayload{Bytes(body.begin(), body.end())};
}

void EncodeNoncePayload(const NoncePayload& nonce, ByteWriter& out) { out.WriteBytes(nonce.nonce); }

}  // namespace ipsec::engine::ike::codec
