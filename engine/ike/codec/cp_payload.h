#pragma once

// RFC 7296 §3.15: Configuration Payload (minimal: attributes are kept as type and value)
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C| RESERVED    |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   CFG Type    |                    RESERVED                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Configuration Attributes                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// §3.15.1: Configuration Attributes
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |R|         Attribute Type      |            Length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                             Value                             ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

#include <cstdint>
#include <vector>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

// §3.15.1 attribute types we name (others pass through by number).
inline constexpr uint16_t kCfgInternalIp4Address = 1;
inline constexpr uint16_t kCfgInternalIp4Dns = 3;
inline constexpr uint16_t kCfgInternalIp6Address = 8;
inline constexpr uint16_t kCfgInternalIp6Dns = 10;

struct CfgAttribute {
  uint16_t type = 0;  // 15 bits; the R bit is sent as zero and ignored
  Bytes value;
  bool operator==(const CfgAttribute&) const = default;
};

struct CpPayload {
  CfgType type = CfgType::kRequest;
  std::vector<CfgAttribute> attributes;
  bool operator==(const CpPayload&) const = default;
};

Result<CpPayload> DecodeCpPayload(ByteSpan body);
void EncodeCpPayload(const CpPayload& cp, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
