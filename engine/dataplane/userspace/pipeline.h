#pragma once

// Pipeline: what the userspace data path does with one packet, in each direction, without any
// I/O of its own (PacketIo does the sending; tests give it a fake).
//
// Outbound (a packet the pod sent into the TUN): parse, classify with the policy classifier,
//   block -> dropped (policy_block); permit (or never securable, FAQ 21) -> sent on in clear
//   through PacketIo::SendClear: routes send only "negotiate" destinations to the TUN, so this
//   is a more specific permit filter inside a negotiate range (e.g. the DNS exemption);
//   negotiate -> the newest outbound SA whose policy covers the 5-tuple: protected in place
//   and sent (UDP-encapsulated when the SA says, else raw ESP); no SA -> queued per
//   destination (AcquireQueue) and IKE asked once (BackendEvents::OnAcquire).
// Inbound (ESP from the wire): SPI -> SA (no_sa), Unprotect (replay, integrity, malformed),
//   tunnel mode: the inner packet; transport mode: an IP header rebuilt from the outer
//   addresses; then RFC 4301 §5.2: the inner packet must be within the SA's traffic selectors
//   (ts_mismatch), and it goes to the TUN.
// AH+ESP bundles (FAQ 46, SaConfig::bundle; bundle_path.cc): outbound, ESP then AH on the same
//   packet, sent whole like AH; inbound, AH off first, then the ESP inside it, which must belong
//   to a bundled ESP SA of the AH SA's reqid (RFC 4301 §5.2; bundle_mismatch otherwise).
// Every drop is counted by reason; per-SA counters and byte lifetimes (soft -> rekey, hard ->
// delete: OnExpire once each) are updated. Time lifetimes are IKE's (rekey timers).
//
// Buffers: the packet starts at kHeadroom; capacity leaves kTailroom after it, so ESP is added
// and removed in place. Threads: one WorkerContext per thread; its index selects the ESP
// crypto contexts (SaParams::workers).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "engine/common/endpoint.h"
#include "engine/dataplane/backend.h"
#include "engine/dataplane/dataplane_counters.h"
#include "engine/dataplane/userspace/acquire_queue.h"
#include "engine/dataplane/userspace/mtu_guard.h"
#include "engine/dataplane/userspace/offload.h"
#include "engine/dataplane/userspace/reassembly.h"
#include "engine/dataplane/userspace/sa_table.h"
#include "engine/esp/esp_wire.h"
#include "engine/esp/ip_packet.h"
#include "engine/policy/classifier.h"

namespace ipsec::engine::dataplane::userspace {

inline constexpr size_t kHeadroom = 128;  // outer IPv6 + UDP + ESP header + IV, with room
inline constexpr size_t kTailroom = 128;  // padding + trailer + ICV
inline constexpr size_t kMaxPacket = 65535;
inline constexpr size_t kBufferSize = kHeadroom + kMaxPacket + kTailroom;
inline constexpr unsigned kMaxWorkers = 8;

// The data path's drop reason for one of engine/esp's (ESP and AH).
DropReason FromEsp(esp::DropReason r);

class PacketIo {
 public:
  virtual ~PacketIo() = default;
  // ESP from its SPI on, to `sa.remote` from `sa.local`: raw IP protocol 50, or in UDP (RFC
  // 3948) when sa.udp_encapsulation. False: not sent.
  virtual bool SendEsp(unsigned worker, const SaConfig& sa, const uint8_t* esp, size_t length) = 0;
  // Room for one ESP packet of at most `max_length` octets (SPI through ICV) in the worker's
  // send batch, to be written there and sent with CommitEsp (no copy, issue 4). Null: no such
  // room (the caller protects in its own buffer and calls SendEsp).
  virtual uint8_t* ReserveEsp(unsigned worker, const SaConfig& sa, size_t max_length) {
    (void)worker, (void)sa, (void)max_length;
    return nullptr;
  }
  // Sends (batches) the `length` octets written at the slot the last ReserveEsp of `worker`
  // returned, for the same `sa`.
  virtual bool CommitEsp(unsigned worker, const SaConfig& sa, size_t length) {
    (void)worker, (void)sa, (void)length;
    return false;
  }
  // An IP packet sent on in clear, bypassing the TUN's routes.
  virtual bool SendClear(unsigned worker, const uint8_t* packet, size_t length) = 0;
  // An inner packet handed to the pod (written to the TUN). A TCP packet may be kept by
  // reference until Flush(worker) (EspIo's GRO): it must stay alive and unchanged until then.
  virtual bool Deliver(unsigned worker, const uint8_t* packet, size_t length) = 0;
  // Sends what SendEsp batched for `worker` (end of a batch). Errors are the I/O's to count.
  virtual void Flush(unsigned worker) { (void)worker; }
};

struct WorkerContext {
  explicit WorkerContext(unsigned i) : index(i), fragment_id(std::random_device{}()) {}
  unsigned index;
  // IPv6 fragment identification of what we fragment (SendClear); a counter from a random
  // start per worker (RFC 7739 §5.1 warns against one predictable global counter).
  uint32_t fragment_id;
  uint64_t sa_generation = 0;
  std::shared_ptr<const Snapshot> snapshot;
  uint64_t classifier_generation = 0;
  std::shared_ptr<const policy::Classifier> classifier;
};

class Pipeline {
 public:
  using Clock = std::chrono::steady_clock;
  // Not owned: all outlive the pipeline.
  Pipeline(SaTable& sas, AcquireQueue& queue, PacketIo& io);

  void SetClassifier(std::shared_ptr<const policy::Classifier> classifier);
  // Not owned; may be null. Waits for a call in flight to return (so the old target may go).
  void SetEvents(BackendEvents* events);
  // Path MTU checks before ESP (mtu_guard.h): too big -> dropped (too_big), ICMP error to the
  // TUN. Null: none. Set before the workers start.
  void SetMtuGuard(std::unique_ptr<MtuGuard> guard) { mtu_guard_ = std::move(guard); }
  const MtuGuard* mtu_guard() const { return mtu_guard_.get(); }
  // FAQ 16: "negotiate" traffic to the fallbacks' destinations goes in clear while no SA
  // covers it, until each one's time (IKE found the peer not IPsec-aware). Replaces the
  // previous set.
  void SetClearFallbacks(std::vector<ClearFallback> fallbacks);

  // Once per batch: picks up new SAs and a new filter table.
  void Refresh(WorkerContext& w);

  // buffer[kHeadroom, kHeadroom + length) holds the packet; capacity >= kHeadroom + length +
  // kTailroom.
  void Outbound(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t length);
  // A TUN super-packet (offload.h): `packet` holds it, `plan` (PlanSplit) says how to cut it.
  // Its first segment, written to scratch[kHeadroom, ...), is decided as Outbound decides any
  // packet; when that one goes out in an ESP SA, so do the others (all segments share the
  // 5-tuple): each is protected straight from the super-packet into the send batch
  // (PacketIo::ReserveEsp; no copy of its payload), with one classifier/SA lookup, one MTU
  // check and one Account for all of them (issue 4). Otherwise each other segment takes
  // Outbound on its own. scratch_capacity >= kHeadroom + plan.max_segment + kTailroom.
  void OutboundSegments(WorkerContext& w, const offload::SplitPlan& plan, const uint8_t* packet,
                        uint8_t* scratch, size_t scratch_capacity);
  // buffer[offset, offset + length) holds ESP from its SPI on (offset >= kHeadroom / 2 for the
  // transport-mode header). `from`: the outer source address.
  void Inbound(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t offset, size_t length,
               const IpAddress& from);
  // AH (RFC 4302; ah_path.cc): buffer[offset, offset + length) holds a whole IP packet with AH
  // right after its (IPv4 or IPv6 base) header; offset >= kHeadroom / 2.
  void InboundAh(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t offset, size_t length);
  // Packets that waited for an SA, retried (on a worker, after an SA was installed).
  void FlushQueue(WorkerContext& w, uint8_t* buffer, size_t capacity);

  void Count(unsigned worker, DropReason reason);
  DataplaneCounters Counters() const;

 private:
  struct alignas(64) WorkerCounters {
    std::atomic<uint64_t> drops[kDropReasonCount] = {};
    std::atomic<uint64_t> packets[2] = {};
    std::atomic<uint64_t> bytes[2] = {};
    std::atomic<uint64_t> acquires{0}, queued{0}, passed{0};
  };
  WorkerCounters& Of(const WorkerContext& w) { return counters_[w.index % kMaxWorkers]; }
  // `traffic` false: the SA's own counters and byte lifetimes only, not the data path's
  // packets/bytes nor its (rule, peer) totals: the AH half of a bundle, whose packet the ESP
  // half already counts there (a bundled packet is one packet of the child SA).
  void Account(WorkerContext& w, const SaState& sa, TrafficDirection d, size_t bytes,
               uint64_t packets = 1, bool traffic = true);
  // Outbound's decision for the packet at buffer[kHeadroom, + length): parse, classify, SA
  // lookup, then everything but ESP (drop, clear, queue and acquire, AH, the MTU guard) done
  // here. Returns the ESP SA to protect it with (`length` is then the IP total length and
  // `info` the parsed header), else null.
  const SaState* Route(WorkerContext& w, uint8_t* buffer, size_t capacity, size_t& length,
                       esp::IpPacketInfo& info);
  // ESP out of a packet Route chose `sa` for: protected in place, counted, sent.
  void ProtectAndSend(WorkerContext& w, const SaState& sa, uint8_t* buffer, size_t capacity,
                      size_t length, const esp::IpPacketInfo& info);
  // OutboundSegments' ESP part: segments [0, plan.segments) into send-batch slots. Returns
  // how many went (from 0); the caller sends the rest another way.
  size_t ProtectSegments(WorkerContext& w, const SaState& sa, const offload::SplitPlan& plan,
                         const uint8_t* packet);
  void Acquire(WorkerContext& w, const BackendEvents::Acquire& a);
  bool InClearFallback(const IpAddress& destination) const;
  // The inner packet an inbound SA unprotected (ESP or AH): parsed, checked against the SA's
  // selectors (RFC 4301 §5.2), counted and handed to the pod.
  // `bundle_ah`: the bundled AH SA the packet came through (accounted too, its own counters
  // only), else null.
  void DeliverInner(WorkerContext& w, const SaState& sa, uint8_t* inner, size_t inner_length,
                    const SaState* bundle_ah = nullptr);
  // ESP inbound once its SA is known: buffer[offset, + length) from the SPI on. `from`: the
  // outer source address. `bundle_ah`: as DeliverInner.
  void InboundEsp(WorkerContext& w, const SaState& sa, uint8_t* buffer, size_t offset,
                  size_t length, const IpAddress& from, const SaState* bundle_ah);
  // AH+ESP out (bundle_path.cc): `picked` is the bundled SA the policy lookup found; the packet
  // at buffer[kHeadroom, + length) (parsed as `info`) is protected with its reqid's newest
  // bundled ESP SA, given its IP header, then protected with the newest bundled AH SA and sent
  // as OutboundAh sends (fragment_size likewise). `reassembled`: no MTU check (see Route).
  void OutboundBundle(WorkerContext& w, const SaState& picked, uint8_t* buffer, size_t capacity,
                      size_t length, const esp::IpPacketInfo& info, size_t fragment_size,
                      bool reassembled);
  // AH+ESP in (bundle_path.cc): the bundled AH SA `ah` verified and removed AH from the packet
  // at buffer[offset, ...) (`u`); the ESP packet it carried goes on to its ESP SA.
  void InboundBundledEsp(WorkerContext& w, const SaState& ah, uint8_t* buffer, size_t offset,
                         const esp::AhInboundSa::Unprotected& u);
  // A non-zero IPv4 identification for packets sent whole through a header-included raw
  // socket (ah_path.cc says why).
  static uint16_t NextIpv4Identification();
  // AH out (ah_path.cc): protects the packet at buffer[kHeadroom, + length) with sa's AH SA,
  // both modes, and sends it on whole through PacketIo::SendClear.
  // fragment_size != 0: a reassembled datagram, whose AH packet is cut to that size.
  void OutboundAh(WorkerContext& w, const SaState& sa, uint8_t* buffer, size_t capacity,
                  size_t length, size_t fragment_size);
  // PacketIo::SendClear, cutting the packet to fragment_size first when it is larger (!= 0).
  void SendClear(WorkerContext& w, const uint8_t* packet, size_t length, size_t fragment_size);

  SaTable& sas_;
  AcquireQueue& queue_;
  PacketIo& io_;
  std::shared_ptr<const policy::Classifier> classifier_;  // atomic_load/atomic_store
  std::atomic<uint64_t> classifier_generation_{1};
  std::shared_ptr<const std::vector<ClearFallback>> clear_;  // atomic_load/atomic_store
  std::atomic<bool> any_clear_{false};                       // skips the load when none
  std::mutex events_mu_;             // held while calling events_ (rare: acquires, expiries)
  BackendEvents* events_ = nullptr;  // guarded by events_mu_
  WorkerCounters counters_[kMaxWorkers];
  std::unique_ptr<MtuGuard> mtu_guard_;  // may be null
  Reassembler reassembler_;              // fragments from the TUN (reassembly.h)
};

}  // namespace ipsec::engine::dataplane::userspace
