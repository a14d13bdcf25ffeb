#pragma once

// RFC 7296 §3.4: Key Exchange Payload
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Diffie-Hellman Group Num    |           RESERVED            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Key Exchange Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The length of the data for each group is the crypto layer's to check.

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct KePayload {
  DhGroup group = DhGroup::kNone;
  Bytes data;  // non-empty
  bool operator==(const KePayload&) const = default;
};

Result<KePayload> DecodeKePayload(ByteSpan body);
void EncodeKePayload(const KePayload& ke, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
