// Integration tests of issue 13 (faults at the API's edge), against the real daemon in a pod:
// - a full or read-only state directory (a 64 KiB tmpfs mounted over it): the API refuses the
//   write with 503 `unavailable`, names no path, leaves the policy in force unchanged, and takes
//   the next write once the volume does;
// - a state file that cannot be read at start is a clear start-up error, never a hang;
// - hostile request bodies: no response, log line or metric repeats their content.
// They need root (mount, network namespaces); without it they fail with the reason.

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;

std::string PolicyPath(const std::string& name) {
  return std::string(IPSEC_TEST_POLICIES) + "/" + name;
}

// A small tmpfs mounted over a directory for the test's lifetime: the state volume that fills up
// or turns read-only. Unmounted (lazily, so a straggler cannot keep it) when destroyed.
class SmallVolume {
 public:
  SmallVolume(const std::string& dir, std::string* error) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") != 0) {
      *error = "cannot mount a tmpfs on " + dir_ + " (the test needs root): " + strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallVolume() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallVolume(const SmallVolume&) = delete;
  SmallVolume& operator=(const SmallVolume&) = delete;

  bool mounted() const { return mounted_; }
  // Read-only for every mount namespace, the daemon's (ip netns exec) included: the superblock
  // goes read-only, and the mount's own read-only flag, which a namespace copies when it is
  // made, is cleared again, so that a daemon started meanwhile sees the volume come back.
  bool SetReadOnly(bool read_only) {
    const unsigned long base = MS_REMOUNT | MS_NOSUID | MS_NODEV;
    if (!read_only) return ::mount("tmpfs", dir_.c_str(), "tmpfs", base, kOptions) == 0;
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", base | MS_RDONLY, kOptions) == 0 &&
           ::mount(nullptr, dir_.c_str(), nullptr, base | MS_BIND, nullptr) == 0;
  }
  // Writes a filler file until the volume has no space left. False if it never filled.
  bool Fill() {
    int fd = ::open(Filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::string block(4096, 'f');
    bool full = false;
    for (int i = 0; i < 1024 && !full; ++i) {
      ssize_t n = ::write(fd, block.data(), block.size());
      full = n < 0 && errno == ENOSPC;
    }
    // Top up the last partial page byte by byte.
    for (int i = 0; i < 4096 && full; ++i) {
      if (::write(fd, "f", 1) != 1) break;
    }
    ::close(fd);
    return full;
  }
  void Drain() { std::filesystem::remove(Filler()); }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      out.push_back(e.path().filename());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static constexpr const char* kOptions = "size=64k,mode=0700";
  std::string Filler() const { return dir_ + "/filler"; }
  const std::string dir_;
  bool mounted_ = false;
};

class ApiFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    lab_ = Lab::Create(1, &error);
    ASSERT_NE(lab_, nullptr) << error;
  }
  // The daemon stops before its state volume goes, and the volume before the daemon's
  // directory is removed.
  void TearDown() override {
    if (daemon_) daemon_->Terminate();
    volume_.reset();
    daemon_.reset();
  }
  Daemon& MakeDaemon(Daemon::Options options = {}) {
    options.extra_args.push_back("--log-level=debug");
    daemon_ = std::make_unique<Daemon>(*lab_, 0, std::move(options));
    return *daemon_;
  }
  void MountVolume() {
    std::string error;
    volume_ = std::make_unique<SmallVolume>(daemon_->state_dir(), &error);
    ASSERT_TRUE(volume_->mounted()) << error;
  }
  // What is in force: the table's generation and the decision for the lab rule's traffic.
  std::string InForce() {
    json filters = Body(daemon_->Http("GET", "/v1/filters"));
    json match = Body(daemon_->Http("POST", "/v1/match",
                                    json{{"direction", "outbound"},
                                         {"source", lab_->PodV4(0)},
                                         {"destination", "10.99.2.7"},
                                         {"protocol", "tcp"},
                                         {"destination_port", 80}}
                                        .dump()));
    json assignment = Body(daemon_->Http("GET", "/v1/assignment"));
    return filters["policy"].dump() + " generation " + filters["generation"].dump() + " rule " +
           match["rule"].dump() + " assigned " + assignment["in_force"].dump();
  }
  // A refused write: 503 unavailable, saying why (`reason`) and naming no path.
  void ExpectRefused(const CommandResult& r, const std::string& reason) {
    EXPECT_EQ(Status(r), 503) << r.out;
    json e = Body(r)["error"];
    EXPECT_EQ(e["code"], "unavailable") << r.out;
    std::string message = e["message"].is_string() ? e["message"].get<std::string>() : "";
    EXPECT_NE(message.find("could not be saved"), std::string::npos) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
    EXPECT_EQ(message.find(daemon_->dir()), std::string::npos) << message;
    EXPECT_EQ(message.find("state.json"), std::string::npos) << message;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<SmallVolume> volume_;
};

TEST_F(ApiFaultsTest, FullStateVolumeRefusesWritesAndKeepsThePolicyInForce) {
  Daemon& d = MakeDaemon();
  MountVolume();
  ASSERT_TRUE(d.Start()) << d.Log();
  ASSERT_EQ(d.Ctl({"policy", "apply", "-f", PolicyPath("tiers.yaml"), "--assign"}).exit_code, 0)
      << d.Log();
  const std::string before = InForce();
  ASSERT_NE(before.find("\"lab\""), std::string::npos) << before;
  ASSERT_TRUE(volume_->Fill()) << "the 64 KiB volume did not fill";

  // A change to the policy in force, a new policy, the assignment: all refused.
  ExpectRefused(d.Http("DELETE", "/v1/policies/tiers/rules/lab"), "full");
  ExpectRefused(d.Http("PUT", "/v1/policies/extra", R"({"name": "extra"})"), "full");
  ExpectRefused(d.Http("DELETE", "/v1/assignment"), "full");
  EXPECT_EQ(InForce(), before);
  EXPECT_EQ(Status(d.Http("GET", "/v1/policies/extra")), 404);
  EXPECT_EQ(Body(d.Http("GET", "/v1/policies/tiers"))["rules"].size(), 5u);
  // No temp file is left behind to eat the space; the log names the file for the operator.
  EXPECT_EQ(volume_->Names(), (std::vector<std::string>{"filler", "state.json"}));
  EXPECT_NE(d.Log().find("state.save_failed"), std::string::npos) << d.Log();

  // Space returns: the next write goes through, and survives a restart.
  volume_->Drain();
  CommandResult removed = d.Http("DELETE", "/v1/policies/tiers/rules/lab");
  ASSERT_EQ(Status(removed), 204) << removed.out;
  EXPECT_NE(InForce(), before);
  ASSERT_NE(d.Terminate(), -1);
  ASSERT_TRUE(d.Start()) << d.Log();
  EXPECT_EQ(Body(d.Http("GET", "/v1/policies/tiers"))["rules"].size(), 4u);
  EXPECT_EQ(Body(d.Http("POST", "/v1/match",
                        json{{"direction", "outbound"},
                             {"source", lab_->PodV4(0)},
                             {"destination", "10.99.2.7"},
                             {"protocol", "tcp"},
                             {"destination_port", 80}}
                            .dump()))["rule"],
            nullptr);
}

TEST_F(ApiFaultsTest, ReadOnlyStateVolumeServesTheStoredPolicyAndRefusesWrites) {
  Daemon& d = MakeDaemon();
  MountVolume();
  ASSERT_TRUE(d.Start()) << d.Log();
  ASSERT_EQ(d.Ctl({"policy", "apply", "-f", PolicyPath("tiers.yaml"), "--assign"}).exit_code, 0)
      << d.Log();
  const std::string before = InForce();

  // Turned read-only under a running daemon.
  ASSERT_TRUE(volume_->SetReadOnly(true)) << strerror(errno);
  ExpectRefused(d.Http("DELETE", "/v1/policies/tiers/rules/lab"), "read-only");
  ExpectRefused(d.Http("DELETE", "/v1/policies"), "read-only");
  EXPECT_EQ(InForce(), before);

  // Started on a read-only volume: the stored policy is in force, writes are refused.
  ASSERT_NE(d.Terminate(), -1);
  ASSERT_TRUE(d.Start()) << d.Log();
  EXPECT_NE(InForce().find("\"tiers\""), std::string::npos) << InForce();
  const std::string restarted = InForce();
  ExpectRefused(d.Http("PUT", "/v1/policies/extra", R"({"name": "extra"})"), "read-only");
  EXPECT_EQ(InForce(), restarted);

  ASSERT_TRUE(volume_->SetReadOnly(false)) << strerror(errno);
  CommandResult created = d.Http("PUT", "/v1/policies/extra", R"({"name": "extra"})");
  EXPECT_EQ(Status(created), 201) << created.out;
}

// A state file the daemon cannot read stops start-up with a message naming it (a FIFO would
// block a plain open forever); --start-empty sets it aside and starts.
TEST_F(ApiFaultsTest, UnreadableStateFileIsAClearStartupError) {
  Daemon& d = MakeDaemon();
  std::filesystem::create_directories(d.state_dir());
  const std::string file = d.state_dir() + "/state.json";
  ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0) << strerror(errno);
  int code = d.StartExpectingExit(std::chrono::seconds(10));
  if (code == -1) {  // blocked in open(): give it a writer that leaves at once, then fail
    int unblock = ::open(file.c_str(), O_WRONLY | O_NONBLOCK);
    if (unblock >= 0) ::close(unblock);
    d.Terminate();
  }
  EXPECT_NE(code, -1) << "the daemon hung on a FIFO state file; its log:\n" << d.Log();
  EXPECT_NE(code, 0);
  EXPECT_NE(d.Log().find(file), std::string::npos) << d.Log();
  EXPECT_NE(d.Log().find("not a regular file"), std::string::npos) << d.Log();

  std::filesystem::remove(file);
  std::filesystem::create_directory(file);
  code = d.StartExpectingExit(std::chrono::seconds(10));
  EXPECT_NE(code, -1) << d.Log();
  EXPECT_NE(code, 0);
  EXPECT_NE(d.Log().find("not a regular file"), std::string::npos) << d.Log();

  Daemon& empty = MakeDaemon({.extra_args = {"--start-empty"}});
  std::filesystem::create_directories(empty.state_dir());
  ASSERT_EQ(::mkfifo((empty.state_dir() + "/state.json").c_str(), 0600), 0);
  EXPECT_TRUE(empty.Start()) << empty.Log();
  EXPECT_NE(empty.Log().find("state_discarded"), std::string::npos) << empty.Log();
}

// The real daemon, its log at debug level: hostile bodies are refused, and neither the answers,
// the structured log (access lines, audit events) nor the metrics repeat what they carried.
TEST_F(ApiFaultsTest, HostileBodiesAreNeverEchoedInAnswersLogsOrMetrics) {
  const std::string marker = "Qx7Zp9Kw3Vj5Rt8Y";
  Daemon& d = MakeDaemon();
  ASSERT_TRUE(d.Start()) << d.Log();
  auto with = [&](std::string text) {
    for (size_t at; (at = text.find("@M@")) != std::string::npos;) text.replace(at, 3, marker);
    return text;
  };
  const std::vector<std::string> bodies = {
      R"({"name": "p", "description": "@M@)",
      R"({"name": "p", "description": @M@})",
      "{\"name\": \"p\", \"description\": \"@M@\xff\"}",
      R"({"name": "p", "@M@": 1})",
      R"({"name": "p", "@M@": 1, "@M@": 2})",
      R"({"name": "p", "filter_actions": [{"name": "a", "type": "@M@"}]})",
      R"({"name": "p", "filter_lists": [{"name": "l", "filters": [{"source": "@M@"}]}]})",
      R"({"name": "p", "filter_lists": [{"name": "l", "filters": [{"source": "10.0.0.0/@M@"}]}]})",
      R"({"name": "p", "key_exchange": {"proposals": [{"dh_group": "@M@"}]}})",
      R"({"name": "p", "rules": [{"name": "r", "filter_list": "x", "filter_action": "y",
          "auth_methods": [{"type": "psk", "preshared_key": "@M@"}]}]})",
  };
  std::vector<std::string> answers;
  for (const std::string& body : bodies) {
    CommandResult r = d.Http("POST", "/v1/policies", with(body));
    EXPECT_EQ(Status(r), 400) << body << " -> " << r.out;
    answers.push_back(r.out);
  }
  answers.push_back(d.Http("GET", with("/v1/filters?specific=@M@")).out);
  answers.push_back(
      d.Http("PUT", "/v1/policies/p", R"({"name": "p"})", true, {with("If-Match: \"@M@\"")}).out);
  // Accepted with the marker as its key: the key is write-only.
  CommandResult ok = d.Http("POST", "/v1/policies",
                            with(R"({"name": "k", "default_response_rule": {"auth_methods": [
               {"type": "psk", "preshared_key": "@M@"}]}})"));
  EXPECT_EQ(Status(ok), 201) << ok.out;
  answers.push_back(ok.out);
  answers.push_back(d.Http("GET", "/v1/policies/k").out);
  answers.push_back(
      lab_->Exec(lab_->pod(0), {"curl", "-sS", "--max-time", "10", "http://127.0.0.1:9090/metrics"})
          .out);
  for (const std::string& a : answers) {
    EXPECT_EQ(a.find(marker.substr(0, 8)), std::string::npos) << a;
    EXPECT_EQ(a.find(marker.substr(8)), std::string::npos) << a;
  }
  const std::string log = d.Log();
  EXPECT_NE(log.find("api.access"), std::string::npos) << "no access lines at debug level:\n"
                                                       << log;
  EXPECT_EQ(log.find(marker.substr(0, 8)), std::string::npos) << log;
  EXPECT_EQ(log.find(marker.substr(8)), std::string::npos) << log;
}

}  // namespace
}  // namespace ipsec::testing
