#pragma once

// RFC 7296 §3.13: Traffic Selector Payload (TSi and TSr share the layout)
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Number of TSs |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       <Traffic Selectors>                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// §3.13.1: Traffic Selector
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   TS Type     |IP Protocol ID*|       Selector Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Start Port*         |           End Port*           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Starting Address*                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Ending Address*                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Selector Length is 16 for TS_IPV4_ADDR_RANGE and 40 for TS_IPV6_ADDR_RANGE. Selectors of
// other types (e.g. RFC 4595's FC_ADDR_R) are kept opaque so a responder can narrow them away
// (§2.9) rather than drop the message.

#include <cstdint>
#include <vector>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

struct TrafficSelector {
  TsType type = TsType::kIpv4AddrRange;
  uint8_t ip_protocol = 0;  // 0: any
  uint16_t start_port = 0;
  uint16_t end_port = 0xffff;
  IpAddress start;  // family matches `type`
  IpAddress end;
  Bytes opaque;  // other TS types: the octets after Selector Length; addresses unused
  bool operator==(const TrafficSelector&) const = default;

  static TrafficSelector FromRange(const IpRange& range, uint8_t ip_protocol = 0,
                                   uint16_t start_port = 0, uint16_t end_port = 0xffff);
  bool is_address_range() const {
    return type == TsType::kIpv4AddrRange || type == TsType::kIpv6AddrRange;
  }
};

struct TsPayload {
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};

Result<TsPayload> DecodeTsPayload(ByteSpan body);
// Precondition: fewer than 256 selectors; address families match their types.
void EncodeTsPayload(const TsPayload& ts, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
