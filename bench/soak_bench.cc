// Soak (issue 13): a long TCP stream (iperf3) through ESP between two of our daemons in two lab
// pods (userspace data path, tunnel mode, AES-GCM-128), with a child SA rekey every
// --child-rekey-seconds and an IKE SA rekey every --ike-rekey-seconds, started by each side in
// turn, and a ping every 100 ms beside the stream. Rekeys are started either through the API
// (`--rekeys api`, the default: POST /v1/sas/{id}/rekey, alternating sides, so each side starts
// half of them and the counts are exact) or by the daemons' own timers (`--rekeys lifetimes`:
// both sides get lifetimes that put their soft lifetime, 85-90% of the hard one, at the
// requested interval; whichever side's jittered timer fires first starts the rekey).
//
// Prints, per daemon: RSS and open fds at start and end (and the highest seen, sampled every
// 10 s), rekeys completed (ipsec_ike_rekeys_total), retransmissions, negotiation failures and
// error lines in the logs; for the traffic: iperf3's bytes, rate and TCP retransmissions, and
// the ping's loss and longest gap; at the end, the SAs left (one IKE SA and one child SA on each
// side expected). Exits 1 when something failed (a daemon died, a rekey never completed, SAs
// left over), with the reason.
//
// Run as root: build/bench/soak_bench [--minutes 30] [--child-rekey-seconds 10]
//              [--ike-rekey-seconds 60] [--rekeys api|lifetimes] [--iperf-bitrate 100M]
//              [--child-lifetime-kb 0] [--out FILE]
// The bitrate is capped (default 100 Mbit/s) so a soak leaves CPU to the machine's other users;
// `--iperf-bitrate 0` runs the stream unlimited. The child SA has no byte lifetime unless
// --child-lifetime-kb says so (the default policy's 100,000 KiB would add a rekey every 8 s at
// 100 Mbit/s), so the rekeys counted are the timed ones.

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_machine.h"
#include "tests/integration/fault_util.h"
#include "tests/support/lab.h"

namespace ipsec::bench {
namespace {

using nlohmann::json;
using testing::BackgroundProcess;
using testing::CommandResult;
using testing::DaemonPair;
using testing::Lab;
using testing::PingLog;
using testing::TempDir;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "soak-bench-psk-3e81b0c9a4f2";

struct Options {
  double minutes = 30;
  int child_rekey_seconds = 10;
  int ike_rekey_seconds = 60;
  std::string rekeys = "api";
  std::string bitrate = "100M";
  int child_lifetime_kb = 0;  // 0: no byte lifetime, so only the timed rekeys happen
  std::string out;
};

struct Sample {
  long rss_kb = -1;
  long fds = -1;
};

Sample Measure(pid_t pid) {
  Sample s;
  std::istringstream status(ReadText("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atol(line.c_str() + 6);
  }
  std::error_code ec;
  long n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  if (!ec) s.fds = n;
  return s;
}

// A metric's value from a /metrics text (the first sample whose series starts with `series`).
double Metric(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + series.size() + 2, nullptr);
}

int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
  return n;
}

std::string Format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

class Soak {
 public:
  explicit Soak(Options o) : o_(std::move(o)) {}

  int Run() {
    std::string error;
    if (geteuid() != 0) return Fail("needs root (network namespaces)");
    for (const char* tool : {"iperf3", "ping", "nft", "curl"}) {
      if (std::system((std::string("command -v ") + tool + " >/dev/null").c_str()) != 0)
        return Fail(std::string(tool) + " is missing: run scripts/install-deps.sh");
    }
    lab_ = Lab::Create(2, &error);
    if (!lab_) return Fail(error);
    pair_ = std::make_unique<DaemonPair>(*lab_, std::vector<std::string>{});
    for (int i = 0; i < 2; ++i) {
      if (std::string e = pair_->Start(i); !e.empty()) return Fail(e);
    }
    int child_life = 0, ike_life = 0;
    if (o_.rekeys == "lifetimes") {
      // Soft lifetime drawn from [85%, 90%] of the hard one: 87.5% on average at the interval.
      child_life = static_cast<int>(o_.child_rekey_seconds / 0.875 + 0.5);
      ike_life = static_cast<int>(o_.ike_rekey_seconds / 0.875 + 0.5);
    }
    for (int i = 0; i < 2; ++i) {
      if (std::string e = pair_->Apply(i, kPsk, child_life, ike_life, o_.child_lifetime_kb);
          !e.empty()) {
        return Fail(e);
      }
    }
    CommandResult first =
        lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.3", "-W", "5", lab_->PodV4(1)});
    if (first.exit_code != 0 ||
        !testing::WaitFor([&] { return pair_->Settled(); }, std::chrono::seconds(20))) {
      return Fail("no SA between the pods:\n" + first.out + pair_->Diagnostics());
    }

    const auto seconds = std::chrono::duration<double>(o_.minutes * 60);
    const int duration_s = static_cast<int>(seconds.count() + 0.5);
    iperf_server_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"ip", "netns", "exec", lab_->pod(1), "iperf3", "-s", "-1", "-p",
                                 "5201"},
        dir_.path() + "/iperf3-server.log");
    std::this_thread::sleep_for(300ms);
    std::vector<std::string> client = {"ip",
                                       "netns",
                                       "exec",
                                       lab_->pod(0),
                                       "iperf3",
                                       "-c",
                                       lab_->PodV4(1),
                                       "-p",
                                       "5201",
                                       "-t",
                                       std::to_string(duration_s),
                                       "-i",
                                       "10",
                                       "-J"};
    if (o_.bitrate != "0") client.insert(client.end(), {"-b", o_.bitrate});
    iperf_ = std::make_unique<BackgroundProcess>(client, dir_.path() + "/iperf3.json");
    ping_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"ip", "netns", "exec", lab_->pod(0), "ping", "-D", "-O", "-i",
                                 "0.1", "-W", "2", lab_->PodV4(1)},
        dir_.path() + "/ping.log");

    for (int i = 0; i < 2; ++i) start_[i] = peak_[i] = Measure(pair_->d(i).pid());
    const auto t0 = std::chrono::steady_clock::now();
    auto next_child = t0 + std::chrono::seconds(o_.child_rekey_seconds);
    auto next_ike = t0 + std::chrono::seconds(o_.ike_rekey_seconds);
    auto next_sample = t0 + 10s;
    int child_turn = 0, ike_turn = 1;
    while (std::chrono::steady_clock::now() - t0 < seconds) {
      std::this_thread::sleep_for(200ms);
      const auto now = std::chrono::steady_clock::now();
      for (int i = 0; i < 2; ++i) {
        if (!pair_->d(i).Running()) {
          return Fail("daemon " + std::to_string(i) + " died during the soak:\n" +
                      pair_->d(i).Log());
        }
      }
      if (now >= next_sample) {
        for (int i = 0; i < 2; ++i) {
          const Sample s = Measure(pair_->d(i).pid());
          peak_[i].rss_kb = std::max(peak_[i].rss_kb, s.rss_kb);
          peak_[i].fds = std::max(peak_[i].fds, s.fds);
        }
        next_sample += 10s;
      }
      if (o_.rekeys != "api") continue;
      if (now >= next_child) {
        RequestRekey(child_turn, /*ike=*/false);
        child_turn = 1 - child_turn;
        next_child += std::chrono::seconds(o_.child_rekey_seconds);
      }
      if (now >= next_ike) {
        RequestRekey(ike_turn, /*ike=*/true);
        ike_turn = 1 - ike_turn;
        next_ike += std::chrono::seconds(o_.ike_rekey_seconds);
      }
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    iperf_->WaitExit(60s);
    ping_->Stop(SIGINT, 5s);
    for (int i = 0; i < 2; ++i) end_[i] = Measure(pair_->d(i).pid());
    // The last rekey may still be under way: the SAs settle within the retransmission budget.
    const bool settled = testing::WaitFor([&] { return pair_->Settled(); }, 30s);
    return Report(elapsed, settled);
  }

 private:
  int Fail(const std::string& why) {
    std::fprintf(stderr, "soak_bench: FAILED: %s\n", why.c_str());
    return 1;
  }

  // POST /v1/sas/{id}/rekey on daemon `side` for its child SA or IKE SA.
  void RequestRekey(int side, bool ike) {
    const json sas = pair_->Sas(side);
    std::string id;
    for (const auto& s : sas) {
      if (s["state"] != "established") continue;
      if (ike) {
        id = s["id"].get<std::string>();
      } else {
        for (const auto& c : s["child_sas"]) {
          if (c["state"] == "installed") id = c["id"].get<std::string>();
        }
      }
    }
    int& requested = (ike ? ike_requested_ : child_requested_)[side];
    int& refused = (ike ? ike_refused_ : child_refused_)[side];
    if (id.empty()) {
      ++refused;  // nothing established to rekey at that moment (e.g. an IKE rekey under way)
      return;
    }
    CommandResult r = pair_->d(side).Http("POST", "/v1/sas/" + id + "/rekey");
    if (testing::Status(r) == 202) {
      ++requested;
    } else {
      ++refused;
      notes_ += Format("rekey of %s on daemon %d answered %d: %s\n", id.c_str(), side,
                       testing::Status(r), r.out.c_str());
    }
  }

  int Report(double elapsed, bool settled) {
    std::string r;
    utsname u{};
    uname(&u);
    r += "# soak_bench (issue 13): TCP through ESP between two daemons with rekeys\n";
    r += Format("machine: %s, %ld CPUs, kernel %s, load %s\n", CpuModel().c_str(),
                sysconf(_SC_NPROCESSORS_ONLN), u.release, LoadAvg().c_str());
    r += Format(
        "setup: %.1f min, child SA rekey every %d s, IKE SA rekey every %d s, started by %s; "
        "child SA byte lifetime %s; iperf3 -b %s (TCP, pod 0 -> pod 1), ping every 100 ms "
        "beside it\n",
        elapsed / 60, o_.child_rekey_seconds, o_.ike_rekey_seconds,
        o_.rekeys == "api" ? "POST /v1/sas/{id}/rekey from each side in turn"
                           : "each side's own soft lifetime (short lifetimes on both)",
        o_.child_lifetime_kb == 0 ? "none"
                                  : (std::to_string(o_.child_lifetime_kb) + " KiB").c_str(),
        o_.bitrate == "0" ? "unlimited" : o_.bitrate.c_str());
    r +=
        "\n| daemon | RSS start | RSS end | RSS max | fds start | fds end | fds max | rekeys child "
        "(completed) | rekeys IKE (completed) | started here: child / IKE (API) | "
        "retransmits | negotiation failures | error lines |\n";
    r += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    bool ok = settled;
    for (int i = 0; i < 2; ++i) {
      const std::string m = pair_->Metrics(i);
      const json stats = pair_->Stats(i);
      const std::string log = pair_->d(i).Log();
      const std::string ike_log = pair_->IkeLog(i);
      const int errors = CountLines(log, "\"severity\":\"error\"") + CountLines(log, " ERROR ");
      const int failed = CountLines(ike_log, " failed (");
      const double neg_failures = stats["ike"].value("negotiation_failures_total", -1.0);
      r += Format(
          "| %d | %.1f MiB | %.1f MiB | %.1f MiB | %ld | %ld | %ld | %.0f | %.0f | %d / %d "
          "| %.0f | %.0f | %d (IKE log 'failed': %d) |\n",
          i, start_[i].rss_kb / 1024.0, end_[i].rss_kb / 1024.0, peak_[i].rss_kb / 1024.0,
          start_[i].fds, end_[i].fds, peak_[i].fds,
          Metric(m, "ipsec_ike_rekeys_total{kind=\"child\"}"),
          Metric(m, "ipsec_ike_rekeys_total{kind=\"ike\"}"), child_requested_[i], ike_requested_[i],
          stats["ike"].value("retransmits_total", -1.0), neg_failures, errors, failed);
      if (end_[i].fds > start_[i].fds + 2) ok = false;
    }
    // iperf3's JSON: the sender's bytes and TCP retransmissions over the whole run.
    const json iperf = json::parse(ReadText(dir_.path() + "/iperf3.json"), nullptr, false);
    double bytes = -1, bps = -1, retrans = -1;
    std::string iperf_error;
    if (iperf.is_object() && iperf.contains("end") && iperf["end"].contains("sum_sent")) {
      bytes = iperf["end"]["sum_sent"].value("bytes", -1.0);
      bps = iperf["end"]["sum_sent"].value("bits_per_second", -1.0);
      retrans = iperf["end"]["sum_sent"].value("retransmits", -1.0);
    } else {
      iperf_error = iperf.is_object() ? iperf.value("error", std::string("no end")) : "no JSON";
      ok = false;
    }
    const PingLog ping = PingLog::Parse(ReadText(dir_.path() + "/ping.log"));
    const PingLog::Gap gap = ping.LongestGap();
    r += Format(
        "\ntraffic: iperf3 %.2f GB at %.1f Mbit/s, TCP retransmissions %.0f%s; ping %d sent, %d "
        "received, loss %.3f%%, longest gap %.2f s (%d lost)\n",
        bytes / 1e9, bps / 1e6, retrans,
        iperf_error.empty() ? "" : (" ERROR " + iperf_error).c_str(), ping.transmitted,
        ping.received, ping.LossPercent(), gap.seconds, gap.lost);
    r += Format("rekey requests refused or skipped: child %d / %d, IKE %d / %d (daemon 0 / 1)\n",
                child_refused_[0], child_refused_[1], ike_refused_[0], ike_refused_[1]);
    r += Format("at the end: %s\n", settled ? "one IKE SA and one child SA on each side, paired"
                                            : "NOT settled (see the SAs below)");
    if (!settled) r += pair_->Diagnostics();
    if (!notes_.empty()) r += "notes:\n" + notes_;
    std::fputs(r.c_str(), stdout);
    if (!o_.out.empty()) {
      std::ofstream(o_.out) << r;
    }
    return ok ? 0 : 1;
  }

  Options o_;
  TempDir dir_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<DaemonPair> pair_;
  std::unique_ptr<BackgroundProcess> iperf_server_, iperf_, ping_;
  Sample start_[2], end_[2], peak_[2];
  int child_requested_[2] = {0, 0}, ike_requested_[2] = {0, 0};
  int child_refused_[2] = {0, 0}, ike_refused_[2] = {0, 0};
  std::string notes_;
};

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--minutes") {
      o.minutes = std::atof(value().c_str());
    } else if (a == "--child-rekey-seconds") {
      o.child_rekey_seconds = std::atoi(value().c_str());
    } else if (a == "--ike-rekey-seconds") {
      o.ike_rekey_seconds = std::atoi(value().c_str());
    } else if (a == "--rekeys") {
      o.rekeys = value();
    } else if (a == "--iperf-bitrate") {
      o.bitrate = value();
    } else if (a == "--child-lifetime-kb") {
      o.child_lifetime_kb = std::atoi(value().c_str());
    } else if (a == "--out") {
      o.out = value();
    } else {
      std::fprintf(stderr,
                   "usage: soak_bench [--minutes 30] [--child-rekey-seconds 10] "
                   "[--ike-rekey-seconds 60] [--rekeys api|lifetimes] [--iperf-bitrate 100M] "
                   "[--child-lifetime-kb 0] [--out FILE]\n");
      return 2;
    }
  }
  if (o.minutes <= 0 || o.child_rekey_seconds <= 0 || o.ike_rekey_seconds <= 0 ||
      (o.rekeys != "api" && o.rekeys != "lifetimes")) {
    std::fprintf(stderr, "soak_bench: bad options\n");
    return 2;
  }
  Soak soak(o);
  return soak.Run();
}

}  // namespace
}  // namespace ipsec::bench

int main(int argc, char** argv) { return ipsec::bench::Main(argc, argv); }
