#pragma once

// What a packet-carrying data path counts, for the exporter (sidecar/metrics reads it through
// engine/service). Plain values: a snapshot; every counter is monotonic for the backend's life.

#include <cstdint>
#include <string>
#include <vector>

namespace ipsec::engine::dataplane {

enum class DropReason : uint8_t {
  kReplay,       // RFC 4303 §3.4.3: a duplicate, or left of the anti-replay window
  kIntegrity,    // the ICV did not verify (RFC 4303 §3.4.4)
  kNoSa,         // ESP for an SPI we do not have (RFC 4303 §3.4.2); outbound: an AH+ESP
                 // bundle missing its ESP or AH SA (never sent half protected, FAQ 46)
  kPolicyBlock,  // the filter table blocks it
  kPlaintext,    // arrived in clear where the policy requires IPsec
  kQueueFull,    // waited for an SA, and the per-destination queue was full (oldest dropped)
  kTsMismatch,   // inner packet outside the SA's traffic selectors (RFC 4301 §5.2)
  kMalformed,    // not a well-formed IP or ESP packet
  kTooBig,       // larger than the path allows after ESP (ICMP "fragmentation needed" sent)
  kSendError,    // the socket or the TUN refused it
  kNoPolicy,     // nothing may carry it: link-local or multicast chatter on the TUN
  kReassembly,   // a fragment of a datagram that could not be reassembled (reassembly.h)
  // FAQ 46's AH+ESP bundle, RFC 4301 §5.2 (the SAs applied must be the ones policy requires):
  // ESP for a bundled ESP SA that did not arrive inside AH, a bundled AH SA carrying anything
  // but ESP, or ESP inside AH whose SA is not a bundled ESP SA of the AH SA's reqid.
  kBundleMismatch,
  // RFC 4301 §4.4.2.1: the inbound SA reached its hard byte lifetime; it takes nothing more
  // until IKE (told by OnExpire) deletes it. An outbound SA past it carries nothing either:
  // its packets wait for the new SA as with no SA (queued, one acquire), so they are not drops.
  kExpired,
};
inline constexpr int kDropReasonCount = 14;
const char* Name(DropReason reason);  // replay, integrity, no_sa, ...

enum class TrafficDirection : uint8_t { kOutbound, kInbound };
const char* Name(TrafficDirection d);  // outbound, inbound

struct DataplaneCounters {
  uint64_t drops[kDropReasonCount] = {};
  uint64_t packets[2] = {};  // by TrafficDirection: inner packets protected / delivered
  uint64_t bytes[2] = {};    // inner bytes
  uint64_t acquires = 0;     // negotiations the data path asked IKE for
  uint64_t queued = 0;       // packets that waited for an SA
  uint64_t passed = 0;       // permitted packets that reached the TUN anyway, sent in clear
  // Batching the kernel did for us (ESP in UDP: UDP GSO out, UDP GRO in; TCP segments merged
  // into one TUN write), and the ICMP errors the path MTU guard sent or held back.
  struct Offload {
    uint64_t udp_gso_sends = 0;        // sendmsg calls with UDP_SEGMENT (each >= 2 ESP packets)
    uint64_t udp_gso_segments = 0;     // ESP packets in them
    uint64_t udp_gro_datagrams = 0;    // received UDP GRO datagrams holding >= 2 ESP packets
    uint64_t udp_gro_segments = 0;     // ESP packets in them
    uint64_t tun_merged_segments = 0;  // inner TCP segments merged into an earlier TUN write
  } offload;
  uint64_t icmp_errors_sent = 0;        // "fragmentation needed" / "packet too big" to the pod
  uint64_t icmp_errors_suppressed = 0;  // rate-limited or not allowed (RFC 1122 §3.2.2)
};

// Per (rule, peer): sums over every SA that carried them, so rekeys never reset them.
struct RulePeerTraffic {
  std::string rule;
  std::string peer;
  uint64_t packets[2] = {};
  uint64_t bytes[2] = {};
};

// Implemented by data paths that carry packets (userspace); the recording one has none.
class DataplaneCounterSource {
 public:
  virtual ~DataplaneCounterSource() = default;
  virtual DataplaneCounters Counters() const = 0;
  virtual std::vector<RulePeerTraffic> RulePeerCounters() const = 0;
};

}  // namespace ipsec::engine::dataplane
