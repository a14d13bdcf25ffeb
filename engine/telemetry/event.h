#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ipsec::engine::telemetry {

enum class Severity { kDebug, kInfo, kWarning, kError };
const char* SeverityName(Severity s);

// A structured event: the engine's way to report what happened without knowing where it goes
// (a JSON log line, the audit log, the IKE log). Field values must never hold secrets.
struct Event {
  std::string type;  // dotted name: "policy.applied", "audit.policy_change", "ike.log"
  Severity severity = Severity::kInfo;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;

  Event& With(std::string key, std::string value) {
    fields.emplace_back(std::move(key), std::move(value));
    return *this;
  }
};

// Where events go. Implementations must be thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const Event& event) = 0;
};

class NullEventSink final : public EventSink {
 public:
  void Emit(const Event&) override {}
};

// A monotonic counter that the exporter reads at scrape time.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace ipsec::engine::telemetry
