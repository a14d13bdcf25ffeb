#include "sidecar/log/ike_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "tests/sidecar/temp_dir.h"

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;
using sidecar::testing::ReadFile;
using sidecar::testing::TempDir;
using sidecar::testing::WriteFile;

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class IkeLogTest : public ::testing::Test {
 protected:
  IkeLog::Options Opts(uint64_t max_bytes = IkeLog::kDefaultMaxBytes) {
    IkeLog::Options o;
    o.directory = dir_.File("logs/ike");  // does not exist yet
    o.max_bytes = max_bytes;
    return o;
  }
  std::unique_ptr<IkeLog> OpenLog(IkeLog::Options o) {
    auto log = IkeLog::Open(std::move(o));
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().ToString());
    return log.ok() ? std::move(log).value() : nullptr;
  }

  TempDir dir_;
};

TEST_F(IkeLogTest, DisabledByDefaultAndCreatesNothing) {
  auto log = OpenLog(Opts());
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->enabled());
  log->Emit(Event{"ike.sa_established", Severity::kInfo, "main mode done"});
  EXPECT_FALSE(Exists(log->path()));
  EXPECT_FALSE(Exists(dir_.File("logs")));
}

TEST_F(IkeLogTest, WritesOnlyIkeEventsWhileEnabled) {
  auto log = OpenLog(Opts());
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Enable().ok());
  EXPECT_TRUE(log->enabled());
  EXPECT_EQ(log->path(), dir_.File("logs/ike/ike.log"));
  log->Emit(Event{"ike.sa_init", Severity::kInfo, "IKE_SA_INIT sent"}.With("peer", "10.0.0.2"));
  log->Emit(Event{"policy.applied", Severity::kInfo, "not an IKE event"});
  log->Emit(Event{"audit.policy_change", Severity::kInfo, "not an IKE event either"});
  log->Disable();
  EXPECT_FALSE(log->enabled());
  log->Emit(Event{"ike.after", Severity::kInfo, "dropped while disabled"});

  std::string text = ReadFile(log->path());
  EXPECT_NE(text.find("IKE logging enabled"), std::string::npos);
  EXPECT_NE(text.find("IKE_SA_INIT sent peer=10.0.0.2"), std::string::npos);
  EXPECT_NE(text.find("IKE logging disabled"), std::string::npos);
  EXPECT_EQ(text.find("not an IKE event"), std::string::npos);
  EXPECT_EQ(text.find("dropped while disabled"), std::string::npos);

  struct stat st {};
  ASSERT_EQ(::stat(dir_.File("logs/ike").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(IkeLogTest, EnableAndDisableAreIdempotentAndReenableAppends) {
  auto log = OpenLog(Opts());
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Enable().ok());
  ASSERT_TRUE(log->Enable().ok());
  log->Emit(Event{"ike.first", Severity::kInfo, "first"});
  log->Disable();
  log->Disable();
  ASSERT_TRUE(log->Enable().ok());
  log->Emit(Event{"ike.second", Severity::kInfo, "second"});
  log->Disable();
  std::string text = ReadFile(log->path());
  EXPECT_EQ(CountOf(text, "IKE logging enabled"), 2u);
  EXPECT_EQ(CountOf(text, "IKE logging disabled"), 2u);
  EXPECT_NE(text.find("first"), std::string::npos);
  EXPECT_NE(text.find("second"), std::string::npos);
  EXPECT_FALSE(Exists(log->saved_path()));
}

// FAQ 39: a new log each start, the previous one saved as .sav.
TEST_F(IkeLogTest, StartSavesThePreviousLog) {
  {
    auto log = OpenLog(Opts());
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->Enable().ok());
    log->Emit(Event{"ike.run1", Severity::kInfo, "from run one"});
  }
  auto log = OpenLog(Opts());
  ASSERT_TRUE(log);
  EXPECT_FALSE(Exists(log->path()));
  EXPECT_NE(ReadFile(log->saved_path()).find("from run one"), std::string::npos);
  ASSERT_TRUE(log->Enable().ok());
  log->Emit(Event{"ike.run2", Severity::kInfo, "from run two"});
  EXPECT_EQ(ReadFile(log->path()).find("from run one"), std::string::npos);
  EXPECT_NE(ReadFile(log->path()).find("from run two"), std::string::npos);

  // A start with no ike.log (logging was never enabled) keeps the .sav it finds.
  log.reset();
  std::filesystem::remove(dir_.File("logs/ike/ike.log"));
  log = OpenLog(Opts());
  ASSERT_TRUE(log);
  EXPECT_NE(ReadFile(log->saved_path()).find("from run one"), std::string::npos);
}

TEST_F(IkeLogTest, RotatesWhenTheSizeLimitIsReached) {
  auto log = OpenLog(Opts(/*max_bytes=*/4096));
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Enable().ok());
  for (int i = 0; i < 100; ++i) {
    log->Emit(
        Event{"ike.msg", Severity::kInfo, "line " + std::to_string(i) + std::string(80, '.')});
  }
  ASSERT_TRUE(Exists(log->saved_path()));
  const auto size = std::filesystem::file_size(log->path());
  const auto saved = std::filesystem::file_size(log->saved_path());
  EXPECT_LE(size, 4096u);
  EXPECT_LE(saved, 4096u);
  EXPECT_GT(saved, 3000u);
  EXPECT_NE(ReadFile(log->path()).find("line 99."), std::string::npos);
  EXPECT_EQ(log->errors(), 0u);
}

TEST_F(IkeLogTest, ScrubsSecrets) {
  auto log = OpenLog(Opts());
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Enable().ok());
  log->Emit(Event{"ike.auth", Severity::kInfo, "psk=topsecret"}.With("psk", "topsecret"));
  EXPECT_EQ(ReadFile(log->path()).find("topsecret"), std::string::npos);
}

TEST_F(IkeLogTest, EnableFailsClearlyWhenTheDirectoryCannotBeMade) {
  WriteFile(dir_.File("file"), "x");  // a file where a directory should be
  IkeLog::Options o;
  o.directory = dir_.File("file/sub");
  auto log = OpenLog(o);
  ASSERT_TRUE(log);
  Status s = log->Enable();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find(dir_.File("file")), std::string::npos);
  EXPECT_FALSE(log->enabled());
}

TEST_F(IkeLogTest, OpenRejectsAnEmptyDirectory) {
  EXPECT_FALSE(IkeLog::Open(IkeLog::Options{}).ok());
}

TEST_F(IkeLogTest, ConcurrentEmitWithToggling) {
  auto log = OpenLog(Opts(/*max_bytes=*/64 * 1024));
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Enable().ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < 2000; ++i) log->Emit(Event{"ike.x", Severity::kInfo, "concurrent"});
    });
  }
  for (int i = 0; i < 50; ++i) {
    log->Disable();
    ASSERT_TRUE(log->Enable().ok());
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(log->errors(), 0u);
  for (const std::string& p : {log->path(), log->saved_path()}) {
    if (!Exists(p)) continue;
    std::string text = ReadFile(p);
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
  }
}

}  // namespace
}  // namespace ipsec::sidecar::log
