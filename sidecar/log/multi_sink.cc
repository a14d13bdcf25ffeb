#include "sidecar/log/multi_sink.h"

#include <mutex>

namespace ipsec::sidecar::log {

MultiSink::MultiSink(std::vector<engine::telemetry::EventSink*> sinks) {
  for (auto* sink : sinks) Add(sink);
}

void MultiSink::Add(engine::telemetry::EventSink* sink) {
  if (sink == nullptr) return;
  std::unique_lock lock(mu_);
  sinks_.push_back(sink);
}

void MultiSink::Emit(const engine::telemetry::Event& event) {
  std::shared_lock lock(mu_);
  for (auto* sink : sinks_) sink->Emit(event);
}

}  // namespace ipsec::sidecar::log
