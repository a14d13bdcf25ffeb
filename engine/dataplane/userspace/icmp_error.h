#pragma once

// ICMP errors the data path sends back to an inner packet's source when the packet is too big
// for the path after ESP (RFC 4301 §8.2, §8.3): IPv4 "fragmentation needed and DF set" (RFC
// 792, next-hop MTU per RFC 1191 §4) and ICMPv6 "packet too big" (RFC 4443 §3.2); whether such
// an error may be sent at all (RFC 1122 §3.2.2, RFC 4443 §2.4(e)); and the token bucket that
// rate-limits them (RFC 4443 §2.4(f)). Pure: no I/O, no clock (callers pass `now`).
//
//   ICMPv4 type 3 code 4 (RFC 792, RFC 1191 §4):   ICMPv6 type 2 code 0 (RFC 4443 §3.2):
//   | Type=3 | Code=4 |     Checksum     |          | Type=2 | Code=0 |     Checksum     |
//   |   unused = 0    |  Next-Hop MTU    |          |              MTU                  |
//   | original IP header + 64 bits of data |        | as much of the invoking packet as  |
//                                                   | fits in 1280 octets (minimum MTU)   |

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"

namespace ipsec::engine::dataplane::userspace {

inline constexpr uint8_t kIcmpv4DestUnreachable = 3;
inline constexpr uint8_t kIcmpv4FragNeeded = 4;  // code
inline constexpr uint8_t kIcmpv6PacketTooBig = 2;
inline constexpr size_t kIpv6MinMtu = 1280;  // RFC 8200 §5
inline constexpr size_t kIpv4MinMtu = 68;    // RFC 791 §3.2 ("every internet module ... 68")
// Largest message either builder writes: an IPv6 packet of the minimum MTU.
inline constexpr size_t kMaxIcmpErrorSize = kIpv6MinMtu;

// Whether an ICMP error may be sent about `packet` (an IPv4 or IPv6 packet): not about an ICMP
// error message, not about a fragment other than the first, not to a source that does not name
// one host (unspecified, loopback, multicast, broadcast, IPv4 class E), not about a packet to an
// IPv4 broadcast/multicast address (RFC 1122 §3.2.2; RFC 4443 §2.4(e): a packet too big may be
// sent about a multicast destination, RFC 4443 §2.4(e.3)). False for anything unparsable.
bool MayReplyWithIcmpError(ByteSpan packet);

// Writes into `out` (capacity >= kMaxIcmpErrorSize) an IPv4 packet from `source` to the
// original's source carrying ICMP "fragmentation needed and DF set" with `next_hop_mtu` (raised
// to kIpv4MinMtu) and the original's IP header plus its first 8 octets of data (RFC 792).
// Returns the length, 0 when `original` is not an IPv4 packet or `source` is not IPv4.
size_t BuildIcmpv4FragNeeded(ByteSpan original, uint16_t next_hop_mtu, const IpAddress& source,
                             uint8_t* out, size_t capacity);

// Writes into `out` an IPv6 packet from `source` to the original's source carrying ICMPv6
// "packet too big" with `mtu` (raised to kIpv6MinMtu) and as much of `original` as keeps the
// whole message within kIpv6MinMtu octets (RFC 4443 §3.2, §2.4(c)). Returns the length, 0 when
// `original` is not IPv6 or `source` is not IPv6.
size_t BuildIcmpv6PacketTooBig(ByteSpan original, uint32_t mtu, const IpAddress& source,
                               uint8_t* out, size_t capacity);

// A token bucket (RFC 4443 §2.4(f)): `burst` messages at once, refilled at `per_second`.
// Not thread-safe: one per worker.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double per_second, double burst) : rate_(per_second), burst_(burst), tokens_(burst) {}
  // Takes one token if there is one.
  bool Take(Clock::time_point now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_{};
  bool started_ = false;
};

}  // namespace ipsec::engine::dataplane::userspace
