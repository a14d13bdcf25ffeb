#include "engine/ike/codec/header.h"

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<Header> DecodeHeader(ByteSpan datagram) {
  ByteReader r(datagram);
  Header h;
  uint8_t next = 0, version = 0, exchange = 0;
  if (!r.ReadUint64(&h.initiator_spi) || !r.ReadUint64(&h.responder_spi) || !r.ReadUint8(&next) ||
      !r.ReadUint8(&version) || !r.ReadUint8(&exchange) || !r.ReadUint8(&h.flags) ||
      !r.ReadUint32(&h.message_id) || !r.ReadUint32(&h.length)) {
    return MakeCodecError(CodecError::kTruncated,
                          "IKE header needs 28 octets, got " + std::to_string(datagram.size()),
                          "/header");
  }
  h.next_payload = static_cast<PayloadType>(next);
  h.major_version = version >> 4;
  h.minor_version = version & 0x0f;
  h.exchange_type = static_cast<ExchangeType>(exchange);
  return h;
}

void EncodeHeader(const Header& header, PayloadType next_payload, uint32_t length,
                  ByteWriter& out) {
  out.WriteUint64(header.initiator_spi);
  out.WriteUint64(header.responder_spi);
  out.WriteUint8(static_cast<uint8_t>(next_payload));
  out.WriteUint8(static_cast<uint8_t>(header.major_version << 4 | (header.minor_version & 0x0f)));
  out.WriteUint8(static_cast<uint8_t>(header.exchange_type));
  out.WriteUint8(header.flags);
  out.WriteUint32(header.message_id);
  out.WriteUint32(length);
}

}  // namespace ipsec::engine::ike::codec
