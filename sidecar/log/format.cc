#include "sidecar/log/format.h"

#include <time.h>

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "sidecar/log/redact.h"

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;

std::string UpperName(Severity s) {
  std::string name = engine::telemetry::SeverityName(s);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// Escapes control characters, '\\' and '"' (the latter two only when `quoted`).
void AppendEscaped(std::string& out, std::string_view text, bool quoted) {
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else if (quoted && (c == '"' || c == '\\')) {
      out.push_back('\\');
      out.push_back(ch);
    } else {
      out.push_back(ch);
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

std::string FormatText(const Event& e, WallTime t) {
  std::string out = Rfc3339Millis(t);
  out += ' ';
  out += IsAuditEvent(e) ? std::string("AUDIT") : UpperName(e.severity);
  out += ' ';
  AppendEscaped(out, e.type, false);
  out += ": ";
  AppendEscaped(out, e.message, false);
  for (const auto& [key, value] : e.fields) {
    out += ' ';
    AppendEscaped(out, key, false);
    out += '=';
    if (NeedsQuotes(value)) {
      out += '"';
      AppendEscaped(out, value, true);
      out += '"';
    } else {
      out += value;
    }
  }
  out += '\n';
  return out;
}

std::string FormatJson(const Event& e, WallTime t) {
  nlohmann::ordered_json j;
  j["ts"] = Rfc3339Millis(t);
  j["level"] = engine::telemetry::SeverityName(e.severity);
  j["event"] = e.type;
  j["msg"] = e.message;
  for (const auto& [key, value] : e.fields) {
    const bool reserved = key == "ts" || key == "level" || key == "event" || key == "msg";
    j[reserved ? "field_" + key : key] = value;
  }
  // Invalid UTF-8 is replaced rather than thrown on: a log line must never fail.
  std::string out = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out += '\n';
  return out;
}

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "json") return LogFormat::kJson;
  if (text == "text") return LogFormat::kText;
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown log format '" + std::string(text) + "' (expected json or text)");
}

Result<Severity> ParseSeverity(std::string_view text) {
  if (text == "debug") return Severity::kDebug;
  if (text == "info") return Severity::kInfo;
  if (text == "warning" || text == "warn") return Severity::kWarning;
  if (text == "error") return Severity::kError;
  return MakeError(ErrorCode::kInvalidArgument, "unknown log level '" + std::string(text) +
                                                    "' (expected debug, info, warning or error)");
}

std::string Rfc3339Millis(WallTime t) {
  const auto ms_total =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms_total / 1000);
  int ms = static_cast<int>(ms_total % 1000);
  if (ms < 0) {  // before the epoch: floor, not truncate
    ms += 1000;
    --secs;
  }
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

bool IsAuditEvent(const Event& event) { return event.type.rfind("audit.", 0) == 0; }

std::string FormatLine(const Event& event, WallTime t, LogFormat format) {
  const Event scrubbed = ScrubEvent(event);
  return format == LogFormat::kJson ? FormatJson(scrubbed, t) : FormatText(scrubbed, t);
}

}  // namespace ipsec::sidecar::log
