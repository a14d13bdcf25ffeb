#pragma once

// MultiSink: forwards every event to several sinks (the event log, the IKE log, the metrics
// event counter), in the order they were added. It owns none of them.
//
// Thread-safe: Emit may run concurrently on any thread; Add may be called at any time (it
// waits for running Emits). A sink must not call Add on the MultiSink that feeds it.

#include <shared_mutex>
#include <vector>

#include "engine/telemetry/event.h"

namespace ipsec::sidecar::log {

class MultiSink final : public engine::telemetry::EventSink {
 public:
  MultiSink() = default;
  // Not owned; each must outlive this sink. Null entries are ignored.
  explicit MultiSink(std::vector<engine::telemetry::EventSink*> sinks);
  MultiSink(const MultiSink&) = delete;
  MultiSink& operator=(const MultiSink&) = delete;

  // Not owned; must outlive this sink. Null is ignored.
  void Add(engine::telemetry::EventSink* sink);
  void Emit(const engine::telemetry::Event& event) override;

 private:
  mutable std::shared_mutex mu_;
  std::vector<engine::telemetry::EventSink*> sinks_;  // guarded by mu_
};

}  // namespace ipsec::sidecar::log
