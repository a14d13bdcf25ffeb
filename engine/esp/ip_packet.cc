#include "engine/esp/ip_packet.h"

#include "engine/esp/esp_wire.h"

namespace ipsec::engine::esp {
namespace {

constexpr uint8_t kSctp = 132;
constexpr uint8_t kUdpLite = 136;
constexpr size_t kMaxExtensionHeaders = 16;  // more is an attack, not a packet

// Fills the ports from the upper-layer header at `l4` (`avail` octets).
void ReadPorts(const uint8_t* l4, size_t avail, IpPacketInfo& info) {
  switch (info.protocol) {
    case kNextHeaderTcp:
    case kNextHeaderUdp:
    case kSctp:
    case kUdpLite:
      if (avail < 4) return;
      info.source_port = Load16(l4);
      info.destination_port = Load16(l4 + 2);
      info.has_ports = true;
      return;
    case kNextHeaderIcmp:
    case kNextHeaderIcmpv6:
      if (avail < 2) return;
      info.source_port = static_cast<uint16_t>(l4[0] << 8 | l4[1]);  // type, code
      info.has_ports = true;
      return;
    default:
      return;
  }
}

std::optional<IpPacketInfo> ParseIpv4(ByteSpan p) {
  // RFC 791 §3.1.
  if (p.size() < kIpv4HeaderSize) return std::nullopt;
  IpPacketInfo info;
  info.family = IpFamily::kV4;
  info.header_length = size_t{p[0] & 0x0Fu} * 4;
  info.total_length = Load16(&p[2]);
  if (info.header_length < kIpv4HeaderSize || info.total_length < info.header_length ||
      info.total_length > p.size()) {
    return std::nullopt;
  }
  const uint16_t frag = Load16(&p[6]);
  const uint16_t offset = frag & 0x1FFF;
  info.is_fragment = (frag & 0x2000) != 0 || offset != 0;
  info.is_first_fragment = offset == 0;
  info.protocol = p[9];
  info.source = IpAddress::FromV4Bytes(&p[12]);
  info.destination = IpAddress::FromV4Bytes(&p[16]);
  if (info.is_first_fragment) {
    ReadPorts(p.data() + info.header_length, info.total_length - info.header_length, info);
  }
  return info;
}

std::optional<IpPacketInfo> ParseIpv6(ByteSpan p) {
  // RFC 8200 §3, §4.
  if (p.size() < kIpv6HeaderSize) return std::nullopt;
  IpPacketInfo info;
  info.family = IpFamily::kV6;
  info.total_length = kIpv6HeaderSize + Load16(&p[4]);
  if (info.total_length > p.size()) return std::nullopt;  // jumbograms (RFC 2675) unsupported
  info.source = IpAddress::FromV6Bytes(&p[8]);
  info.destination = IpAddress::FromV6Bytes(&p[24]);
  uint8_t next = p[6];
  size_t offset = kIpv6HeaderSize;
  for (size_t n = 0;; ++n) {
    if (n > kMaxExtensionHeaders) return std::nullopt;
    if (next == kNextHeaderHopByHop || next == kNextHeaderRouting ||
        next == kNextHeaderDestOptions) {
      // RFC 8200 §4.3-4.6: Next Header, Hdr Ext Len in 8-octet units not counting the first.
      if (info.total_length - offset < 8) return std::nullopt;
      const size_t len = (size_t{p[offset + 1]} + 1) * 8;
      if (info.total_length - offset < len) return std::nullopt;
      next = p[offset];
      offset += len;
    } else if (next == kNextHeaderFragment) {
      // RFC 8200 §4.5: 8 octets; offset in the top 13 bits of octets 2-3, M flag bit 0.
      if (info.total_length - offset < 8) return std::nullopt;
      const uint16_t frag = Load16(&p[offset + 2]);
      info.is_fragment = true;
      info.is_first_fragment = (frag & 0xFFF8) == 0;
      next = p[offset];
      offset += 8;
    } else {
      break;
    }
  }
  info.header_length = offset;
  info.protocol = next;
  if (info.is_first_fragment) {
    ReadPorts(p.data() + offset, info.total_length - offset, info);
  }
  return info;
}

}  // namespace

int IpVersion(ByteSpan packet) {
  if (packet.empty()) return 0;
  const int v = packet[0] >> 4;
  return v == 4 || v == 6 ? v : 0;
}

std::optional<IpPacketInfo> ParseIpPacket(ByteSpan packet) {
  switch (IpVersion(packet)) {
    case 4:
      return ParseIpv4(packet);
    case 6:
      return ParseIpv6(packet);
    default:
      return std::nullopt;
  }
}

}  // namespace ipsec::engine::esp
