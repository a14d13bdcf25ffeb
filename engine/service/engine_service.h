#pragma once

// EngineService: the facade the API and the daemon use to reach the engine (../shared/STYLE.md
// (c)). It owns the pod-scope policy store, the policies read from the cluster and namespace
// scopes, the closest-wins assignment (FAQ 20), and the compiled filter table in force.
//
// Writes are atomic: a change is validated, compiled and persisted (through StatePersistence)
// before it becomes visible; if any step fails, nothing changes. Reads see immutable
// snapshots. Thread-safe: every public method may be called from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/clock.h"
#include "engine/common/result.h"
#include "engine/dataplane/dataplane_counters.h"
#include "engine/dataplane/filter_table_sink.h"
#include "engine/ike/snapshot.h"
#include "engine/policy/classifier.h"
#include "engine/policy/compiler.h"
#include "engine/policy/model.h"
#include "engine/service/ike_runtime.h"
#include "engine/telemetry/event.h"

namespace ipsec::engine::service {

using policy::Policy;
using policy::Scope;

// A pod-scope policy and its revision. The API's ETag is the revision.
struct StoredPolicy {
  Policy policy;
  uint64_t revision = 0;
};

// Everything at pod scope that must survive a restart.
struct LocalState {
  std::vector<StoredPolicy> policies;   // sorted by name
  std::optional<std::string> assigned;  // the pod-scope assignment
  uint64_t last_revision = 0;           // revisions are never reused
};

// Durable storage of LocalState (sidecar/store implements it with temp file, fsync, rename).
// Save returns only when the state is durable; the service acknowledges a write only after.
// A failed Save is kUnavailable when the stored state is unchanged, kDataLoss when the new
// state may have replaced it without being durable (the service then saves the state in force
// back). The error's message goes to API clients: it says why in general terms ("the state
// volume is full") and names no file; the implementation logs the details.
class StatePersistence {
 public:
  virtual ~StatePersistence() = default;
  virtual Status Save(const LocalState& state) = 0;
};

// Who asked for a change, for the audit event ("what changed, by which route").
struct ChangeContext {
  std::string route;  // "PUT /v1/policies/{name}", "file:/etc/ipsec/namespace/policy.yaml"
  std::string actor;  // "api", "cli", "file-watcher"
};

struct ScopeStatus {
  Scope scope = Scope::kPod;
  std::optional<std::string> policy;  // the policy assigned at this scope, if any
  std::string source;                 // "api", or the file it was read from
  std::string error;                  // the last load error; the previous policy stays
  int64_t updated_unix = 0;
};

struct AssignmentStatus {
  std::optional<Scope> in_force_scope;  // nullopt: no policy anywhere, all traffic permitted
  std::optional<std::string> in_force_policy;
  std::string reason;               // a sentence for people
  std::vector<ScopeStatus> scopes;  // cluster, namespace, pod, in that order
};

// The policy in force and its compiled table, as one immutable snapshot.
struct Effective {
  std::optional<Scope> scope;
  std::optional<Policy> policy;  // secrets included: never serialize with secrets
  std::shared_ptr<const policy::Classifier> classifier;
  uint64_t generation = 0;  // increments on every change of the table
  int64_t compiled_unix = 0;
  double compile_seconds = 0;
};

struct MatchResult {
  policy::Action action = policy::Action::kPermit;
  std::optional<policy::TableEntry> entry;  // nullopt: no entry matched, default permit
  std::string reason;
  std::optional<std::string> policy;
  uint64_t generation = 0;
};

// IKE SAs with their child SAs, as the FAQ's IP Security Monitor lists them (FAQ 37-38).
struct SaList {
  std::vector<ike::IkeSaSnapshot> ike_sas;
};

struct IkeStatistics {
  bool running = false;  // an IKE runtime is attached
  ike::IkeStatisticsSnapshot totals;
  std::vector<RuleSaStatus> rules;  // configured versus established, per rule
  IkeCounters counters;
};

enum class ApplyResult { kSuccess, kInvalid, kConflict, kPersistFailed };
inline constexpr int kApplyResultCount = 4;
const char* Name(ApplyResult r);  // success, invalid, conflict, persist_failed

// Counters for the exporter, read at scrape time.
struct ServiceCounters {
  uint64_t policy_applies[kApplyResultCount] = {};  // by ApplyResult
  uint64_t generation = 0;
  uint32_t rules_in_force = 0;
  uint32_t filters_generic = 0;
  uint32_t filters_specific = 0;
  uint32_t conflicts_resolved = 0;
  double last_compile_seconds = 0;
};

class EngineService {
 public:
  struct Options {
    // Not owned; must outlive the service.
    StatePersistence* persistence = nullptr;  // nullptr: pod-scope policy is not persisted
    telemetry::EventSink* events = nullptr;   // nullptr: events are dropped
    const Clock* clock = nullptr;             // nullptr: the system clock
    policy::CompileContext context;
    LocalState initial_state;  // what the store loaded at start-up
  };
  explicit EngineService(Options options);
  ~EngineService();
  EngineService(const EngineService&) = delete;
  EngineService& operator=(const EngineService&) = delete;

  // ---- Pod-scope policy store (REST) ----
  std::vector<StoredPolicy> ListPolicies() const;
  Result<StoredPolicy> GetPolicy(const std::string& name) const;
  // kAlreadyExists when a policy of that name exists.
  Result<StoredPolicy> CreatePolicy(Policy policy, const ChangeContext& ctx);
  // Creates or replaces. expected_revision: the If-Match revision (kAborted when stale, so the
  // API answers 412); nullopt: unconditional. Renaming through the body is kInvalidArgument.
  Result<StoredPolicy> PutPolicy(const std::string& name, Policy policy,
                                 std::optional<uint64_t> expected_revision,
                                 const ChangeContext& ctx);
  // Read-modify-write of one policy under the store's lock: `mutate` edits a copy; the result
  // is validated, compiled (if in force) and persisted, or nothing changes. `mutate` returns an
  // error to abort (kNotFound for a missing part, kAlreadyExists, ...).
  using Mutation = std::function<Status(Policy&)>;
  Result<StoredPolicy> UpdatePolicy(const std::string& name,
                                    std::optional<uint64_t> expected_revision,
                                    const Mutation& mutate, const ChangeContext& ctx);
  // kFailedPrecondition when the policy is assigned at pod scope.
  Status DeletePolicy(const std::string& name, std::optional<uint64_t> expected_revision,
                      const ChangeContext& ctx);
  Status AssignPodPolicy(const std::string& name, const ChangeContext& ctx);
  Status UnassignPodPolicy(const ChangeContext& ctx);
  // FAQ 44: remove every pod-scope policy and the pod-scope assignment.
  Status DeleteAllLocalPolicy(const ChangeContext& ctx);

  // ---- Cluster and namespace scopes (files, re-read by the daemon) ----
  // Sets the policy assigned at a file scope (nullopt: none assigned there). An invalid policy
  // is rejected, recorded as the scope's error, and the previous one stays in force.
  Status SetScopePolicy(Scope scope, std::optional<Policy> policy, const std::string& source,
                        const ChangeContext& ctx);
  // Records that a scope's source could not be read or parsed; the previous policy stays.
  void ReportScopeError(Scope scope, const std::string& source, const std::string& error);

  // ---- What is in force ----
  AssignmentStatus GetAssignment() const;
  std::shared_ptr<const Effective> GetEffective() const;
  MatchResult Match(const policy::PacketKey& packet) const;
  // The pod's interfaces or node address changed: recompile the policy in force.
  Status SetCompileContext(policy::CompileContext context);
  policy::CompileContext GetCompileContext() const;

  // ---- SAs, statistics, configuration ----
  // The IKE engine, once the daemon has started it (not owned; nullptr: none). The policy in
  // force is handed to it now and on every change.
  void AttachIke(IkeRuntime* runtime);
  // The data path, when it classifies packets itself (userspace, issue 4): handed the policy in
  // force now and on every change; its counters feed DataPathCounters. Not owned; nullptr
  // detaches (before the data path goes).
  void AttachDataPath(dataplane::FilterTableSink* sink,
                      const dataplane::DataplaneCounterSource* counters);
  // nullopt: no packet-carrying data path attached.
  std::optional<dataplane::DataplaneCounters> DataPathCounters() const;
  std::vector<dataplane::RulePeerTraffic> DataPathRulePeerCounters() const;
  SaList ListSas() const;
  IkeStatistics GetStatistics() const;
  // An API handler failed with an exception (a bug): logged as `api.handler_failed` with the
  // route and the exception's type. Its message is left out: it may quote request content.
  void ReportHandlerFailure(const std::string& route, const std::string& exception_type) const;
  // Tears down "ike-<n>" (sending Delete) or "child-<reqid>".
  Status DeleteSa(const std::string& id, const ChangeContext& ctx);
  // Rekeys an SA now (ike-<n> or child-<reqid>); the exchange runs after this returns.
  Status RekeySa(const std::string& id, const ChangeContext& ctx);
  // Starts an IKE SA for `rule` with `peer` (default: the rule's tunnel endpoint).
  Result<std::string> InitiateSa(const std::string& rule, std::optional<IpAddress> peer,
                                 const ChangeContext& ctx);
  void SetIkeLogging(bool enabled, const ChangeContext& ctx);
  bool IkeLoggingEnabled() const;
  // Called when IKE logging is switched (the daemon opens or closes the IKE log).
  void OnIkeLoggingChanged(std::function<void(bool)> callback);

  // Ready once the daemon has loaded its state and read every policy source, and the data path
  // (when attached) programmed the policy in force.
  void SetReady(bool ready);
  bool Ready() const;
  // Why not ready ("" when ready): for /readyz.
  std::string NotReadyReason() const;

  ServiceCounters Counters() const;

 private:
  struct State;
  using MakePolicy = std::function<Result<Policy>(const StoredPolicy* existing)>;
  // Must hold mu_.
  Result<StoredPolicy> StoreLocked(const std::string& name,
                                   std::optional<uint64_t> expected_revision,
                                   const MakePolicy& make, const ChangeContext& ctx,
                                   const std::string& what);
  Status CommitLocked(LocalState next, const ChangeContext& ctx, const std::string& what);
  Status RefuseUnsavedLocked(const Error& error, const ChangeContext& ctx, const std::string& what);
  Result<std::shared_ptr<Effective>> BuildEffectiveLocked(const LocalState& local,
                                                          bool force) const;
  void PublishLocked(std::shared_ptr<Effective> next, const ChangeContext& ctx,
                     const std::string& what);
  void Emit(telemetry::Event event) const;
  // DeleteSa / RekeySa: `act` on the IKE runtime, audited as `event` when it succeeds.
  Status ActOnSa(const std::string& id, const ChangeContext& ctx,
                 Status (IkeRuntime::*act)(const std::string&), const char* event,
                 const std::string& message);
  void PublishToIke(const Effective& effective);
  void CountApply(ApplyResult r) const;

  Options options_;
  SystemClock system_clock_;
  // mu_ serializes every write and guards State; effective_mu_ guards only State::effective,
  // which writers replace (holding both) and readers copy (holding effective_mu_), so lookups
  // never wait for a compile.
  mutable std::mutex mu_;
  mutable std::mutex effective_mu_;
  std::unique_ptr<State> state_;
  std::atomic<IkeRuntime*> ike_{nullptr};
  dataplane::FilterTableSink* data_path_ = nullptr;  // guarded by mu_
  std::string data_path_error_;                      // guarded by mu_: the last apply's
  std::atomic<const dataplane::DataplaneCounterSource*> data_path_counters_{nullptr};
};

}  // namespace ipsec::engine::service
