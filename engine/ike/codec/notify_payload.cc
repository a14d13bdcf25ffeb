#include "engine/ike/codec/notify_payload.h"

#include <cassert>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<NotifyPayload> DecodeNotifyPayload(ByteSpan body) {
  ByteReader r(body);
  NotifyPayload n;
  uint8_t protocol = 0, spi_size = 0;
  uint16_t type = 0;
  if (!r.ReadUint8(&protocol) || !r.ReadUint8(&spi_size) || !r.ReadUint16(&type)) {
    return MakeCodecError(CodecError::kTruncated, "Notify header");
  }
  if (!r.ReadBytes(spi_size, &n.spi)) {
    return MakeCodecError(CodecError::kBadLength, "SPI exceeds the payload");
  }
  // §3.10: with no SPI, Protocol ID "MUST be ignored on receipt".
  n.protocol = n.spi.empty() ? ProtocolId::kNone : static_cast<ProtocolId>(protocol);
  n.type = static_cast<NotifyType>(type);
  ByteSpan data = r.ReadRemaining();
  n.data.assign(data.begin(), data.end());
  return n;
}

void EncodeNotifyPayload(const NotifyPayload& notify, ByteWriter& out) {
  assert(notify.spi.size() <= 0xff);
  out.WriteUint8(notify.spi.empty() ? 0 : static_cast<uint8_t>(notify.protocol));
  out.WriteUint8(static_cast<uint8_t>(notify.spi.size()));
  out.WriteUint16(static_cast<uint16_t>(notify.type));
  out.WriteBytes(notify.spi);
  out.WriteBytes(notify.data);
}

NotifyPayload MakeNotify(NotifyType type, Bytes data) {
  return NotifyPayload{ProtocolId::kNone, {}, type, std::move(data)};
}

std::optional<DhGroup> InvalidKeGroup(const NotifyPayload& notify) {
  if (notify.type != NotifyType::kInvalidKePayload || notify.data.size() != 2) return std::nullopt;
  return static_cast<DhGroup>(LoadBigEndian16(notify.data.data()));
}

}  // namespace ipsec::engine::ike::codec
