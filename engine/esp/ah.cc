#include "engine/esp/ah.h"

#include <cstring>
#include <optional>

#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/sa_crypto.h"

namespace ipsec::engine::esp {
namespace {

constexpr uint8_t kZeros[256] = {};
constexpr size_t kMaxExtensionHeaders = 16;

// Where AH sits (or goes) in an IP packet.
struct AhPlace {
  bool ipv6 = false;
  size_t insert_offset = 0;      // end of the headers AH follows
  size_t next_field_offset = 0;  // the octet that names what follows them
  size_t total_length = 0;       // the IP length fields' view of the packet
};

enum class PlaceError { kMalformed, kUnsupported };

// RFC 4302 §3.1: AH follows the IPv4 header, or the IPv6 header and its hop-by-hop, routing
// and fragment headers (destination options that precede a routing header go before too).
// `find_ah`: walk until AH (inbound) instead of to the insertion point (outbound).
std::variant<AhPlace, PlaceError> Locate(const uint8_t* p, size_t length, bool find_ah) {
  std::optional<IpPacketInfo> info = ParseIpPacket(ByteSpan(p, length));
  if (!info) return PlaceError::kMalformed;
  AhPlace place;
  place.total_length = info->total_length;
  if (info->family == IpFamily::kV4) {
    if (info->is_fragment) return PlaceError::kUnsupported;  // AH needs the whole datagram
    place.insert_offset = size_t{p[0] & 0x0Fu} * 4;
    place.next_field_offset = 9;
    if (find_ah && p[9] != kNextHeaderAh) return PlaceError::kMalformed;
    return place;
  }
  place.ipv6 = true;
  size_t offset = kIpv6HeaderSize;
  size_t field = 6;
  for (size_t n = 0; n <= kMaxExtensionHeaders; ++n) {
    const uint8_t next = p[field];
    if (find_ah && next == kNextHeaderAh) break;
    const bool ext =
        next == kNextHeaderHopByHop || next == kNextHeaderRouting || next == kNextHeaderDestOptions;
    if (next == kNextHeaderFragment) return PlaceError::kUnsupported;
    if (!ext) {
      if (find_ah) return PlaceError::kMalformed;
      break;
    }
    if (place.total_length - offset < 8) return PlaceError::kMalformed;
    const size_t len = (size_t{p[offset + 1]} + 1) * 8;
    if (place.total_length - offset < len) return PlaceError::kMalformed;
    if (!find_ah && next == kNextHeaderDestOptions) {
      // Outbound: destination options go after AH unless a routing header follows them.
      if (p[offset] != kNextHeaderRouting) break;
    }
    field = offset;
    offset += len;
  }
  place.insert_offset = offset;
  place.next_field_offset = field;
  return place;
}

// RFC 4302 Appendix A1: IPv4 options that do not change in transit; all others are zeroed.
bool ImmutableIpv4Option(uint8_t type) {
  return type == 0 || type == 1 || type == 130 || type == 133 || type == 134 || type == 148 ||
         type == 149;
}

// Feeds the IP header(s) `p[0, header_length)` to the MAC with the mutable fields as zeros
// (RFC 4302 §3.3.3.1). False: malformed options, or an IPv6 routing header still in transit.
std::optional<DropReason> FeedIpHeaders(crypto::Integrity& mac, const uint8_t* p,
                                        size_t header_length, bool ipv6) {
  if (!ipv6) {
    // RFC 4302 §3.3.3.1.1.1: TOS, flags, fragment offset, TTL, checksum are mutable.
    uint8_t copy[60];
    std::memcpy(copy, p, header_length);
    copy[1] = 0;
    copy[6] = copy[7] = 0;
    copy[8] = 0;
    copy[10] = copy[11] = 0;
    for (size_t i = kIpv4HeaderSize; i < header_length;) {
      const uint8_t type = copy[i];
      if (type == 0) break;  // end of option list
      if (type == 1) {
        ++i;
        continue;
      }
      if (header_length - i < 2 || copy[i + 1] < 2 || copy[i + 1] > header_length - i) {
        return DropReason::kMalformed;
      }
      const size_t len = copy[i + 1];
      if (!ImmutableIpv4Option(type)) std::memset(copy + i, 0, len);  // §3.3.3.1.1.2
      i += len;
    }
    if (!mac.Update(ByteSpan(copy, header_length)).ok()) return DropReason::kInternal;
    return std::nullopt;
  }
  // RFC 4302 §3.3.3.1.2.1: traffic class, flow label and hop limit are mutable.
  uint8_t base[kIpv6HeaderSize];
  std::memcpy(base, p, kIpv6HeaderSize);
  base[0] &= 0xF0;
  base[1] = base[2] = base[3] = 0;
  base[7] = 0;
  if (!mac.Update(ByteSpan(base, kIpv6HeaderSize)).ok()) return DropReason::kInternal;
  uint8_t type = p[6];
  for (size_t offset = kIpv6HeaderSize; offset < header_length;) {
    const size_t len = (size_t{p[offset + 1]} + 1) * 8;  // Locate() checked the bounds
    if (type == kNextHeaderRouting) {
      // RFC 4302 §3.3.3.1.2.2: the routing header's fields are as at the destination; with no
      // segments left they are as sent. Anything else needs the destination's view: not done.
      if (p[offset + 3] != 0) return DropReason::kUnsupported;
      if (!mac.Update(ByteSpan(p + offset, len)).ok()) return DropReason::kInternal;
    } else {
      // Hop-by-hop/destination options, RFC 8200 §4.2: an option whose type has bit 0x20 set
      // may change en route; its data counts as zeros (RFC 4302 §3.3.3.1.2.2).
      if (!mac.Update(ByteSpan(p + offset, 2)).ok()) return DropReason::kInternal;
      for (size_t i = 2; i < len;) {
        const uint8_t opt = p[offset + i];
        if (opt == 0) {  // Pad1
          if (!mac.Update(ByteSpan(p + offset + i, 1)).ok()) return DropReason::kInternal;
          ++i;
          continue;
        }
        if (len - i < 2 || p[offset + i + 1] > len - i - 2) return DropReason::kMalformed;
        const size_t data = p[offset + i + 1];
        if (!mac.Update(ByteSpan(p + offset + i, 2)).ok() ||
            !mac.Update(ByteSpan((opt & 0x20) ? kZeros : p + offset + i + 2, data)).ok()) {
          return DropReason::kInternal;
        }
        i += 2 + data;
      }
    }
    type = p[offset];
    offset += len;
  }
  return std::nullopt;
}

// ICV over the packet as it is on the wire with AH's ICV field zeroed (RFC 4302 §3.3.3),
// plus the ESN high half appended (RFC 4302 §2.5.1, §3.3.3.2.2 — as RFC 4303 does).
std::optional<DropReason> FeedAhIcv(crypto::Integrity& mac, const uint8_t* p, const AhPlace& place,
                                    bool esn, uint32_t seq_high) {
  if (!mac.Begin().ok()) return DropReason::kInternal;
  if (auto d = FeedIpHeaders(mac, p, place.insert_offset, place.ipv6)) return d;
  if (!mac.Update(ByteSpan(p + place.insert_offset, place.total_length - place.insert_offset))
           .ok()) {
    return DropReason::kInternal;
  }
  if (esn) {
    uint8_t high[4];
    Store32(high, seq_high);
    if (!mac.Update(ByteSpan(high, 4)).ok()) return DropReason::kInternal;
  }
  return std::nullopt;
}

// Adds `delta` to the IP length field and refreshes the IPv4 header checksum.
void AdjustLength(uint8_t* p, bool ipv6, size_t ip_header_length, int delta) {
  uint8_t* field = p + (ipv6 ? 4 : 2);
  Store16(field, static_cast<uint16_t>(Load16(field) + delta));
  if (!ipv6) SetIpv4HeaderChecksum(p, ip_header_length);
}

}  // namespace

size_t AhHeaderSize(size_t icv_size, bool ipv6) {
  const size_t align = ipv6 ? 8 : 4;  // RFC 4302 §3.3.3.2.1
  return (kAhFixedSize + icv_size + align - 1) / align * align;
}

// ---- Outbound ----------------------------------------------------------------------------------

Result<std::unique_ptr<AhOutboundSa>> AhOutboundSa::Create(const SaParams& params) {
  if (params.protocol != Protocol::kAh) {
    return MakeError(ErrorCode::kInvalidArgument, "AhOutboundSa needs protocol AH");
  }
  Result<ResolvedTransform> resolved = ResolveTransform(params.protocol, params.transform);
  if (!resolved.ok()) return resolved.error();
  Result<std::unique_ptr<SaCrypto>> crypto =
      SaCrypto::Create(*resolved, params.transform, params.workers, /*outbound=*/false);
  if (!crypto.ok()) return crypto.error();
  return std::unique_ptr<AhOutboundSa>(
      new AhOutboundSa(params, std::move(resolved).value(), std::move(crypto).value()));
}

AhOutboundSa::AhOutboundSa(const SaParams& params, ResolvedTransform transform,
                           std::unique_ptr<SaCrypto> crypto)
    : spi_(params.spi),
      esn_(params.transform.esn),
      transform_(std::move(transform)),
      crypto_(std::move(crypto)) {}

AhOutboundSa::~AhOutboundSa() = default;

Result<AhOutboundSa::Protected> AhOutboundSa::Protect(unsigned worker, uint8_t* buffer,
                                                      size_t capacity, size_t packet_offset,
                                                      size_t packet_length) {
  auto invalid = [](const char* m) { return MakeError(ErrorCode::kInvalidArgument, m); };
  if (worker >= crypto_->workers()) return invalid("worker index out of range");
  if (buffer == nullptr || capacity < packet_offset || capacity - packet_offset < packet_length) {
    return invalid("packet outside the buffer");
  }
  uint8_t* p = buffer + packet_offset;
  auto located = Locate(p, packet_length, /*find_ah=*/false);
  if (auto* e = std::get_if<PlaceError>(&located)) {
    return *e == PlaceError::kUnsupported ? MakeError(ErrorCode::kUnimplemented, "AH on a fragment")
                                          : invalid("not a well-formed IP packet");
  }
  AhPlace place = std::get<AhPlace>(located);
  const size_t ah_size = AhHeaderSize(transform_.icv_size, place.ipv6);
  if (packet_offset < ah_size) return invalid("too little headroom for AH");
  if (place.total_length + ah_size > 0xFFFF + (place.ipv6 ? kIpv6HeaderSize : 0)) {
    return invalid("packet too long for AH");
  }

  const uint64_t seq = counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (seq == 0 || (!esn_ && seq > kMaxSequence32)) {  // RFC 4302 §3.3.2
    return MakeError(ErrorCode::kFailedPrecondition,
                     "AH sequence number would cycle: the SA must be rekeyed");
  }

  // Move the headers AH follows to the front, then write AH (RFC 4302 §2) after them.
  uint8_t* out = p - ah_size;
  std::memmove(out, p, place.insert_offset);
  uint8_t* ah = out + place.insert_offset;
  const uint8_t next_header = out[place.next_field_offset];
  ah[0] = next_header;
  ah[1] = static_cast<uint8_t>(ah_size / 4 - 2);  // RFC 4302 §2.2
  ah[2] = ah[3] = 0;
  Store32(ah + 4, spi_);
  Store32(ah + 8, static_cast<uint32_t>(seq));
  std::memset(ah + kAhFixedSize, 0, ah_size - kAhFixedSize);  // ICV and padding zero
  out[place.next_field_offset] = kNextHeaderAh;
  const size_t ip_header_length = place.ipv6 ? kIpv6HeaderSize : place.insert_offset;
  AdjustLength(out, place.ipv6, ip_header_length, static_cast<int>(ah_size));
  place.total_length += ah_size;

  crypto::Integrity& mac = *crypto_->worker(worker).integrity;
  uint8_t icv[64];
  if (auto d = FeedAhIcv(mac, out, place, esn_, static_cast<uint32_t>(seq >> 32))) {
    if (*d == DropReason::kUnsupported) {
      return MakeError(ErrorCode::kUnimplemented, "AH over an IPv6 routing header in transit");
    }
    return *d == DropReason::kMalformed ? invalid("malformed IP options")
                                        : MakeError(ErrorCode::kInternal, "AH protect: crypto");
  }
  if (!mac.Finish(icv).ok()) return MakeError(ErrorCode::kInternal, "AH protect: crypto");
  std::memcpy(ah + kAhFixedSize, icv, transform_.icv_size);

  Protected result;
  result.offset = packet_offset - ah_size;
  result.length = place.total_length;
  result.sequence = seq;
  result.rekey_due = seq >= (esn_ ? kEsnRekeyThreshold : kSeqRekeyThreshold);
  return result;
}

// ---- Inbound -----------------------------------------------------------------------------------

Result<std::unique_ptr<AhInboundSa>> AhInboundSa::Create(const SaParams& params) {
  if (params.protocol != Protocol::kAh) {
    return MakeError(ErrorCode::kInvalidArgument, "AhInboundSa needs protocol AH");
  }
  Result<ResolvedTransform> resolved = ResolveTransform(params.protocol, params.transform);
  if (!resolved.ok()) return resolved.error();
  Result<std::unique_ptr<SaCrypto>> crypto =
      SaCrypto::Create(*resolved, params.transform, params.workers, /*outbound=*/false);
  if (!crypto.ok()) return crypto.error();
  return std::unique_ptr<AhInboundSa>(
      new AhInboundSa(params, std::move(resolved).value(), std::move(crypto).value()));
}

AhInboundSa::AhInboundSa(const SaParams& params, ResolvedTransform transform,
                         std::unique_ptr<SaCrypto> crypto)
    : spi_(params.spi),
      esn_(params.transform.esn),
      transform_(std::move(transform)),
      crypto_(std::move(crypto)),
      window_(params.replay_window, params.transform.esn) {}

AhInboundSa::~AhInboundSa() = default;

uint64_t AhInboundSa::highest_sequence() const {
  std::lock_guard<std::mutex> lock(window_lock_);
  return window_.top();
}

std::variant<AhInboundSa::Unprotected, DropReason> AhInboundSa::Unprotect(unsigned worker,
                                                                          uint8_t* packet,
                                                                          size_t length) {
  if (worker >= crypto_->workers()) return DropReason::kInternal;
  if (packet == nullptr) return DropReason::kMalformed;
  auto located = Locate(packet, length, /*find_ah=*/true);
  if (auto* e = std::get_if<PlaceError>(&located)) {
    return *e == PlaceError::kUnsupported ? DropReason::kUnsupported : DropReason::kMalformed;
  }
  const AhPlace place = std::get<AhPlace>(located);
  const size_t ah_size = AhHeaderSize(transform_.icv_size, place.ipv6);
  if (place.total_length - place.insert_offset < ah_size) return DropReason::kMalformed;
  uint8_t* ah = packet + place.insert_offset;
  // RFC 4302 §2.2: the length must be ours (an ICV of another size is another transform).
  if (size_t{ah[1]} + 2 != ah_size / 4) return DropReason::kMalformed;
  if (Load32(ah + 4) != spi_) return DropReason::kMalformed;

  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(window_lock_);
    std::optional<uint64_t> inferred = window_.Infer(Load32(ah + 8));
    if (!inferred || !window_.Check(*inferred)) return DropReason::kReplay;
    seq = *inferred;
  }

  // RFC 4302 §3.4.4: save the ICV, zero the field, recompute, compare.
  uint8_t received[kMaxIcvSize];
  std::memcpy(received, ah + kAhFixedSize, transform_.icv_size);
  std::memset(ah + kAhFixedSize, 0, ah_size - kAhFixedSize);
  crypto::Integrity& mac = *crypto_->worker(worker).integrity;
  if (auto d = FeedAhIcv(mac, packet, place, esn_, static_cast<uint32_t>(seq >> 32))) return *d;
  if (!mac.FinishAndVerify(ByteSpan(received, transform_.icv_size))) {
    return DropReason::kIntegrity;
  }
  {
    std::lock_guard<std::mutex> lock(window_lock_);
    if (!window_.CheckAndCommit(seq)) return DropReason::kReplay;
  }

  // Remove AH: the headers before it move forward over it.
  const uint8_t next_header = ah[0];
  packet[place.next_field_offset] = next_header;
  std::memmove(packet + ah_size, packet, place.insert_offset);
  uint8_t* out = packet + ah_size;
  const size_t ip_header_length = place.ipv6 ? kIpv6HeaderSize : place.insert_offset;
  AdjustLength(out, place.ipv6, ip_header_length, -static_cast<int>(ah_size));

  Unprotected result;
  result.offset = ah_size;
  result.length = place.total_length - ah_size;
  result.payload_offset = ah_size + place.insert_offset;
  result.next_header = next_header;
  result.sequence = seq;
  return result;
}

}  // namespace ipsec::engine::esp
