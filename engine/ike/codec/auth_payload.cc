#include "engine/ike/codec/auth_payload.h"

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<AuthPayload> DecodeAuthPayload(ByteSpan body) {
  ByteReader r(body);
  uint8_t method = 0;
  if (!r.ReadUint8(&method) || !r.Skip(3)) {
    return MakeCodecError(CodecError::kTruncated, "AUTH header");
  }
  ByteSpan data = r.ReadRemaining();
  if (data.empty()) return MakeCodecError(CodecError::kInvalidSyntax, "empty Authentication Data");
  return AuthPayload{static_cast<AuthMethod>(method), Bytes(data.begin(), data.end())};
}

void EncodeAuthPayload(const AuthPayload& auth, ByteWriter& out) {
  out.WriteUint8(static_cast<uint8_t>(auth.method));
  out.WriteZeros(3);
  out.WriteBytes(auth.data);
}

}  // namespace ipsec::engine::ike::codec
