#include "sidecar/store/state_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include "tests/sidecar/store/state_fixtures.h"
#include "tests/sidecar/temp_dir.h"
#include "tests/support/fake_persistence.h"

namespace ipsec::sidecar::store {
namespace {

using engine::service::LocalState;
using ::ipsec::testing::RecordingEventSink;
using sidecar::testing::ReadFile;
using sidecar::testing::TempDir;
using sidecar::testing::WriteFile;
using testing::PskPolicy;
using testing::TwoPolicies;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class StateStoreTest : public ::testing::Test {
 protected:
  std::string StateDir() const { return dir_.File("var/lib/ipsec"); }
  std::string StateFile() const { return StateDir() + "/state.json"; }

  std::unique_ptr<StateStore> OpenStore() {
    auto store = StateStore::Open(StateDir());
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().ToString());
    return store.ok() ? std::move(store).value() : nullptr;
  }

  void ExpectLoadCorrupt(const std::string& what) {
    auto r = StateStore::Load(StateDir());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
    EXPECT_EQ(r.error().path, StateFile());
    EXPECT_NE(r.error().message.find(StateFile()), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  }

  TempDir dir_;
};

TEST_F(StateStoreTest, FirstStartIsEmptyAndCreatesAPrivateDirectory) {
  auto state = StateStore::Load(StateDir());
  ASSERT_TRUE(state.ok()) << state.error().ToString();
  EXPECT_TRUE(state->policies.empty());
  EXPECT_FALSE(state->assigned);
  EXPECT_EQ(state->last_revision, 0u);
  EXPECT_EQ(ModeOf(StateDir()), 0700u);
  EXPECT_TRUE(Names(StateDir()).empty());
}

TEST_F(StateStoreTest, RoundTripKeepsPresharedKeysInAPrivateFile) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->file_path(), StateFile());
  ASSERT_TRUE(store->Save(TwoPolicies()).ok());
  EXPECT_EQ(ModeOf(StateFile()), 0600u);
  EXPECT_EQ(Names(StateDir()), std::vector<std::string>{"state.json"});  // no temp left
  EXPECT_EQ(store->saves(), 1u);

  auto loaded = StateStore::Load(StateDir());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  const LocalState want = TwoPolicies();
  ASSERT_EQ(loaded->policies.size(), 2u);
  EXPECT_EQ(loaded->policies[0].policy, want.policies[0].policy);
  EXPECT_EQ(loaded->policies[1].policy, want.policies[1].policy);
  EXPECT_EQ(loaded->policies[1].policy.rules.at(0).auth_methods.at(0).preshared_key.view(),
            "beta key with spaces");
  EXPECT_EQ(loaded->assigned, want.assigned);
  EXPECT_EQ(loaded->last_revision, want.last_revision);
}

TEST_F(StateStoreTest, ModeIs0600WhateverTheUmask) {
  const mode_t old = ::umask(0);
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Save(TwoPolicies()).ok());
  ::umask(old);
  EXPECT_EQ(ModeOf(StateFile()), 0600u);
}

TEST_F(StateStoreTest, LaterSavesReplaceEarlierOnes) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Save(TwoPolicies()).ok());
  LocalState next;
  next.policies.push_back({PskPolicy("gamma", "k"), 10});
  next.last_revision = 10;
  ASSERT_TRUE(store->Save(next).ok());
  auto loaded = StateStore::Load(StateDir());
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->policies.size(), 1u);
  EXPECT_EQ(loaded->policies[0].policy.name, "gamma");
  EXPECT_FALSE(loaded->assigned);
  EXPECT_EQ(ReadFile(StateFile()).find("beta"), std::string::npos);
}

TEST_F(StateStoreTest, CorruptFilesStopLoadingAndNameTheFile) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Save(TwoPolicies()).ok());
  const std::string good = ReadFile(StateFile());

  WriteFile(StateFile(), good.substr(0, good.size() / 2));
  ExpectLoadCorrupt("not valid JSON");
  WriteFile(StateFile(),
            "\x7f"
            "ELF\x02\x01\x01 garbage");
  ExpectLoadCorrupt("not valid JSON");
  WriteFile(StateFile(), "");
  ExpectLoadCorrupt("empty");
  std::string flipped = good;
  flipped.replace(flipped.find("beta key"), 4, "BETA");
  WriteFile(StateFile(), flipped);
  ExpectLoadCorrupt("checksum mismatch");
  auto j = nlohmann::json::parse(good);
  j["policies"][0]["policy"]["rules"][0]["filter_list"] = "missing";
  WriteFile(StateFile(), testing::Seal(j));
  ExpectLoadCorrupt("/policies/0/policy");
}

TEST_F(StateStoreTest, UnreadableFileIsDataLoss) {
  ASSERT_TRUE(StateStore::Load(StateDir()).ok());
  std::filesystem::create_directory(StateFile());  // a directory where the file should be
  auto r = StateStore::Load(StateDir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message.find(StateFile()), std::string::npos) << r.error().message;
}

TEST_F(StateStoreTest, LeftoverTempFilesAreIgnoredAndRemoved) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Save(TwoPolicies()).ok());
  const std::string leftover = StateDir() + "/state.json.tmp-AbC123";
  WriteFile(leftover, "{\"half\": ");  // a crash mid-write
  WriteFile(StateDir() + "/unrelated", "keep me");
  auto loaded = StateStore::Load(StateDir());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_EQ(loaded->policies.size(), 2u);
  EXPECT_EQ(Names(StateDir()), (std::vector<std::string>{"state.json", "unrelated"}));
}

TEST_F(StateStoreTest, OnlyATempFileMeansFirstStart) {
  ASSERT_TRUE(std::filesystem::create_directories(StateDir()));
  WriteFile(StateDir() + "/state.json.tmp-XyZ789", "{\"format\": \"ipsec-sidecar-state\"");
  auto loaded = StateStore::Load(StateDir());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_TRUE(loaded->policies.empty());
  EXPECT_TRUE(Names(StateDir()).empty());
}

TEST_F(StateStoreTest, SetAsideCorruptKeepsTheEvidence) {
  ASSERT_TRUE(std::filesystem::create_directories(StateDir()));
  auto none = StateStore::SetAsideCorrupt(StateDir());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
  WriteFile(StateFile(), "garbage");
  auto aside = StateStore::SetAsideCorrupt(StateDir());
  ASSERT_TRUE(aside.ok());
  EXPECT_EQ(aside->rfind(StateFile() + ".corrupt-", 0), 0u) << *aside;
  EXPECT_EQ(ReadFile(*aside), "garbage");
  auto loaded = StateStore::Load(StateDir());
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->policies.empty());
}

// The error goes to API clients: it says why in general terms and names no file; the log event
// has the file and the step that failed.
TEST_F(StateStoreTest, SaveFailureSaysWhyWithoutNamingFilesAndLogsTheDetail) {
  RecordingEventSink events;
  auto store = StateStore::Open(StateDir(), &events);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  std::filesystem::remove_all(StateDir());
  WriteFile(StateDir(), "now a file");
  Status s = (*store)->Save(TwoPolicies());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.error().message.find(dir_.path()), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().path, "");
  EXPECT_NE(s.error().message.find("state directory"), std::string::npos) << s.error().message;
  EXPECT_EQ((*store)->saves(), 0u);
  auto logged = events.events();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].type, "state.save_failed");
  std::string fields;
  for (const auto& [k, v] : logged[0].fields) fields += k + "=" + v + " ";
  EXPECT_NE(fields.find("file=" + StateFile()), std::string::npos) << fields;
}

TEST(SaveFailureReasonTest, NamesTheCommonCausesWithoutPaths) {
  EXPECT_NE(SaveFailureReason(ENOSPC).find("full"), std::string::npos);
  EXPECT_NE(SaveFailureReason(EDQUOT).find("quota"), std::string::npos);
  EXPECT_NE(SaveFailureReason(EROFS).find("read-only"), std::string::npos);
  EXPECT_NE(SaveFailureReason(EACCES).find("permission"), std::string::npos);
  EXPECT_NE(SaveFailureReason(EPERM).find("permission"), std::string::npos);
  EXPECT_NE(SaveFailureReason(ENOENT).find("missing"), std::string::npos);
  EXPECT_NE(SaveFailureReason(EIO).find("I/O error"), std::string::npos);
}

// A FIFO in place of the state file must not hang start-up (open would wait for a writer), nor
// may anything but a regular file be read as state.
TEST_F(StateStoreTest, LoadRefusesAFifoOrDirectoryWithoutBlocking) {
  ASSERT_TRUE(OpenStore());
  ASSERT_EQ(::mkfifo(StateFile().c_str(), 0600), 0);
  auto loading = std::async(std::launch::async, [this] { return StateStore::Load(StateDir()); });
  if (loading.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    int unblock = ::open(StateFile().c_str(), O_WRONLY | O_NONBLOCK);  // lets Load return
    loading.wait();
    if (unblock >= 0) ::close(unblock);
    FAIL() << "Load blocked on a FIFO";
  }
  auto r = loading.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(StateFile()), std::string::npos) << r.error().message;

  std::filesystem::remove(StateFile());
  std::filesystem::create_directory(StateFile());
  r = StateStore::Load(StateDir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().message;
}

TEST_F(StateStoreTest, OpenFailsWhenTheDirectoryCannotBeMade) {
  WriteFile(dir_.File("var"), "a file");
  auto store = StateStore::Open(StateDir());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(StateStore::Load(StateDir()).ok());
}

TEST_F(StateStoreTest, ConcurrentSavesLeaveOneCompleteState) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      const std::string name = std::string("p") += std::to_string(t);
      for (int i = 0; i < 10; ++i) {
        LocalState s;
        s.last_revision = static_cast<uint64_t>(t * 100 + i + 1);
        s.policies.push_back({PskPolicy(name, "k"), s.last_revision});
        EXPECT_TRUE(store->Save(s).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store->saves(), 40u);
  auto loaded = StateStore::Load(StateDir());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  ASSERT_EQ(loaded->policies.size(), 1u);
  EXPECT_EQ(Names(StateDir()), std::vector<std::string>{"state.json"});
}

// A child saves a stream of states and reports each acknowledged revision; it is killed with
// SIGKILL at a random moment. Whatever the moment, the file is a complete, valid state holding
// at least the last acknowledged revision (and at most the one in flight).
TEST_F(StateStoreTest, SigkillDuringSavesNeverLosesAnAcknowledgedState) {
  for (int round = 0; round < 5; ++round) {
    int ack[2];
    ASSERT_EQ(::pipe(ack), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(ack[0]);
      auto store = StateStore::Open(StateDir());
      if (!store.ok()) ::_exit(2);
      LocalState s = TwoPolicies();
      for (uint64_t rev = 10;; ++rev) {
        s.last_revision = rev;
        s.policies[0].revision = rev;
        s.policies[0].policy.description = "revision " + std::to_string(rev);
        if (!(*store)->Save(s).ok()) ::_exit(3);
        if (::write(ack[1], &rev, sizeof(rev)) != sizeof(rev)) ::_exit(4);
      }
    }
    ::close(ack[1]);
    // Whatever happens below, the saver does not outlive the test.
    struct Reaper {
      pid_t pid;
      ~Reaper() {
        if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
      }
    } reaper{pid};
    uint64_t acked = 0;
    const int wanted = 20 + round * 17;  // let some saves through, then kill mid-stream
    for (int i = 0; i < wanted; ++i) {
      ASSERT_EQ(::read(ack[0], &acked, sizeof(acked)), static_cast<ssize_t>(sizeof(acked)));
    }
    ::usleep(static_cast<useconds_t>(round * 300));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    reaper.pid = 0;
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saver stopped by itself: " << status;
    // Drain acknowledgements that arrived before the kill.
    for (uint64_t rev; ::read(ack[0], &rev, sizeof(rev)) == sizeof(rev);) acked = rev;
    ::close(ack[0]);

    auto loaded = StateStore::Load(StateDir());
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.error().ToString();
    EXPECT_GE(loaded->last_revision, acked) << "an acknowledged save was lost";
    EXPECT_LE(loaded->last_revision, acked + 1);
    ASSERT_EQ(loaded->policies.size(), 2u);
    EXPECT_EQ(loaded->policies[0].policy.description,
              "revision " + std::to_string(loaded->last_revision));
    EXPECT_EQ(Names(StateDir()), std::vector<std::string>{"state.json"});
  }
}

}  // namespace
}  // namespace ipsec::sidecar::store
