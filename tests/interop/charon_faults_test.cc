// Faults against strongSwan's charon (issue 13): our daemon in lab pod 0, charon (5.9.8,
// kernel-libipsec: ESP in UDP 4500, tunnel between the pods' inner addresses) in pod 1.
//  - 10% loss of IKE datagrams and reordering of IKE and ESP (tests/support/lab_faults.h) while
//    pod 0 pings through the tunnel every 50 ms: charon's negotiation, then child SA and IKE SA
//    rekeys started by each side (our API, `swanctl --rekey`), all complete, one IKE SA and one
//    child SA at each end afterwards, agreeing on the SPIs, no echo lost.
//  - charon killed (SIGKILL) and restarted: its IKE_AUTH carries INITIAL_CONTACT (unique=no,
//    strongSwan's default) and we keep only the new SAs; then our daemon killed and restarted:
//    ours carries it, and charon keeps only the new SAs.
// Needs root, strongSwan, iptables-nft, nftables, curl, ping; fails naming what is missing.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/fault_util.h"
#include "tests/interop/lab_configs.h"
#include "tests/support/lab.h"
#include "tests/support/lab_faults.h"
#include "tests/support/lab_nat.h"
#include "tests/support/strongswan.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "charon-faults-psk-6a1f0e93b2";
constexpr const char kOurId[] = "sidecar.lab";
constexpr const char kCharonId[] = "charon.lab";

class CharonFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = MissingStrongswanPrerequisites();
    ASSERT_TRUE(missing.empty()) << missing;
    missing = MissingTool({"nft", "iptables-nft", "ping", "curl"});
    ASSERT_TRUE(missing.empty()) << missing;
    lab_ = Lab::Create(2, &error_);
    ASSERT_TRUE(lab_) << error_;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(AddAddress(lab_->pod(i), InnerV4(i) + "/32", &error_)) << error_;
    }
    WriteFile(dir_.path() + "/psk", std::string(kPsk) + "\n");
    chmod((dir_.path() + "/psk").c_str(), 0600);
    daemon_ =
        std::make_unique<Daemon>(*lab_, 0,
                                 Daemon::Options{.extra_args = {std::string("--local-id=") + kOurId,
                                                                "--retransmit-base-ms=200"}});
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
    ASSERT_NO_FATAL_FAILURE(StartCharon());
  }

  void StartDaemon() {
    ASSERT_TRUE(daemon_->Start()) << daemon_->Log();
    CommandResult on = daemon_->Http("PUT", "/v1/config/ike-logging", R"({"enabled": true})");
    ASSERT_EQ(Status(on), 200) << on.out << on.err;
    // Our inner address <-> charon's, tunnel to charon (as charon_traffic_test's policy).
    const json key_exchange = {{"proposals", json::array({{{"encryption", "aes128gcm16"},
                                                            {"integrity", "none"},
                                                            {"prf", "prfsha256"},
                                                            {"dh_group", "curve25519"}}})}};
    const json filters = json::array({{{"source", InnerV4(0)}, {"destination", InnerV4(1)}}});
    ASSERT_NO_FATAL_FAILURE(PutAndAssign(
        *daemon_, CharonTunnelPolicy("faults", filters, EspGcm128(), lab_->PodV4(1),
                                     PskFileAuth(dir_.path() + "/psk"), key_exchange)));
  }

  // A fresh charon in pod 1 (its own directory), connection "host"/child "net".
  void StartCharon() {
    CharonOptions options;
    charon_ = Charon::Start(lab_->pod(1), "charon", options, &error_);
    ASSERT_TRUE(charon_) << error_;
    SwanctlConfig config =
        PskConfig({lab_->PodV4(1), kCharonId, InnerV4(1)}, {lab_->PodV4(0), kOurId, InnerV4(0)});
    config.shared_keys[0].secret = kPsk;
    // strongSwan's default: an IKE_AUTH with INITIAL_CONTACT replaces the peer's other IKE SAs,
    // and charon sends the notification itself when it has none with us.
    config.connections[0].unique = "no";
    ASSERT_TRUE(charon_->Load(config, &error_)) << error_;
  }

  json Sas() const {
    json j = Body(daemon_->Http("GET", "/v1/sas"));
    return j.is_object() && j.contains("ike_sas") ? j["ike_sas"] : json::array();
  }
  std::string IkeLog() const { return ReadFile(daemon_->dir() + "/log/ike.log"); }
  std::vector<IkeSaInfo> CharonSas() const {
    std::string error;
    auto sas = charon_->ListSas(&error);
    return sas ? *sas : std::vector<IkeSaInfo>{};
  }

  // One IKE SA and one installed child SA at each end, the same SPIs.
  bool Settled() const {
    const json ours = Sas();
    if (ours.size() != 1 || ours[0]["state"] != "established" || ours[0]["child_sas"].size() != 1 ||
        ours[0]["child_sas"][0]["state"] != "installed") {
      return false;
    }
    const auto theirs = CharonSas();
    if (theirs.size() != 1 || !theirs[0].established_state()) return false;
    int installed = 0;
    for (const auto& c : theirs[0].child_sas) installed += c.state == "INSTALLED" ? 1 : 0;
    const ChildSaInfo* c = theirs[0].InstalledChild("net");
    return installed == 1 && c != nullptr && ours[0]["child_sas"][0]["spi_in"] == c->spi_out &&
           ours[0]["child_sas"][0]["spi_out"] == c->spi_in;
  }
  std::string Diagnostics() const {
    return "\n--- our SAs: " + Sas().dump() + "\n--- our IKE log:\n" + IkeLog() +
           "\n--- charon SAs:\n" + (charon_ ? charon_->ListSasText() : "") + "\n--- charon log:\n" +
           (charon_ ? charon_->LogTail(80) : "");
  }

  std::unique_ptr<BackgroundProcess> Pings(const std::string& interval, const std::string& log) {
    return std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"ip", "netns", "exec", lab_->pod(0), "ping", "-D", "-O", "-i",
                                 interval, "-W", "2", "-I", InnerV4(0), InnerV4(1)},
        log);
  }
  std::string OurChildSpi() const {
    const json s = Sas();
    return s.size() == 1 && s[0]["child_sas"].size() == 1
               ? s[0]["child_sas"][0]["spi_in"].get<std::string>()
               : "";
  }
  std::string OurIkeId() const {
    const json s = Sas();
    return s.size() == 1 ? s[0]["id"].get<std::string>() : "";
  }

  std::string error_;
  TempDir dir_;
  std::unique_ptr<Lab> lab_;
  std::vector<std::unique_ptr<PacketLoss>> loss_;
  std::unique_ptr<PacketReorder> reorder_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Charon> charon_;  // destroyed first
};

TEST_F(CharonFaultsTest, NegotiationAndRekeysUnderLossAndReordering) {
  for (const std::string& match : {IkeMatch500(), IkeMatch4500()}) {
    auto l = PacketLoss::Add(lab_->node(), 10, &error_, "forward", match);
    ASSERT_NE(l, nullptr) << error_;
    loss_.push_back(std::move(l));
  }
  reorder_ =
      PacketReorder::Add(lab_->node(), {"-p udp"},
                         {.hold_percent = 20, .min_delay_ms = 5, .max_delay_ms = 150}, &error_);
  ASSERT_NE(reorder_, nullptr) << error_;
  // charon initiates (its own retransmissions carry it through the loss).
  ASSERT_TRUE(charon_->Initiate("net", &error_, "", 30s)) << error_ << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return Settled(); }, 20s)) << Diagnostics();
  const std::string log = dir_.path() + "/ping.log";
  auto ping = Pings("0.05", log);
  auto dropped = [&] {
    int64_t n = 0;
    for (const auto& l : loss_) n += std::max<int64_t>(0, l->Dropped());
    return n;
  };
  // Rounds until the loss and the reordering have hit IKE (at least 3 rounds).
  int rekeys = 0;
  for (int round = 0; round < 8; ++round) {
    if (round >= 3 && dropped() >= 4 && reorder_->Read().overtaken >= 20) break;
    SCOPED_TRACE("round " + std::to_string(round));
    // A child SA rekey from each side, then an IKE SA rekey from each side.
    for (int step = 0; step < 4; ++step) {
      const std::string child_before = OurChildSpi(), ike_before = OurIkeId();
      ASSERT_FALSE(child_before.empty() || ike_before.empty()) << Diagnostics();
      const bool ike = step >= 2, ours = step % 2 == 0;
      if (ours) {
        const std::string id = ike ? ike_before : Sas()[0]["child_sas"][0]["id"].get<std::string>();
        CommandResult r = daemon_->Http("POST", "/v1/sas/" + id + "/rekey");
        ASSERT_EQ(Status(r), 202) << r.out << r.err;
      } else {
        ASSERT_TRUE(ike ? charon_->RekeyIke("host", &error_) : charon_->RekeyChild("net", &error_))
            << error_ << Diagnostics();
      }
      ++rekeys;
      ASSERT_TRUE(WaitFor(
          [&] {
            return Settled() && (ike ? OurIkeId() != ike_before : OurChildSpi() != child_before);
          },
          30s))
          << (ours ? "our " : "charon's ") << (ike ? "IKE SA" : "child SA") << " rekey\n"
          << Diagnostics();
    }
  }
  // Settled, and it stays so while stragglers arrive.
  for (auto until = std::chrono::steady_clock::now() + 1500ms;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms)) {
    ASSERT_TRUE(Settled()) << Diagnostics();
  }
  ping->Stop(SIGINT, 5s);
  const PingLog pings = PingLog::Parse(ReadFile(log));
  const json stats = Body(daemon_->Http("GET", "/v1/stats"));
  const PacketReorder::Stats reordered = reorder_->Read();
  std::printf(
      "[ figure ] charon, loss+reordering: %d rekeys (child and IKE SA, each side); IKE datagrams "
      "dropped %lld, our retransmissions %lld; packets queued %lld, held %lld, overtaken %lld; "
      "pings %d sent, %d answered, %d lost (the last second not counted), longest gap %.3f s\n",
      rekeys, static_cast<long long>(dropped()),
      static_cast<long long>(stats["ike"].value("retransmits_total", int64_t{-1})),
      static_cast<long long>(reordered.packets), static_cast<long long>(reordered.held),
      static_cast<long long>(reordered.overtaken), pings.transmitted, pings.received, pings.Lost(),
      pings.LongestGap().seconds);
  EXPECT_GE(dropped(), 4);
  EXPECT_GE(reordered.overtaken, 20);
  EXPECT_GT(pings.transmitted, 50);
  EXPECT_EQ(pings.Lost(), 0) << ReadFile(log);
}

TEST_F(CharonFaultsTest, EachSideKilledAndRestartedSendsInitialContact) {
  ASSERT_TRUE(charon_->Initiate("net", &error_)) << error_ << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return Settled(); })) << Diagnostics();
  // charon dies and comes back: its new IKE SA replaces our stale one.
  const json stale = Sas()[0];
  const double killed_at = UnixNowSeconds();
  charon_->Kill();
  charon_.reset();
  ASSERT_NO_FATAL_FAILURE(StartCharon());
  const size_t log_start = IkeLog().size();
  ASSERT_TRUE(charon_->Initiate("net", &error_)) << error_ << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return Settled() && Sas()[0]["spi_i"] != stale["spi_i"]; }, 15s))
      << Diagnostics();
  const double charon_back = UnixNowSeconds();
  EXPECT_NE(IkeLog().substr(log_start).find("the peer sent INITIAL_CONTACT"), std::string::npos)
      << IkeLog().substr(log_start);
  CommandResult pinged = lab_->Exec(
      lab_->pod(0), {"ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", InnerV4(0), InnerV4(1)});
  EXPECT_EQ(pinged.exit_code, 0) << pinged.out << Diagnostics();

  // Our daemon dies and comes back (same state directory): its new IKE SA (started by pod 0's
  // traffic) replaces charon's stale one.
  const auto charon_stale = CharonSas();
  ASSERT_EQ(charon_stale.size(), 1u);
  const double ours_killed_at = UnixNowSeconds();
  daemon_->Kill();
  ASSERT_TRUE(daemon_->Start()) << daemon_->Log();
  const double ready_at = UnixNowSeconds();
  const std::string log = dir_.path() + "/ping.log";
  auto ping = Pings("0.02", log);
  ASSERT_TRUE(WaitFor(
      [&] { return Settled() && CharonSas()[0].initiator_spi != charon_stale[0].initiator_spi; },
      15s, 20ms))
      << ReadFile(log) << Diagnostics();
  const double ours_back = UnixNowSeconds();
  ASSERT_TRUE(WaitFor([&] { return !PingLog::Parse(ReadFile(log)).replies.empty(); }))
      << ReadFile(log);
  ping->Stop(SIGINT, 5s);
  const double first_echo = PingLog::Parse(ReadFile(log)).replies.front().at;
  EXPECT_EQ(CharonSas().size(), 1u) << DescribeSas(CharonSas());
  std::printf(
      "[ figure ] charon SIGKILL + restart + initiate: %.3f s until we hold only its new SA; our "
      "SIGKILL + restart: ready %.3f s after the kill, first echo through the new SA %.3f s after "
      "ready, charon holds only our new SA %.3f s after ready\n",
      charon_back - killed_at, ready_at - ours_killed_at, first_echo - ready_at,
      ours_back - ready_at);
}

}  // namespace
}  // namespace ipsec::testing
