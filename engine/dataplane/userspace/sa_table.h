#pragma once

// SaTable: the userspace data path's SAs and policies (what IKE installs through
// dataplane::Backend), read on every packet by the workers.
//
// Concurrency (RCU-like): writers (IKE's loop thread, serialized by writer_mu_) copy the
// current immutable Snapshot, change the copy and publish it with an atomic store, bumping
// generation(). Workers keep the snapshot they loaded and reload it only when the generation
// moved (one relaxed load per batch), so the per-packet path takes no lock and touches no
// shared reference count. A deleted SA lives on while a worker still holds a snapshot with it.
// Per-SA counters are relaxed atomics inside the SA state, shared by every snapshot.
//
// Make-before-break (RFC 7296 §2.8): each reqid keeps its outbound SAs in the order added; the
// newest carries the traffic, so a rekey switches when the new outbound SA is added, and the
// old inbound SA keeps accepting until IKE deletes it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/dataplane/backend.h"
#include "engine/dataplane/dataplane_counters.h"
#include "engine/esp/inbound_sa.h"
#include "engine/esp/outbound_sa.h"

namespace ipsec::engine::dataplane::userspace {

// Monotonic traffic of one (rule, peer), shared by all its SAs: survives rekeys.
struct RulePeerStats {
  std::string rule;
  std::string peer;
  std::atomic<uint64_t> packets[2] = {};
  std::atomic<uint64_t> bytes[2] = {};
};

// Counters of one SA and its lifetime flags.
struct SaStats {
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> packets{0};
  std::atomic<int64_t> last_used_unix{0};
  std::atomic<bool> soft_expired{false};
  std::atomic<bool> hard_expired{false};
};

// One installed SA: its configuration (keys wiped: they live only in the esp contexts), its
// ESP context and counters.
struct SaState {
  SaConfig config;
  // Shared, so that an endpoint update (a new SaState) keeps the contexts and counters.
  std::shared_ptr<esp::InboundSa> inbound;    // direction kInbound, ESP
  std::shared_ptr<esp::OutboundSa> outbound;  // direction kOutbound, ESP
  std::shared_ptr<SaStats> stats = std::make_shared<SaStats>();
  std::shared_ptr<RulePeerStats> rule_peer;
};

struct Snapshot {
  std::unordered_map<uint32_t, std::shared_ptr<SaState>> inbound;   // by SPI
  std::unordered_map<uint32_t, std::shared_ptr<SaState>> outbound;  // by SPI
  // reqid -> its outbound SAs, oldest first; back() carries the traffic.
  std::unordered_map<uint32_t, std::vector<std::shared_ptr<SaState>>> outbound_by_reqid;
  // Outbound policies, newest first (a rekey's policy wins over an older identical one).
  std::vector<PolicyConfig> outbound_policies;
  std::unordered_map<uint32_t, PolicyConfig> inbound_policies;  // by reqid
};

// Whether `ts` (empty: any) covers the given address/protocol/port.
bool SelectorsCover(const std::vector<TrafficSelector>& ts, const IpAddress& address,
                    uint8_t protocol, uint16_t port, bool has_ports);

class SaTable {
 public:
  using Clock = std::chrono::steady_clock;
  // A deleted inbound SA keeps accepting for this long (RFC 4301 §4.4.2.1 leaves the timing of
  // the removal to the implementation): packets in flight when IKE deletes it, and a rekey
  // collision (RFC 7296 §2.8.1), where the peer may send on the redundant SA until our Delete
  // reaches it, are not lost. Its SPI is not handed out again meanwhile.
  static constexpr Clock::duration kInboundLinger = std::chrono::seconds(2);

  explicit SaTable(unsigned workers);

  // Writers (any thread; serialized). The esp contexts are created here; key material is not
  // kept in the stored config.
  Status AddSa(const SaConfig& sa);
  Status DeleteSa(SaProtocol protocol, uint32_t spi, Clock::time_point now = Clock::now());
  // Removes lingering inbound SAs whose time is up (any thread; cheap when there are none).
  void Sweep(Clock::time_point now);
  Status UpdateEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                         const Endpoint& remote, bool udp_encapsulation);
  Status AddPolicy(const PolicyConfig& policy);
  Status DeletePolicy(uint32_t reqid, SaDirection direction);
  Result<SaCounters> Query(SaProtocol protocol, uint32_t spi) const;
  bool SpiInUse(uint32_t spi) const;

  // Readers.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const Snapshot> Load() const { return std::atomic_load(&current_); }
  std::vector<RulePeerTraffic> RulePeerCounters() const;

  // The outbound SA for a packet: the newest policy whose selectors cover it, then its reqid's
  // newest outbound SA. nullptr: none (negotiate).
  static const SaState* LookupOutbound(const Snapshot& s, const IpAddress& source,
                                       const IpAddress& destination, uint8_t protocol,
                                       uint16_t source_port, uint16_t destination_port,
                                       bool has_ports);

 private:
  std::shared_ptr<Snapshot> CopyLocked() const;
  void PublishLocked(std::shared_ptr<Snapshot> next);
  std::shared_ptr<RulePeerStats> RulePeerLocked(const std::string& rule, const std::string& peer);

  const unsigned workers_;
  mutable std::mutex writer_mu_;
  std::shared_ptr<const Snapshot> current_;  // atomic_load/atomic_store only
  std::atomic<uint64_t> generation_{1};
  std::map<uint32_t, Clock::time_point> lingering_;  // guarded by writer_mu_: SPI -> removal
  std::atomic<bool> any_lingering_{false};
  std::map<std::pair<std::string, std::string>, std::shared_ptr<RulePeerStats>>
      rule_peer_;  // guarded by writer_mu_; entries never removed (bounded by rules x peers)
};

}  // namespace ipsec::engine::dataplane::userspace
