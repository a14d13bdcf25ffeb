#pragma once

// RFC 7296 §3.14: Encrypted and Authenticated Payload (SK)
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// |         (length is block size for encryption algorithm)       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Encrypted IKE Payloads                     ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Integrity Checksum Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 7383 §2.5: Encrypted and Authenticated Fragment Payload (SKF)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Fragment Number        |        Total Fragments        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Encrypted content                        ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Integrity Checksum Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The Next Payload of SK names the first inner payload; that of SKF does so in fragment 1 and
// is zero in the others. Either MUST be the last payload of a message (§3.14). The codec
// decodes only this framing; sk.h decrypts.

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct EncryptedPayload {
  PayloadType type = PayloadType::kSk;           // kSk or kSkf
  PayloadType first_inner = PayloadType::kNone;  // kNone in SKF fragments after the first
  bool critical = false;
  size_t offset = 0;             // of the generic payload header in the datagram
  size_t length = 0;             // Payload Length: header to the end of the datagram
  uint16_t fragment_number = 0;  // SKF only: 1..total_fragments
  uint16_t total_fragments = 0;  // SKF only
  bool operator==(const EncryptedPayload&) const = default;

  // Octets before the IV: 4 (SK) or 8 (SKF).
  size_t header_size() const {
    return type == PayloadType::kSkf ? kSkfHeaderSize : kGenericPayloadHeaderSize;
  }
};

// Reads SK/SKF framing from `body` (the payload after its generic header). `offset` and
// `length` describe the payload's place in the datagram.
Result<EncryptedPayload> DecodeEncryptedPayload(PayloadType type, PayloadType next_payload,
                                                bool critical, size_t offset, ByteSpan body);

}  // namespace ipsec::engine::ike::codec
