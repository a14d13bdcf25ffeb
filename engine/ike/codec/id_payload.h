#pragma once

// RFC 7296 §3.5: Identification Payloads (IDi and IDr share the layout)
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   ID Type     |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Identification Data                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// AUTH (§2.15) signs RestOfIDPayload: the body from ID Type on, as EncodeIdPayload writes it
// (the RESERVED octets as received are not kept: §3.5 has them zero).

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct IdPayload {
  IdType type = IdType::kFqdn;
  Bytes data;  // 4 octets for IPV4_ADDR, 16 for IPV6_ADDR; text for FQDN/RFC822; DER for DN
  bool operator==(const IdPayload&) const = default;
};

Result<IdPayload> DecodeIdPayload(ByteSpan body);
void EncodeIdPayload(const IdPayload& id, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
