#include "sidecar/metrics/event_counter.h"

namespace ipsec::sidecar::metrics {

EventCounter::EventCounter(prometheus::Registry& registry)
    : family_(prometheus::BuildCounter()
                  .Name("ipsec_events_total")
                  .Help("Structured events emitted by the engine, by type.")
                  .Register(registry)) {}

void EventCounter::Emit(const engine::telemetry::Event& event) {
  prometheus::Counter* counter = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = by_type_.find(event.type);
    if (it == by_type_.end()) {
      const std::string type = by_type_.size() >= kMaxTypes ? "other"
                               : event.type.empty()         ? "none"
                                                            : event.type;
      it = by_type_.find(type);
      if (it == by_type_.end()) {
        it = by_type_.emplace(type, &family_.Add({{"type", type}})).first;
      }
    }
    counter = it->second;
  }
  counter->Increment();
}

}  // namespace ipsec::sidecar::metrics
