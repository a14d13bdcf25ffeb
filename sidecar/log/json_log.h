#pragma once

// JsonLogger: the daemon's structured event log. One JSON object per line (or one text line,
// format "text") for every event at or above the level filter, and every audit event
// ("audit.*", e.g. a policy change and the route that made it) whatever the filter says.
// Lines are scrubbed of secrets (redact.h). Writes to a file descriptor it does not own
// (stderr by default, as a container runtime collects it).
//
// Thread-safe: Emit may be called from any thread; each line is written whole with one lock
// held, so lines from different threads never interleave.

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/telemetry/event.h"
#include "sidecar/log/format.h"

namespace ipsec::sidecar::log {

class JsonLogger final : public engine::telemetry::EventSink {
 public:
  struct Options {
    int fd = STDERR_FILENO;  // not owned; must stay open while the logger is used
    LogFormat format = LogFormat::kJson;
    engine::telemetry::Severity min_severity = engine::telemetry::Severity::kInfo;
    std::function<WallTime()> now;  // empty: the system clock (tests inject a fixed time)
    // Event types starting with one of these are not written (e.g. {"ike."}: per-message IKE
    // events belong in the IKE log, not on stderr). Audit events are always written.
    std::vector<std::string> skip_prefixes;
  };

  explicit JsonLogger(Options options);
  JsonLogger(const JsonLogger&) = delete;
  JsonLogger& operator=(const JsonLogger&) = delete;

  void Emit(const engine::telemetry::Event& event) override;

  // Changes the level filter at run time.
  void SetMinSeverity(engine::telemetry::Severity severity);
  engine::telemetry::Severity min_severity() const;
  // Lines that could not be written (a full disk, a closed pipe). A log never fails its caller.
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  bool Filtered(const engine::telemetry::Event& event) const;

  const int fd_;
  const LogFormat format_;
  const std::function<WallTime()> now_;
  const std::vector<std::string> skip_prefixes_;
  std::atomic<int> min_severity_;
  std::atomic<uint64_t> write_errors_{0};
  std::mutex write_mu_;  // serializes writes to fd_
};

}  // namespace ipsec::sidecar::log
