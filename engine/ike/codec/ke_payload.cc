#include "engine/ike/codec/ke_payload.h"

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<KePayload> DecodeKePayload(ByteSpan body) {
  ByteReader r(body);
  KePayload ke;
  uint16_t group = 0, reserved = 0;
  if (!r.ReadUint16(&group) || !r.ReadUint16(&reserved)) {
    return MakeCodecError(CodecError::kTruncated, "KE header");
  }
  ke.group = static_cast<DhGroup>(group);
  ByteSpan data = r.ReadRemaining();
  if (data.empty()) return MakeCodecError(CodecError::kInvalidSyntax, "empty Key Exchange Data");
  ke.data.assign(data.begin(), data.end());
  return ke;
}

void EncodeKePayload(const KePayload& ke, ByteWriter& out) {
  out.WriteUint16(static_cast<uint16_t>(ke.group));
  out.WriteUint16(0);
  out.WriteBytes(ke.data);
}

}  // namespace ipsec::engine::ike::codec
