// Faults on the wire between two of our daemons (issue 13): 10% loss of IKE datagrams
// (nftables `numgen random` in the node namespace that forwards between the pods: this kernel
// has no netem) and reordering of IKE and ESP (an NFQUEUE helper holds 20% of them for 5-150 ms,
// so later packets overtake them: tests/support/lab_faults.h), during negotiations and during
// child SA and IKE SA rekeys started by each side and by both at once (collisions, RFC 7296
// §2.8.1-2.8.2, with lost and overtaken messages), while pod 0 pings pod 1 through ESP every
// 50 ms. The rounds go on until the faults have really hit IKE (drops, retransmissions,
// overtaken packets), never for a fixed time. Then: every negotiation and rekey completed, one
// IKE SA and one child SA on each side (nothing duplicated or stale), the pings went on (loss
// reported). docs/faults.md has the figures.
// Needs root, iproute2, nftables (numgen), iptables-nft (NFQUEUE), curl, ping; fails naming
// what is missing.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/fault_util.h"
#include "tests/support/lab_faults.h"
#include "tests/support/lab_nat.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "faults-loss-psk-5c0e9a71d2";

class FaultsLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = MissingTool({"nft", "iptables-nft", "ping", "curl"});
    ASSERT_TRUE(missing.empty()) << missing;
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
    // Retransmissions from 200 ms (doubling, 5 tries) keep the rounds short under loss.
    pair_ =
        std::make_unique<DaemonPair>(*lab_, std::vector<std::string>{"--retransmit-base-ms=200"});
  }

  int64_t Retransmits() {
    int64_t n = 0;
    for (int i = 0; i < 2; ++i) {
      const json s = pair_->Stats(i);
      if (s.is_object()) n += s["ike"].value("retransmits_total", int64_t{0});
    }
    return n;
  }
  int64_t Dropped() {
    int64_t n = 0;
    for (const auto& l : loss_) n += std::max<int64_t>(0, l->Dropped());
    return n;
  }

  // The installed child SA's (id, inbound SPI) on daemon `i`.
  std::pair<std::string, json> Child(int i) {
    for (const auto& ike : pair_->Sas(i)) {
      for (const auto& c : ike["child_sas"]) {
        if (c["state"] == "installed") return {c["id"].get<std::string>(), c["spi_in"]};
      }
    }
    return {"", json()};
  }
  std::string IkeId(int i) {
    const json s = pair_->Sas(i);
    return s.size() == 1 ? s[0]["id"].get<std::string>() : "";
  }

  // POST /v1/sas/{ids[i]}/rekey on each daemon i of `starters`, at the same moment when both
  // (a rekey collision, RFC 7296 §2.8.1-2.8.2, unless one side's completes before the other's
  // request is taken: then that one is refused with 409, its SA already rekeyed). When both, IKE
  // is cut off (every IKE datagram dropped) from before the requests until 100 ms after: both
  // requests are sent, lost, and cross when retransmitted (after 200 ms), a collision at both
  // ends whose messages the loss and reordering then drop and overtake.
  void Post(const std::vector<int>& starters, const std::vector<std::string>& ids) {
    const bool cut = starters.size() == 2;
    std::string error;
    for (const auto& c : cut_) {
      if (cut) {
        ASSERT_TRUE(c->SetPercent(100, &error)) << error;
      }
    }
    CommandResult r[2];
    std::vector<std::thread> threads;
    for (int i : starters) {
      threads.emplace_back(
          [&, i] { r[i] = pair_->d(i).Http("POST", "/v1/sas/" + ids[i] + "/rekey"); });
    }
    for (auto& t : threads) t.join();
    if (cut) {
      std::this_thread::sleep_for(100ms);
      for (const auto& c : cut_) {
        cut_dropped_ += std::max<int64_t>(0, c->Dropped());
        ASSERT_TRUE(c->SetPercent(0, &error)) << error;
      }
    }
    int accepted = 0;
    for (int i : starters) {
      if (Status(r[i]) == 202) {
        ++accepted;
        continue;
      }
      // Started by both: the other side's rekey may have replaced (409) or already deleted (404)
      // the SA by the time this side's request is taken.
      EXPECT_TRUE(
          starters.size() == 2 &&
          ((Status(r[i]) == 409 && (r[i].out.find(" is rekeyed") != std::string::npos ||
                                    r[i].out.find(" is being rekeyed") != std::string::npos ||
                                    r[i].out.find(" is rekeying") != std::string::npos ||
                                    r[i].out.find(" is deleting") != std::string::npos)) ||
           (Status(r[i]) == 404 && r[i].out.find("no IKE SA") != std::string::npos)))
          << "daemon " << i << ": " << r[i].out << r[i].err;
    }
    ASSERT_GE(accepted, 1);
    if (accepted == 2) ++both_accepted_;
  }
  // Lines of both IKE logs that contain `text`.
  int CountLogged(const std::string& text) {
    int n = 0;
    for (int i = 0; i < 2; ++i) {
      const std::string log = pair_->IkeLog(i);
      for (size_t p = 0; (p = log.find(text, p)) != std::string::npos; ++p) ++n;
    }
    return n;
  }
  int Collisions() { return CountLogged("rekey collision ("); }

  // How long a rekey may take to settle. Started by both at once, a collision whose messages were
  // reordered can leave one side holding the other's redundant IKE SA, which that side never
  // learned of (RFC 7296 §2.25.2): it goes after the grace period (IkeTimers::RekeyedGrace, one
  // retransmission budget: 12.6 s with --retransmit-base-ms=200) and its unanswered Delete
  // (another 12.6 s).
  static std::chrono::seconds SettleTime(const std::vector<int>& starters) {
    return starters.size() == 2 ? 45s : 30s;
  }

  // Child SA rekeys started by `starters` (one daemon, or both at once), then settled with new
  // SPIs on both sides and the same child SA id.
  void RekeyChild(std::vector<int> starters) {
    const auto before0 = Child(0), before1 = Child(1);
    ASSERT_FALSE(before0.first.empty() || before1.first.empty()) << pair_->Diagnostics();
    ASSERT_NO_FATAL_FAILURE(Post(starters, {before0.first, before1.first}));
    ASSERT_TRUE(WaitFor(
        [&] {
          if (!pair_->Settled()) return false;
          const auto now0 = Child(0), now1 = Child(1);
          return now0.first == before0.first && now0.second != before0.second &&
                 now1.first == before1.first && now1.second != before1.second;
        },
        SettleTime(starters), 100ms))
        << "child SA rekey by " << json(starters).dump() << " did not settle\n"
        << pair_->Diagnostics();
  }

  // Pings from pod 0 every 50 ms, each run in a log of its own (PingLogs reads them all).
  void StartPings() {
    ping_logs_.push_back(dir_.path() + "/ping" + std::to_string(ping_logs_.size()) + ".log");
    ping_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"ip", "netns", "exec", lab_->pod(0), "ping", "-D", "-O", "-i",
                                 "0.05", "-W", "2", lab_->PodV4(1)},
        ping_logs_.back());
  }
  void StopPings() {
    if (ping_) ping_->Stop(SIGINT, 5s);  // ping prints its summary
    ping_.reset();
  }
  // Over every run: echoes sent and answered, those lost (PingLog::Lost), the longest gap.
  struct Pings {
    int sent = 0, answered = 0, lost = 0;
    double longest_gap = 0;
    double LossPercent() const { return sent > 0 ? 100.0 * lost / sent : 100.0; }
  };
  Pings PingLogs() const {
    Pings all;
    for (const auto& path : ping_logs_) {
      const PingLog one = PingLog::Parse(ReadFile(path));
      all.sent += std::max(0, one.transmitted);
      all.answered += std::max(0, one.received);
      all.lost += one.Lost();
      all.longest_gap = std::max(all.longest_gap, one.LongestGap().seconds);
    }
    return all;
  }
  // Nothing of the child SA's traffic in flight: each side received what the other sent.
  bool Drained() {
    const json a = pair_->Sas(0), b = pair_->Sas(1);
    if (a.size() != 1 || b.size() != 1 || a[0]["child_sas"].size() != 1 ||
        b[0]["child_sas"].size() != 1) {
      return false;
    }
    const json& ca = a[0]["child_sas"][0];
    const json& cb = b[0]["child_sas"][0];
    return ca["packets_out"] == cb["packets_in"] && cb["packets_out"] == ca["packets_in"];
  }

  // The data path's non-zero drop counters of daemon `i` ("none" when there are none).
  std::string DataPathDrops(int i) {
    const std::string m = pair_->Metrics(i);
    if (m.find("ipsec_dataplane_drops_total{") == std::string::npos) return " (no metrics)";
    std::string lines;
    for (size_t pos = 0;
         (pos = m.find("\nipsec_dataplane_drops_total{", pos)) != std::string::npos;) {
      const size_t end = m.find('\n', pos + 1);
      const std::string line = m.substr(pos + 1, end - pos - 1);
      if (line.substr(line.rfind(' ') + 1) != "0") lines += " " + line;
      pos = end;
    }
    return lines.empty() ? " none" : lines;
  }

  // Daemon `i` deletes the IKE SA (DELETE /v1/sas/{id}) with no traffic under way, then pod 0's
  // pings negotiate a new one. (Pod 1's echo replies caught by the delete would make both
  // daemons initiate at once; that leaves two IKE SAs, consistent at both ends, where Settled()
  // wants one: docs/faults.md, "Defects found, not fixed here".)
  void Renegotiate(int i) {
    StopPings();
    ASSERT_TRUE(WaitFor([&] { return Drained(); }, 10s))
        << "data path drops: daemon 0" << DataPathDrops(0) << "; daemon 1" << DataPathDrops(1)
        << pair_->Diagnostics();
    const std::string before[2] = {IkeId(0), IkeId(1)};
    ASSERT_FALSE(before[0].empty() || before[1].empty()) << pair_->Diagnostics();
    CommandResult r = pair_->d(i).Http("DELETE", "/v1/sas/" + before[i]);
    ASSERT_EQ(Status(r), 204) << r.out << r.err;
    ASSERT_TRUE(WaitFor([&] { return pair_->Sas(0).empty() && pair_->Sas(1).empty(); }, 30s))
        << "daemon " << i << " deleted " << before[i] << "\n"
        << pair_->Diagnostics();
    StartPings();
    ASSERT_TRUE(WaitFor([&] { return pair_->Settled(); }, 30s, 100ms))
        << "no new IKE SA after daemon " << i << " deleted " << before[i] << "\n"
        << pair_->Diagnostics();
  }

  // IKE SA rekeys started by `starters`, then settled on a new IKE SA.
  void RekeyIke(std::vector<int> starters) {
    const std::string before[2] = {IkeId(0), IkeId(1)};
    ASSERT_FALSE(before[0].empty() || before[1].empty()) << pair_->Diagnostics();
    ASSERT_NO_FATAL_FAILURE(Post(starters, {before[0], before[1]}));
    ASSERT_TRUE(
        WaitFor([&] { return pair_->Settled() && IkeId(0) != before[0] && IkeId(1) != before[1]; },
                SettleTime(starters), 100ms))
        << "IKE SA rekey by " << json(starters).dump() << " did not settle\n"
        << pair_->Diagnostics();
  }

  int both_accepted_ = 0;    // rekeys asked of both sides that both took (202)
  int64_t cut_dropped_ = 0;  // IKE datagrams dropped while cut off for those
  std::unique_ptr<Lab> lab_;
  TempDir dir_;
  std::vector<std::string> ping_logs_;
  std::unique_ptr<BackgroundProcess> ping_;
  std::vector<std::unique_ptr<PacketLoss>> loss_;
  // Every IKE datagram dropped while both sides' rekeys are asked for (Post); 0% otherwise.
  std::vector<std::unique_ptr<PacketLoss>> cut_;
  std::unique_ptr<PacketReorder> reorder_;
  std::unique_ptr<DaemonPair> pair_;  // before lab_ in destruction order (declared after it)
};

TEST_F(FaultsLossTest, NegotiationAndRekeysUnderLossAndReordering) {
  for (int i = 0; i < 2; ++i) ASSERT_EQ(pair_->Start(i), "");
  std::string error;
  // 10% of the IKE datagrams each way, ESP untouched (RFC 3948 §2.2: ESP in UDP has no marker).
  for (const std::string& match : {IkeMatch500(), IkeMatch4500()}) {
    auto l = PacketLoss::Add(lab_->node(), 10, &error, "forward", match);
    ASSERT_NE(l, nullptr) << error;
    loss_.push_back(std::move(l));
    // Made now, before the reordering holds packets (see PacketLoss::SetPercent).
    auto c = PacketLoss::Add(lab_->node(), 0, &error, "forward", match);
    ASSERT_NE(c, nullptr) << error;
    cut_.push_back(std::move(c));
  }
  reorder_ =
      PacketReorder::Add(lab_->node(), {"-p udp", "-p esp"},
                         {.hold_percent = 20, .min_delay_ms = 5, .max_delay_ms = 150}, &error);
  ASSERT_NE(reorder_, nullptr) << error;
  for (int i = 0; i < 2; ++i) ASSERT_EQ(pair_->Apply(i, kPsk), "");

  // Pings every 50 ms through the whole test; the first ones start the negotiation (acquire).
  StartPings();
  ASSERT_TRUE(WaitFor([&] { return pair_->Settled(); }, 30s)) << pair_->Diagnostics();
  const double negotiated_retransmits = static_cast<double>(Retransmits());

  // Rounds until the faults have hit IKE (drops, retransmissions, overtaken packets; at least 4
  // rounds): a new negotiation (one side deletes the IKE SA, the pings negotiate again), then a
  // child SA rekey and an IKE SA rekey started by each side, then by both at once (collisions,
  // §2.8.1-2.8.2: with a lost or overtaken message they left a redundant child SA pair at both
  // ends, or lost the child SAs on one side; docs/faults.md A, B).
  int rounds = 0, child_rekeys = 0, ike_rekeys = 0, both_rekeys = 0;
  for (; rounds < 8; ++rounds) {
    SCOPED_TRACE("round " + std::to_string(rounds));
    ASSERT_NO_FATAL_FAILURE(Renegotiate(rounds % 2));
    for (int side : {0, 1}) {
      ASSERT_NO_FATAL_FAILURE(RekeyChild({side}));
      ++child_rekeys;
      ASSERT_NO_FATAL_FAILURE(RekeyIke({side}));
      ++ike_rekeys;
    }
    ASSERT_NO_FATAL_FAILURE(RekeyChild({0, 1}));
    ++both_rekeys;
    ASSERT_NO_FATAL_FAILURE(RekeyIke({0, 1}));
    ++both_rekeys;
    if (rounds >= 3 && Dropped() >= 8 && Retransmits() >= 6 && reorder_->Read().overtaken >= 20) {
      ++rounds;
      break;
    }
  }
  // Nothing left over once things settle: it stays settled while a straggling retransmission
  // or Delete (held back up to 150 ms, retransmitted after 200 ms) arrives.
  ASSERT_TRUE(WaitFor([&] { return pair_->Settled(); }, 10s)) << pair_->Diagnostics();
  for (auto until = std::chrono::steady_clock::now() + 1500ms;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms)) {
    ASSERT_TRUE(pair_->Settled()) << pair_->Diagnostics();
  }
  for (int i = 0; i < 2; ++i) {
    const json stats = pair_->Stats(i);
    EXPECT_EQ(stats["ike"]["ike_sas_active"], 1) << stats.dump();
    EXPECT_EQ(stats["ike"]["child_sas_active"], 1) << stats.dump();
  }
  StopPings();
  const Pings pings = PingLogs();
  const PacketReorder::Stats reordered = reorder_->Read();
  std::printf(
      "[ figure ] loss+reordering: %d rounds (negotiations %d), rekeys requested: child %d, "
      "IKE %d by one side, %d (child and IKE) by both at once (%d taken by both, crossing: "
      "%lld IKE datagrams dropped while cut off); IKE datagrams dropped %lld, "
      "retransmissions %lld (%.0f during the first negotiation); packets queued %lld, held "
      "%lld, overtaken %lld; rekey collisions %d (log lines, both daemons; %d where the peer "
      "saw none and its rekey was adopted), rekeys refused CHILD_SA_NOT_FOUND %d, SAs deleted "
      "after the grace period %d; pings %d sent, %d answered, %d lost (%.2f%%; "
      "the last second of each ping run not counted), longest gap %.3f s\n",
      rounds, rounds + 1, child_rekeys, ike_rekeys, both_rekeys, both_accepted_,
      static_cast<long long>(cut_dropped_), static_cast<long long>(Dropped()),
      static_cast<long long>(Retransmits()), negotiated_retransmits,
      static_cast<long long>(reordered.packets), static_cast<long long>(reordered.held),
      static_cast<long long>(reordered.overtaken), Collisions(), CountLogged("the peer saw none"),
      CountLogged("notify 44"), CountLogged("has not deleted it within"), pings.sent,
      pings.answered, pings.lost, pings.LossPercent(), pings.longest_gap);
  for (int i = 0; i < 2; ++i) {  // where the data path dropped packets, if anywhere
    std::printf("[ figure ] daemon %d data path drops:%s\n", i, DataPathDrops(i).c_str());
  }
  EXPECT_GE(Dropped(), 8);
  EXPECT_GE(Retransmits(), 6);
  EXPECT_GE(reordered.overtaken, 20);
  EXPECT_GT(pings.sent, 50);
  // ESP itself is not dropped: what is lost comes from the SAs. Make-before-break rekeys lose
  // nothing; the first echoes of each negotiation wait for it (acquire queue).
  EXPECT_LT(pings.LossPercent(), 1.0) << pair_->Diagnostics();
}

}  // namespace
}  // namespace ipsec::testing
