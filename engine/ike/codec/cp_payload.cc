#include "engine/ike/codec/cp_payload.h"

#include <cassert>
#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<CpPayload> DecodeCpPayload(ByteSpan body) {
  ByteReader r(body);
  uint8_t type = 0;
  if (!r.ReadUint8(&type) || !r.Skip(3)) return MakeCodecError(CodecError::kTruncated, "CP header");
  CpPayload cp{static_cast<CfgType>(type), {}};
  for (size_t i = 0; !r.Done(); ++i) {
    const std::string path = "/attributes/" + std::to_string(i);
    if (i >= kMaxAttributes) return MakeCodecError(CodecError::kTooLarge, "too many", path);
    uint16_t attr_type = 0, length = 0;
    CfgAttribute a;
    if (!r.ReadUint16(&attr_type) || !r.ReadUint16(&length)) {
      return MakeCodecError(CodecError::kTruncated, "attribute header", path);
    }
    if (!r.ReadBytes(length, &a.value)) {
      return MakeCodecError(CodecError::kBadLength, "Length " + std::to_string(length), path);
    }
    a.type = attr_type & 0x7fff;
    cp.attributes.push_back(std::move(a));
  }
  return cp;
}

void EncodeCpPayload(const CpPayload& cp, ByteWriter& out) {
  out.WriteUint8(static_cast<uint8_t>(cp.type));
  out.WriteZeros(3);
  for (const CfgAttribute& a : cp.attributes) {
    assert(a.value.size() <= 0xffff);
    out.WriteUint16(a.type & 0x7fff);
    out.WriteUint16(static_cast<uint16_t>(a.value.size()));
    out.WriteBytes(a.value);
  }
}

}  // namespace ipsec::engine::ike::codec
