#pragma once

// What a datagram on the IKE ports is, and how IKE is framed on the NAT-T port (RFC 3948).
// Constants and one pure classifier: no sockets, no state (../shared/STYLE.md rules 2 and 3).
//
// UDP 500 carries IKE messages as they are (RFC 7296 §2). UDP 4500 carries three kinds of
// datagram, told apart by their first octets:
//
//   IKE, RFC 3948 §2.2:                    ESP, RFC 3948 §2.1:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                   Non-ESP Marker (0x00000000)                 |   <- or a non-zero ESP SPI
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 IKE header [RFC 7296] ...                     |   <- or the ESP sequence
//   ~                                                               ~      number, payload ...
//
//   NAT-keepalive, RFC 3948 §2.3: a single octet 0xFF.

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"

namespace ipsec::engine::net {

inline constexpr uint16_t kIkePort = 500;    // RFC 7296 §2
inline constexpr uint16_t kNatTPort = 4500;  // RFC 3948 §1, RFC 7296 §2.23
inline constexpr size_t kNonEspMarkerSize = 4;
inline constexpr uint8_t kNonEspMarker[kNonEspMarkerSize] = {0, 0, 0, 0};
inline constexpr uint8_t kNatKeepalive = 0xFF;
inline constexpr size_t kMinEspSize = 8;  // SPI + sequence number (RFC 4303 §2)
// No UDP payload exceeds 65,535 octets; a larger receive buffer would never fill.
inline constexpr size_t kMaxDatagramSize = 65536;

enum class NatTDatagramKind {
  kIke,        // non-ESP marker, then an IKE message
  kEsp,        // UDP-encapsulated ESP: a non-zero SPI first
  kKeepalive,  // 0xFF
  kMalformed,  // anything else: too short for what its first octets claim
};

struct NatTDatagram {
  NatTDatagramKind kind = NatTDatagramKind::kMalformed;
  // kIke: the IKE message without the marker; kEsp: the whole ESP packet from its SPI on;
  // otherwise empty. Points into the classified datagram.
  ByteSpan payload;
};

// Classifies a datagram received on the NAT-T port (RFC 3948 §2.1–2.3).
NatTDatagram ClassifyNatTDatagram(ByteSpan datagram);

}  // namespace ipsec::engine::net
