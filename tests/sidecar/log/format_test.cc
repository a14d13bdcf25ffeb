#include "sidecar/log/format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;

// 2026-11-27T10:00:00.123Z
WallTime FixedTime() { return WallTime(std::chrono::milliseconds(1795773600123LL)); }

TEST(FormatTest, Rfc3339WithMilliseconds) {
  EXPECT_EQ(Rfc3339Millis(FixedTime()), "2026-11-27T10:00:00.123Z");
  EXPECT_EQ(Rfc3339Millis(WallTime()), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339Millis(WallTime(std::chrono::milliseconds(-1))), "1969-12-31T23:59:59.999Z");
}

TEST(FormatTest, ParsesFormatsAndLevels) {
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text").value(), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  EXPECT_EQ(ParseSeverity("debug").value(), Severity::kDebug);
  EXPECT_EQ(ParseSeverity("info").value(), Severity::kInfo);
  EXPECT_EQ(ParseSeverity("warning").value(), Severity::kWarning);
  EXPECT_EQ(ParseSeverity("warn").value(), Severity::kWarning);
  EXPECT_EQ(ParseSeverity("error").value(), Severity::kError);
  auto bad = ParseSeverity("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("loud"), std::string::npos);
}

TEST(FormatTest, JsonLineHasTheDocumentedKeysInOrder) {
  Event e{"policy.applied", Severity::kWarning, "policy 'web' in force"};
  e.With("scope", "pod").With("generation", "7");
  std::string line = FormatLine(e, FixedTime(), LogFormat::kJson);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.rfind("{\"ts\":\"2026-11-27T10:00:00.123Z\",\"level\":\"warning\","
                       "\"event\":\"policy.applied\",\"msg\":",
                       0),
            0u);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "policy 'web' in force");
  EXPECT_EQ(j["scope"], "pod");
  EXPECT_EQ(j["generation"], "7");
}

TEST(FormatTest, JsonFieldsCannotOverwriteReservedKeys) {
  Event e{"x.y", Severity::kInfo, "m"};
  e.With("level", "fake").With("ts", "then");
  auto j = nlohmann::json::parse(FormatLine(e, FixedTime(), LogFormat::kJson));
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["ts"], "2026-11-27T10:00:00.123Z");
  EXPECT_EQ(j["field_level"], "fake");
  EXPECT_EQ(j["field_ts"], "then");
}

TEST(FormatTest, JsonSurvivesInvalidUtf8AndNewlines) {
  Event e{"x.y", Severity::kInfo, std::string("bad \xff\xfe utf8\nsecond line")};
  e.With("k", "\x80");
  std::string line = FormatLine(e, FixedTime(), LogFormat::kJson);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_NO_THROW(nlohmann::json::parse(line));
}

TEST(FormatTest, TextLineIsOneReadableLine) {
  Event e{"policy.applied", Severity::kInfo, "two\nlines"};
  e.With("scope", "pod").With("route", "PUT /v1/policies/{name}").With("empty", "");
  std::string line = FormatLine(e, FixedTime(), LogFormat::kText);
  EXPECT_EQ(line,
            "2026-11-27T10:00:00.123Z INFO policy.applied: two\\nlines scope=pod "
            "route=\"PUT /v1/policies/{name}\" empty=\"\"\n");
}

TEST(FormatTest, TextMarksAuditEvents) {
  Event e{"audit.policy_change", Severity::kInfo, "created policy 'web'"};
  std::string line = FormatLine(e, FixedTime(), LogFormat::kText);
  EXPECT_NE(line.find(" AUDIT audit.policy_change: "), std::string::npos);
  EXPECT_TRUE(IsAuditEvent(e));
  EXPECT_FALSE(IsAuditEvent(Event{"policy.audit", Severity::kInfo, ""}));
}

TEST(FormatTest, EveryFormatScrubsSecrets) {
  Event e{"x.y", Severity::kInfo, "applied with psk=hunter2"};
  e.With("preshared_key", "hunter2");
  for (LogFormat f : {LogFormat::kJson, LogFormat::kText}) {
    std::string line = FormatLine(e, FixedTime(), f);
    EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
    EXPECT_NE(line.find("<redacted>"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace ipsec::sidecar::log
