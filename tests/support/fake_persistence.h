#pragma once

#include <mutex>
#include <optional>

#include "engine/service/engine_service.h"

namespace ipsec::testing {

// In-memory StatePersistence: records every saved state; can be told to fail.
class FakePersistence : public engine::service::StatePersistence {
 public:
  Status Save(const engine::service::LocalState& state) override {
    std::lock_guard lock(mu_);
    ++saves_;
    if (fail_next_) {
      ErrorCode code = *fail_next_;
      fail_next_.reset();
      return MakeError(code, "the state volume is full (fake)");
    }
    if (fail_) return MakeError(ErrorCode::kUnavailable, "disk full (fake)");
    last_ = state;
    return Status::Ok();
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  // The next Save only fails, with `code` (kDataLoss: as if the new state may be on disk).
  void FailNext(ErrorCode code) {
    std::lock_guard lock(mu_);
    fail_next_ = code;
  }
  int saves() const {
    std::lock_guard lock(mu_);
    return saves_;
  }
  engine::service::LocalState last() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  bool fail_ = false;
  std::optional<ErrorCode> fail_next_;
  int saves_ = 0;
  engine::service::LocalState last_;
};

// Records events for assertions.
class RecordingEventSink : public engine::telemetry::EventSink {
 public:
  void Emit(const engine::telemetry::Event& e) override {
    std::lock_guard lock(mu_);
    events_.push_back(e);
  }
  std::vector<engine::telemetry::Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  int Count(const std::string& type) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : events_) n += e.type == type;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<engine::telemetry::Event> events_;
};

}  // namespace ipsec::testing
