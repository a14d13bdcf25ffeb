// RFC 7296 §2.9 against strongSwan's charon (issue 13): our sidecar (the daemon, pod 0) and
// charon (kernel-libipsec, tunnel mode, pod 1), each with two inner addresses on its loopback
// (ours 10.199.1.1 and .2, charon's 10.199.2.1 and .2). Every child SA keeps each of its
// (local, remote) combinations inside one filter pair of our rule:
//  - charon proposes subnets to our rule of two pairs: we answer one pair, charon installs it,
//    and its second child SA gets the other pair;
//  - charon proposes 10.199.0.0/16 both ways to our mirrored filter between two subnets: we
//    answer our subnet <-> its subnet (never its subnet as ours), and charon installs it;
//  - we initiate the two-pair rule: charon accepts one pair, and our ping from the second pair's
//    address brings up a second child SA for it.
// Pings go through each child SA. Needs root, strongSwan, curl; fails (never skips) without.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/interop/lab_configs.h"
#include "tests/support/lab.h"
#include "tests/support/lab_nat.h"
#include "tests/support/strongswan.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "narrowing-interop-psk-5c2e91";
constexpr const char kOurId[] = "sidecar.lab";
constexpr const char kCharonId[] = "charon.lab";

// Pod i's inner addresses: 10.199.<i+1>.1 and .2.
std::string Inner(int pod, int n) {
  return "10.199." + std::to_string(pod + 1) + "." + std::to_string(n);
}

using Ts = std::vector<std::string>;

// A child SA's selectors by address only ("10.199.2.2/32[icmp/8]" -> "10.199.2.2"), deduplicated:
// the packet's own selector an acquire proposes first names the same addresses as its pair.
Ts Addresses(const Ts& selectors) {
  std::set<std::string> out;
  for (std::string s : selectors) {
    s = s.substr(0, s.find('['));
    if (s.size() > 3 && s.compare(s.size() - 3, 3, "/32") == 0) s.resize(s.size() - 3);
    out.insert(s);
  }
  return Ts(out.begin(), out.end());
}

class NarrowingInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = MissingStrongswanPrerequisites();
    if (missing.empty() && Shell("command -v curl >/dev/null").exit_code != 0) {
      missing = "curl is missing: run scripts/install-deps.sh";
    }
    ASSERT_TRUE(missing.empty()) << missing;
    lab_ = Lab::Create(2, &error_);
    ASSERT_TRUE(lab_) << error_;
    for (int pod : {0, 1}) {
      for (int n : {1, 2}) {
        ASSERT_TRUE(AddAddress(lab_->pod(pod), Inner(pod, n), &error_)) << error_;
      }
    }
    WriteFile(dir_.path() + "/psk", std::string(kPsk) + "\n");
    chmod((dir_.path() + "/psk").c_str(), 0600);
    Daemon::Options o;
    o.extra_args = {std::string("--local-id=") + kOurId};
    daemon_ = std::make_unique<Daemon>(*lab_, 0, o);
    ASSERT_TRUE(daemon_->Start()) << "the daemon did not turn ready:\n" << daemon_->Log();
    CommandResult on = daemon_->Http("PUT", "/v1/config/ike-logging", R"({"enabled": true})");
    ASSERT_EQ(Status(on), 200) << on.out << on.err;
  }

  // Our rule "charon": these filters (source -> destination, mirrored), tunnel to charon.
  void ApplyPolicy(const std::vector<std::pair<std::string, std::string>>& filters) {
    json list = json::array();
    for (const auto& [source, destination] : filters) {
      list.push_back({{"source", source}, {"destination", destination}});
    }
    const json esp = {{"protocol", "esp"}, {"esp_encryption", "aes128gcm16"}, {"esp_integrity", "none"}};
    ASSERT_NO_FATAL_FAILURE(PutAndAssign(
        *daemon_, CharonTunnelPolicy("narrowing", list, esp, lab_->PodV4(1),
                                     PskFileAuth(dir_.path() + "/psk"))));
  }

  // charon in pod 1: connection "host" with these children (name, its side, ours).
  void StartCharon(const std::vector<std::tuple<std::string, Ts, Ts>>& children) {
    ConnectionConfig c;
    c.name = "host";
    c.local_addrs = {lab_->PodV4(1)};
    c.remote_addrs = {lab_->PodV4(0)};
    c.local = {"psk", kCharonId};
    c.remote = {"psk", kOurId};
    for (const auto& [name, local, remote] : children) {
      ChildConfig child;
      child.name = name;
      child.local_ts = local;
      child.remote_ts = remote;
      c.children.push_back(child);
    }
    SwanctlConfig config;
    config.connections = {c};
    config.shared_keys = {{"lab", {kCharonId, kOurId}, kPsk}};
    charon_ = Charon::Start(lab_->pod(1), "charon", CharonOptions{}, &error_);
    ASSERT_TRUE(charon_) << error_;
    ASSERT_TRUE(charon_->Load(config, &error_)) << error_;
  }

  // Charon's installed child SAs as (local, remote) addresses, sorted.
  std::vector<std::pair<Ts, Ts>> CharonChildren() {
    std::vector<std::pair<Ts, Ts>> out;
    auto sas = charon_->ListSas(&error_);
    if (!sas) return out;
    for (const auto& ike : *sas) {
      for (const auto& child : ike.child_sas) {
        if (child.installed()) {
          out.push_back({Addresses(child.local_ts), Addresses(child.remote_ts)});
        }
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Ours (GET /v1/sas), the same way.
  std::vector<std::pair<Ts, Ts>> OurChildren() {
    std::vector<std::pair<Ts, Ts>> out;
    json j = Body(daemon_->Http("GET", "/v1/sas"));
    if (!j.is_object() || !j.contains("ike_sas")) return out;
    for (const auto& ike : j["ike_sas"]) {
      for (const auto& c : ike["child_sas"]) {
        if (c.value("state", "") != "installed") continue;
        out.push_back({Addresses(c["local_ts"].get<Ts>()), Addresses(c["remote_ts"].get<Ts>())});
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string Diagnostics() {
    return "\n--- our SAs: " + Body(daemon_->Http("GET", "/v1/sas")).dump() +
           "\n--- our IKE log:\n" + ReadFile(daemon_->dir() + "/log/ike.log") + "\n--- charon:\n" +
           (charon_ ? charon_->ListSasText() + charon_->LogTail(40) : "");
  }
  CommandResult Ping(int pod, const std::string& from, const std::string& to) {
    return lab_->Exec(lab_->pod(pod), {"ping", "-c", "2", "-i", "0.2", "-W", "3", "-I", from, to},
                      "", std::chrono::seconds(20));
  }

  std::string error_;
  TempDir dir_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Charon> charon_;  // destroyed first
};

TEST_F(NarrowingInteropTest, CharonProposesSubnetsOurTwoPairRuleAnswersOnePairPerChildSa) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy({{Inner(0, 1), Inner(1, 1)}, {Inner(0, 2), Inner(1, 2)}}));
  ASSERT_NO_FATAL_FAILURE(StartCharon(
      {{"wide", {"10.199.2.0/24"}, {"10.199.1.0/24"}}, {"second", {Inner(1, 2)}, {Inner(0, 2)}}}));
  ASSERT_TRUE(charon_->Initiate("wide", &error_)) << error_ << Diagnostics();
  ASSERT_TRUE(charon_->WaitForChild("host", "wide", 5000ms, &error_)) << error_ << Diagnostics();
  EXPECT_EQ(CharonChildren(), (std::vector<std::pair<Ts, Ts>>{{{Inner(1, 1)}, {Inner(0, 1)}}}))
      << Diagnostics();
  ASSERT_TRUE(charon_->Initiate("second", &error_, "host")) << error_ << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return CharonChildren().size() == 2; })) << Diagnostics();
  EXPECT_EQ(CharonChildren(), (std::vector<std::pair<Ts, Ts>>{{{Inner(1, 1)}, {Inner(0, 1)}},
                                                              {{Inner(1, 2)}, {Inner(0, 2)}}}))
      << Diagnostics();
  EXPECT_EQ(OurChildren(), (std::vector<std::pair<Ts, Ts>>{{{Inner(0, 1)}, {Inner(1, 1)}},
                                                           {{Inner(0, 2)}, {Inner(1, 2)}}}))
      << Diagnostics();
  for (int n : {1, 2}) {
    CommandResult ping = Ping(1, Inner(1, n), Inner(0, n));
    EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err << Diagnostics();
  }
}

TEST_F(NarrowingInteropTest, CharonProposesEverythingToOurMirroredSubnetFilterAndInstallsIt) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy({{"10.199.1.0/24", "10.199.2.0/24"}}));
  ASSERT_NO_FATAL_FAILURE(StartCharon({{"all", {"10.199.0.0/16"}, {"10.199.0.0/16"}}}));
  ASSERT_TRUE(charon_->Initiate("all", &error_)) << error_ << Diagnostics();
  ASSERT_TRUE(charon_->WaitForChild("host", "all", 5000ms, &error_)) << error_ << Diagnostics();
  EXPECT_EQ(CharonChildren(),
            (std::vector<std::pair<Ts, Ts>>{{{"10.199.2.0/24"}, {"10.199.1.0/24"}}}))
      << Diagnostics();
  EXPECT_EQ(OurChildren(), (std::vector<std::pair<Ts, Ts>>{{{"10.199.1.0/24"}, {"10.199.2.0/24"}}}))
      << Diagnostics();
  CommandResult ping = Ping(1, Inner(1, 1), Inner(0, 1));
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err << Diagnostics();
}

TEST_F(NarrowingInteropTest, WeInitiateATwoPairRuleAndTheSecondPairsTrafficGetsItsOwnChildSa) {
  ASSERT_NO_FATAL_FAILURE(ApplyPolicy({{Inner(0, 1), Inner(1, 1)}, {Inner(0, 2), Inner(1, 2)}}));
  ASSERT_NO_FATAL_FAILURE(StartCharon({{"wide", {"10.199.2.0/24"}, {"10.199.1.0/24"}}}));
  CommandResult r = daemon_->Http("POST", "/v1/sas", R"({"rule": "charon"})");
  ASSERT_EQ(Status(r), 201) << r.out << r.err;
  ASSERT_TRUE(charon_->WaitForChild("host", "wide", 5000ms, &error_)) << error_ << Diagnostics();
  EXPECT_EQ(CharonChildren(), (std::vector<std::pair<Ts, Ts>>{{{Inner(1, 1)}, {Inner(0, 1)}}}))
      << Diagnostics();
  // Our ping from the second pair's address: the acquire asks charon for a child SA of its own.
  CommandResult ping = Ping(0, Inner(0, 2), Inner(1, 2));
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return CharonChildren().size() == 2; })) << Diagnostics();
  EXPECT_EQ(CharonChildren(), (std::vector<std::pair<Ts, Ts>>{{{Inner(1, 1)}, {Inner(0, 1)}},
                                                              {{Inner(1, 2)}, {Inner(0, 2)}}}))
      << Diagnostics();
  EXPECT_EQ(OurChildren(), (std::vector<std::pair<Ts, Ts>>{{{Inner(0, 1)}, {Inner(1, 1)}},
                                                           {{Inner(0, 2)}, {Inner(1, 2)}}}))
      << Diagnostics();
  ping = Ping(0, Inner(0, 1), Inner(1, 1));
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err << Diagnostics();
}

}  // namespace
}  // namespace ipsec::testing
