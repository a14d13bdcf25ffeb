#pragma once

// RFC 7296 §3.11: Delete Payload
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Protocol ID   |   SPI Size    |          Num of SPIs          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~               Security Parameter Index(es) (SPI)              ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// "SPI Size ... MUST be zero for IKE (SPI is in message header) or four for AH and ESP." A
// Delete for the IKE SA therefore carries no SPIs; the decoder requires Num of SPIs 0 for it.

#include <cstdint>
#include <vector>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct DeletePayload {
  ProtocolId protocol = ProtocolId::kEsp;  // kIke, kAh or kEsp
  std::vector<uint32_t> spis;              // AH/ESP: the SPIs the sender receives on
  bool operator==(const DeletePayload&) const = default;
};

Result<DeletePayload> DecodeDeletePayload(ByteSpan body);
void EncodeDeletePayload(const DeletePayload& del, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
