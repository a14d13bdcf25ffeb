#include "engine/ike/codec/id_payload.h"

#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<IdPayload> DecodeIdPayload(ByteSpan body) {
  ByteReader r(body);
  IdPayload id;
  uint8_t type = 0;
  if (!r.ReadUint8(&type) || !r.Skip(3)) return MakeCodecError(CodecError::kTruncated, "ID header");
  id.type = static_cast<IdType>(type);
  ByteSpan data = r.ReadRemaining();
  id.data.assign(data.begin(), data.end());
  const size_t want = id.type == IdType::kIpv4Addr ? 4 : id.type == IdType::kIpv6Addr ? 16 : 0;
  if (want != 0 && id.data.size() != want) {
    return MakeCodecError(CodecError::kInvalidSyntax,
                          "address ID of " + std::to_string(id.data.size()) + " octets");
  }
  if (id.data.empty()) return MakeCodecError(CodecError::kInvalidSyntax, "empty ID");
  return id;
}

void EncodeIdPayload(const IdPayload& id, ByteWriter& out) {
  out.WriteUint8(static_cast<uint8_t>(id.type));
  out.WriteZeros(3);
  out.WriteBytes(id.data);
}

}  // namespace ipsec::engine::ike::codec
