#include "engine/esp/udp_encap.h"

#include <cstring>

#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"

namespace ipsec::engine::esp {

bool WriteUdpEncapHeader(uint8_t* out, uint16_t source_port, uint16_t destination_port,
                         size_t esp_length) {
  if (esp_length > 0xFFFF - kUdpEncapHeaderSize) return false;
  Store16(out, source_port);
  Store16(out + 2, destination_port);
  Store16(out + 4, static_cast<uint16_t>(esp_length + kUdpEncapHeaderSize));
  Store16(out + 6, 0);  // RFC 3948 §2.1: the checksum SHOULD be zero (IPv4)
  return true;
}

bool WriteUdpEncapHeaderV6(uint8_t* out, uint16_t source_port, uint16_t destination_port,
                           size_t esp_length, const IpAddress& source,
                           const IpAddress& destination) {
  if (source.is_v4() || destination.is_v4()) return false;
  if (!WriteUdpEncapHeader(out, source_port, destination_port, esp_length)) return false;
  // RFC 8200 §8.1: pseudo-header (addresses, upper-layer length, next header) + UDP datagram.
  const size_t udp_length = esp_length + kUdpEncapHeaderSize;
  const auto s = source.ToBytes(), d = destination.ToBytes();
  uint32_t sum = ChecksumAdd(0, ByteSpan(s.data(), 16));
  sum = ChecksumAdd(sum, ByteSpan(d.data(), 16));
  uint8_t tail[8] = {};
  Store32(tail, static_cast<uint32_t>(udp_length));
  tail[7] = kNextHeaderUdp;
  sum = ChecksumAdd(sum, ByteSpan(tail, 8));
  sum = ChecksumAdd(sum, ByteSpan(out, udp_length));
  uint16_t checksum = ChecksumFinish(sum);
  if (checksum == 0) checksum = 0xFFFF;  // RFC 768
  Store16(out + 6, checksum);
  return true;
}

bool WriteIpv4Header(uint8_t* out, const IpAddress& source, const IpAddress& destination,
                     uint8_t protocol, size_t payload_length, uint16_t identification,
                     bool dont_fragment) {
  if (!source.is_v4() || !destination.is_v4()) return false;
  if (payload_length > 0xFFFF - kIpv4HeaderSize) return false;
  // RFC 791 §3.1.
  out[0] = 0x45;
  out[1] = 0;
  Store16(out + 2, static_cast<uint16_t>(payload_length + kIpv4HeaderSize));
  Store16(out + 4, identification);
  Store16(out + 6, dont_fragment ? 0x4000 : 0);
  out[8] = 64;
  out[9] = protocol;
  const auto s = source.ToBytes(), d = destination.ToBytes();
  std::memcpy(out + 12, s.data(), 4);
  std::memcpy(out + 16, d.data(), 4);
  SetIpv4HeaderChecksum(out, kIpv4HeaderSize);
  return true;
}

bool WriteIpv6Header(uint8_t* out, const IpAddress& source, const IpAddress& destination,
                     uint8_t next_header, size_t payload_length) {
  if (source.is_v4() || destination.is_v4() || payload_length > 0xFFFF) return false;
  // RFC 8200 §3.
  Store32(out, 0x6000'0000);
  Store16(out + 4, static_cast<uint16_t>(payload_length));
  out[6] = next_header;
  out[7] = 64;
  const auto s = source.ToBytes(), d = destination.ToBytes();
  std::memcpy(out + 8, s.data(), 16);
  std::memcpy(out + 24, d.data(), 16);
  return true;
}

}  // namespace ipsec::engine::esp
