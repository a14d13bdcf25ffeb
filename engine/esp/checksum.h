#pragma once

// The Internet checksum (RFC 1071), its incremental update (RFC 1624), and the transport-mode
// TCP/UDP checksum repair after NAT (RFC 3948 §3.1.2). Pure.

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"

namespace ipsec::engine::esp {

// The one's-complement sum of `data` folded to 16 bits (not complemented), continuing `sum`.
// Every part but the last must have an even length.
uint32_t ChecksumAdd(uint32_t sum, ByteSpan data);
// ~fold(sum): the value to store in a header.
uint16_t ChecksumFinish(uint32_t sum);
inline uint16_t InternetChecksum(ByteSpan data) { return ChecksumFinish(ChecksumAdd(0, data)); }

// RFC 1624 eqn. 3: the checksum after the covered bytes `old_bytes` changed to `new_bytes`
// (equal, even sizes): HC' = ~(~HC + ~m + m').
uint16_t ChecksumUpdate(uint16_t checksum, ByteSpan old_bytes, ByteSpan new_bytes);

// Writes a fresh IPv4 header checksum (RFC 791) into the header at `header`.
void SetIpv4HeaderChecksum(uint8_t* header, size_t header_length);

// RFC 3948 §3.1.2, transport mode behind NAT: the TCP/UDP checksum in `packet` (an IP packet,
// after ESP was removed) was computed over the peer's original addresses, which NAT changed.
// Option 1 of §3.1.2: incrementally update it from the original addresses (NAT-OA, RFC 3947
// §5.2) to the packet's current ones. An IPv4 UDP checksum of 0 stays 0 (none). False when the
// packet is not an unfragmented TCP/UDP packet we can parse (then nothing is changed).
bool FixTransportChecksum(uint8_t* packet, size_t length, const IpAddress& original_source,
                          const IpAddress& original_destination);
// RFC 3948 §3.1.2, the alternative: recompute the TCP/UDP checksum from the packet as it is
// (the ESP ICV already protected it). False as above.
bool RecomputeTransportChecksum(uint8_t* packet, size_t length);

}  // namespace ipsec::engine::esp
