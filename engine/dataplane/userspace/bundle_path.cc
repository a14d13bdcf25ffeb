// The userspace data path's AH+ESP bundle (FAQ 46; RFC 4301 §4.5: ESP inner, AH outer):
// Pipeline::OutboundBundle and Pipeline::InboundBundledEsp (declared in pipeline.h).
//
// A bundled child SA is four SAs under one reqid, all with SaConfig::bundle: ESP and AH, each
// inbound and outbound, same mode and endpoints, never UDP-encapsulated (RFC 3715 §2.1).
//
// Outbound, whichever bundled SA the policy lookup found, the packet goes out through the
// reqid's newest bundled ESP SA and its newest bundled AH SA (SaTable::NewestBundled; during a
// rekey each protocol switches when its new SA is added):
//   RFC 4303 §3.1: ESP on the payload (transport: the upper-layer part; tunnel: the whole
//     packet), then the IP header in front of the ESP packet, protocol 50: transport, the
//     pod's own base header (options and IPv6 extension headers are not carried, as on the
//     ESP path, where the kernel writes the header); tunnel, the outer header from the SA's
//     endpoints (WriteIpv4Header/WriteIpv6Header);
//   RFC 4302 §3.1: AH after that header, over the whole ESP packet and the header's immutable
//     fields; the result leaves whole through PacketIo::SendClear like AH (ah_path.cc: the
//     IPv4 identification, re-fragmentation of a reassembled datagram).
// Without both a bundled ESP and a bundled AH outbound SA the packet is dropped (no_sa):
// never sent half protected.
//
// Inbound, InboundAh verifies and removes AH; for a bundled AH SA what it carried must be ESP
// (next header 50) for a bundled ESP SA of the same reqid (RFC 4301 §5.2: the SAs applied must
// be the ones the policy asks for), which then takes the ordinary ESP path (window,
// integrity, decryption, selectors, the TUN). Anything else is bundle_mismatch (an unknown ESP
// SPI: no_sa). Pipeline::Inbound refuses ESP for a bundled ESP SA that did not come through AH.
//
// Counting: each SA counts its own packets and bytes (the pod's packet, so both halves reach
// their byte lifetimes together); the data path's and the (rule, peer) traffic counters count
// a bundled packet once, through its ESP SA.

#include <cstring>

#include "engine/dataplane/userspace/pipeline.h"
#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/udp_encap.h"

namespace ipsec::engine::dataplane::userspace {

void Pipeline::OutboundBundle(WorkerContext& w, const SaState& picked, uint8_t* buffer,
                              size_t capacity, size_t length, const esp::IpPacketInfo& info,
                              size_t fragment_size, bool reassembled) {
  const uint32_t reqid = picked.config.reqid;
  const SaState* esp_sa = SaTable::NewestBundled(*w.snapshot, reqid, SaProtocol::kEsp);
  const SaState* ah_sa = SaTable::NewestBundled(*w.snapshot, reqid, SaProtocol::kAh);
  if (esp_sa == nullptr || ah_sa == nullptr) return Count(w.index, DropReason::kNoSa);
  const SaConfig& sa = esp_sa->config;
  const bool transport = sa.mode == SaMode::kTransport;
  const bool outer_v4 = transport ? info.family == IpFamily::kV4 : sa.remote.address.is_v4();
  uint8_t* packet = buffer + kHeadroom;
  if (mtu_guard_ && !reassembled) {
    // RFC 4301 §8 as for ESP (Route), with the AH header on top.
    const MtuGuard::Verdict fit =
        mtu_guard_->Check(w.index, sa, *esp_sa->outbound, packet, length, info,
                          ah_sa->ah_outbound->header_size(!outer_v4));
    if (fit.drop) {
      if (!fit.icmp.empty()) io_.Deliver(w.index, fit.icmp.data(), fit.icmp.size());
      return Count(w.index, DropReason::kTooBig);
    }
  }
  const size_t h = outer_v4 ? esp::kIpv4HeaderSize : esp::kIpv6HeaderSize;
  uint8_t header[esp::kIpv6HeaderSize];
  size_t payload_offset = kHeadroom;
  size_t payload_length = length;
  uint8_t next_header = info.family == IpFamily::kV4 ? esp::kNextHeaderIpv4 : esp::kNextHeaderIpv6;
  if (transport) {
    // RFC 4303 §3.1.1: ESP protects what follows the IP header; the header is kept aside (ESP's
    // header and IV are written over its end) and goes back in front below.
    std::memcpy(header, packet, h);
    payload_offset += info.header_length;
    payload_length -= info.header_length;
    next_header = info.protocol;
  }
  auto e = esp_sa->outbound->Protect(w.index, buffer, capacity, payload_offset, payload_length,
                                     next_header);
  if (!e.ok()) return Count(w.index, DropReason::kSendError);
  if (e->offset < h || h + e->length > 0xFFFF) return Count(w.index, DropReason::kMalformed);
  const size_t start = e->offset - h;
  uint8_t* ip = buffer + start;
  bool ok = true;
  if (transport && outer_v4) {
    std::memcpy(ip, header, h);
    ip[0] = 0x45;  // the base header: options are not carried (see the top)
    esp::Store16(ip + 2, static_cast<uint16_t>(h + e->length));
    if (esp::Load16(ip + 4) == 0) esp::Store16(ip + 4, NextIpv4Identification());
    ip[9] = esp::kNextHeaderEsp;
    esp::Store16(ip + 10, 0);
    esp::SetIpv4HeaderChecksum(ip, h);  // AhOutboundSa::Protect redoes it after inserting AH
  } else if (transport) {
    std::memcpy(ip, header, h);
    esp::Store16(ip + 4, static_cast<uint16_t>(e->length));  // payload length
    ip[6] = esp::kNextHeaderEsp;  // extension headers are not carried (see the top)
  } else if (outer_v4) {
    ok = esp::WriteIpv4Header(ip, sa.local.address, sa.remote.address, esp::kNextHeaderEsp,
                              e->length, NextIpv4Identification(), false);
  } else {
    ok = esp::WriteIpv6Header(ip, sa.local.address, sa.remote.address, esp::kNextHeaderEsp,
                              e->length);
  }
  if (!ok) return Count(w.index, DropReason::kMalformed);
  // RFC 4302 §3.1 / RFC 4301 §4.5: AH authenticates the ESP packet and its IP header.
  auto a = ah_sa->ah_outbound->Protect(w.index, buffer, capacity, start, h + e->length);
  if (!a.ok()) {
    return Count(w.index, a.error().code == ErrorCode::kUnimplemented ? DropReason::kMalformed
                                                                      : DropReason::kSendError);
  }
  Account(w, *esp_sa, TrafficDirection::kOutbound, length);
  Account(w, *ah_sa, TrafficDirection::kOutbound, length, 1, /*traffic=*/false);
  // RFC 4301 §7: fragmentation, if any, after IPsec processing.
  SendClear(w, buffer + a->offset, a->length, fragment_size);
}

void Pipeline::InboundBundledEsp(WorkerContext& w, const SaState& ah, uint8_t* buffer,
                                 size_t offset, const esp::AhInboundSa::Unprotected& u) {
  // RFC 4301 §5.2: the packet came through the bundle's AH SA; it must carry ESP, for the
  // bundle's ESP SA (same reqid), or the SAs applied do not match the policy.
  if (u.next_header != esp::kNextHeaderEsp) return Count(w.index, DropReason::kBundleMismatch);
  const uint8_t* ip = buffer + offset + u.offset;
  const size_t esp_offset = offset + u.payload_offset;
  const size_t esp_length = u.offset + u.length - u.payload_offset;
  if (u.payload_offset < u.offset || esp_length < esp::kEspHeaderSize) {
    return Count(w.index, DropReason::kMalformed);
  }
  const IpAddress from =
      (ip[0] >> 4) == 4 ? IpAddress::FromV4Bytes(ip + 12) : IpAddress::FromV6Bytes(ip + 8);
  const uint32_t spi = esp::Load32(buffer + esp_offset);  // RFC 4303 §2.1
  auto it = w.snapshot->inbound.find(spi);
  if (it == w.snapshot->inbound.end() || !it->second->inbound) {
    return Count(w.index, DropReason::kNoSa);
  }
  const SaState& esp_sa = *it->second;
  if (!esp_sa.config.bundle || esp_sa.config.reqid != ah.config.reqid) {
    return Count(w.index, DropReason::kBundleMismatch);
  }
  if (esp_sa.Expired()) return Count(w.index, DropReason::kExpired);  // RFC 4301 §4.4.2.1
  InboundEsp(w, esp_sa, buffer, esp_offset, esp_length, from, &ah);
}

}  // namespace ipsec::engine::dataplane::userspace
