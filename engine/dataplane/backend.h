#pragma once

// dataplane::Backend: the one interface between IKE and the data path (../shared/STYLE.md rule
// 7; strongSwan's kernel_ipsec_t). IKE negotiates child SAs and hands them here; it never knows
// whether the `userspace` backend (our ESP engine on TUN, issue 4) or `xfrm` (the kernel, later)
// carries the packets. The data path reports back through BackendEvents.
//
// Implementations must be thread-safe: IKE calls from its event loop thread, the API reads
// counters from others.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/endpoint.h"
#include "engine/common/ip_address.h"
#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"

namespace ipsec::engine::dataplane {

enum class SaProtocol : uint8_t { kEsp = 50, kAh = 51 };
enum class SaMode { kTransport, kTunnel };
enum class SaDirection { kInbound, kOutbound };

// Algorithms as negotiated, by their IKEv2 transform IDs (RFC 7296 §3.3.2, IANA): the data path
// maps them to engine/crypto. encryption_id 0 for AH.
struct SaAlgorithms {
  uint16_t encryption_id = 0;     // ENCR_*: AES_GCM_16 20, AES_CBC 12, CHACHA20_POLY1305 28, NULL 11...
  uint16_t encryption_key_bits = 0;
  uint16_t integrity_id = 0;      // AUTH_*: 0 with AEAD
  bool esn = false;               // extended sequence numbers (RFC 4304)
  SecretBytes encryption_key;     // with the AEAD salt appended (RFC 4106 §8.1, RFC 7634 §2)
  SecretBytes integrity_key;
};

// A traffic selector (RFC 7296 §3.13.1): an address range, a protocol (0 = any) and a port
// range.
struct TrafficSelector {
  IpRange addresses;
  uint8_t protocol = 0;
  uint16_t start_port = 0;
  uint16_t end_port = 65535;
  bool operator==(const TrafficSelector&) const = default;
};

struct Lifetime {
  uint64_t soft_bytes = 0;  // 0: none
  uint64_t hard_bytes = 0;
  uint64_t soft_seconds = 0;
  uint64_t hard_seconds = 0;
};

// One unidirectional SA (a child SA is an inbound and an outbound one; AH+ESP is two pairs
// sharing a reqid, see `bundle`).
struct SaConfig {
  uint32_t spi = 0;  // host order
  SaProtocol protocol = SaProtocol::kEsp;
  SaMode mode = SaMode::kTunnel;
  SaDirection direction = SaDirection::kInbound;
  Endpoint local;   // outer addresses; ports are the UDP encapsulation ports when encap
  Endpoint remote;
  bool udp_encapsulation = false;  // RFC 3948
  SaAlgorithms algorithms;
  uint32_t replay_window = 1024;   // inbound
  Lifetime lifetime;
  uint32_t reqid = 0;               // ties SAs of one child SA (and bundle) to their policies
  // A child SA keeps its reqid across rekeys (RFC 7296 §2.8, make-before-break): the new pair
  // is added under the same reqid (its policies stay) before the old pair is deleted, so for a
  // while a reqid has several SAs per direction. Outbound, the data path sends on the outbound
  // SA of the reqid added last (while it exists); inbound, every SA of it is accepted. Counters
  // per child SA (or rule) that must not reset on rekey can be kept by reqid.
  std::vector<TrafficSelector> local_ts;
  std::vector<TrafficSelector> remote_ts;
  std::string rule;                 // the policy rule, for per-rule metrics
  std::string peer;                 // the peer's identity, for per-peer metrics
  // FAQ 46's AH+ESP bundle (RFC 4301 §4.5, ESP inner, AH outer): set on both the ESP SA and
  // the AH SA of one child SA (same reqid, direction, mode and endpoints; never UDP
  // encapsulated, RFC 3715 §2.1). Outbound, a packet the reqid's policy selects is protected
  // by the reqid's newest ESP SA, the IP header goes in front (tunnel mode: the outer header;
  // transport mode: the pod's own, protocol 50), and the reqid's newest AH SA authenticates
  // that packet. Inbound, AH comes off first; what it carried must be ESP for a bundled ESP SA
  // of the same reqid. A bundled ESP SA refuses ESP that did not arrive inside AH, and a
  // bundled AH SA refuses anything but ESP inside, so neither half alone carries traffic.
  bool bundle = false;
};

// A policy binding selectors to the child SA with `reqid` (what the filter table's "negotiate"
// entries turn into once an SA exists).
struct PolicyConfig {
  uint32_t reqid = 0;
  SaDirection direction = SaDirection::kOutbound;
  std::vector<TrafficSelector> local_ts;
  std::vector<TrafficSelector> remote_ts;
  SaMode mode = SaMode::kTunnel;
  Endpoint local;   // tunnel endpoints (tunnel mode)
  Endpoint remote;
};

// FAQ 16 ("allow unsecured communication with non IPsec-aware computers"): IKE found that the
// peer of a negotiate rule does not answer, so the rule's traffic with it goes in clear — both
// ways — until `until`; then the next packet tries IPsec again. Transport mode: the peer's own
// address; tunnel mode: the rule's remote traffic behind the gateway.
struct ClearFallback {
  std::string rule;
  IpAddress peer;
  std::vector<IpRange> destinations;
  std::chrono::steady_clock::time_point until;
};

struct SaCounters {
  uint64_t bytes = 0;
  uint64_t packets = 0;
  int64_t last_used_unix = 0;  // 0: never
};

// What the data path tells IKE.
class BackendEvents {
 public:
  virtual ~BackendEvents() = default;
  // A packet matched a "negotiate" filter for which no SA exists yet (FAQ: negotiate on the
  // first packet). The packet waits in a bounded queue.
  struct Acquire {
    IpAddress source;
    IpAddress destination;
    uint8_t protocol = 0;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint32_t filter_entry = 0;  // the filter table entry id
  };
  virtual void OnAcquire(const Acquire& acquire) = 0;
  // A byte or time lifetime was reached (soft: rekey; hard: the SA is gone).
  virtual void OnExpire(SaProtocol protocol, uint32_t spi, bool hard) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;  // "userspace", "xfrm", "recording"
  // A fresh inbound SPI, reserved until AddSa or DeleteSa.
  virtual Result<uint32_t> AllocateSpi(SaProtocol protocol) = 0;
  virtual Status AddSa(const SaConfig& sa) = 0;
  // New outer endpoints (NAT mapping changed; RFC 7296 §2.23).
  virtual Status UpdateSaEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                                   const Endpoint& remote, bool udp_encapsulation) = 0;
  virtual Status DeleteSa(SaProtocol protocol, uint32_t spi) = 0;
  virtual Status AddPolicy(const PolicyConfig& policy) = 0;
  virtual Status DeletePolicy(uint32_t reqid, SaDirection direction) = 0;
  virtual Result<SaCounters> QuerySa(SaProtocol protocol, uint32_t spi) const = 0;
  // FAQ 16: starts (or renews) a fallback to clear; EndClearFallback ends one before `until`
  // (IKE negotiated with that peer after all). Keyed by (rule, peer).
  virtual Status SetClearFallback(const ClearFallback& fallback) = 0;
  virtual Status EndClearFallback(const std::string& rule, const IpAddress& peer) = 0;
  // Not owned; may be null. Set before the first AddSa.
  virtual void SetEvents(BackendEvents* events) = 0;
};

}  // namespace ipsec::engine::dataplane
