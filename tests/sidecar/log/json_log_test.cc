#include "sidecar/log/json_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/sidecar/temp_dir.h"

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;
using sidecar::testing::ReadFile;
using sidecar::testing::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class JsonLoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.File("log");
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { ::close(fd_); }

  JsonLogger::Options Opts(LogFormat format, Severity min) {
    JsonLogger::Options o;
    o.fd = fd_;
    o.format = format;
    o.min_severity = min;
    o.now = [] { return WallTime(std::chrono::milliseconds(1795773600123LL)); };
    return o;
  }

  TempDir dir_;
  std::string path_;
  int fd_ = -1;
};

TEST_F(JsonLoggerTest, WritesOneJsonObjectPerLine) {
  JsonLogger logger(Opts(LogFormat::kJson, Severity::kInfo));
  logger.Emit(Event{"policy.applied", Severity::kInfo, "in force"}.With("scope", "pod"));
  logger.Emit(Event{"policy.source_error", Severity::kWarning, "bad file"});
  auto lines = Lines(ReadFile(path_));
  ASSERT_EQ(lines.size(), 2u);
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["ts"], "2026-11-27T10:00:00.123Z");
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["event"], "policy.applied");
  EXPECT_EQ(first["msg"], "in force");
  EXPECT_EQ(first["scope"], "pod");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "warning");
}

TEST_F(JsonLoggerTest, LevelFilterDropsLowerSeverities) {
  JsonLogger logger(Opts(LogFormat::kJson, Severity::kWarning));
  logger.Emit(Event{"a.debug", Severity::kDebug, ""});
  logger.Emit(Event{"a.info", Severity::kInfo, ""});
  logger.Emit(Event{"a.warning", Severity::kWarning, ""});
  logger.Emit(Event{"a.error", Severity::kError, ""});
  auto lines = Lines(ReadFile(path_));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["event"], "a.warning");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["event"], "a.error");

  logger.SetMinSeverity(Severity::kDebug);
  EXPECT_EQ(logger.min_severity(), Severity::kDebug);
  logger.Emit(Event{"a.debug", Severity::kDebug, ""});
  EXPECT_EQ(Lines(ReadFile(path_)).size(), 3u);
}

TEST_F(JsonLoggerTest, AuditEventsAreAlwaysWritten) {
  JsonLogger logger(Opts(LogFormat::kJson, Severity::kError));
  logger.Emit(Event{"audit.policy_change", Severity::kInfo, "created policy 'web'"}
                  .With("route", "POST /v1/policies")
                  .With("actor", "api"));
  logger.Emit(Event{"policy.applied", Severity::kInfo, "dropped"});
  auto lines = Lines(ReadFile(path_));
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["event"], "audit.policy_change");
  EXPECT_EQ(j["route"], "POST /v1/policies");
}

TEST_F(JsonLoggerTest, SkipsPrefixesButNeverAudit) {
  auto o = Opts(LogFormat::kJson, Severity::kDebug);
  o.skip_prefixes = {"ike.", "audit."};
  JsonLogger logger(o);
  logger.Emit(Event{"ike.sa_init", Severity::kError, "to the IKE log only"});
  logger.Emit(Event{"ikev2", Severity::kInfo, "not the prefix"});
  logger.Emit(Event{"audit.config_change", Severity::kInfo, "ike logging on"});
  auto lines = Lines(ReadFile(path_));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["event"], "ikev2");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["event"], "audit.config_change");
}

TEST_F(JsonLoggerTest, TextFormat) {
  JsonLogger logger(Opts(LogFormat::kText, Severity::kInfo));
  logger.Emit(Event{"policy.applied", Severity::kInfo, "in force"}.With("scope", "pod"));
  EXPECT_EQ(ReadFile(path_), "2026-11-27T10:00:00.123Z INFO policy.applied: in force scope=pod\n");
}

TEST_F(JsonLoggerTest, NeverWritesSecrets) {
  JsonLogger logger(Opts(LogFormat::kJson, Severity::kDebug));
  logger.Emit(Event{"audit.policy_change", Severity::kInfo, "preshared_key=abc123"}.With(
      "preshared_key", "abc123"));
  std::string text = ReadFile(path_);
  EXPECT_EQ(text.find("abc123"), std::string::npos) << text;
}

TEST_F(JsonLoggerTest, ConcurrentWritersNeverInterleaveLines) {
  JsonLogger logger(Opts(LogFormat::kJson, Severity::kInfo));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < kPerThread; ++i) {
        logger.Emit(Event{"load.test", Severity::kInfo, std::string(200, 'x')}
                        .With("thread", std::to_string(t))
                        .With("i", std::to_string(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto lines = Lines(ReadFile(path_));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["event"], "load.test");
  }
  EXPECT_EQ(logger.write_errors(), 0u);
}

TEST(JsonLoggerErrorsTest, CountsWriteErrorsInsteadOfFailing) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[0]);  // writes now fail with EPIPE (SIGPIPE is ignored below)
  auto old = ::signal(SIGPIPE, SIG_IGN);
  JsonLogger::Options o;
  o.fd = fds[1];
  JsonLogger logger(o);
  logger.Emit(Event{"x.y", Severity::kError, "lost"});
  EXPECT_EQ(logger.write_errors(), 1u);
  ::signal(SIGPIPE, old);
  ::close(fds[1]);
}

}  // namespace
}  // namespace ipsec::sidecar::log
