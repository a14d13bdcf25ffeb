#pragma once

// RFC 7296 §3.12: Vendor ID Payload
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        Vendor ID (VID)                        ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"

namespace ipsec::engine::ike::codec {

struct VendorIdPayload {
  Bytes id;
  bool operator==(const VendorIdPayload&) const = default;
};

Result<VendorIdPayload> DecodeVendorIdPayload(ByteSpan body);
void EncodeVendorIdPayload(const VendorIdPayload& vid, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
