#pragma once

// EventCounter: an EventSink that counts engine events by type for the exporter,
//
//   ipsec_events_total{type}   counter   ("policy.applied", "audit.policy_change", ...)
//
// Event types are names in the code, so the label is bounded; as a guard, types beyond
// kMaxTypes distinct ones are counted as "other". Thread-safe.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "engine/telemetry/event.h"

namespace ipsec::sidecar::metrics {

class EventCounter final : public engine::telemetry::EventSink {
 public:
  static constexpr size_t kMaxTypes = 128;

  // Registers the family in `registry` (not owned; must outlive this object).
  explicit EventCounter(prometheus::Registry& registry);
  EventCounter(const EventCounter&) = delete;
  EventCounter& operator=(const EventCounter&) = delete;

  void Emit(const engine::telemetry::Event& event) override;

 private:
  prometheus::Family<prometheus::Counter>& family_;
  std::mutex mu_;
  std::map<std::string, prometheus::Counter*, std::less<>> by_type_;  // guarded by mu_
};

}  // namespace ipsec::sidecar::metrics
