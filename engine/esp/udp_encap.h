#pragma once

// RFC 3948 UDP encapsulation of ESP, the sending side (receiving: a datagram on the NAT-T port
// is classified by engine/net's ClassifyNatTDatagram (nat_t_framing.h), which strips nothing
// but tells IKE (non-ESP marker) from ESP (non-zero SPI) and keepalives; its kEsp payload is
// what InboundSa::Unprotect takes).
//
//   RFC 3948 §2.1:
//   |      Source Port              |      Destination Port         |
//   |           Length              |           Checksum            |
//   |               ESP header [RFC4303] ...                        |

#include <cstddef>
#include <cstdint>

#include "engine/common/ip_address.h"
#include "engine/esp/esp_wire.h"

namespace ipsec::engine::esp {

// Writes the 8-octet UDP header in front of an ESP packet of `esp_length` octets at `out`.
// RFC 3948 §2.1: the checksum is 0 for IPv4 (it SHOULD be transmitted as zero). IPv6 forbids a
// zero UDP checksum (RFC 8200 §8.1), so pass the outer addresses and the ESP bytes, which
// follow at out + 8, and it is computed. False if esp_length + 8 > 65535.
bool WriteUdpEncapHeader(uint8_t* out, uint16_t source_port, uint16_t destination_port,
                         size_t esp_length);
bool WriteUdpEncapHeaderV6(uint8_t* out, uint16_t source_port, uint16_t destination_port,
                           size_t esp_length, const IpAddress& source,
                           const IpAddress& destination);

// Writes a minimal outer IPv4 header (no options, DF as given, TTL 64) for tunnel mode or raw
// ESP, with its checksum, at `out` (kIpv4HeaderSize octets). `protocol` is kNextHeaderEsp
// (raw ESP), kNextHeaderUdp (RFC 3948) or kNextHeaderAh. False if the total exceeds 65535.
bool WriteIpv4Header(uint8_t* out, const IpAddress& source, const IpAddress& destination,
                     uint8_t protocol, size_t payload_length, uint16_t identification,
                     bool dont_fragment);
// Writes a 40-octet IPv6 header (hop limit 64, no flow label).
bool WriteIpv6Header(uint8_t* out, const IpAddress& source, const IpAddress& destination,
                     uint8_t next_header, size_t payload_length);

}  // namespace ipsec::engine::esp
