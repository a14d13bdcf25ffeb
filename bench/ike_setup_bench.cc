// IKE SA + first child SA establishments per second (issue 3): one strongSwan charon initiator
// pipelines bursts of `initiate` requests over vici (no waiting: timeout -1) against
//   1. our responder (the real ipsec-sidecar daemon in a lab pod) with the anti-DoS limits
//      raised for a single-source burst (--dos-cookie-threshold, --dos-max-half-open-per-ip,
//      --dos-max-half-open-per-endpoint),
//   2. a charon responder (dos_protection = no, high thresholds, big IKE SA table),
//   3. our responder with the limits as shipped (FAQ 59: 35 half-open per IP, 5 per IP:port
//      once an SA with the peer is up; cookies above 10 half-open),
// in the same run, on the same two namespaces (pod 0: initiator 10.99.1.2, pod 1: responder
// 10.99.2.2). PSK, aes128gcm16-prfsha256-x25519, child SA aes128gcm16 in tunnel mode (charon's
// kernel-libipsec does tunnel mode only).
//
// Establishments are counted from the initiator: vici child-updown events with up=yes. The rate
// is the burst size over the time from the first initiate sent to the burst's last child-updown.
// Memory: the responder's VmRSS before any SA and once `--total` SAs are established (more
// bursts), divided by the SAs. CPU: the responder's utime+stime over the first burst.
//
// Run as root: build-bench/bench/ike_setup_bench [--burst 2000] [--total 10000] [--out FILE]

#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_machine.h"
#include "bench/ike_lab.h"
#include "bench/vici_client.h"
#include "tests/support/lab.h"
#include "tests/support/strongswan.h"
#include "tests/support/strongswan_config.h"

namespace ipsec::bench {
namespace {

using testing::Charon;
using testing::CharonOptions;
using testing::ChildConfig;
using testing::ConnectionConfig;
using testing::Lab;
using testing::SwanctlConfig;
using Clock = std::chrono::steady_clock;

bool g_verbose_charon = false;

CharonOptions QuietCharon() { return BenchCharonOptions(g_verbose_charon); }

// Counts vici events of the initiator on its own connection and thread.
class EventCounter {
 public:
  bool Start(const std::string& uri, std::string* error) {
    if (!conn_.Connect(uri, error)) return false;
    for (const char* name : {"child-updown", "ike-updown"}) {
      if (!conn_.Send(EncodeViciPacket(ViciPacketType::kEventRegister, name), error)) return false;
      auto confirm = conn_.Receive(5000, error);
      if (!confirm || confirm->type != ViciPacketType::kEventConfirm) {
        if (error->empty()) *error = std::string("vici: no confirmation for event ") + name;
        return false;
      }
    }
    thread_ = std::thread([this] { Loop(); });
    return true;
  }
  ~EventCounter() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t children_up() const { return children_up_; }
  uint64_t ikes_down() const { return ikes_down_; }
  // Time at which children_up reached `n` (n >= 1), if it has.
  std::optional<Clock::time_point> TimeOf(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (n == 0 || n > times_.size()) return std::nullopt;
    return times_[n - 1];
  }
  std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  void Loop() {
    while (!stop_) {
      std::string error;
      auto p = conn_.Receive(200, &error);
      if (!p) {
        if (!error.empty()) {
          std::lock_guard<std::mutex> lock(mu_);
          error_ = error;
          return;
        }
        continue;
      }
      if (p->type != ViciPacketType::kEvent) continue;
      bool up = p->Get("up") == std::optional<std::string>("yes");
      if (p->name == "child-updown" && up) {
        std::lock_guard<std::mutex> lock(mu_);
        times_.push_back(Clock::now());
        ++children_up_;
      } else if (p->name == "ike-updown" && !up) {
        ++ikes_down_;
      }
    }
  }
  ViciConnection conn_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> children_up_{0};
  std::atomic<uint64_t> ikes_down_{0};
  std::mutex mu_;
  std::vector<Clock::time_point> times_;
  std::string error_;
};

// Sends `count` initiate requests back to back and reads their answers on another thread.
class Initiator {
 public:
  bool Start(const std::string& uri, std::string* error) {
    if (!conn_.Connect(uri, error)) return false;
    reader_ = std::thread([this] {
      while (!stop_) {
        std::string error;
        auto p = conn_.Receive(200, &error);
        if (!p) {
          if (!error.empty()) return;
          continue;
        }
        ++answers_;
        if (p->Get("success") != std::optional<std::string>("yes")) {
          ++refused_;
          std::lock_guard<std::mutex> lock(mu_);
          if (last_error_.empty()) last_error_ = p->Get("errmsg").value_or("(no errmsg)");
        }
      }
    });
    return true;
  }
  ~Initiator() {
    stop_ = true;
    if (reader_.joinable()) reader_.join();
  }
  bool Burst(int count, std::string* error) {
    // vici `initiate` with timeout -1 answers at once and does not wait for the SA.
    const std::string request = EncodeViciPacket(ViciPacketType::kCmdRequest, "initiate",
                                                 ViciMessageBuilder()
                                                     .KeyValue("child", "net")
                                                     .KeyValue("ike", "bench")
                                                     .KeyValue("timeout", "-1")
                                                     .bytes());
    std::string all;
    for (int i = 0; i < count; ++i) all += request;
    return conn_.Send(all, error);
  }
  uint64_t answers() const { return answers_; }
  uint64_t refused() const { return refused_; }
  std::string last_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  ViciConnection conn_;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> answers_{0};
  std::atomic<uint64_t> refused_{0};
  std::mutex mu_;
  std::string last_error_;
};

struct PhaseResult {
  std::string name;
  bool ok = false;
  std::string error;
  int burst = 0;
  uint64_t burst_established = 0;  // child SAs up from the first burst
  double burst_seconds = 0;        // first initiate -> the burst's last child up (or give-up)
  double rate = 0;                 // burst_established / burst_seconds
  std::string percentiles;         // when 50/90/99% of the burst were up
  double responder_cpu_seconds = 0;
  double initiator_cpu_seconds = 0;
  uint64_t total_established = 0;
  long rss_before_kib = 0;
  long rss_after_kib = 0;
  double bytes_per_sa = 0;
  std::string loadavg_after;
  std::string notes;
};

struct Responder {
  pid_t pid = -1;
  std::string description;
  std::unique_ptr<testing::Daemon> daemon;
  std::unique_ptr<Charon> charon;
};

// Waits until `events` has counted `target` child SAs up or `idle` passes without progress.
void WaitFor(EventCounter& events, uint64_t target, std::chrono::seconds idle) {
  uint64_t last = events.children_up();
  auto last_progress = Clock::now();
  while (events.children_up() < target) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    uint64_t now = events.children_up();
    if (now != last) {
      last = now;
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > idle) {
      return;
    }
  }
}

PhaseResult RunPhase(const Lab& lab, const std::string& name, Responder& responder, int burst,
                     int total, const std::function<std::string()>& before_stop = {}) {
  PhaseResult r;
  r.name = name;
  r.burst = burst;
  std::string error;
  const std::string initiator_addr = lab.PodV4(0);
  const std::string responder_addr = lab.PodV4(1);
  CharonOptions io = QuietCharon();
  io.reuse_ikesa = false;  // each initiate opens a new IKE SA
  auto initiator = Charon::Start(lab.pod(0), "initiator-" + name, io, &error);
  if (!initiator) {
    r.error = "initiator charon: " + error;
    return r;
  }
  if (!initiator->Load(BenchSwanctl(true, initiator_addr, responder_addr), &error)) {
    r.error = "initiator config: " + error;
    return r;
  }
  EventCounter events;
  Initiator vici;
  if (!events.Start(initiator->vici_uri(), &error) || !vici.Start(initiator->vici_uri(), &error)) {
    r.error = "initiator vici: " + error;
    return r;
  }
  // Warm-up: one SA, so that the first burst measures steady work, not lazy initialisation.
  if (!vici.Burst(1, &error)) {
    r.error = error;
    return r;
  }
  WaitFor(events, 1, std::chrono::seconds(10));
  if (events.children_up() != 1) {
    r.error = "warm-up SA not established (initiator log tail:\n" + initiator->LogTail(30) + ")";
    return r;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  r.rss_before_kib = RssKib(responder.pid);
  const double cpu0 = CpuSeconds(responder.pid);
  const double icpu0 = CpuSeconds(initiator->pid());

  const long drops_i0 = UdpRcvbufErrors(lab, lab.pod(0));
  const long drops_r0 = UdpRcvbufErrors(lab, lab.pod(1));
  const uint64_t base = events.children_up();
  const auto t0 = Clock::now();
  if (!vici.Burst(burst, &error)) {
    r.error = error;
    return r;
  }
  WaitFor(events, base + burst, std::chrono::seconds(20));
  uint64_t got = events.children_up() - base;
  auto t_end = events.TimeOf(base + got);
  r.burst_established = got;
  r.burst_seconds = t_end ? std::chrono::duration<double>(*t_end - t0).count() : 0;
  r.rate = r.burst_seconds > 0 ? static_cast<double>(got) / r.burst_seconds : 0;
  for (double q : {0.5, 0.9, 0.99}) {
    auto t = events.TimeOf(base + static_cast<uint64_t>(q * burst));
    if (!t) continue;
    double sec = std::chrono::duration<double>(*t - t0).count();
    r.percentiles += Format("%.0f%%", q * 100) + " at " + Format("%.3f", sec) + " s (" +
                     Format("%.0f", q * burst / sec) + "/s); ";
  }
  r.responder_cpu_seconds = CpuSeconds(responder.pid) - cpu0;
  r.notes += "UDP receive-buffer drops during the burst: initiator pod " +
             std::to_string(UdpRcvbufErrors(lab, lab.pod(0)) - drops_i0) + ", responder pod " +
             std::to_string(UdpRcvbufErrors(lab, lab.pod(1)) - drops_r0) + ". ";
  r.initiator_cpu_seconds = CpuSeconds(initiator->pid()) - icpu0;
  r.loadavg_after = LoadAvg();
  if (got < static_cast<uint64_t>(burst)) {
    r.notes += std::to_string(burst - got) + " of the burst not established (initiator saw " +
               std::to_string(events.ikes_down()) + " IKE SAs go down; " +
               std::to_string(vici.refused()) + " initiates refused" +
               (vici.refused() ? ": " + vici.last_error() : "") + "). ";
  }

  // Memory: more bursts until `total` SAs are up (the warm-up one included).
  if (total > 0) {
    int rounds = 0;
    while (events.children_up() < static_cast<uint64_t>(total) && rounds < 3 * total / burst) {
      uint64_t have = events.children_up();
      int n = static_cast<int>(std::min<uint64_t>(burst, total - have));
      if (!vici.Burst(n, &error)) break;
      WaitFor(events, have + n, std::chrono::seconds(20));
      ++rounds;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    r.total_established = events.children_up();
    r.rss_after_kib = RssKib(responder.pid);
    if (r.total_established > 1) {
      r.bytes_per_sa = static_cast<double>(r.rss_after_kib - r.rss_before_kib) * 1024.0 /
                       static_cast<double>(r.total_established - 1);
    }
  }
  if (!events.error().empty()) r.notes += "event connection: " + events.error() + ". ";
  r.ok = true;
  if (before_stop) r.notes += before_stop();
  initiator->Stop();
  return r;
}

std::string Describe(const PhaseResult& r) {
  std::ostringstream o;
  o << "[" << r.name << "]\n";
  if (!r.ok) {
    o << "  FAILED: " << r.error << "\n";
    return o.str();
  }
  o << "  burst " << r.burst << ": " << r.burst_established << " IKE+child SAs in "
    << Format("%.3f", r.burst_seconds) << " s = " << Format("%.0f", r.rate) << " SAs/s\n";
  if (!r.percentiles.empty()) o << "  " << r.percentiles << "\n";
  o << "  responder CPU over the burst: " << Format("%.2f", r.responder_cpu_seconds) << " s ("
    << Format("%.3f", r.burst_established ? 1000.0 * r.responder_cpu_seconds /
                                                static_cast<double>(r.burst_established)
                                          : 0.0)
    << " ms per SA); initiator charon CPU: " << Format("%.2f", r.initiator_cpu_seconds) << " s\n";
  if (r.total_established > 0) {
    o << "  memory: VmRSS " << r.rss_before_kib << " KiB before, " << r.rss_after_kib
      << " KiB with " << r.total_established << " SAs -> " << Format("%.0f", r.bytes_per_sa)
      << " bytes per IKE SA (with its child)\n";
  }
  o << "  loadavg after burst: " << r.loadavg_after << "\n";
  if (!r.notes.empty()) o << "  notes: " << r.notes << "\n";
  return o.str();
}

int Main(int argc, char** argv) {
  int burst = 2000;
  int total = 10000;
  std::string out_path;
  bool shipped = true;
  std::string only;
  std::vector<std::string> daemon_args;  // --daemon-arg: more flags for our daemon
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--burst" && i + 1 < argc) {
      burst = std::atoi(argv[++i]);
    } else if (a == "--total" && i + 1 < argc) {
      total = std::atoi(argv[++i]);
    } else if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];  // ours | charon
    } else if (a == "--daemon-arg" && i + 1 < argc) {
      daemon_args.push_back(argv[++i]);  // e.g. --dataplane=recording
    } else if (a == "--verbose-charon") {
      g_verbose_charon = true;
    } else if (a == "--no-shipped-limits") {
      shipped = false;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--burst N] [--total N (0: no memory phase)] [--out FILE] "
                   "[--no-shipped-limits] [--only ours|charon] [--daemon-arg ARG]...\n",
                   argv[0]);
      return 2;
    }
  }
  std::string missing = testing::MissingStrongswanPrerequisites();
  if (!missing.empty()) {
    std::fprintf(stderr, "ike_setup_bench: %s\n", missing.c_str());
    return 1;
  }
  std::string error;
  auto lab = Lab::Create(2, &error);
  if (!lab) {
    std::fprintf(stderr, "ike_setup_bench: lab: %s\n", error.c_str());
    return 1;
  }
  for (int pod = 0; pod < 2; ++pod) {
    if (!AddInnerAddress(*lab, pod, &error)) {
      std::fprintf(stderr, "ike_setup_bench: %s\n", error.c_str());
      return 1;
    }
  }
  utsname uts{};
  uname(&uts);
  std::ostringstream report;
  report << "ike_setup_bench: IKE SA + first child SA setups, PSK, aes128gcm16-prfsha256-x25519, "
            "child aes128gcm16 tunnel\n"
         << "machine: nproc " << sysconf(_SC_NPROCESSORS_ONLN) << ", " << CpuModel() << ", "
         << uts.sysname << " " << uts.release << "\n"
         << "loadavg at start: " << LoadAvg() << "\n"
         << "burst " << burst << ", memory at " << total << " SAs\n";
  if (!daemon_args.empty()) {
    report << "daemon extra args:";
    for (const auto& a : daemon_args) report << " " << a;
    report << "\n";
  }
  report << "\n";
  std::fputs(report.str().c_str(), stdout);

  std::vector<PhaseResult> results;
  auto run_daemon = [&](const std::string& name, std::vector<std::string> args, int tot) {
    Responder resp;
    testing::Daemon::Options opts;
    opts.extra_args = std::move(args);
    opts.extra_args.push_back("--log-level=warning");
    for (const auto& a : daemon_args) opts.extra_args.push_back(a);
    resp.daemon = std::make_unique<testing::Daemon>(*lab, 1, opts);
    PhaseResult r;
    r.name = name;
    if (!resp.daemon->Start()) {
      r.error = "daemon did not start: " + resp.daemon->Log().substr(0, 2000);
      results.push_back(r);
      return;
    }
    resp.pid = resp.daemon->pid();
    auto post = resp.daemon->Http("POST", "/v1/policies", BenchDaemonPolicy(lab->PodV4(0)));
    auto put = resp.daemon->Http("PUT", "/v1/assignment", R"({"policy": "bench"})");
    // Http answers "<status>\n<body>".
    if (post.out.rfind("201\n", 0) != 0 || put.out.rfind("200\n", 0) != 0) {
      r.error = "policy not accepted: " + post.out + " / " + put.out;
      results.push_back(r);
      return;
    }
    if (Comm(resp.pid) != "ipsec-sidecar") {
      r.error = "pid " + std::to_string(resp.pid) + " is '" + Comm(resp.pid) + "', not the daemon";
      results.push_back(r);
      return;
    }
    testing::Daemon* d = resp.daemon.get();
    r = RunPhase(*lab, name, resp, burst, tot, [d] {
      // Before the initiator stops (and deletes its SAs).
      return "daemon /v1/stats: " + d->Http("GET", "/v1/stats").out.substr(4, 1500) + " ";
    });
    if (!r.ok)
      r.error += "\ndaemon log tail: " +
                 resp.daemon->Log().substr(
                     resp.daemon->Log().size() > 3000 ? resp.daemon->Log().size() - 3000 : 0);
    std::fputs(Describe(r).c_str(), stdout);
    std::fflush(stdout);
    results.push_back(r);
    resp.daemon->Terminate();
  };
  auto run_charon = [&](const std::string& name, int tot) {
    Responder resp;
    PhaseResult r;
    r.name = name;
    CharonOptions ro = QuietCharon();
    ro.dos_protection = false;
    ro.cookie_threshold = 1000000;
    ro.block_threshold = 1000000;
    ro.init_limit_half_open = 0;
    resp.charon = Charon::Start(lab->pod(1), "responder", ro, &error);
    if (!resp.charon ||
        !resp.charon->Load(BenchSwanctl(false, lab->PodV4(1), lab->PodV4(0)), &error)) {
      r.error = "responder charon: " + error;
      results.push_back(r);
      return;
    }
    resp.pid = resp.charon->pid();
    if (Comm(resp.pid) != "charon") {
      r.error = "pid " + std::to_string(resp.pid) + " is '" + Comm(resp.pid) + "', not charon";
      results.push_back(r);
      return;
    }
    r = RunPhase(*lab, name, resp, burst, tot);
    if (!r.ok) r.error += "\nresponder log tail: " + resp.charon->LogTail(30);
    std::fputs(Describe(r).c_str(), stdout);
    std::fflush(stdout);
    results.push_back(r);
    resp.charon->Stop();
  };

  const std::vector<std::string> raised = {"--dos-cookie-threshold=1000000",
                                           "--dos-max-half-open-per-ip=0",
                                           "--dos-max-half-open-per-endpoint=0"};
  if (only != "charon") run_daemon("ours, DoS limits raised", raised, total);
  if (only != "ours") run_charon("charon responder", total);
  if (shipped && only.empty()) run_daemon("ours, DoS limits as shipped", {}, 0);

  std::ostringstream summary;
  if (results.size() >= 2 && results[0].ok && results[1].ok && results[1].rate > 0) {
    const PhaseResult& ours = results[0];
    const PhaseResult& theirs = results[1];
    summary << "\nratio ours/charon (limits raised): " << Format("%.2f", ours.rate / theirs.rate)
            << "x setup rate (target >= 2x)";
    if (theirs.bytes_per_sa > 0 && ours.bytes_per_sa > 0) {
      summary << "; memory per SA ours/charon "
              << Format("%.2f", ours.bytes_per_sa / theirs.bytes_per_sa);
    }
    double ours_cpu = ours.responder_cpu_seconds / std::max<double>(1, ours.burst_established);
    double theirs_cpu =
        theirs.responder_cpu_seconds / std::max<double>(1, theirs.burst_established);
    if (ours_cpu > 0) {
      summary << "; responder CPU per SA charon/ours " << Format("%.2f", theirs_cpu / ours_cpu)
              << "x";
    }
    summary << "\n";
  }
  summary << "loadavg at end: " << LoadAvg() << "\n";
  std::fputs(summary.str().c_str(), stdout);
  if (!out_path.empty()) {
    std::ofstream out(out_path, std::ios::app);
    out << report.str();
    for (const auto& r : results) out << Describe(r);
    out << summary.str();
  }
  bool all_ok = true;
  for (const auto& r : results) all_ok = all_ok && r.ok;
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace ipsec::bench

int main(int argc, char** argv) { return ipsec::bench::Main(argc, argv); }
