#include "sidecar/log/json_log.h"

#include "sidecar/log/fd_writer.h"

namespace ipsec::sidecar::log {

using engine::telemetry::Severity;

JsonLogger::JsonLogger(Options options)
    : fd_(options.fd),
      format_(options.format),
      now_(options.now ? std::move(options.now) : [] { return std::chrono::system_clock::now(); }),
      skip_prefixes_(std::move(options.skip_prefixes)),
      min_severity_(static_cast<int>(options.min_severity)) {}

bool JsonLogger::Filtered(const engine::telemetry::Event& event) const {
  if (IsAuditEvent(event)) return false;
  if (static_cast<int>(event.severity) < min_severity_.load(std::memory_order_relaxed)) {
    return true;
  }
  for (const std::string& prefix : skip_prefixes_) {
    if (event.type.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void JsonLogger::Emit(const engine::telemetry::Event& event) {
  if (Filtered(event)) return;
  const std::string line = FormatLine(event, now_(), format_);
  std::lock_guard lock(write_mu_);
  if (!WriteAll(fd_, line).ok()) write_errors_.fetch_add(1, std::memory_order_relaxed);
}

void JsonLogger::SetMinSeverity(Severity severity) {
  min_severity_.store(static_cast<int>(severity), std::memory_order_relaxed);
}

Severity JsonLogger::min_severity() const {
  return static_cast<Severity>(min_severity_.load(std::memory_order_relaxed));
}

}  // namespace ipsec::sidecar::log
