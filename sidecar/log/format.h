#pragma once

// Log line formats shared by the event log and the IKE log: one JSON object per line
// ({"ts", "level", "event", "msg", ...fields}) or one human-readable text line. Every line is
// scrubbed of secrets (redact.h) and ends with '\n'; control characters in values are escaped,
// so one event is always one line. Pure functions; thread-safe.

#include <chrono>
#include <string>
#include <string_view>

#include "engine/common/result.h"
#include "engine/telemetry/event.h"

namespace ipsec::sidecar::log {

enum class LogFormat { kJson, kText };

using WallTime = std::chrono::system_clock::time_point;

// "json" | "text".
Result<LogFormat> ParseLogFormat(std::string_view text);
// "debug" | "info" | "warning" (or "warn") | "error".
Result<engine::telemetry::Severity> ParseSeverity(std::string_view text);

// RFC 3339 in UTC with milliseconds: "2026-11-27T10:00:00.123Z".
std::string Rfc3339Millis(WallTime t);

// True for audit events ("audit.*"): they are written whatever the level filter says.
bool IsAuditEvent(const engine::telemetry::Event& event);

// JSON: {"ts":"…","level":"info","event":"policy.applied","msg":"…","scope":"pod",…}. A field
// whose key collides with ts/level/event/msg is written as "field_<key>".
// Text: 2026-11-27T10:00:00.123Z INFO policy.applied: policy 'x' in force scope=pod policy=x
std::string FormatLine(const engine::telemetry::Event& event, WallTime t, LogFormat format);

}  // namespace ipsec::sidecar::log
