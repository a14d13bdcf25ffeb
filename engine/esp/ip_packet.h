#pragma once

// Minimal, bounds-checked IPv4/IPv6 header parsing for the ESP/AH engine and the data path's
// classification: version, header length, the upper-layer protocol after IPv6 extension
// headers, and the 5-tuple. Pure; reads only within the given span.
//
// IPv4, RFC 791 §3.1 (20 octets + options):     IPv6, RFC 8200 §3 (40 octets):
//   |Version|  IHL  |Type of Service|  Total Length |    |Version| Traffic Class |  Flow Label  |
//   |   Identification  |Flags|  Fragment Offset  |    | Payload Length | Next Header | Hop Lim |
//   |  Time to Live |    Protocol   | Header Checksum|    |       Source Address (16)         |
//   |  Source Address  |  Destination Address  |...     |    Destination Address (16)        |

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"

namespace ipsec::engine::esp {

struct IpPacketInfo {
  IpFamily family = IpFamily::kV4;
  IpAddress source;
  IpAddress destination;
  // IPv4: IHL * 4. IPv6: 40 + the extension headers skipped (hop-by-hop, routing, fragment,
  // destination options, RFC 8200 §4), i.e. the offset of the upper-layer header.
  size_t header_length = 0;
  // The fixed header's length field as a total: IPv4 total length, IPv6 40 + payload length.
  size_t total_length = 0;
  uint8_t protocol = 0;  // the upper-layer protocol (after extension headers)
  // IPv4 MF set or offset != 0; IPv6 a fragment header. Only the first fragment has ports.
  bool is_fragment = false;
  bool is_first_fragment = true;
  // Ports for TCP (6), UDP (17), SCTP (132), UDP-Lite (136) in an unfragmented or first
  // fragment packet that holds them; ICMP: type << 8 | code in source_port; else 0.
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  bool has_ports = false;
};

// Parses the IP packet at the start of `packet` (its first nibble says the version). nullopt
// when it is neither IPv4 nor IPv6, a header runs past the span or its length fields are
// inconsistent (IHL < 5, total length < header or > span). Trailing bytes after total_length
// are allowed (link padding).
std::optional<IpPacketInfo> ParseIpPacket(ByteSpan packet);

// The IP version nibble (4 or 6) of the first octet, or 0 for an empty span / anything else.
int IpVersion(ByteSpan packet);

// Big-endian loads and stores.
inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace ipsec::engine::esp
