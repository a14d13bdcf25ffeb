#include "engine/esp/checksum.h"

#include <array>

#include "engine/esp/esp_wire.h"
#include "engine/esp/ip_packet.h"

namespace ipsec::engine::esp {
namespace {

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The address bytes of `a` as they appear in its header: 4 for IPv4, 16 for IPv6.
ByteSpan AddressBytes(const std::array<uint8_t, 16>& bytes, const IpAddress& a) {
  return ByteSpan(bytes.data(), a.is_v4() ? 4 : 16);
}

// Where the TCP/UDP checksum of the parsed packet is, or nullptr.
uint8_t* TransportChecksumField(uint8_t* packet, const IpPacketInfo& info) {
  if (info.is_fragment) return nullptr;
  const size_t l4_length = info.total_length - info.header_length;
  uint8_t* l4 = packet + info.header_length;
  if (info.protocol == kNextHeaderTcp && l4_length >= 20) return l4 + 16;  // RFC 9293 §3.1
  if (info.protocol == kNextHeaderUdp && l4_length >= 8) return l4 + 6;    // RFC 768
  return nullptr;
}

}  // namespace

uint32_t ChecksumAdd(uint32_t sum, ByteSpan data) {
  // RFC 1071 §4.1, in 64-bit accumulation; odd trailing octet padded with zero.
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) acc += uint32_t{data[i]} << 8 | data[i + 1];
  if (i < data.size()) acc += uint32_t{data[i]} << 8;
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<uint32_t>(acc);
}

uint16_t ChecksumFinish(uint32_t sum) { return static_cast<uint16_t>(~Fold(sum)); }

uint16_t ChecksumUpdate(uint16_t checksum, ByteSpan old_bytes, ByteSpan new_bytes) {
  // RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m'), 16 bits at a time.
  uint32_t sum = static_cast<uint16_t>(~checksum);
  for (size_t i = 0; i + 1 < old_bytes.size(); i += 2) {
    sum += static_cast<uint16_t>(~Load16(&old_bytes[i]));
  }
  sum = ChecksumAdd(sum, new_bytes);
  return ChecksumFinish(sum);
}

void SetIpv4HeaderChecksum(uint8_t* header, size_t header_length) {
  header[10] = header[11] = 0;
  Store16(header + 10, InternetChecksum(ByteSpan(header, header_length)));
}

bool FixTransportChecksum(uint8_t* packet, size_t length, const IpAddress& original_source,
                          const IpAddress& original_destination) {
  std::optional<IpPacketInfo> info = ParseIpPacket(ByteSpan(packet, length));
  if (!info || original_source.family() != info->family ||
      original_destination.family() != info->family) {
    return false;
  }
  uint8_t* field = TransportChecksumField(packet, *info);
  if (field == nullptr) return false;
  const uint16_t old = Load16(field);
  // RFC 768: an IPv4 UDP checksum of zero means none was computed.
  if (info->protocol == kNextHeaderUdp && info->family == IpFamily::kV4 && old == 0) return true;
  // The pseudo-header addresses changed from the originals to the current ones.
  const auto os = original_source.ToBytes(), od = original_destination.ToBytes();
  const auto ns = info->source.ToBytes(), nd = info->destination.ToBytes();
  uint16_t updated =
      ChecksumUpdate(old, AddressBytes(os, original_source), AddressBytes(ns, info->source));
  updated = ChecksumUpdate(updated, AddressBytes(od, original_destination),
                           AddressBytes(nd, info->destination));
  // RFC 768: a computed UDP checksum of zero is sent as all ones.
  if (info->protocol == kNextHeaderUdp && updated == 0) updated = 0xFFFF;
  Store16(field, updated);
  return true;
}

bool RecomputeTransportChecksum(uint8_t* packet, size_t length) {
  std::optional<IpPacketInfo> info = ParseIpPacket(ByteSpan(packet, length));
  if (!info) return false;
  uint8_t* field = TransportChecksumField(packet, *info);
  if (field == nullptr) return false;
  const size_t l4_length = info->total_length - info->header_length;
  // Pseudo-header: RFC 793 §3.1 / RFC 768 (IPv4), RFC 8200 §8.1 (IPv6).
  const auto s = info->source.ToBytes(), d = info->destination.ToBytes();
  uint32_t sum = ChecksumAdd(0, AddressBytes(s, info->source));
  sum = ChecksumAdd(sum, AddressBytes(d, info->destination));
  uint8_t tail[8] = {};
  if (info->family == IpFamily::kV4) {
    tail[1] = info->protocol;
    Store16(tail + 2, static_cast<uint16_t>(l4_length));
    sum = ChecksumAdd(sum, ByteSpan(tail, 4));
  } else {
    Store32(tail, static_cast<uint32_t>(l4_length));
    tail[7] = info->protocol;
    sum = ChecksumAdd(sum, ByteSpan(tail, 8));
  }
  field[0] = field[1] = 0;
  sum = ChecksumAdd(sum, ByteSpan(packet + info->header_length, l4_length));
  uint16_t checksum = ChecksumFinish(sum);
  if (info->protocol == kNextHeaderUdp && checksum == 0) checksum = 0xFFFF;
  Store16(field, checksum);
  return true;
}

}  // namespace ipsec::engine::esp
