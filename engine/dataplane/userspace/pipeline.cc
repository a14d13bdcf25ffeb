#include "engine/dataplane/userspace/pipeline.h"

#include <cstring>
#include <ctime>
#include <variant>

#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/udp_encap.h"

namespace ipsec::engine::dataplane::userspace {

static_assert(kMaxWorkers <= MtuGuard::kWorkers);

namespace {

void Add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

// The classifier's view of ports: zero for protocols without them (filter_table.h).
bool PortsApply(const esp::IpPacketInfo& p) {
  return p.has_ports && p.protocol != esp::kNextHeaderIcmp && p.protocol != esp::kNextHeaderIcmpv6;
}

bool IsLinkLocal(const IpAddress& a) {
  if (a.is_v4()) return (a.value() >> 16) == 0xa9fe;    // 169.254.0.0/16
  return (a.value() >> 118) == (Uint128{0xfe80} >> 6);  // fe80::/10
}

}  // namespace

DropReason FromEsp(esp::DropReason r) {
  switch (r) {
    case esp::DropReason::kReplay:
      return DropReason::kReplay;
    case esp::DropReason::kIntegrity:
      return DropReason::kIntegrity;
    default:
      return DropReason::kMalformed;  // malformed, unsupported (AH: fragments, routing headers)
  }
}

Pipeline::Pipeline(SaTable& sas, AcquireQueue& queue, PacketIo& io)
    : sas_(sas),
      queue_(queue),
      io_(io),
      classifier_(std::make_shared<const policy::Classifier>(policy::FilterTable{})) {}

void Pipeline::SetClassifier(std::shared_ptr<const policy::Classifier> classifier) {
  if (!classifier) classifier = std::make_shared<const policy::Classifier>(policy::FilterTable{});
  std::atomic_store(&classifier_, std::move(classifier));
  classifier_generation_.fetch_add(1, std::memory_order_acq_rel);
}

void Pipeline::SetEvents(BackendEvents* events) {
  std::lock_guard lock(events_mu_);
  events_ = events;
}

void Pipeline::SetClearFallbacks(std::vector<ClearFallback> fallbacks) {
  const bool any = !fallbacks.empty();
  std::atomic_store(&clear_,
                    std::make_shared<const std::vector<ClearFallback>>(std::move(fallbacks)));
  any_clear_.store(any, std::memory_order_release);
}

bool Pipeline::InClearFallback(const IpAddress& destination) const {
  if (!any_clear_.load(std::memory_order_acquire)) return false;
  auto fallbacks = std::atomic_load(&clear_);
  if (!fallbacks) return false;
  const Clock::time_point now = Clock::now();
  for (const ClearFallback& f : *fallbacks) {
    if (now >= f.until) continue;
    for (const IpRange& r : f.destinations) {
      if (r.Contains(destination)) return true;
    }
  }
  return false;
}

void Pipeline::Refresh(WorkerContext& w) {
  const uint64_t g = sas_.generation();
  if (g != w.sa_generation || !w.snapshot) {
    w.snapshot = sas_.Load();
    w.sa_generation = g;
  }
  const uint64_t c = classifier_generation_.load(std::memory_order_acquire);
  if (c != w.classifier_generation || !w.classifier) {
    w.classifier = std::atomic_load(&classifier_);
    w.classifier_generation = c;
  }
}

void Pipeline::Count(unsigned worker, DropReason reason) {
  Add(counters_[worker % kMaxWorkers].drops[static_cast<int>(reason)]);
}

void Pipeline::Acquire(WorkerContext& w, const BackendEvents::Acquire& a) {
  Add(Of(w).acquires);
  std::lock_guard lock(events_mu_);
  if (events_ != nullptr) events_->OnAcquire(a);
}

void Pipeline::Account(WorkerContext& w, const SaState& sa, TrafficDirection d, size_t bytes,
                       uint64_t packets, bool traffic) {
  const int i = static_cast<int>(d);
  if (traffic) {
    Add(Of(w).packets[i], packets);
    Add(Of(w).bytes[i], bytes);
  }
  SaStats& s = *sa.stats;
  const uint64_t total = s.bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  s.packets.fetch_add(packets, std::memory_order_relaxed);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (s.last_used_unix.load(std::memory_order_relaxed) != now) {
    s.last_used_unix.store(now, std::memory_order_relaxed);
  }
  if (traffic && sa.rule_peer) {
    Add(sa.rule_peer->packets[i], packets);
    Add(sa.rule_peer->bytes[i], bytes);
  }
  // Byte lifetimes (RFC 4301 §4.4.2.1): soft asks IKE to rekey, hard to delete; once each.
  const Lifetime& l = sa.config.lifetime;
  const bool soft = l.soft_bytes != 0 && total >= l.soft_bytes;
  const bool hard = l.hard_bytes != 0 && total >= l.hard_bytes;
  if ((soft && !s.soft_expired.load(std::memory_order_relaxed) && !s.soft_expired.exchange(true)) ||
      (hard && !s.hard_expired.load(std::memory_order_relaxed) && !s.hard_expired.exchange(true))) {
    std::lock_guard lock(events_mu_);
    if (events_ != nullptr) events_->OnExpire(sa.config.protocol, sa.config.spi, hard);
  }
}

void Pipeline::Outbound(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t length) {
  esp::IpPacketInfo info;
  if (const SaState* sa = Route(w, buffer, capacity, length, info)) {
    ProtectAndSend(w, *sa, buffer, capacity, length, info);
  }
}

const SaState* Pipeline::Route(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t& length,
                               esp::IpPacketInfo& parsed) {
  uint8_t* packet = buffer + kHeadroom;
  auto info = esp::ParseIpPacket(ByteSpan(packet, length));
  if (!info || info->total_length > length) {
    Count(w.index, DropReason::kMalformed);
    return nullptr;
  }
  length = info->total_length;  // link padding is not ours to protect
  bool reassembled = false;
  size_t refragment = 0;  // reassembled: what goes out whole (in clear, AH) is cut to this
  if (info->is_fragment) {
    // reassembly.h: the pod's kernel fragmented a datagram larger than the TUN's MTU. It is
    // classified and protected whole (RFC 4303 §3.1.1: transport mode protects only whole
    // datagrams; RFC 4301 §7: non-initial fragments carry no ports); the kernel fragments the
    // outer packet after IPsec processing.
    const Reassembler::Outcome o = reassembler_.Add(ByteSpan(packet, length), *info, Clock::now(),
                                                    packet, capacity - kHeadroom - kTailroom);
    for (size_t i = 0; i < o.dropped; ++i) Count(w.index, DropReason::kReassembly);
    if (o.length == 0) return nullptr;
    length = o.length;
    info = esp::ParseIpPacket(ByteSpan(packet, length));
    if (!info || info->is_fragment) {
      Count(w.index, DropReason::kMalformed);
      return nullptr;
    }
    reassembled = true;
    refragment = o.max_fragment;
  }
  const bool ports = PortsApply(*info);
  policy::PacketKey key;
  key.direction = policy::Direction::kOutbound;
  key.source = info->source;
  key.destination = info->destination;
  key.protocol = info->protocol;
  key.source_port = ports ? info->source_port : 0;
  key.destination_port = ports ? info->destination_port : 0;
  const policy::Classifier::Verdict v = w.classifier->Lookup(key);
  if (v.action == policy::Action::kBlock) {
    Count(w.index, DropReason::kPolicyBlock);
    return nullptr;
  }
  if (info->destination.IsMulticast() || info->destination.IsLimitedBroadcast() ||
      IsLinkLocal(info->destination)) {
    // The kernel's own chatter on the TUN (IPv6 MLD, router solicitations): never for the wire
    // from here (sent on, it would come back through the TUN's multicast route).
    Count(w.index, DropReason::kNoPolicy);
    return nullptr;
  }
  auto lookup = [&] {
    return SaTable::LookupOutbound(*w.snapshot, info->source, info->destination, info->protocol,
                                   info->source_port, info->destination_port, info->has_ports);
  };
  const SaState* sa = nullptr;
  if (v.action == policy::Action::kPermit || v.never_secured) {
    // FAQ 19: a default-response child SA's filters are "dynamic" (made from the peer's
    // request), so no filter of ours matches its traffic: unmatched traffic an SA covers
    // goes in it. An explicit permit filter (an exemption) always wins.
    if (v.entry == nullptr && !v.never_secured) sa = lookup();
    if (sa == nullptr || !sa->CarriesOutbound()) {
      Add(Of(w).passed);
      SendClear(w, packet, length, refragment);
      return nullptr;
    }
  } else {
    sa = lookup();
  }
  if ((sa == nullptr || !sa->CarriesOutbound()) && InClearFallback(info->destination)) {
    // FAQ 16: the peer did not answer IKE; until the fallback ends the traffic goes in clear.
    Add(Of(w).passed);
    SendClear(w, packet, length, refragment);
    return nullptr;
  }
  if (sa == nullptr || !sa->CarriesOutbound()) {
    auto pushed = queue_.Push(info->destination, packet, length, Clock::now());
    Add(Of(w).queued);
    for (size_t i = 0; i < pushed.dropped; ++i) Count(w.index, DropReason::kQueueFull);
    if (pushed.acquire) {
      BackendEvents::Acquire a;
      a.source = info->source;
      a.destination = info->destination;
      a.protocol = info->protocol;
      a.source_port = key.source_port;
      a.destination_port = key.destination_port;
      a.filter_entry = v.entry != nullptr ? v.entry->id : 0;
      Acquire(w, a);
    }
    return nullptr;
  }
  if (sa->config.bundle) {
    // FAQ 46: ESP and AH, whichever of the reqid's bundled SAs the lookup found.
    OutboundBundle(w, *sa, buffer, capacity, length, *info, refragment, reassembled);
    return nullptr;
  }
  if (sa->ah_outbound) {
    OutboundAh(w, *sa, buffer, capacity, length, refragment);  // ah_path.cc
    return nullptr;
  }
  if (mtu_guard_ && sa->outbound && !reassembled) {
    // RFC 4301 §8: too big for the path after ESP (DF, or IPv6) -> ICMP error to the source.
    // Not for a reassembled datagram: its source already fragmented it to fit the TUN, so the
    // outer ESP packet is ours to fragment (RFC 8200 §5; IPv4 fragments never carry DF).
    const MtuGuard::Verdict fit =
        mtu_guard_->Check(w.index, sa->config, *sa->outbound, packet, length, *info);
    if (fit.drop) {
      if (!fit.icmp.empty()) io_.Deliver(w.index, fit.icmp.data(), fit.icmp.size());
      Count(w.index, DropReason::kTooBig);
      return nullptr;
    }
  }
  parsed = *info;
  return sa;
}

void Pipeline::SendClear(WorkerContext& w, const uint8_t* packet, size_t length,
                         size_t fragment_size) {
  // Header-included raw sockets do not fragment: a reassembled datagram is cut again to the
  // size the pod's kernel used (reassembly.h, ForEachFragment).
  const bool sent = fragment_size == 0 || length <= fragment_size
                        ? io_.SendClear(w.index, packet, length)
                        : ForEachFragment(packet, length, fragment_size, ++w.fragment_id,
                                          [&](const uint8_t* f, size_t n) {
                                            return io_.SendClear(w.index, f, n);
                                          });
  if (!sent) Count(w.index, DropReason::kSendError);
}

void Pipeline::ProtectAndSend(WorkerContext& w, const SaState& sa, uint8_t* buffer, size_t capacity,
                              size_t length, const esp::IpPacketInfo& info) {
  size_t payload_offset = kHeadroom;
  size_t payload_length = length;
  uint8_t next_header = info.family == IpFamily::kV4 ? esp::kNextHeaderIpv4 : esp::kNextHeaderIpv6;
  if (sa.config.mode == SaMode::kTransport) {
    // RFC 4303 §3.1.1: ESP follows the IP header; the kernel writes the outer header again
    // from the same addresses (raw socket), so only the upper-layer part is protected.
    payload_offset += info.header_length;
    payload_length -= info.header_length;
    next_header = info.protocol;
  }
  auto p =
      sa.outbound->Protect(w.index, buffer, capacity, payload_offset, payload_length, next_header);
  if (!p.ok()) return Count(w.index, DropReason::kSendError);
  Account(w, sa, TrafficDirection::kOutbound, length);
  if (!io_.SendEsp(w.index, sa.config, buffer + p->offset, p->length)) {
    Count(w.index, DropReason::kSendError);
  }
}

void Pipeline::OutboundSegments(WorkerContext& w, const offload::SplitPlan& plan,
                                const uint8_t* packet, uint8_t* scratch, size_t scratch_capacity) {
  size_t length = offload::WriteSegment(plan, packet, 0, scratch + kHeadroom);
  esp::IpPacketInfo info;
  size_t done = 1;
  if (const SaState* sa = Route(w, scratch, scratch_capacity, length, info)) {
    done = ProtectSegments(w, *sa, plan, packet);
    if (done == 0 && sa->CarriesOutbound()) {
      // No send-batch slot: the first segment (in scratch) the ordinary way, the rest below.
      ProtectAndSend(w, *sa, scratch, scratch_capacity, length, info);
      done = 1;
    }
  }
  for (size_t s = done; s < plan.segments; ++s) {
    const size_t len = offload::WriteSegment(plan, packet, s, scratch + kHeadroom);
    Outbound(w, scratch, scratch_capacity, len);
  }
}

size_t Pipeline::ProtectSegments(WorkerContext& w, const SaState& sa,
                                 const offload::SplitPlan& plan, const uint8_t* packet) {
  // RFC 4303 §3.1.1 (transport mode): ESP follows the IP header, which is not protected; the
  // kernel writes the outer header from the same addresses. Tunnel mode: the whole segment.
  const bool transport = sa.config.mode == SaMode::kTransport;
  const size_t skip = transport ? plan.ip_header : 0;
  const uint8_t next_header =
      transport ? plan.protocol : (plan.v4 ? esp::kNextHeaderIpv4 : esp::kNextHeaderIpv6);
  uint8_t header[offload::kMaxSegmentHeader];
  uint64_t bytes = 0, packets = 0;
  // RFC 4301 §4.4.2.1, per segment as for single packets: the segment that reaches the hard
  // byte lifetime is the SA's last (Account marks it), the rest take the per-packet path and
  // wait for the new SA.
  const uint64_t hard = sa.config.lifetime.hard_bytes;
  const uint64_t used = sa.stats->bytes.load(std::memory_order_relaxed);
  size_t s = 0;
  for (; s < plan.segments; ++s) {
    if (hard != 0 && used + bytes >= hard) break;
    const size_t total = offload::WriteSegmentHeader(plan, packet, s, header);
    const size_t max = sa.outbound->ProtectedLength(total - skip);
    uint8_t* slot = io_.ReserveEsp(w.index, sa.config, max);
    if (slot == nullptr) break;
    const ByteSpan parts[] = {
        ByteSpan(header + skip, plan.header_length - skip),
        ByteSpan(packet + plan.header_length + s * plan.gso_size, total - plan.header_length)};
    auto p = sa.outbound->ProtectParts(w.index, parts, 2, next_header, slot, max);
    if (!p.ok()) {
      Count(w.index, DropReason::kSendError);
      continue;
    }
    bytes += total;
    ++packets;
    if (!io_.CommitEsp(w.index, sa.config, p->length)) Count(w.index, DropReason::kSendError);
  }
  if (packets != 0) Account(w, sa, TrafficDirection::kOutbound, bytes, packets);
  return s;
}

void Pipeline::Inbound(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t offset,
                       size_t length, const IpAddress& from) {
  (void)capacity;
  uint8_t* esp_packet = buffer + offset;
  if (length < esp::kEspHeaderSize) return Count(w.index, DropReason::kMalformed);
  const uint32_t spi = esp::Load32(esp_packet);
  auto it = w.snapshot->inbound.find(spi);
  if (it == w.snapshot->inbound.end() || !it->second->inbound) {
    return Count(w.index, DropReason::kNoSa);
  }
  const SaState& sa = *it->second;
  // FAQ 46: a bundled ESP SA takes only ESP that arrived inside its AH SA (InboundAh), so it
  // never carries traffic without AH (RFC 4301 §5.2: the SAs applied must match the policy).
  if (sa.config.bundle) return Count(w.index, DropReason::kBundleMismatch);
  if (sa.Expired()) return Count(w.index, DropReason::kExpired);  // RFC 4301 §4.4.2.1
  InboundEsp(w, sa, buffer, offset, length, from, nullptr);
}

void Pipeline::InboundEsp(WorkerContext& w, const SaState& sa, uint8_t* buffer, size_t offset,
                          size_t length, const IpAddress& from, const SaState* bundle_ah) {
  uint8_t* esp_packet = buffer + offset;
  auto r = sa.inbound->Unprotect(w.index, esp_packet, length);
  if (auto* d = std::get_if<esp::DropReason>(&r)) {
    if (*d != esp::DropReason::kDummy) Count(w.index, FromEsp(*d));
    return;
  }
  const auto& u = std::get<esp::InboundSa::Unprotected>(r);
  uint8_t* inner = esp_packet + u.payload_offset;
  size_t inner_length = u.payload_length;
  if (sa.config.mode == SaMode::kTransport) {
    // RFC 4303 §3.1.1: rebuild the IP header the sender's ESP followed, from the outer
    // addresses, in the room the ESP header and IV leave (and the headroom before them).
    const IpAddress& local = sa.config.local.address;
    const size_t h = from.is_v4() ? esp::kIpv4HeaderSize : esp::kIpv6HeaderSize;
    if (offset + u.payload_offset < h) return Count(w.index, DropReason::kMalformed);
    inner -= h;
    const bool ok =
        from.is_v4()
            ? esp::WriteIpv4Header(inner, from, local, u.next_header, inner_length, 0, false)
            : esp::WriteIpv6Header(inner, from, local, u.next_header, inner_length);
    if (!ok) return Count(w.index, DropReason::kMalformed);
    inner_length += h;
    // RFC 3948 §3.1.2: behind a NAT the TCP/UDP checksum covers the peer's original address.
    if (sa.config.udp_encapsulation) esp::RecomputeTransportChecksum(inner, inner_length);
  } else if (u.next_header != esp::kNextHeaderIpv4 && u.next_header != esp::kNextHeaderIpv6) {
    return Count(w.index, DropReason::kMalformed);
  }
  DeliverInner(w, sa, inner, inner_length, bundle_ah);
}

void Pipeline::DeliverInner(WorkerContext& w, const SaState& sa, uint8_t* inner,
                            size_t inner_length, const SaState* bundle_ah) {
  auto info = esp::ParseIpPacket(ByteSpan(inner, inner_length));
  if (!info || info->total_length > inner_length) return Count(w.index, DropReason::kMalformed);
  inner_length = info->total_length;  // tunnel mode: TFC padding after the inner packet
  // RFC 4301 §5.2 step 4: the packet must match the SA's selectors (theirs -> ours).
  if (!SelectorsCover(sa.config.remote_ts, info->source, info->protocol, info->source_port,
                      info->has_ports) ||
      !SelectorsCover(sa.config.local_ts, info->destination, info->protocol, info->destination_port,
                      info->has_ports)) {
    return Count(w.index, DropReason::kTsMismatch);
  }
  Account(w, sa, TrafficDirection::kInbound, inner_length);
  if (bundle_ah != nullptr) {
    Account(w, *bundle_ah, TrafficDirection::kInbound, inner_length, 1, /*traffic=*/false);
  }
  if (!io_.Deliver(w.index, inner, inner_length)) Count(w.index, DropReason::kSendError);
}

void Pipeline::FlushQueue(WorkerContext& w, uint8_t* buffer, size_t capacity) {
  auto packets = queue_.TakeAll(Clock::now());
  Refresh(w);
  for (const auto& p : packets) {
    if (p.size() + kHeadroom + kTailroom > capacity) continue;
    std::memcpy(buffer + kHeadroom, p.data(), p.size());
    Outbound(w, buffer, capacity, p.size());
  }
  queue_.ForgetSatisfied();  // their SAs are in: when gone, the next packet acquires at once
}

DataplaneCounters Pipeline::Counters() const {
  DataplaneCounters c;
  for (const auto& wc : counters_) {
    for (int i = 0; i < kDropReasonCount; ++i) c.drops[i] += wc.drops[i].load();
    for (int d = 0; d < 2; ++d) {
      c.packets[d] += wc.packets[d].load();
      c.bytes[d] += wc.bytes[d].load();
    }
    c.acquires += wc.acquires.load();
    c.queued += wc.queued.load();
    c.passed += wc.passed.load();
  }
  return c;
}

}  // namespace ipsec::engine::dataplane::userspace
