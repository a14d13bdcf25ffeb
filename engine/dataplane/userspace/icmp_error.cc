#include "engine/dataplane/userspace/icmp_error.h"

#include <algorithm>
#include <cstring>

#include "engine/esp/checksum.h"
#include "engine/esp/esp_wire.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/udp_encap.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

constexpr size_t kIcmpHeaderSize = 8;  // type, code, checksum, 4 octets (unused/MTU)

// RFC 1122 §3.2.2: the source must name one host. 0/8, 127/8, 224/4 (multicast), 240/4
// (class E, and 255.255.255.255).
bool V4SourceOk(const IpAddress& a) {
  const uint32_t v = static_cast<uint32_t>(a.value());
  const uint32_t first = v >> 24;
  return first != 0 && first != 127 && first < 224;
}

// RFC 4443 §2.4(e.6): not unspecified, not multicast; nor loopback (never from a link).
bool V6SourceOk(const IpAddress& a) { return a.value() > 1 && !a.IsMulticast(); }

// ICMPv4 error types (RFC 792, RFC 1122 §3.2.2): destination unreachable, source quench,
// redirect, time exceeded, parameter problem. Queries (echo, timestamp, ...) may get errors.
bool IsIcmpv4Error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

}  // namespace

bool MayReplyWithIcmpError(ByteSpan packet) {
  auto info = esp::ParseIpPacket(packet);
  if (!info) return false;
  // RFC 1122 §3.2.2 / RFC 4443 §2.4(e): never about a non-initial fragment (its header is not
  // the upper layer's), never about an ICMP error.
  if (info->is_fragment && !info->is_first_fragment) return false;
  if (info->family == IpFamily::kV4) {
    if (!V4SourceOk(info->source)) return false;
    if (info->destination.IsMulticast() || info->destination.IsLimitedBroadcast()) return false;
    if (info->protocol == esp::kNextHeaderIcmp) {
      if (info->header_length >= info->total_length) return false;
      if (IsIcmpv4Error(packet[info->header_length])) return false;
    }
    return true;
  }
  if (!V6SourceOk(info->source)) return false;
  if (info->protocol == esp::kNextHeaderIcmpv6) {
    // RFC 4443 §2.1: types 0-127 are errors. Unknown type (no room for it): no reply.
    if (info->header_length >= info->total_length) return false;
    if (packet[info->header_length] < 128) return false;
  }
  return true;
}

size_t BuildIcmpv4FragNeeded(ByteSpan original, uint16_t next_hop_mtu, const IpAddress& source,
                             uint8_t* out, size_t capacity) {
  auto info = esp::ParseIpPacket(original);
  if (!info || info->family != IpFamily::kV4 || !source.is_v4()) return 0;
  // RFC 792: "the internet header plus the first 64 bits of the original datagram's data".
  const size_t quoted = std::min(info->total_length, info->header_length + 8);
  const size_t icmp_length = kIcmpHeaderSize + quoted;
  const size_t total = esp::kIpv4HeaderSize + icmp_length;
  if (capacity < total) return 0;
  if (!esp::WriteIpv4Header(out, source, info->source, esp::kNextHeaderIcmp, icmp_length, 0,
                            false)) {
    return 0;
  }
  uint8_t* icmp = out + esp::kIpv4HeaderSize;
  icmp[0] = kIcmpv4DestUnreachable;
  icmp[1] = kIcmpv4FragNeeded;
  esp::Store16(icmp + 2, 0);
  esp::Store16(icmp + 4, 0);  // unused (RFC 1191 §4)
  esp::Store16(icmp + 6, std::max<uint16_t>(next_hop_mtu, kIpv4MinMtu));
  std::memcpy(icmp + kIcmpHeaderSize, original.data(), quoted);
  // RFC 792: the checksum covers the ICMP message only.
  esp::Store16(icmp + 2, esp::InternetChecksum(ByteSpan(icmp, icmp_length)));
  return total;
}

size_t BuildIcmpv6PacketTooBig(ByteSpan original, uint32_t mtu, const IpAddress& source,
                               uint8_t* out, size_t capacity) {
  auto info = esp::ParseIpPacket(original);
  if (!info || info->family != IpFamily::kV6 || source.is_v4()) return 0;
  // RFC 4443 §3.2: "as much of invoking packet as possible without the ICMPv6 packet exceeding
  // the minimum IPv6 MTU".
  const size_t quoted =
      std::min(info->total_length, kIpv6MinMtu - esp::kIpv6HeaderSize - kIcmpHeaderSize);
  const size_t icmp_length = kIcmpHeaderSize + quoted;
  const size_t total = esp::kIpv6HeaderSize + icmp_length;
  if (capacity < total) return 0;
  if (!esp::WriteIpv6Header(out, source, info->source, esp::kNextHeaderIcmpv6, icmp_length)) {
    return 0;
  }
  uint8_t* icmp = out + esp::kIpv6HeaderSize;
  icmp[0] = kIcmpv6PacketTooBig;
  icmp[1] = 0;
  esp::Store16(icmp + 2, 0);
  esp::Store32(icmp + 4, std::max<uint32_t>(mtu, kIpv6MinMtu));
  std::memcpy(icmp + kIcmpHeaderSize, original.data(), quoted);
  // RFC 4443 §2.3: the checksum covers the pseudo-header of RFC 8200 §8.1 and the message.
  uint8_t pseudo[40] = {};
  std::memcpy(pseudo, out + 8, 32);  // source and destination
  esp::Store32(pseudo + 32, static_cast<uint32_t>(icmp_length));
  pseudo[39] = esp::kNextHeaderIcmpv6;
  uint32_t sum = esp::ChecksumAdd(0, ByteSpan(pseudo, sizeof(pseudo)));
  sum = esp::ChecksumAdd(sum, ByteSpan(icmp, icmp_length));
  esp::Store16(icmp + 2, esp::ChecksumFinish(sum));
  return total;
}

bool TokenBucket::Take(Clock::time_point now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  } else if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace ipsec::engine::dataplane::userspace
