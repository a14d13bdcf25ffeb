#include "engine/dataplane/recording_backend.h"

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace ipsec::engine::dataplane {

namespace {

constexpr int kRandomSpiAttempts = 1000;

const char* ProtocolName(SaProtocol protocol) {
  return protocol == SaProtocol::kEsp ? "esp" : "ah";
}
const char* DirectionName(SaDirection direction) {
  return direction == SaDirection::kInbound ? "in" : "out";
}
const char* ModeName(SaMode mode) { return mode == SaMode::kTunnel ? "tunnel" : "transport"; }

std::string Hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

std::string SaText(SaProtocol protocol, uint32_t spi) {
  std::string text = ProtocolName(protocol);
  text += ' ';
  text += Hex32(spi);
  return text;
}

// An SA's description for the call log: identifiers, addresses and algorithm ids; key sizes
// at most, never key bytes.
std::string Describe(const SaConfig& sa) {
  std::string text = SaText(sa.protocol, sa.spi);
  text += ' ';
  text += DirectionName(sa.direction);
  text += ' ';
  text += ModeName(sa.mode);
  text += " reqid=" + std::to_string(sa.reqid) + ' ';
  text += sa.local.ToString();
  text += "->";
  text += sa.remote.ToString();
  if (sa.udp_encapsulation) text += " encap";
  text += " encr=" + std::to_string(sa.algorithms.encryption_id) + '/' +
          std::to_string(sa.algorithms.encryption_key_bits);
  text += " integ=" + std::to_string(sa.algorithms.integrity_id);
  if (sa.algorithms.esn) text += " esn";
  return text;
}

std::string Describe(const PolicyConfig& p) {
  std::string text = "reqid=" + std::to_string(p.reqid) + ' ';
  text += DirectionName(p.direction);
  text += ' ';
  text += ModeName(p.mode);
  text += " ts=" + std::to_string(p.local_ts.size()) + '/' + std::to_string(p.remote_ts.size());
  return text;
}

Error NotFound(const std::string& what) {
  return MakeError(ErrorCode::kNotFound, what + " not installed");
}

// A block of 2^16 SPIs per instance unless the test picks a start.
uint32_t FirstSpi(uint32_t requested) {
  if (requested != 0) return std::max(requested, RecordingBackend::kMinSpi);
  static std::atomic<uint32_t> instances{0};
  const uint32_t n = instances.fetch_add(1, std::memory_order_relaxed) % 0xffff;
  return (n + 1) << 16;
}

}  // namespace

const char* RecordingBackend::OperationName(Operation operation) {
  switch (operation) {
    case Operation::kAllocateSpi:
      return "AllocateSpi";
    case Operation::kAddSa:
      return "AddSa";
    case Operation::kUpdateSaEndpoints:
      return "UpdateSaEndpoints";
    case Operation::kDeleteSa:
      return "DeleteSa";
    case Operation::kAddPolicy:
      return "AddPolicy";
    case Operation::kDeletePolicy:
      return "DeletePolicy";
    case Operation::kQuerySa:
      return "QuerySa";
    case Operation::kSetClearFallback:
      return "SetClearFallback";
    case Operation::kEndClearFallback:
      return "EndClearFallback";
  }
  return "?";
}

RecordingBackend::RecordingBackend() : RecordingBackend(Options{}) {}

RecordingBackend::RecordingBackend(Options options)
    : options_(options), next_spi_(FirstSpi(options.first_spi)) {}

bool RecordingBackend::SpiInUse(uint32_t spi) const {
  return reserved_.count(spi) > 0 || sas_.count({SaProtocol::kEsp, spi}) > 0 ||
         sas_.count({SaProtocol::kAh, spi}) > 0;
}

Result<uint32_t> RecordingBackend::NextSpi() {
  if (options_.random != nullptr) {
    for (int i = 0; i < kRandomSpiAttempts; ++i) {
      uint32_t spi = 0;
      options_.random->Fill(reinterpret_cast<uint8_t*>(&spi), sizeof(spi));
      if (spi >= kMinSpi && !SpiInUse(spi)) return spi;
    }
    return MakeError(ErrorCode::kUnavailable, "no free SPI drawn");
  }
  // At most one step per SPI in use, plus one.
  for (size_t i = 0; i <= reserved_.size() + sas_.size(); ++i) {
    uint32_t spi = next_spi_++;
    if (spi < kMinSpi) {
      spi = kMinSpi;
      next_spi_ = kMinSpi + 1;
    }
    if (!SpiInUse(spi)) return spi;
  }
  return MakeError(ErrorCode::kUnavailable, "no free SPI");
}

std::optional<Error> RecordingBackend::TakeFailure(Operation operation) const {
  auto it = failures_.find(operation);
  if (it == failures_.end() || it->second.empty()) return std::nullopt;
  Error error = std::move(it->second.front());
  it->second.erase(it->second.begin());
  return error;
}

void RecordingBackend::Log(Operation operation, std::string detail, const Status& outcome) {
  std::string line = OperationName(operation);
  if (!detail.empty()) line += ' ' + detail;
  if (!outcome.ok()) {
    line += " -> ";
    line += ErrorCodeName(outcome.error().code);
  }
  log_.emplace_back(operation, std::move(line));
}

Result<uint32_t> RecordingBackend::AllocateSpi(SaProtocol protocol) {
  std::lock_guard lock(mutex_);
  std::string detail = ProtocolName(protocol);
  if (std::optional<Error> failure = TakeFailure(Operation::kAllocateSpi)) {
    Log(Operation::kAllocateSpi, detail, *failure);
    return *failure;
  }
  Result<uint32_t> spi = NextSpi();
  if (!spi.ok()) {
    Log(Operation::kAllocateSpi, detail, spi.error());
    return spi;
  }
  reserved_.emplace(*spi, protocol);
  Log(Operation::kAllocateSpi, detail + " -> " + Hex32(*spi), Status::Ok());
  return spi;
}

Status RecordingBackend::AddSa(const SaConfig& sa) {
  std::lock_guard lock(mutex_);
  Status outcome;
  if (std::optional<Error> failure = TakeFailure(Operation::kAddSa)) {
    outcome = *failure;
  } else if (sa.spi < kMinSpi) {
    outcome = MakeError(ErrorCode::kInvalidArgument,
                        "SPI " + Hex32(sa.spi) + " is reserved (RFC 4303 §2.1)");
  } else if (sas_.count({sa.protocol, sa.spi}) > 0) {
    outcome = MakeError(ErrorCode::kAlreadyExists, SaText(sa.protocol, sa.spi) + " installed");
  } else {
    reserved_.erase(sa.spi);
    sas_.emplace(SaKey{sa.protocol, sa.spi}, SaEntry{sa, SaCounters{}, next_order_++, false});
  }
  Log(Operation::kAddSa, Describe(sa), outcome);
  return outcome;
}

Status RecordingBackend::UpdateSaEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                                           const Endpoint& remote, bool udp_encapsulation) {
  std::lock_guard lock(mutex_);
  std::string detail = SaText(protocol, spi) + ' ' + local.ToString() + "->" + remote.ToString() +
                       (udp_encapsulation ? " encap" : "");
  Status outcome;
  auto it = sas_.find({protocol, spi});
  if (std::optional<Error> failure = TakeFailure(Operation::kUpdateSaEndpoints)) {
    outcome = *failure;
  } else if (it == sas_.end()) {
    outcome = NotFound(SaText(protocol, spi));
  } else {
    it->second.config.local = local;
    it->second.config.remote = remote;
    it->second.config.udp_encapsulation = udp_encapsulation;
  }
  Log(Operation::kUpdateSaEndpoints, std::move(detail), outcome);
  return outcome;
}

Status RecordingBackend::DeleteSa(SaProtocol protocol, uint32_t spi) {
  std::lock_guard lock(mutex_);
  Status outcome;
  if (std::optional<Error> failure = TakeFailure(Operation::kDeleteSa)) {
    outcome = *failure;
  } else if (sas_.erase({protocol, spi}) == 0) {
    auto reserved = reserved_.find(spi);
    if (reserved != reserved_.end() && reserved->second == protocol) {
      reserved_.erase(reserved);  // an SPI allocated for a negotiation that failed
    } else {
      outcome = NotFound(SaText(protocol, spi));
    }
  }
  Log(Operation::kDeleteSa, SaText(protocol, spi), outcome);
  return outcome;
}

Status RecordingBackend::AddPolicy(const PolicyConfig& policy) {
  std::lock_guard lock(mutex_);
  Status outcome;
  const PolicyKey key{policy.reqid, policy.direction};
  if (std::optional<Error> failure = TakeFailure(Operation::kAddPolicy)) {
    outcome = *failure;
  } else if (policies_.count(key) > 0) {
    outcome = MakeError(ErrorCode::kAlreadyExists, "policy " + Describe(policy) + " installed");
  } else {
    policies_.emplace(key, PolicyEntry{policy, next_order_++});
  }
  Log(Operation::kAddPolicy, Describe(policy), outcome);
  return outcome;
}

Status RecordingBackend::DeletePolicy(uint32_t reqid, SaDirection direction) {
  std::lock_guard lock(mutex_);
  std::string detail = "reqid=" + std::to_string(reqid) + ' ' + DirectionName(direction);
  Status outcome;
  if (std::optional<Error> failure = TakeFailure(Operation::kDeletePolicy)) {
    outcome = *failure;
  } else if (policies_.erase({reqid, direction}) == 0) {
    outcome = NotFound("policy " + detail);
  }
  Log(Operation::kDeletePolicy, std::move(detail), outcome);
  return outcome;
}

Result<SaCounters> RecordingBackend::QuerySa(SaProtocol protocol, uint32_t spi) const {
  std::lock_guard lock(mutex_);
  ++queries_;
  if (std::optional<Error> failure = TakeFailure(Operation::kQuerySa)) return *failure;
  auto it = sas_.find({protocol, spi});
  if (it == sas_.end()) return NotFound(SaText(protocol, spi));
  return it->second.counters;
}

Status RecordingBackend::SetClearFallback(const ClearFallback& fallback) {
  std::lock_guard lock(mutex_);
  std::string detail = "rule=" + fallback.rule + " peer=" + fallback.peer.ToString();
  for (const IpRange& r : fallback.destinations) detail += " " + r.ToString();
  Status outcome;
  if (std::optional<Error> failure = TakeFailure(Operation::kSetClearFallback)) {
    outcome = *failure;
  } else {
    fallbacks_[{fallback.rule, fallback.peer}] = fallback;
  }
  Log(Operation::kSetClearFallback, std::move(detail), outcome);
  return outcome;
}

Status RecordingBackend::EndClearFallback(const std::string& rule, const IpAddress& peer) {
  std::lock_guard lock(mutex_);
  std::string detail = "rule=" + rule + " peer=" + peer.ToString();
  Status outcome;
  if (std::optional<Error> failure = TakeFailure(Operation::kEndClearFallback)) {
    outcome = *failure;
  } else if (fallbacks_.erase({rule, peer}) == 0) {
    outcome = NotFound("fallback " + detail);
  }
  Log(Operation::kEndClearFallback, std::move(detail), outcome);
  return outcome;
}

std::vector<ClearFallback> RecordingBackend::ClearFallbacks() const {
  std::lock_guard lock(mutex_);
  std::vector<ClearFallback> out;
  for (const auto& [key, f] : fallbacks_) out.push_back(f);
  return out;
}

void RecordingBackend::SetEvents(BackendEvents* events) {
  std::lock_guard lock(mutex_);
  events_ = events;
}

void RecordingBackend::FailNext(Operation operation, Error error, int times) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < times; ++i) failures_[operation].push_back(error);
}

Status RecordingBackend::SetCounters(SaProtocol protocol, uint32_t spi,
                                     const SaCounters& counters) {
  std::lock_guard lock(mutex_);
  auto it = sas_.find({protocol, spi});
  if (it == sas_.end()) return NotFound(SaText(protocol, spi));
  it->second.counters = counters;
  return Status::Ok();
}

Status RecordingBackend::AddTraffic(SaProtocol protocol, uint32_t spi, uint64_t bytes,
                                    uint64_t packets, int64_t now_unix) {
  bool soft = false;
  bool hard = false;
  BackendEvents* events = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = sas_.find({protocol, spi});
    if (it == sas_.end()) return NotFound(SaText(protocol, spi));
    SaEntry& entry = it->second;
    entry.counters.bytes += bytes;
    entry.counters.packets += packets;
    entry.counters.last_used_unix = now_unix;
    const Lifetime& lifetime = entry.config.lifetime;
    if (lifetime.soft_bytes != 0 && !entry.soft_fired &&
        entry.counters.bytes >= lifetime.soft_bytes) {
      entry.soft_fired = true;
      soft = true;
    }
    if (lifetime.hard_bytes != 0 && entry.counters.bytes >= lifetime.hard_bytes) {
      hard = true;
      sas_.erase(it);  // the data path drops an SA past its hard limit
    }
    events = events_;
  }
  if (events != nullptr) {
    if (soft) events->OnExpire(protocol, spi, /*hard=*/false);
    if (hard) events->OnExpire(protocol, spi, /*hard=*/true);
  }
  return Status::Ok();
}

bool RecordingBackend::FireAcquire(const BackendEvents::Acquire& acquire) {
  BackendEvents* events = this->events();
  if (events == nullptr) return false;
  events->OnAcquire(acquire);
  return true;
}

bool RecordingBackend::FireExpire(SaProtocol protocol, uint32_t spi, bool hard) {
  BackendEvents* events = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (hard) sas_.erase({protocol, spi});
    events = events_;
  }
  if (events == nullptr) return false;
  events->OnExpire(protocol, spi, hard);
  return true;
}

std::vector<SaConfig> RecordingBackend::Sas() const {
  std::lock_guard lock(mutex_);
  std::vector<const SaEntry*> entries;
  for (const auto& [key, entry] : sas_) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const SaEntry* a, const SaEntry* b) { return a->order < b->order; });
  std::vector<SaConfig> out;
  for (const SaEntry* entry : entries) out.push_back(entry->config);
  return out;
}

std::optional<SaConfig> RecordingBackend::FindSa(uint32_t spi) const {
  if (auto esp = FindSa(SaProtocol::kEsp, spi)) return esp;
  return FindSa(SaProtocol::kAh, spi);
}

std::optional<SaConfig> RecordingBackend::FindSa(SaProtocol protocol, uint32_t spi) const {
  std::lock_guard lock(mutex_);
  auto it = sas_.find({protocol, spi});
  if (it == sas_.end()) return std::nullopt;
  return it->second.config;
}

std::vector<PolicyConfig> RecordingBackend::Policies() const {
  std::lock_guard lock(mutex_);
  std::vector<const PolicyEntry*> entries;
  for (const auto& [key, entry] : policies_) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const PolicyEntry* a, const PolicyEntry* b) { return a->order < b->order; });
  std::vector<PolicyConfig> out;
  for (const PolicyEntry* entry : entries) out.push_back(entry->config);
  return out;
}

std::optional<PolicyConfig> RecordingBackend::FindPolicy(uint32_t reqid,
                                                         SaDirection direction) const {
  std::lock_guard lock(mutex_);
  auto it = policies_.find({reqid, direction});
  if (it == policies_.end()) return std::nullopt;
  return it->second.config;
}

std::vector<uint32_t> RecordingBackend::ReservedSpis() const {
  std::lock_guard lock(mutex_);
  std::vector<uint32_t> out;
  for (const auto& [spi, protocol] : reserved_) out.push_back(spi);
  return out;
}

std::vector<std::string> RecordingBackend::Calls() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [operation, line] : log_) out.emplace_back(OperationName(operation));
  return out;
}

std::vector<std::string> RecordingBackend::CallLog() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [operation, line] : log_) out.push_back(line);
  return out;
}

void RecordingBackend::ClearCalls() {
  std::lock_guard lock(mutex_);
  log_.clear();
}

uint64_t RecordingBackend::query_count() const {
  std::lock_guard lock(mutex_);
  return queries_;
}

BackendEvents* RecordingBackend::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

}  // namespace ipsec::engine::dataplane
