#pragma once

// RFC 7296 §3.9: Nonce Payload
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                            Nonce Data                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive."

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"

namespace ipsec::engine::ike::codec {

struct NoncePayload {
  Bytes nonce;  // kMinNonceSize..kMaxNonceSize octets
  bool operator==(const NoncePayload&) const = default;
};

Result<NoncePayload> DecodeNoncePayload(ByteSpan body);
void EncodeNoncePayload(const NoncePayload& nonce, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
