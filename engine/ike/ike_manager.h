#pragma once

// IkeManager: the IKE engine of one pod. Owns every IKE SA (with its task manager), dispatches
// inbound datagrams by SPI, starts responder SAs for IKE_SA_INIT requests, initiates SAs for
// rules, runs the timers (retransmission, half-open expiry; rekey, liveness and idle timeouts
// are driven from here too), sends through a PacketSink and installs child SAs through the data
// path's Backend. A state machine without I/O or clocks of its own: callers pass `now` and call
// OnTimer() at NextDeadline(). Not thread-safe: one thread (the IKE event loop) owns it.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/common/clock.h"
#include "engine/common/packet_sink.h"
#include "engine/common/random.h"
#include "engine/ike/admission.h"
#include "engine/ike/child_installer.h"
#include "engine/ike/dh_reuse.h"
#include "engine/ike/ike_config.h"
#include "engine/ike/ike_observer.h"
#include "engine/ike/ike_sa.h"
#include "engine/ike/snapshot.h"
#include "engine/ike/task_manager.h"

namespace ipsec::engine::ike {

class IkeManager {
 public:
  struct Options {
    // Not owned; must outlive the manager.
    Random* random = nullptr;
    IkeObserver* observer = nullptr;
    PacketSink* sink = nullptr;
    dataplane::Backend* backend = nullptr;
    const Clock* clock = nullptr;  // for wall-clock timestamps only
    uint16_t nat_t_port = 4500;       // our NAT-T port
    uint16_t peer_nat_t_port = 4500;  // the port we float to at the peer
    uint16_t ike_port = 500;          // our IKE port, for negotiations the data path starts
    uint16_t peer_ike_port = 500;     // the peer's
    bool force_udp_encapsulation = false;  // IkeSa::force_encapsulation for every SA
    // Our address toward a tunnel endpoint (the kernel's source address selection), for
    // negotiations the data path starts in tunnel mode: the packet's own source is then an
    // inner address the peer may not reach. Empty or nullopt: the packet's source.
    std::function<std::optional<IpAddress>(const IpAddress& peer)> local_address_for;
    // RFC 7296 §2.12: how long and how often a responder's DH key pair is reused (dh_reuse.h;
    // max_age 0: never).
    DhReuseLimits dh_reuse;
  };
  explicit IkeManager(Options options);
  ~IkeManager();
  IkeManager(const IkeManager&) = delete;
  IkeManager& operator=(const IkeManager&) = delete;

  // New SAs use this configuration; existing ones keep the snapshot they started with.
  void SetConfig(std::shared_ptr<const IkeConfig> config);
  std::shared_ptr<const IkeConfig> config() const { return config_; }

  // Starts an IKE SA and its first child SA for `rule` with `peer` (FAQ: negotiate when
  // traffic needs it, or when asked). The traffic selectors are the rule's, or `traffic`.
  Result<std::string> Initiate(const std::string& rule, const Endpoint& local,
                               const Endpoint& peer, SteadyTime now,
                               std::optional<RuleTraffic> traffic = std::nullopt);
  // FAQ 16-17: the data path reports a packet that needs an SA (dataplane::BackendEvents).
  //  - outbound (its source is in the rule's local traffic): negotiate for the rule of its
  //    filter entry with its destination (or the rule's tunnel endpoint);
  //  - inbound unsecured (its destination is ours): only for a rule that accepts unsecured
  //    communication (FAQ 17); the data path lets the packet in, and we answer with a
  //    negotiation towards its source.
  // A negotiation already under way for the rule and peer is not duplicated. While traffic
  // with the peer falls back to clear (FAQ 16), nothing is negotiated: `clear` is set.
  struct AcquireResult {
    std::string sa;      // "ike-<n>", new or under way; empty when `clear`
    bool clear = false;  // FAQ 16: the packet goes in clear
    bool started = false;
  };
  Result<AcquireResult> OnAcquire(const dataplane::BackendEvents::Acquire& acquire,
                                  SteadyTime now);
  // FAQ 16: peers whose traffic currently goes in clear.
  std::vector<ClearFallbackSnapshot> ClearFallbacks(SteadyTime now) const;
  void OnDatagram(const Endpoint& local, const Endpoint& remote, ByteSpan data, SteadyTime now);
  void OnTimer(SteadyTime now);
  SteadyTime NextDeadline() const;
  // Deletes an IKE SA ("ike-<n>", sending Delete) or a child SA ("child-<reqid>").
  Status Delete(const std::string& id, SteadyTime now);
  // Sends Delete for every IKE SA (drain on shutdown).
  void DeleteAll(SteadyTime now);
  // RFC 7296 §1.3.1: a further child SA for `rule` under IKE SA `ike_id` ("ike-<n>"), with the
  // rule's traffic or `traffic`. FAQ 18: when the IKE SA has made max_child_sas child SAs, it
  // is rekeyed first and the child SA is made under its successor.
  Status InitiateChild(const std::string& ike_id, const std::string& rule, SteadyTime now,
                       std::optional<RuleTraffic> traffic = std::nullopt);
  // Rekeys now: a child SA ("child-<reqid>", §1.3.3) or an IKE SA ("ike-<n>", §1.3.2).
  Status Rekey(const std::string& id, SteadyTime now);
  // The data path reached a lifetime of an SA (dataplane::BackendEvents::OnExpire): soft
  // rekeys its child SA, hard deletes it (the data path removed the SA already).
  void OnExpire(dataplane::SaProtocol protocol, uint32_t spi, bool hard, SteadyTime now);

  std::vector<IkeSaSnapshot> Snapshot(SteadyTime now) const;
  IkeStatisticsSnapshot Statistics() const;
  size_t sa_count() const { return sas_.size(); }

  // Debug checks of the admission bookkeeping (tests): CheckAdmission() recounts from every SA
  // (O(SAs)) what AdmissionTable keeps incrementally and returns the first difference, "" when
  // none. admission_entries_read() counts the SAs admission decisions have read (an evicted
  // one: 1), to show a decision costs no walk over the SAs.
  std::string CheckAdmission() const;
  uint64_t admission_entries_read() const { return admission_entries_read_; }

 private:
  struct Entry;
  Entry* Find(uint64_t local_spi);
  Entry* FindById(uint64_t id);
  Entry& Create(bool initiator, const Endpoint& local, const Endpoint& remote, SteadyTime now);
  void HandleInitRequest(const codec::Message& message, const Endpoint& local,
                         const Endpoint& remote, ByteSpan data, SteadyTime now);
  // Hands a datagram to its SA's task manager; counts it if dropped, else settles the SA.
  void Deliver(Entry& entry, const codec::Message& message, const Endpoint& local,
               const Endpoint& remote, ByteSpan data, SteadyTime now);
  // Counts a discarded datagram (IkeStatisticsSnapshot::datagrams_dropped).
  void Drop(IkeDropReason reason);
  // Anti-DoS for a new IKE_SA_INIT request (RFC 7296 §2.6 cookies, FAQ 59 limits): true to
  // create the responder SA; otherwise the request was answered with N(COOKIE) or dropped
  // (counted).
  bool AdmitInitRequest(const codec::Message& message, const Endpoint& local,
                        const Endpoint& remote, SteadyTime now);
  std::unique_ptr<Task> MakeResponderTask(Entry& entry, const InMessage& request);
  SteadyTime now_{};  // of the call under way (Settle has no `now` of its own)
  // Reports finished exchanges and acts on them; removes dead SAs. Sends the outbox.
  void Settle(Entry& entry, Outbox& out);
  void Kill(Entry& entry, const std::string& why);
  // Brings admission_'s view of `entry` up to date (half-open responder, established with its
  // peer's IP, or neither): after anything that may change its state, address or life.
  void Track(Entry& entry);
  // RFC 7296 §2.14: a responder's keys, left pending by IKE_SA_INIT, before the first message
  // after it is read. False when the peer's KE turns out invalid: the SA is gone.
  bool CompleteKeyExchange(Entry& entry);
  // At the global cap (DosLimits::max_half_open): the oldest half-open responder SA goes.
  void EvictOldestHalfOpen(const Endpoint& newcomer);
  // Half-open responder SAs past IkeTimers::half_open_timeout, oldest first, without reading
  // the others (under a flood they expire as fast as they come).
  void ExpireHalfOpen(SteadyTime now);
  // Rekey, lifetime, idle, liveness and NAT keepalive timers of one SA (rekey_timers.cc).
  void RunSaTimers(Entry& entry, SteadyTime now);
  SteadyTime SaDeadline(const Entry& entry) const;
  // NextDeadline() without reading every SA after every datagram (that was O(SAs) per
  // datagram): each SA's next deadline in an ordered index. OnDatagram marks the SAs it may
  // change (Settle, Kill, Create; every SA after a CREATE_CHILD_SA); every other public method
  // that may change SAs calls InvalidateDeadlines(), and the next NextDeadline() reads them all
  // again (and keeps scanning until datagrams alone have come kIndexAfter times: a rebuild
  // costs more than a scan). A new such method must do the same.
  SteadyTime EntryDeadline(const Entry& entry) const;
  void MarkDeadlineDirty(uint64_t local_spi) { deadline_dirty_.insert(local_spi); }
  void InvalidateDeadlines() {
    deadline_index_valid_ = false;
    deadline_invalidated_ = true;
  }
  static constexpr int kIndexAfter = 16;  // NextDeadline calls by datagrams alone
  void CheckIdle(Entry& entry, ChildSa& child, SteadyTime now);
  // RFC 7296 §2.8: a rekey's responder adds the new outbound SA it held back once the old SA is
  // gone or (`poll`: the data path's counters are read) the peer sends on the new inbound SA.
  void PromoteDeferred(Entry& entry, bool poll, SteadyTime now);
  static constexpr std::chrono::seconds kDeferredOutboundPoll{1};
  void QueueChildDelete(Entry& entry, ChildSa& child, const std::string& why, bool remove_now);
  void QueueIkeRekey(Entry& entry);
  // Queues the rekey of `child` (§2.8), or, FAQ 18, when its keys would be derived from the
  // IKE SA's SK_d more often than max_child_sas allows, rekeys the IKE SA first and the child
  // SA under its successor.
  void QueueChildRekey(Entry& entry, ChildSa& child, SteadyTime now);
  // FAQ 18: the IKE SA may derive no more child SA keys before it is rekeyed.
  static bool ChildLimitReached(const IkeSa& sa);
  // A random point of [start + (fraction - jitter) * life, start + fraction * life] (§2.8.1).
  SteadyTime Jittered(SteadyTime start, SteadyTime hard_expiry);
  // After CREATE_CHILD_SA exchanges (either role): deletes what a rekey replaced, retries
  // after TEMPORARY_FAILURE, moves everything to a rekeyed IKE SA.
  void AfterChildExchange(Entry& entry, Task& task, SteadyTime now);
  void AfterIkeRekey(Entry& entry, const class RekeyIkeSaTask& task, SteadyTime now);
  // §2.18: the child SAs, the child SA requests not yet sent and those waiting for the rekey
  // (FAQ 18) go from an IKE SA to its successor.
  void MoveToSuccessor(Entry& from, Entry& to, SteadyTime now);
  // §2.8.2: the peer's new IKE SA held while our own rekey of `old` is under way (its
  // collision_held Entry), or nullptr.
  Entry* HeldSuccessor(const Entry& old);
  // §2.8.2, §2.25.2: the peer completed its rekey of `old` without seeing ours (or seeing ours
  // lose): it deleted `old`, or refused our request. Its new IKE SA is the successor.
  void AdoptPeerRekey(Entry& old, Entry& theirs, const std::string& why, SteadyTime now);
  // Stamps IkeTimers::RekeyedGrace on `entry` and its child SAs newly kRekeyed: if the peer has
  // not deleted them by then, RunSaTimers does.
  void StartGrace(Entry& entry, SteadyTime now);
  Entry* FindIkeSa(const std::string& id, Status* error);
  // Queues a CREATE_CHILD_SA for `rule` (§1.3.1) on `entry` (also while IKE_AUTH is under way:
  // it runs after), offering `traffic` first (§2.9); refused when the rule does not accept what
  // authenticated the peer. FAQ 18: after the IKE SA's rekey when its child SA limit is reached.
  Status QueueNewChild(Entry& entry, const NegotiateRule& rule,
                       const std::optional<RuleTraffic>& traffic);
  void Send(Outbox& out);
  // Requests of an IKE SA's successor (§2.18), sent after what the current call answered (the
  // rekey response must reach the peer before the first request on the new IKE SA).
  Outbox after_;
  uint64_t NewSpi();
  int64_t UnixNow() const;

  Options options_;
  SystemClock system_clock_;
  ChildInstaller installer_;
  std::shared_ptr<const IkeConfig> config_;
  std::map<uint64_t, std::unique_ptr<Entry>> sas_;            // by our SPI
  AdmissionTable admission_;  // half-open responder SAs and per-peer counts (admission.h)
  uint64_t admission_entries_read_ = 0;
  uint64_t next_id_ = 0;
  IkeStatisticsSnapshot stats_;
  DosGuard dos_;
  DhReusePool dh_pool_;
  mutable std::set<std::pair<SteadyTime, uint64_t>> deadline_index_;  // (deadline, our SPI)
  mutable std::unordered_map<uint64_t, SteadyTime> deadline_of_;      // what the index holds
  mutable std::unordered_set<uint64_t> deadline_dirty_;               // to read again
  mutable bool deadline_index_valid_ = false;
  mutable bool deadline_invalidated_ = true;  // since the last NextDeadline
  mutable int deadline_streak_ = 0;           // NextDeadline calls since, while not indexed
  // FAQ 16: (rule, peer) -> until when its traffic goes in clear.
  std::map<std::pair<std::string, IpAddress>, SteadyTime> clear_until_;
  void FallBackToClear(Entry& entry, SteadyTime now);
};

}  // namespace ipsec::engine::ike
