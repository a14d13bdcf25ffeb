#include "engine/ike/codec/ts_payload.h"

#include <array>
#include <cassert>
#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {
namespace {

constexpr size_t kSelectorHeaderSize = 4;

// `r` covers one selector after its 4-octet header.
Status DecodeAddressRange(ByteReader& r, TrafficSelector& ts) {
  const bool v4 = ts.type == TsType::kIpv4AddrRange;
  const size_t address_size = v4 ? 4 : 16;
  ByteSpan start, end;
  if (!r.ReadUint16(&ts.start_port) || !r.ReadUint16(&ts.end_port) ||
      !r.ReadBytes(address_size, &start) || !r.ReadBytes(address_size, &end) || !r.Done()) {
    return MakeCodecError(CodecError::kBadLength, "selector length");
  }
  ts.start = v4 ? IpAddress::FromV4Bytes(start.data()) : IpAddress::FromV6Bytes(start.data());
  ts.end = v4 ? IpAddress::FromV4Bytes(end.data()) : IpAddress::FromV6Bytes(end.data());
  return Status::Ok();
}

Result<TrafficSelector> DecodeSelector(ByteReader& r) {
  TrafficSelector ts;
  uint8_t type = 0;
  uint16_t length = 0;
  if (!r.ReadUint8(&type) || !r.ReadUint8(&ts.ip_protocol) || !r.ReadUint16(&length)) {
    return MakeCodecError(CodecError::kTruncated, "selector header");
  }
  ts.type = static_cast<TsType>(type);
  ByteReader sub(ByteSpan{});
  if (length < kSelectorHeaderSize || !r.Sub(length - kSelectorHeaderSize, &sub)) {
    return MakeCodecError(CodecError::kBadLength, "Selector Length " + std::to_string(length));
  }
  if (!ts.is_address_range()) {
    ByteSpan rest = sub.ReadRemaining();
    ts.opaque.assign(rest.begin(), rest.end());
    ts.end_port = 0;
    return ts;
  }
  Status s = DecodeAddressRange(sub, ts);
  if (!s.ok()) return s.error();
  return ts;
}

}  // namespace

TrafficSelector TrafficSelector::FromRange(const IpRange& range, uint8_t ip_protocol,
                                           uint16_t start_port, uint16_t end_port) {
  TrafficSelector ts;
  ts.type = range.family() == IpFamily::kV4 ? TsType::kIpv4AddrRange : TsType::kIpv6AddrRange;
  ts.ip_protocol = ip_protocol;
  ts.start_port = start_port;
  ts.end_port = end_port;
  ts.start = range.first;
  ts.end = range.last;
  return ts;
}

Result<TsPayload> DecodeTsPayload(ByteSpan body) {
  ByteReader r(body);
  uint8_t count = 0;
  if (!r.ReadUint8(&count) || !r.Skip(3))
    return MakeCodecError(CodecError::kTruncated, "TS header");
  if (count > kMaxTrafficSelectors) {
    return MakeCodecError(CodecError::kTooLarge, std::to_string(count) + " selectors");
  }
  TsPayload ts;
  for (size_t i = 0; i < count; ++i) {
    Result<TrafficSelector> s = DecodeSelector(r);
    if (!s.ok()) return s.error().WithPathPrefix("/selectors/" + std::to_string(i));
    ts.selectors.push_back(std::move(s).value());
  }
  if (!r.Done()) {
    return MakeCodecError(CodecError::kBadLength,
                          std::to_string(r.Remaining()) + " octets after the last selector");
  }
  return ts;
}

void EncodeTsPayload(const TsPayload& ts, ByteWriter& out) {
  assert(ts.selectors.size() <= 0xff);
  out.WriteUint8(static_cast<uint8_t>(ts.selectors.size()));
  out.WriteZeros(3);
  for (const TrafficSelector& s : ts.selectors) {
    out.WriteUint8(static_cast<uint8_t>(s.type));
    out.WriteUint8(s.ip_protocol);
    if (!s.is_address_range()) {
      out.WriteUint16(static_cast<uint16_t>(kSelectorHeaderSize + s.opaque.size()));
      out.WriteBytes(s.opaque);
      continue;
    }
    const bool v4 = s.type == TsType::kIpv4AddrRange;
    assert(s.start.is_v4() == v4 && s.end.is_v4() == v4);
    out.WriteUint16(static_cast<uint16_t>(v4 ? kTs4Size : kTs6Size));
    out.WriteUint16(s.start_port);
    out.WriteUint16(s.end_port);
    const size_t n = v4 ? 4 : 16;
    const std::array<uint8_t, 16> start = s.start.ToBytes();
    const std::array<uint8_t, 16> end = s.end.ToBytes();
    out.WriteBytes(ByteSpan(start.data(), n));
    out.WriteBytes(ByteSpan(end.data(), n));
  }
}

}  // namespace ipsec::engine::ike::codec
