#pragma once

// RFC 7296 §3.3: Security Association Payload
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                          <Proposals>                          ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// §3.3.1: Proposal Substructure
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |         Proposal Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        SPI (variable)                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        <Transforms>                           ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// §3.3.2: Transform Substructure
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |        Transform Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Transform Type |   RESERVED    |          Transform ID         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Transform Attributes                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// §3.3.5: Transform Attributes
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |A|       Attribute Type        |    AF=0  Attribute Length     |
// |F|                             |    AF=1  Attribute Value      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                   AF=0  Attribute Value                       |
// |                   AF=1  Not Transmitted                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Last Substruc is 0 on the last proposal (transform) and 2 (3) before another; the decoder
// holds both to what follows. Proposal numbers (§3.3.1: a request counts from 1 up by one; a
// response echoes the number it accepted) are accepted as strongSwan does: from 1 up, never
// decreasing (a repeated number is an IKEv1-style bundle, which proposal selection skips).
// That a response carries exactly one proposal is checked by the payload rules.

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

// An attribute other than Key Length. RFC 7296 defines none, so a proposal matcher rejects a
// transform that carries one (§3.3.6); the codec keeps it so nothing is lost.
struct TransformAttribute {
  uint16_t type = 0;  // without the AF bit
  bool tv = false;    // AF=1: the value is `value`; AF=0: the value is `data`
  uint16_t value = 0;
  Bytes data;
  bool operator==(const TransformAttribute&) const = default;
};

struct Transform {
  TransformType type = TransformType::kEncr;
  uint16_t id = 0;                     // EncrId, PrfId, IntegId, DhGroup or EsnId by `type`
  std::optional<uint16_t> key_length;  // bits; the Key Length attribute (§3.3.5)
  std::vector<TransformAttribute> other_attributes;
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;
  ProtocolId protocol = ProtocolId::kIke;
  Bytes spi;  // empty in IKE_SA_INIT; 8 octets for an IKE rekey, 4 for ESP and AH
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

// `body` is the payload after its generic header.
Result<SaPayload> DecodeSaPayload(ByteSpan body);
// Precondition: sizes fit their fields (SPI < 256 octets, < 256 proposals and transforms,
// lengths < 64 KiB), as any decoded or sensibly built SA does.
void EncodeSaPayload(const SaPayload& sa, ByteWriter& out);

}  // namespace ipsec::engine::ike::codec
