#pragma once

// RFC 7296 §3.10: Notify Payload
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                Security Parameter Index (SPI)                 ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Notification Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// "If the SPI field is empty, [Protocol ID] MUST be sent as zero and MUST be ignored on
// receipt." The meaning of the data depends on the type (e.g. INVALID_KE_PAYLOAD: the 2-octet
// accepted group; NAT_DETECTION_*: a SHA-1 hash; COOKIE: 1..64 octets).

#include <optional>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct NotifyPayload {
  ProtocolId protocol = ProtocolId::kNone;
  Bytes spi;  // empty, or 4 octets (ESP/AH) for INVALID_SELECTORS, REKEY_SA, CHILD_SA_NOT_FOUND
  NotifyType type = NotifyType::kInitialContact;
  Bytes data;
  bool operator==(const NotifyPayload&) const = default;
};

Result<NotifyPayload> DecodeNotifyPayload(ByteSpan body);
void EncodeNotifyPayload(const NotifyPayload& notify, ByteWriter& out);

// A notify about no particular SA.
NotifyPayload MakeNotify(NotifyType type, Bytes data = {});

// The group in an INVALID_KE_PAYLOAD's data (§3.10.1: 2 octets); nullopt if malformed.
std::optional<DhGroup> InvalidKeGroup(const NotifyPayload& notify);

}  // namespace ipsec::engine::ike::codec
