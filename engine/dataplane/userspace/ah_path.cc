// The userspace data path's AH (RFC 4302) packets: Pipeline::OutboundAh and
// Pipeline::InboundAh (declared in pipeline.h), kept apart from the ESP path.
//
// AH's ICV covers the IP header's immutable fields (RFC 4302 §3.3.3.1), so both directions work
// on whole IP packets: outbound, the protected packet leaves whole through PacketIo::SendClear
// (a header-included raw socket: the kernel writes nothing the ICV covers as long as the IPv4
// identification is not zero, see below); inbound, AhSockets (ah_io.h) hands over the whole
// packet, the IPv6 header rebuilt (RFC 4302 §3.3.3: the receiver computes the ICV over the
// packet as it arrived, mutable fields zeroed). AH is never UDP-encapsulated (SaTable refuses
// AH with a NAT in the way).

#include <atomic>
#include <ctime>
#include <variant>

#include "engine/dataplane/userspace/pipeline.h"
#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/udp_encap.h"

namespace ipsec::engine::dataplane::userspace {

// A non-zero IPv4 identification. RFC 4302 §3.3.3.1.1.1 counts the identification among the
// immutable fields, and Linux fills a zero identification of a header-included raw packet
// after we computed the ICV (raw_send_hdrinc), which the receiver's ICV would then not match.
// Packets sent with DF may carry any identification (RFC 6864 §4.1); a per-thread counter
// keeps them distinct enough for reassembly otherwise.
uint16_t Pipeline::NextIpv4Identification() {
  thread_local uint16_t next = static_cast<uint16_t>(std::time(nullptr) * 2654435761u >> 7);
  ++next;
  if (next == 0) ++next;
  return next;
}

void Pipeline::OutboundAh(WorkerContext& w, const SaState& sa, uint8_t* buffer, size_t capacity,
                          size_t length, size_t fragment_size) {
  uint8_t* packet = buffer + kHeadroom;
  size_t start = kHeadroom;
  size_t total = length;
  if (sa.config.mode == SaMode::kTunnel) {
    // RFC 4302 §3.1.2: a new outer header from the SA's endpoints, AH after it, the whole
    // inner packet as AH's payload (next header 4 or 41).
    const bool inner_v4 = (packet[0] >> 4) == 4;
    const uint8_t next = inner_v4 ? esp::kNextHeaderIpv4 : esp::kNextHeaderIpv6;
    const IpAddress& local = sa.config.local.address;
    const IpAddress& remote = sa.config.remote.address;
    const size_t h = remote.is_v4() ? esp::kIpv4HeaderSize : esp::kIpv6HeaderSize;
    start -= h;
    const bool ok = remote.is_v4()
                        ? esp::WriteIpv4Header(buffer + start, local, remote, next, length,
                                               NextIpv4Identification(), false)
                        : esp::WriteIpv6Header(buffer + start, local, remote, next, length);
    if (!ok) return Count(w.index, DropReason::kMalformed);
    total += h;
  } else if ((packet[0] >> 4) == 4 && esp::Load16(packet + 4) == 0) {
    // Transport mode keeps the pod's own header: give it an identification (see above); the
    // header checksum is redone by AhOutboundSa::Protect.
    esp::Store16(packet + 4, NextIpv4Identification());
  }
  auto p = sa.ah_outbound->Protect(w.index, buffer, capacity, start, total);
  if (!p.ok()) {
    // A fragment or an IPv6 routing header in use (kUnimplemented), an exhausted counter:
    // not sendable with this SA.
    return Count(w.index, p.error().code == ErrorCode::kUnimplemented ? DropReason::kMalformed
                                                                      : DropReason::kSendError);
  }
  Account(w, sa, TrafficDirection::kOutbound, length);
  // RFC 4302 §3.3.2/RFC 4301 §7: fragmentation, if any, after AH processing.
  SendClear(w, buffer + p->offset, p->length, fragment_size);
}

void Pipeline::InboundAh(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t offset,
                         size_t length) {
  (void)capacity;
  uint8_t* packet = buffer + offset;
  // The SPI, to find the SA: AH right after the base header (AhSockets rebuilds IPv6 packets
  // that way; extension headers before AH are refused there).
  if (length < esp::kIpv4HeaderSize) return Count(w.index, DropReason::kMalformed);
  size_t ah_at;
  if ((packet[0] >> 4) == 4) {
    ah_at = size_t{packet[0] & 0x0Fu} * 4;
    if (packet[9] != esp::kNextHeaderAh) return Count(w.index, DropReason::kMalformed);
  } else if ((packet[0] >> 4) == 6 && length >= esp::kIpv6HeaderSize) {
    ah_at = esp::kIpv6HeaderSize;
    if (packet[6] != esp::kNextHeaderAh) return Count(w.index, DropReason::kMalformed);
  } else {
    return Count(w.index, DropReason::kMalformed);
  }
  if (ah_at < esp::kIpv4HeaderSize || length < ah_at + 12) {
    return Count(w.index, DropReason::kMalformed);
  }
  const uint32_t spi = esp::Load32(packet + ah_at + 4);  // RFC 4302 §2: SPI at octet 4
  auto it = w.snapshot->inbound.find(spi);
  if (it == w.snapshot->inbound.end() || !it->second->ah_inbound) {
    return Count(w.index, DropReason::kNoSa);
  }
  const SaState& sa = *it->second;
  if (sa.Expired()) return Count(w.index, DropReason::kExpired);  // RFC 4301 §4.4.2.1
  // RFC 4302 §3.4: window check, ICV over the packet with the mutable fields zeroed (§3.3.3.1),
  // commit, AH removed in place.
  auto r = sa.ah_inbound->Unprotect(w.index, packet, length);
  if (auto* d = std::get_if<esp::DropReason>(&r)) return Count(w.index, FromEsp(*d));
  const auto& u = std::get<esp::AhInboundSa::Unprotected>(r);
  // FAQ 46: a bundled AH SA carries its child SA's ESP, nothing else (bundle_path.cc).
  if (sa.config.bundle) return InboundBundledEsp(w, sa, buffer, offset, u);
  uint8_t* inner;
  size_t inner_length;
  if (sa.config.mode == SaMode::kTunnel) {
    if (u.next_header != esp::kNextHeaderIpv4 && u.next_header != esp::kNextHeaderIpv6) {
      return Count(w.index, DropReason::kMalformed);
    }
    inner = packet + u.payload_offset;
    inner_length = u.offset + u.length - u.payload_offset;
  } else {
    // Transport mode: the packet without AH is the pod's packet (RFC 4302 §3.1.1).
    inner = packet + u.offset;
    inner_length = u.length;
  }
  DeliverInner(w, sa, inner, inner_length);
}

}  // namespace ipsec::engine::dataplane::userspace
