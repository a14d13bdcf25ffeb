#include "engine/ike/codec/delete_payload.h"

#include <cassert>
#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<DeletePayload> DecodeDeletePayload(ByteSpan body) {
  ByteReader r(body);
  DeletePayload d;
  uint8_t protocol = 0, spi_size = 0;
  uint16_t count = 0;
  if (!r.ReadUint8(&protocol) || !r.ReadUint8(&spi_size) || !r.ReadUint16(&count)) {
    return MakeCodecError(CodecError::kTruncated, "Delete header");
  }
  d.protocol = static_cast<ProtocolId>(protocol);
  const bool ike = d.protocol == ProtocolId::kIke;
  const bool child = d.protocol == ProtocolId::kEsp || d.protocol == ProtocolId::kAh;
  if (!ike && !child) {
    return MakeCodecError(CodecError::kInvalidSyntax, "Protocol ID " + std::to_string(protocol));
  }
  if (spi_size != (ike ? 0 : kChildSpiSize) || (ike && count != 0)) {
    return MakeCodecError(CodecError::kInvalidSyntax, "SPI Size " + std::to_string(spi_size) +
                                                          ", Num of SPIs " + std::to_string(count));
  }
  if (r.Remaining() != static_cast<size_t>(count) * spi_size) {
    return MakeCodecError(CodecError::kBadLength, std::to_string(count) + " SPIs in " +
                                                      std::to_string(r.Remaining()) + " octets");
  }
  d.spis.resize(count);
  for (uint32_t& spi : d.spis) {
    if (!r.ReadUint32(&spi)) return MakeCodecError(CodecError::kTruncated, "SPI");
  }
  return d;
}

void EncodeDeletePayload(const DeletePayload& del, ByteWriter& out) {
  const bool ike = del.protocol == ProtocolId::kIke;
  assert(!ike || del.spis.empty());
  assert(del.spis.size() <= 0xffff);
  out.WriteUint8(static_cast<uint8_t>(del.protocol));
  out.WriteUint8(ike ? 0 : kChildSpiSize);
  out.WriteUint16(static_cast<uint16_t>(del.spis.size()));
  for (uint32_t spi : del.spis) out.WriteUint32(spi);
}

}  // namespace ipsec::engine::ike::codec
