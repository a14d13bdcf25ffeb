#include "engine/service/engine_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "engine/policy/names.h"
#include "engine/policy/validate.h"

namespace ipsec::engine::service {
namespace {

using policy::Action;
using policy::CompileContext;

const char* kApplyResultNames[kApplyResultCount] = {"success", "invalid", "conflict",
                                                    "persist_failed"};

ApplyResult ResultFor(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnimplemented:
      return ApplyResult::kInvalid;
    case ErrorCode::kUnavailable:
    case ErrorCode::kDataLoss:
    case ErrorCode::kInternal:
      return ApplyResult::kPersistFailed;
    default:
      return ApplyResult::kConflict;
  }
}

std::vector<StoredPolicy>::iterator FindStored(LocalState& s, const std::string& name) {
  return std::find_if(s.policies.begin(), s.policies.end(),
                      [&](const StoredPolicy& p) { return p.policy.name == name; });
}
std::vector<StoredPolicy>::const_iterator FindStored(const LocalState& s, const std::string& name) {
  return std::find_if(s.policies.begin(), s.policies.end(),
                      [&](const StoredPolicy& p) { return p.policy.name == name; });
}

Status CheckRevision(const StoredPolicy& stored, std::optional<uint64_t> expected) {
  if (expected && *expected != stored.revision) {
    return MakeError(ErrorCode::kAborted, "policy '" + stored.policy.name + "' is at revision " +
                                              std::to_string(stored.revision) + ", not " +
                                              std::to_string(*expected) +
                                              ": re-read it and apply your change again");
  }
  return Status::Ok();
}

Status NotFound(const std::string& name) {
  return MakeError(ErrorCode::kNotFound, "no pod-scope policy named '" + name + "'");
}

}  // namespace

const char* Name(ApplyResult r) { return kApplyResultNames[static_cast<int>(r)]; }

// A file-sourced scope (cluster or namespace).
struct FileScope {
  std::optional<Policy> policy;
  std::string source;
  std::string error;
  int64_t updated_unix = 0;
};

struct EngineService::State {
  LocalState local;
  FileScope cluster;
  FileScope name_space;
  int64_t pod_updated_unix = 0;
  CompileContext context;
  std::shared_ptr<const Effective> effective;
  uint64_t generation = 0;
  bool ike_logging = false;
  std::function<void(bool)> ike_logging_callback;
  bool ready = false;
  mutable std::atomic<uint64_t> applies[kApplyResultCount] = {};

  FileScope& Scope(policy::Scope s) { return s == policy::Scope::kCluster ? cluster : name_space; }

  // The closest assigned policy (FAQ 20): pod, then namespace, then cluster.
  std::pair<std::optional<policy::Scope>, const Policy*> InForce(const LocalState& l) const {
    if (l.assigned) {
      auto it = FindStored(l, *l.assigned);
      if (it != l.policies.end()) return {policy::Scope::kPod, &it->policy};
    }
    if (name_space.policy) return {policy::Scope::kNamespace, &*name_space.policy};
    if (cluster.policy) return {policy::Scope::kCluster, &*cluster.policy};
    return {std::nullopt, nullptr};
  }
};

EngineService::EngineService(Options options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  if (options_.clock == nullptr) options_.clock = &system_clock_;
  state_->local = std::move(options_.initial_state);
  std::sort(
      state_->local.policies.begin(), state_->local.policies.end(),
      [](const StoredPolicy& a, const StoredPolicy& b) { return a.policy.name < b.policy.name; });
  state_->context = options_.context;
  std::lock_guard lock(mu_);
  auto effective = BuildEffectiveLocked(state_->local, true);
  if (effective.ok()) {
    PublishLocked(std::move(effective).value(), {"startup", "daemon"}, "start-up");
    return;
  }
  // The stored policy in force no longer compiles (it was valid when written): run with no
  // filters rather than refuse to start, and say so loudly.
  Emit(telemetry::Event{"policy.compile_failed", telemetry::Severity::kError,
                        "the stored policy in force does not compile; no filters applied: " +
                            effective.error().ToString()});
  auto empty = std::make_shared<Effective>();
  empty->classifier = std::make_shared<const policy::Classifier>(policy::EmptyTable());
  PublishLocked(std::move(empty), {"startup", "daemon"}, "start-up (compile failed)");
}

EngineService::~EngineService() = default;

void EngineService::Emit(telemetry::Event event) const {
  if (options_.events != nullptr) options_.events->Emit(event);
}

void EngineService::ReportHandlerFailure(const std::string& route,
                                         const std::string& exception_type) const {
  Emit(telemetry::Event{"api.handler_failed", telemetry::Severity::kError,
                        "a request handler threw; the client got 500"}
           .With("route", route)
           .With("exception", exception_type));
}

void EngineService::CountApply(ApplyResult r) const {
  state_->applies[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed);
}

// Builds the snapshot for the policy `local` and the file scopes put in force; nullptr when it
// is the one already published (so unrelated writes do not bump the generation). Must hold mu_.
Result<std::shared_ptr<Effective>> EngineService::BuildEffectiveLocked(const LocalState& local,
                                                                       bool force) const {
  auto [scope, in_force] = state_->InForce(local);
  const auto& current = state_->effective;
  if (!force && current && current->scope == scope &&
      ((in_force == nullptr && !current->policy) ||
       (in_force != nullptr && current->policy && *current->policy == *in_force))) {
    return std::shared_ptr<Effective>();
  }
  auto start = std::chrono::steady_clock::now();
  policy::FilterTable table = policy::EmptyTable();
  if (in_force != nullptr) {
    auto compiled = policy::CompilePolicy(*in_force, state_->context);
    if (!compiled.ok()) return compiled.error();
    table = std::move(compiled).value();
  }
  auto next = std::make_shared<Effective>();
  next->scope = scope;
  if (in_force != nullptr) next->policy = *in_force;
  next->classifier = std::make_shared<const policy::Classifier>(std::move(table));
  next->compiled_unix = options_.clock->UnixSeconds();
  next->compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return next;
}

// Makes `next` the table in force (no-op for nullptr). Must hold mu_.
void EngineService::PublishLocked(std::shared_ptr<Effective> next, const ChangeContext& ctx,
                                  const std::string& what) {
  if (!next) return;
  next->generation = ++state_->generation;
  {
    std::lock_guard lock(effective_mu_);
    state_->effective = next;
  }
  PublishToIke(*next);
  const auto& t = next->classifier->table();
  const std::string policy_name = next->policy ? next->policy->name : "";
  Emit(telemetry::Event{"policy.applied", telemetry::Severity::kInfo,
                        next->policy ? "policy '" + policy_name + "' in force"
                                     : "no policy in force: all traffic permitted"}
           .With("scope", next->scope ? policy::Name(*next->scope) : "none")
           .With("policy", policy_name)
           .With("generation", std::to_string(next->generation))
           .With("entries", std::to_string(t.entries.size()))
           .With("conflicts_resolved", std::to_string(t.conflicts_resolved))
           .With("cause", what)
           .With("route", ctx.route));
  for (const std::string& warning : t.warnings) {
    Emit(telemetry::Event{"policy.warning", telemetry::Severity::kWarning, warning}.With(
        "policy", policy_name));
  }
}

// Makes `next` the local state: compile what it puts in force, persist, then publish, so the
// engine never runs a policy that was not saved. On any failure nothing changes. Must hold mu_.
Status EngineService::CommitLocked(LocalState next, const ChangeContext& ctx,
                                   const std::string& what) {
  auto effective = BuildEffectiveLocked(next, false);
  if (!effective.ok()) {
    CountApply(ResultFor(effective.error()));
    return effective.error();
  }
  if (options_.persistence != nullptr) {
    if (Status saved = options_.persistence->Save(next); !saved.ok()) {
      return RefuseUnsavedLocked(saved.error(), ctx, what);
    }
  }
  state_->local = std::move(next);
  state_->pod_updated_unix = options_.clock->UnixSeconds();
  PublishLocked(std::move(effective).value(), ctx, what);
  CountApply(ApplyResult::kSuccess);
  Emit(telemetry::Event{"audit.policy_change", telemetry::Severity::kInfo, what}
           .With("route", ctx.route)
           .With("actor", ctx.actor)
           .With("scope", "pod"));
  return Status::Ok();
}

// A change the store could not save: nothing is published. When the store says the new state
// may be on disk anyway (kDataLoss: renamed into place, not made durable), the state in force
// is saved back, so that a restart never brings up a change the API refused. The store's
// message says why in general terms and names no file (StatePersistence). Must hold mu_.
Status EngineService::RefuseUnsavedLocked(const Error& error, const ChangeContext& ctx,
                                          const std::string& what) {
  CountApply(ApplyResult::kPersistFailed);
  std::string restore = "not needed";
  if (error.code == ErrorCode::kDataLoss) {
    Status restored = options_.persistence->Save(state_->local);
    restore = restored.ok()
                  ? "the state in force was saved back"
                  : "saving the state in force back failed too: " + restored.error().message;
  }
  Emit(telemetry::Event{"policy.persist_failed", telemetry::Severity::kError,
                        "a pod-scope change was refused: the state could not be saved"}
           .With("change", what)
           .With("route", ctx.route)
           .With("actor", ctx.actor)
           .With("error", error.message)
           .With("restore", restore));
  return MakeError(ErrorCode::kUnavailable,
                   "the pod-scope state could not be saved: " + error.message +
                       "; the change was not applied and the policy in force is unchanged");
}

std::vector<StoredPolicy> EngineService::ListPolicies() const {
  std::lock_guard lock(mu_);
  return state_->local.policies;
}

Result<StoredPolicy> EngineService::GetPolicy(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = FindStored(state_->local, name);
  if (it == state_->local.policies.end()) return NotFound(name).error();
  return *it;
}

// The one path of every write to one pod-scope policy: `make` builds the new policy from the
// existing one (nullptr when absent); it is validated, given a fresh revision and committed.
// Must hold mu_.
Result<StoredPolicy> EngineService::StoreLocked(const std::string& name,
                                                std::optional<uint64_t> expected_revision,
                                                const MakePolicy& make, const ChangeContext& ctx,
                                                const std::string& what) {
  auto fail = [&](Error e) -> Result<StoredPolicy> {
    CountApply(ResultFor(e));
    return e;
  };
  auto it = FindStored(state_->local, name);
  const StoredPolicy* existing = it == state_->local.policies.end() ? nullptr : &*it;
  if (expected_revision && existing == nullptr) {
    return fail(MakeError(ErrorCode::kAborted,
                          "If-Match given, but no pod-scope policy named '" + name + "' exists"));
  }
  if (existing != nullptr) {
    if (Status s = CheckRevision(*existing, expected_revision); !s.ok()) return fail(s.error());
  }
  Result<Policy> made = make(existing);
  if (!made.ok()) return fail(made.error());
  Policy policy = std::move(made).value();
  if (policy.name != name) {
    return fail(MakeError(ErrorCode::kInvalidArgument,
                          "the body names policy '" + policy.name + "' but the path names '" +
                              name + "'; a policy cannot be renamed",
                          "/name"));
  }
  if (Status s = policy::ValidatePolicy(policy); !s.ok()) return fail(s.error());

  LocalState next = state_->local;
  StoredPolicy stored{std::move(policy), next.last_revision + 1};
  next.last_revision = stored.revision;
  auto slot = FindStored(next, name);
  if (slot != next.policies.end()) {
    *slot = stored;
  } else {
    next.policies.push_back(stored);
    std::sort(
        next.policies.begin(), next.policies.end(),
        [](const StoredPolicy& a, const StoredPolicy& b) { return a.policy.name < b.policy.name; });
  }
  if (Status s = CommitLocked(
          std::move(next), ctx,
          what + " policy '" + name + "' (revision " + std::to_string(stored.revision) + ")");
      !s.ok()) {
    return s.error();
  }
  return stored;
}

Result<StoredPolicy> EngineService::CreatePolicy(Policy policy, const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  std::string name = policy.name;
  return StoreLocked(
      name, std::nullopt,
      [&](const StoredPolicy* existing) -> Result<Policy> {
        if (existing != nullptr) {
          return MakeError(ErrorCode::kAlreadyExists,
                           "a pod-scope policy named '" + existing->policy.name +
                               "' already exists; use PUT to replace it",
                           "/name");
        }
        return std::move(policy);
      },
      ctx, "created");
}

Result<StoredPolicy> EngineService::PutPolicy(const std::string& name, Policy policy,
                                              std::optional<uint64_t> expected_revision,
                                              const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  bool exists = FindStored(state_->local, name) != state_->local.policies.end();
  return StoreLocked(
      name, expected_revision, [&](const StoredPolicy*) -> Result<Policy> { return policy; }, ctx,
      exists ? "replaced" : "created");
}

Result<StoredPolicy> EngineService::UpdatePolicy(const std::string& name,
                                                 std::optional<uint64_t> expected_revision,
                                                 const Mutation& mutate, const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  return StoreLocked(
      name, expected_revision,
      [&](const StoredPolicy* existing) -> Result<Policy> {
        if (existing == nullptr) return NotFound(name).error();
        Policy copy = existing->policy;
        if (Status s = mutate(copy); !s.ok()) return s.error();
        return copy;
      },
      ctx, "updated");
}

Status EngineService::DeletePolicy(const std::string& name,
                                   std::optional<uint64_t> expected_revision,
                                   const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  auto it = FindStored(state_->local, name);
  Status check =
      it == state_->local.policies.end() ? NotFound(name) : CheckRevision(*it, expected_revision);
  if (check.ok() && state_->local.assigned == name) {
    check = MakeError(ErrorCode::kFailedPrecondition,
                      "policy '" + name +
                          "' is assigned at pod scope; unassign it (DELETE /v1/assignment) first");
  }
  if (!check.ok()) {
    CountApply(ResultFor(check.error()));
    return check;
  }
  LocalState next = state_->local;
  next.policies.erase(FindStored(next, name));
  return CommitLocked(std::move(next), ctx, "deleted policy '" + name + "'");
}

Status EngineService::AssignPodPolicy(const std::string& name, const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  if (FindStored(state_->local, name) == state_->local.policies.end()) {
    CountApply(ApplyResult::kConflict);
    return MakeError(ErrorCode::kNotFound, "no pod-scope policy named '" + name + "' to assign",
                     "/policy");
  }
  LocalState next = state_->local;
  next.assigned = name;
  return CommitLocked(std::move(next), ctx, "assigned policy '" + name + "' at pod scope");
}

Status EngineService::UnassignPodPolicy(const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  LocalState next = state_->local;
  next.assigned.reset();
  return CommitLocked(std::move(next), ctx, "unassigned the pod-scope policy");
}

Status EngineService::DeleteAllLocalPolicy(const ChangeContext& ctx) {
  std::lock_guard lock(mu_);
  LocalState next;
  next.last_revision = state_->local.last_revision;
  size_t n = state_->local.policies.size();
  return CommitLocked(std::move(next), ctx,
                      "removed all local policy (" + std::to_string(n) + " policies)");
}

Status EngineService::SetScopePolicy(Scope scope, std::optional<Policy> policy,
                                     const std::string& source, const ChangeContext& ctx) {
  if (scope == Scope::kPod) {
    return MakeError(ErrorCode::kInvalidArgument, "the pod scope is set through the API");
  }
  std::lock_guard lock(mu_);
  FileScope& fs = state_->Scope(scope);
  fs.updated_unix = options_.clock->UnixSeconds();
  if (policy) {
    if (Status s = policy::ValidatePolicy(*policy); !s.ok()) {
      fs.error = s.error().ToString();
      fs.source = source;
      CountApply(ApplyResult::kInvalid);
      return s;
    }
  }
  if (fs.policy == policy && fs.source == source && fs.error.empty()) return Status::Ok();
  FileScope previous = fs;
  fs.policy = std::move(policy);
  fs.source = source;
  fs.error.clear();
  auto effective = BuildEffectiveLocked(state_->local, false);
  if (!effective.ok()) {
    fs = std::move(previous);
    fs.error = effective.error().ToString();
    CountApply(ResultFor(effective.error()));
    return effective.error();
  }
  PublishLocked(std::move(effective).value(), ctx,
                std::string("scope ") + policy::Name(scope) + " changed");
  CountApply(ApplyResult::kSuccess);
  Emit(telemetry::Event{"audit.policy_change", telemetry::Severity::kInfo,
                        fs.policy ? "policy '" + fs.policy->name + "' assigned from " + source
                                  : "no policy assigned from " + source}
           .With("route", ctx.route)
           .With("actor", ctx.actor)
           .With("scope", policy::Name(scope)));
  return Status::Ok();
}

void EngineService::ReportScopeError(Scope scope, const std::string& source,
                                     const std::string& error) {
  if (scope == Scope::kPod) return;
  std::lock_guard lock(mu_);
  FileScope& fs = state_->Scope(scope);
  fs.source = source;
  fs.error = error;
  fs.updated_unix = options_.clock->UnixSeconds();
  CountApply(ApplyResult::kInvalid);
  Emit(telemetry::Event{"policy.source_error", telemetry::Severity::kWarning,
                        "cannot load policy source; the previous policy stays in force"}
           .With("scope", policy::Name(scope))
           .With("source", source)
           .With("error", error));
}

AssignmentStatus EngineService::GetAssignment() const {
  std::lock_guard lock(mu_);
  AssignmentStatus out;
  const State& st = *state_;
  auto file_status = [](Scope s, const FileScope& fs) {
    ScopeStatus ss{s, std::nullopt, fs.source, fs.error, fs.updated_unix};
    if (fs.policy) ss.policy = fs.policy->name;
    return ss;
  };
  out.scopes.push_back(file_status(Scope::kCluster, st.cluster));
  out.scopes.push_back(file_status(Scope::kNamespace, st.name_space));
  out.scopes.push_back(ScopeStatus{Scope::kPod, st.local.assigned, "api", "", st.pod_updated_unix});
  auto [scope, in_force] = st.InForce(st.local);
  if (in_force == nullptr) {
    out.reason =
        "no scope assigns a policy: no filters are in force and all traffic is permitted (FAQ 6)";
    return out;
  }
  out.in_force_scope = scope;
  out.in_force_policy = in_force->name;
  out.reason = std::string(policy::Name(*scope)) + " scope assigns '" + in_force->name +
               "', the closest assigned policy, so it is in force; policies are never merged "
               "(FAQ 20)";
  std::string ignored;
  for (const auto& ss : out.scopes) {
    if (ss.scope < *scope && ss.policy) {
      ignored += std::string(ignored.empty() ? "" : ", ") + policy::Name(ss.scope) + " scope's '" +
                 *ss.policy + "'";
    }
  }
  if (!ignored.empty()) out.reason += "; not applied: " + ignored;
  return out;
}

std::shared_ptr<const Effective> EngineService::GetEffective() const {
  std::lock_guard lock(effective_mu_);
  return state_->effective;
}

MatchResult EngineService::Match(const policy::PacketKey& packet) const {
  auto effective = GetEffective();
  policy::Decision d = effective->classifier->Classify(packet);
  MatchResult out;
  out.action = d.action;
  if (d.entry != nullptr) out.entry = *d.entry;
  out.reason = std::move(d.reason);
  if (effective->policy) out.policy = effective->policy->name;
  out.generation = effective->generation;
  return out;
}

Status EngineService::SetCompileContext(CompileContext context) {
  std::lock_guard lock(mu_);
  CompileContext previous = std::move(state_->context);
  state_->context = std::move(context);
  auto effective = BuildEffectiveLocked(state_->local, true);
  if (!effective.ok()) {
    state_->context = std::move(previous);
    return effective.error();
  }
  PublishLocked(std::move(effective).value(), {"context", "daemon"}, "pod addresses changed");
  return Status::Ok();
}

CompileContext EngineService::GetCompileContext() const {
  std::lock_guard lock(mu_);
  return state_->context;
}

void EngineService::AttachIke(IkeRuntime* runtime) {
  std::lock_guard lock(mu_);
  ike_.store(runtime);
  if (runtime != nullptr) PublishToIke(*state_->effective);
}

void EngineService::AttachDataPath(dataplane::FilterTableSink* sink,
                                   const dataplane::DataplaneCounterSource* counters) {
  std::lock_guard lock(mu_);
  data_path_ = sink;
  data_path_error_.clear();
  data_path_counters_.store(counters);
  if (sink != nullptr) PublishToIke(*state_->effective);
}

std::optional<dataplane::DataplaneCounters> EngineService::DataPathCounters() const {
  if (const auto* c = data_path_counters_.load()) return c->Counters();
  return std::nullopt;
}

std::vector<dataplane::RulePeerTraffic> EngineService::DataPathRulePeerCounters() const {
  if (const auto* c = data_path_counters_.load()) return c->RulePeerCounters();
  return {};
}

// Must hold mu_ (the data path's sink is guarded by it).
void EngineService::PublishToIke(const Effective& e) {
  if (data_path_ != nullptr) {
    Status s = data_path_->OnFilterTable(e.policy ? &*e.policy : nullptr, e.classifier);
    data_path_error_ = s.ok() ? "" : s.error().message;
  }
  if (IkeRuntime* ike = ike_.load()) {
    ike->ApplyPolicy(e.policy ? &*e.policy : nullptr, e.classifier->table());
  }
}

SaList EngineService::ListSas() const {
  SaList out;
  if (IkeRuntime* ike = ike_.load()) {
    if (auto sas = ike->Snapshot(); sas.ok()) out.ike_sas = std::move(sas).value();
  }
  return out;
}

IkeStatistics EngineService::GetStatistics() const {
  IkeStatistics out;
  if (IkeRuntime* ike = ike_.load()) {
    out.running = true;
    out.totals = ike->Statistics();
    out.rules = ike->RuleStatus();
    out.counters = ike->Counters();
  }
  return out;
}

Status EngineService::ActOnSa(const std::string& id, const ChangeContext& ctx,
                              Status (IkeRuntime::*act)(const std::string&), const char* event,
                              const std::string& message) {
  IkeRuntime* ike = ike_.load();
  if (ike == nullptr) {
    return MakeError(ErrorCode::kNotFound, "no security association with id '" + id + "'");
  }
  Status s = (ike->*act)(id);
  if (s.ok()) {
    Emit(telemetry::Event{event, telemetry::Severity::kInfo, message}
             .With("route", ctx.route)
             .With("actor", ctx.actor));
  }
  return s;
}

Status EngineService::DeleteSa(const std::string& id, const ChangeContext& ctx) {
  return ActOnSa(id, ctx, &IkeRuntime::Delete, "audit.sa_delete", "deleted " + id);
}

Status EngineService::RekeySa(const std::string& id, const ChangeContext& ctx) {
  return ActOnSa(id, ctx, &IkeRuntime::Rekey, "audit.sa_rekey", "rekeying " + id);
}

Result<std::string> EngineService::InitiateSa(const std::string& rule,
                                              std::optional<IpAddress> peer,
                                              const ChangeContext& ctx) {
  IkeRuntime* ike = ike_.load();
  if (ike == nullptr) return MakeError(ErrorCode::kUnavailable, "the IKE engine is not running");
  auto effective = GetEffective();
  const policy::Rule* r = effective->policy ? effective->policy->FindRule(rule) : nullptr;
  if (r == nullptr) {
    return MakeError(ErrorCode::kNotFound, "no rule '" + rule + "' in the policy in force",
                     "/rule");
  }
  const policy::FilterAction* action = effective->policy->FindFilterAction(r->filter_action);
  if (!r->active || action == nullptr || action->type != policy::ActionType::kNegotiate) {
    return MakeError(
        ErrorCode::kFailedPrecondition,
        "rule '" + rule + "' does not negotiate security" + (r->active ? "" : " (it is inactive)"),
        "/rule");
  }
  if (!peer) {
    if (!r->tunnel_endpoint) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "rule '" + rule + "' has no tunnel endpoint: say which peer", "/peer");
    }
    peer = r->tunnel_endpoint;
  }
  auto id = ike->Initiate(rule, *peer);
  if (id.ok()) {
    Emit(telemetry::Event{"audit.sa_initiate", telemetry::Severity::kInfo,
                          "initiated " + *id + " for rule '" + rule + "'"}
             .With("route", ctx.route)
             .With("actor", ctx.actor)
             .With("peer", peer->ToString()));
  }
  return id;
}

void EngineService::SetIkeLogging(bool enabled, const ChangeContext& ctx) {
  std::function<void(bool)> callback;
  {
    std::lock_guard lock(mu_);
    if (state_->ike_logging == enabled) return;
    state_->ike_logging = enabled;
    callback = state_->ike_logging_callback;
  }
  Emit(telemetry::Event{"audit.config_change", telemetry::Severity::kInfo,
                        std::string("IKE logging ") + (enabled ? "enabled" : "disabled")}
           .With("route", ctx.route)
           .With("actor", ctx.actor));
  if (callback) callback(enabled);
}

bool EngineService::IkeLoggingEnabled() const {
  std::lock_guard lock(mu_);
  return state_->ike_logging;
}

void EngineService::OnIkeLoggingChanged(std::function<void(bool)> callback) {
  std::lock_guard lock(mu_);
  state_->ike_logging_callback = std::move(callback);
}

void EngineService::SetReady(bool ready) {
  std::lock_guard lock(mu_);
  state_->ready = ready;
}

bool EngineService::Ready() const {
  std::lock_guard lock(mu_);
  return state_->ready && data_path_error_.empty();
}

std::string EngineService::NotReadyReason() const {
  std::lock_guard lock(mu_);
  if (!state_->ready) return "the daemon has not yet loaded its state and read every policy source";
  if (!data_path_error_.empty()) {
    return "the data path could not program the policy in force: " + data_path_error_;
  }
  return "";
}

ServiceCounters EngineService::Counters() const {
  std::lock_guard lock(mu_);
  ServiceCounters c;
  for (int i = 0; i < kApplyResultCount; ++i) {
    c.policy_applies[i] = state_->applies[i].load(std::memory_order_relaxed);
  }
  const auto& e = *state_->effective;
  const auto& t = e.classifier->table();
  c.generation = e.generation;
  c.rules_in_force = t.active_rules;
  c.filters_generic = static_cast<uint32_t>(t.generic.size());
  c.filters_specific = static_cast<uint32_t>(t.entries.size());
  c.conflicts_resolved = t.conflicts_resolved;
  c.last_compile_seconds = e.compile_seconds;
  return c;
}

}  // namespace ipsec::engine::service
