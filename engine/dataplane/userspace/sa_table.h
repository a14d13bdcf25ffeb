#pragma once

// SaTable: the userspace data path's SAs and policies (what IKE installs through
// dataplane::Backend), read on every packet by the workers.
//
// Concurrency (RCU-like): writers (IKE's loop thread, serialized by writer_mu_) copy the
// current immutable Snapshot, change the copy and publish it with an atomic store, bumping
// generation(). The snapshot's maps are sharded (ShardedMap, PolicyList): the copy shares every
// shard but the one a change touches, so a change costs O(n/256 + 256), not O(n) (10,000 IKE
// SAs set up one by one copied the whole table each time: 5.7 ms CPU per SA). Workers keep the
// snapshot they loaded and reload it only when the generation moved (one relaxed load per batch),
// so the per-packet path takes no lock and touches no shared reference count. A deleted SA lives on
// while a worker still holds a snapshot with it. Per-SA counters are relaxed atomics inside the SA
// state, shared by every snapshot.
//
// Make-before-break (RFC 7296 §2.8): each reqid keeps its outbound SAs in the order added; the
// newest carries the traffic, so a rekey switches when the new outbound SA is added, and the
// old inbound SA keeps accepting until IKE deletes it.

#include <array>
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
#include "engine/esp/ah.h"
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
// ESP or AH context and counters. Exactly one of the four contexts is set.
struct SaState {
  SaConfig config;
  // Shared, so that an endpoint update (a new SaState) keeps the contexts and counters.
  std::shared_ptr<esp::InboundSa> inbound;         // direction kInbound, ESP
  std::shared_ptr<esp::OutboundSa> outbound;       // direction kOutbound, ESP
  std::shared_ptr<esp::AhInboundSa> ah_inbound;    // direction kInbound, AH (RFC 4302)
  std::shared_ptr<esp::AhOutboundSa> ah_outbound;  // direction kOutbound, AH
  // An outbound SA that can protect packets (ESP or AH), short of its hard byte lifetime
  // (RFC 4301 §4.4.2.1: past it, the SA is not used while IKE replaces it).
  bool CarriesOutbound() const {
    return (outbound != nullptr || ah_outbound != nullptr) && !Expired();
  }
  // Past its hard byte lifetime (Pipeline::Account set it).
  bool Expired() const { return stats->hard_expired.load(std::memory_order_relaxed); }
  std::shared_ptr<SaStats> stats = std::make_shared<SaStats>();
  std::shared_ptr<RulePeerStats> rule_peer;
};

// A uint32 key -> V map split into kShards immutable shards: a writer copies only the shard it
// changes (O(n/kShards) entries plus kShards pointers), never the whole map. Readers see the
// std::unordered_map shape: find() returns the entry (nullptr: none), end() is nullptr.
template <class V>
class ShardedMap {
 public:
  static constexpr size_t kShards = 256;
  using Shard = std::unordered_map<uint32_t, V>;
  using value_type = typename Shard::value_type;

  ShardedMap() { shards_.fill(Empty()); }

  const value_type* find(uint32_t key) const {
    const Shard& shard = *shards_[Index(key)];
    auto it = shard.find(key);
    return it == shard.end() ? nullptr : &*it;
  }
  static constexpr const value_type* end() { return nullptr; }
  size_t count(uint32_t key) const { return find(key) != nullptr ? 1 : 0; }
  // Whether some entry satisfies pred(const value_type&).
  template <class Pred>
  bool any_of(Pred pred) const {
    for (const auto& s : shards_) {
      for (const auto& entry : *s) {
        if (pred(entry)) return true;
      }
    }
    return false;
  }
  size_t size() const {
    size_t n = 0;
    for (const auto& s : shards_) n += s->size();
    return n;
  }

  // Writer side (on a private copy of the snapshot): a fresh copy of key's shard, installed in
  // this map, to change. *copied counts the entries copied.
  Shard& Edit(uint32_t key, uint64_t* copied) {
    auto& slot = shards_[Index(key)];
    auto fresh = std::make_shared<Shard>(*slot);
    *copied += slot->size();
    Shard& out = *fresh;
    slot = std::move(fresh);
    return out;
  }

 private:
  static size_t Index(uint32_t key) {
    // Fibonacci hashing: sequential reqids and random SPIs both spread over the shards.
    return static_cast<uint32_t>(key * 0x9E3779B1u) >> 24;
  }
  static const std::shared_ptr<const Shard>& Empty() {
    static const std::shared_ptr<const Shard> empty = std::make_shared<const Shard>();
    return empty;
  }
  static_assert(kShards == 256, "Index() yields 8 bits");

  std::array<std::shared_ptr<const Shard>, kShards> shards_;
};

// Outbound policies newest first, in immutable chunks of at most kChunk policies: adding or
// removing one copies one chunk and the chunk pointers (O(kChunk + n/kChunk)).
struct PolicyChunk {
  std::vector<PolicyConfig> policies;  // newest first
};
class PolicyList {
 public:
  static constexpr size_t kChunk = 64;
  const std::vector<std::shared_ptr<const PolicyChunk>>& chunks() const { return chunks_; }
  template <class F>
  void ForEach(F&& f) const {
    for (const auto& c : chunks_) {
      for (const auto& p : c->policies) f(p);
    }
  }
  size_t size() const {
    size_t n = 0;
    for (const auto& c : chunks_) n += c->policies.size();
    return n;
  }

 private:
  friend class SaTable;
  std::vector<std::shared_ptr<const PolicyChunk>> chunks_;  // newest first
};

struct Snapshot {
  ShardedMap<std::shared_ptr<SaState>> inbound;   // by SPI
  ShardedMap<std::shared_ptr<SaState>> outbound;  // by SPI
  // reqid -> its outbound SAs, oldest first; back() carries the traffic.
  ShardedMap<std::vector<std::shared_ptr<SaState>>> outbound_by_reqid;
  // Outbound policies, newest first (a rekey's policy wins over an older identical one).
  PolicyList outbound_policies;
  ShardedMap<PolicyConfig> inbound_policies;  // by reqid
};

// Refuses an AH SA, or either SA of an AH+ESP bundle (`bundle`, FAQ 46), that would need UDP
// encapsulation (a NAT in the way): kInvalidArgument.
Status CheckAhEncapsulation(SaProtocol protocol, bool udp_encapsulation, bool bundle = false);

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
  // Whether an outbound SA of an AH+ESP bundle (FAQ 46) is installed (a walk over all SAs).
  bool HasBundledOutbound() const;

  // Readers.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const Snapshot> Load() const { return std::atomic_load(&current_); }
  std::vector<RulePeerTraffic> RulePeerCounters() const;
  // Test hook: map entries and policies writers have copied so far (the cost of changes).
  uint64_t copied_entries() const { return copied_.load(std::memory_order_relaxed); }

  // The outbound SA for a packet: the newest policy whose selectors cover it, then its reqid's
  // newest outbound SA. nullptr: none (negotiate).
  static const SaState* LookupOutbound(const Snapshot& s, const IpAddress& source,
                                       const IpAddress& destination, uint8_t protocol,
                                       uint16_t source_port, uint16_t destination_port,
                                       bool has_ports);
  // FAQ 46's AH+ESP bundle: reqid's newest outbound SA of `protocol` with SaConfig::bundle
  // (each protocol has its own newest: a rekey adds the new ESP and AH SAs one by one, and each
  // carries traffic from its AddSa on). nullptr: none.
  static const SaState* NewestBundled(const Snapshot& s, uint32_t reqid, SaProtocol protocol);

 private:
  std::shared_ptr<Snapshot> CopyLocked() const;
  void PublishLocked(std::shared_ptr<Snapshot> next);
  std::shared_ptr<RulePeerStats> RulePeerLocked(const std::string& rule, const std::string& peer);
  void RemoveOutboundPolicyLocked(Snapshot& next, uint32_t reqid, bool* removed);
  void CountCopiedLocked(uint64_t n) { copied_.fetch_add(n, std::memory_order_relaxed); }

  const unsigned workers_;
  mutable std::mutex writer_mu_;
  std::shared_ptr<const Snapshot> current_;  // atomic_load/atomic_store only
  std::atomic<uint64_t> generation_{1};
  std::map<uint32_t, Clock::time_point> lingering_;  // guarded by writer_mu_: SPI -> removal
  std::atomic<bool> any_lingering_{false};
  std::map<std::pair<std::string, std::string>, std::shared_ptr<RulePeerStats>>
      rule_peer_;  // guarded by writer_mu_; entries never removed (bounded by rules x peers)
  // guarded by writer_mu_: reqid -> the chunk of the current snapshot holding its outbound policy
  std::unordered_map<uint32_t, const PolicyChunk*> policy_chunk_;
  std::atomic<uint64_t> copied_{0};
};

}  // namespace ipsec::engine::dataplane::userspace
