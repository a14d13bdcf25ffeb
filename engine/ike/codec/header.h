#pragma once

// RFC 7296 §3.1: The IKE Header
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Initiator's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Responder's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Message ID                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            Length                             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

#include <cstdint>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct Header {
  uint64_t initiator_spi = 0;
  uint64_t responder_spi = 0;
  // Decoded as sent. EncodeMessage/EncodeProtected compute it; the value here is ignored.
  PayloadType next_payload = PayloadType::kNone;
  uint8_t major_version = kIkeMajorVersion;
  uint8_t minor_version = kIkeMinorVersion;
  ExchangeType exchange_type = ExchangeType::kIkeSaInit;
  uint8_t flags = 0;  // kFlagInitiator | kFlagVersion | kFlagResponse
  uint32_t message_id = 0;
  // Decoded as sent. The encoders compute it; the value here is ignored.
  uint32_t length = 0;

  bool is_initiator() const { return (flags & kFlagInitiator) != 0; }
  bool is_response() const { return (flags & kFlagResponse) != 0; }
  bool operator==(const Header&) const = default;
};

// The 28 header octets, with no check beyond their presence: the IKE layer needs the SPIs and
// message ID of a message whose version or length is wrong, to answer INVALID_MAJOR_VERSION
// (§2.5) or to count the drop.
Result<Header> DecodeHeader(ByteSpan datagram);

// Writes the header with `next_payload` and `length` as given.
void EncodeHeader(const Header& header, PayloadType next_payload, uint32_t length, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
