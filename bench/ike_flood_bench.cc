// A legitimate peer's IKE SA setup under a flood of IKE_SA_INIT from spoofed addresses that
// answer cookies (issue 13, item 3). Three namespaces of one lab:
//   pod 0: the legitimate peer, one IKE SA + child SA at a time, removed after each: our daemon
//          (--legit ours, the default: POST /v1/sas, timed from its log's "initiating" line to
//          its child SA up, to the millisecond) or a strongSwan charon (--legit charon: vici
//          `initiate`, timed to its answer; `terminate` without waiting);
//   pod 1: the responder, our daemon (the policy "bench" answering pod 0);
//   pod 2: the attacker (ike_flood_attacker.h): 10.200.0.0/16 is routed to it by the node and is
//          local there, so it sends from --sources of those addresses and receives the cookies.
// Phases, each with a fresh daemon: no flood (the baseline), then each --rates value
// (datagrams/s the attacker sends, first requests and cookie answers together; "max": as fast
// as it can). In each: the attacker starts, --ramp seconds later the legitimate peer sets up
// IKE SAs one after the other for --seconds. Reported per phase: setup latency (median, p95,
// max; failures), the responder's CPU (s of CPU per s of wall time over the flood), its VmRSS
// before the flood (idle) and at most during it, the daemon's /metrics (drops by reason,
// cookies sent, half-open SAs), the kernel's UDP receive-buffer drops in the responder's pod,
// and what the attacker sent and got.
//
// Run as root: build/bench/ike_flood_bench [--rates 2000,10000,max] [--seconds 20]
//   [--sources 60000] [--daemon-arg ARG]... [--daemon-binary PATH (a baseline build)] [--out FILE]
// The attacker mode (--attack ...) is this binary run inside the attacker's namespace.

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_machine.h"
#include "bench/ike_flood_attacker.h"
#include "bench/ike_lab.h"
#include "bench/vici_client.h"
#include "tests/support/lab.h"
#include "tests/support/process.h"
#include "tests/support/strongswan.h"

namespace ipsec::bench {
namespace {

using testing::Charon;
using testing::Lab;
using Clock = std::chrono::steady_clock;

constexpr const char* kAttackerNet = "10.200.0.0/16";
constexpr const char* kFirstSource = "10.200.0.1";

struct Settings {
  std::vector<std::optional<uint32_t>> rates;
  double seconds = 20;
  double ramp = 3;
  uint32_t sources = 60000;
  int interval_ms = 200;  // between the legitimate peer's setups
  std::vector<std::string> daemon_args;
  std::string daemon_binary;     // the responder's; empty: the one built with this bench
  std::string initiator_binary;  // the legitimate daemon's (--legit ours); empty: the same
  bool legit_charon = false;     // the legitimate peer: charon (else our daemon)
  std::string logs_dir;          // non-empty: each phase's daemon and charon logs are kept here
  bool verbose = false;          // debug logs (with logs_dir)
  std::string self;              // this binary, for the attacker
};

// The legitimate initiator: one IKE SA + child SA setup at a time.
class LegitPeer {
 public:
  virtual ~LegitPeer() = default;
  // Sets up an IKE SA with its child SA; the seconds it took, or nullopt with `why`.
  virtual std::optional<double> Setup(int timeout_ms, std::string* why) = 0;
  // Removes what Setup made, without waiting for the Delete exchange.
  virtual void Cleanup() = 0;
  virtual std::string LogTail() = 0;
};

// A strongSwan charon over vici: `initiate` child "net" of "bench", timed to charon's answer;
// `terminate` the IKE SAs of "bench" with timeout -1.
class CharonPeer final : public LegitPeer {
 public:
  explicit CharonPeer(Charon& charon) : charon_(charon) {}
  bool Start(std::string* error) { return conn_.Connect(charon_.vici_uri(), error); }
  std::optional<double> Setup(int timeout_ms, std::string* why) override {
    const auto t0 = Clock::now();
    std::string error;
    if (!conn_.Send(EncodeViciPacket(ViciPacketType::kCmdRequest, "initiate",
                                     ViciMessageBuilder()
                                         .KeyValue("child", "net")
                                         .KeyValue("ike", "bench")
                                         .KeyValue("timeout", std::to_string(timeout_ms))
                                         .bytes()),
                    &error)) {
      *why = error;
      return std::nullopt;
    }
    auto answer = Answer(timeout_ms + 5000, &error);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!answer) {
      *why = error.empty() ? "no answer" : error;
      return std::nullopt;
    }
    if (answer->Get("success") != std::optional<std::string>("yes")) {
      *why = answer->Get("errmsg").value_or("initiate failed");
      return std::nullopt;
    }
    return seconds;
  }
  void Cleanup() override {
    std::string error;
    if (!conn_.Send(
            EncodeViciPacket(
                ViciPacketType::kCmdRequest, "terminate",
                ViciMessageBuilder().KeyValue("ike", "bench").KeyValue("timeout", "-1").bytes()),
            &error)) {
      return;
    }
    (void)Answer(5000, &error);
  }
  std::string LogTail() override { return charon_.LogTail(20); }
  std::string Log() { return charon_.Log(); }

 private:
  std::optional<ViciPacket> Answer(int timeout_ms, std::string* error) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      auto p = conn_.Receive(200, error);
      if (!p) {
        if (!error->empty()) return std::nullopt;
        continue;
      }
      if (p->type == ViciPacketType::kCmdResponse) return p;
    }
    return std::nullopt;
  }
  Charon& charon_;
  ViciConnection conn_;
};

// Milliseconds since midnight of a log line's "ts" (RFC 3339 with milliseconds); -1 if none.
long LineMillis(const std::string& line) {
  const size_t at = line.find("\"ts\":\"");
  if (at == std::string::npos || line.size() < at + 29) return -1;
  const std::string t = line.substr(at + 17, 12);  // HH:MM:SS.mmm
  return std::atol(t.substr(0, 2).c_str()) * 3600000 + std::atol(t.substr(3, 2).c_str()) * 60000 +
         std::atol(t.substr(6, 2).c_str()) * 1000 + std::atol(t.substr(9, 3).c_str());
}

// Our daemon in pod 0: POST /v1/sas starts an IKE SA of rule "tun"; its log (debug) says when
// it began ("initiating IKE SA ike-<n>") and when the child SA came up, to the millisecond.
class DaemonPeer final : public LegitPeer {
 public:
  DaemonPeer(const Lab& lab, const Settings& s) : lab_(lab) {
    testing::Daemon::Options opts;
    opts.binary = s.initiator_binary;
    opts.extra_args = {"--log-level=debug"};
    daemon_ = std::make_unique<testing::Daemon>(lab, 0, opts);
  }
  bool Start(std::string* error) {
    if (!daemon_->Start()) {
      *error = "initiator daemon did not start: " + daemon_->Log().substr(0, 2000);
      return false;
    }
    auto post = daemon_->Http("POST", "/v1/policies", BenchDaemonPolicy(lab_.PodV4(1), true));
    auto put = daemon_->Http("PUT", "/v1/assignment", R"({"policy": "bench"})");
    if (post.out.rfind("201\n", 0) != 0 || put.out.rfind("200\n", 0) != 0) {
      *error = "initiator policy not accepted: " + post.out + " / " + put.out;
      return false;
    }
    return true;
  }
  std::optional<double> Setup(int timeout_ms, std::string* why) override {
    auto r = daemon_->Http("POST", "/v1/sas", R"({"rule": "tun"})");
    const size_t id_at = r.out.find("\"id\":\"");
    if (r.out.rfind("201\n", 0) != 0 || id_at == std::string::npos) {
      *why = "POST /v1/sas: " + r.out.substr(0, 200);
      return std::nullopt;
    }
    id_ = r.out.substr(id_at + 6, r.out.find('"', id_at + 6) - id_at - 6);
    const std::string sa = "\"sa\":\"" + id_ + "\"";
    long began = -1;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      std::string text = testing::ReadFile(daemon_->log_path());
      std::istringstream in(text.substr(std::min(offset_, text.size())));
      std::string line;
      while (std::getline(in, line)) {
        if (line.find(sa) == std::string::npos) continue;
        if (began < 0 && line.find("initiating IKE SA " + id_ + " ") != std::string::npos) {
          began = LineMillis(line);
        } else if (line.find("\"event\":\"ike.child_up\"") != std::string::npos && began >= 0) {
          offset_ = text.size();
          return static_cast<double>(LineMillis(line) - began) / 1000.0;
        } else if (line.find("\"event\":\"ike.sa_down\"") != std::string::npos ||
                   line.find(" removed: ") != std::string::npos) {
          offset_ = text.size();
          *why = line.substr(0, 300);
          return std::nullopt;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    *why = id_ + " not up after " + std::to_string(timeout_ms) + " ms";
    return std::nullopt;
  }
  void Cleanup() override {
    if (!id_.empty()) (void)daemon_->Http("DELETE", "/v1/sas/" + id_);
    id_.clear();
  }
  std::string LogTail() override {
    std::string l = daemon_->Log();
    return l.substr(l.size() > 3000 ? l.size() - 3000 : 0);
  }
  std::string Log() { return daemon_->Log(); }

 private:
  const Lab& lab_;
  std::unique_ptr<testing::Daemon> daemon_;
  size_t offset_ = 0;
  std::string id_;
};

struct Phase {
  std::string name;
  std::optional<uint32_t> rate;  // nullopt: no flood; 0: max
  bool ok = false;
  std::string error;
  std::vector<double> latencies;
  int failures = 0;
  std::string first_failure;
  double cpu_per_second = 0;
  long rss_idle_kib = 0;
  long rss_max_kib = 0;
  long rcvbuf_errors = 0;
  long softnet_drops = 0;
  FloodStats attacker;
  std::map<std::string, double> metrics;
};

// Packets the kernel dropped for a full per-CPU input backlog (/proc/net/softnet_stat, second
// column, all CPUs; not per namespace): veth forwarding under a flood can drop there.
long SoftnetDrops() {
  std::istringstream in(ReadText("/proc/net/softnet_stat"));
  std::string line;
  long total = 0;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string processed, dropped;
    if (l >> processed >> dropped) total += std::stol(dropped, nullptr, 16);
  }
  return total;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The samples of /metrics we report: every dos drop reason, cookies, drops, half-open.
std::map<std::string, double> ReadMetrics(const Lab& lab) {
  auto r =
      lab.Exec(lab.pod(1), {"curl", "-sS", "--max-time", "10", "http://127.0.0.1:9090/metrics"});
  std::map<std::string, double> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    for (const char* name :
         {"ipsec_ike_dos_drops_total", "ipsec_ike_cookies_sent_total",
          "ipsec_ike_datagrams_dropped_total", "ipsec_ike_sas_half_open", "ipsec_ike_sas_active"}) {
      if (line.rfind(name, 0) != 0) continue;
      const size_t space = line.rfind(' ');
      out[line.substr(0, space)] = std::atof(line.c_str() + space + 1);
    }
  }
  return out;
}

Phase RunPhase(const Lab& lab, LegitPeer& legit, const Settings& s, std::optional<uint32_t> rate) {
  Phase p;
  p.rate = rate;
  p.name = !rate ? "no flood" : *rate == 0 ? "flood max" : "flood " + std::to_string(*rate) + "/s";
  testing::Daemon::Options opts;
  opts.binary = s.daemon_binary;
  opts.extra_args = {s.verbose ? "--log-level=debug" : "--log-level=warning"};
  opts.extra_args.insert(opts.extra_args.end(), s.daemon_args.begin(), s.daemon_args.end());
  testing::Daemon daemon(lab, 1, opts);
  if (!daemon.Start()) {
    p.error = "daemon did not start: " + daemon.Log().substr(0, 2000);
    return p;
  }
  auto post = daemon.Http("POST", "/v1/policies", BenchDaemonPolicy(lab.PodV4(0)));
  auto put = daemon.Http("PUT", "/v1/assignment", R"({"policy": "bench"})");
  if (post.out.rfind("201\n", 0) != 0 || put.out.rfind("200\n", 0) != 0) {
    p.error = "policy not accepted: " + post.out + " / " + put.out;
    return p;
  }
  const pid_t pid = daemon.pid();
  if (Comm(pid) != "ipsec-sidecar") {
    p.error = "pid " + std::to_string(pid) + " is '" + Comm(pid) + "', not the daemon";
    return p;
  }
  std::string why;
  if (!legit.Setup(10000, &why)) {  // warm-up: lazy initialisation is not measured
    p.error = "warm-up setup failed: " + why + "\ninitiator log:\n" + legit.LogTail();
    return p;
  }
  legit.Cleanup();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  p.rss_idle_kib = RssKib(pid);

  // The attacker, in its namespace, for ramp + seconds.
  std::unique_ptr<testing::BackgroundProcess> attacker;
  testing::TempDir dir;
  const std::string attacker_log = dir.path() + "/attacker.log";
  if (rate) {
    attacker = std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{"ip", "netns", "exec", lab.pod(2), s.self, "--attack", "--target",
                                 lab.PodV4(1), "--first-source", kFirstSource, "--sources",
                                 std::to_string(s.sources), "--rate", std::to_string(*rate),
                                 "--seconds", std::to_string(s.ramp + s.seconds + 0.5)},
        attacker_log);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(s.ramp));
  const long rcvbuf0 = UdpRcvbufErrors(lab, lab.pod(1));
  const long softnet0 = SoftnetDrops();
  const double cpu0 = CpuSeconds(pid);
  const auto t0 = Clock::now();
  std::atomic<bool> sampling{true};
  std::atomic<long> rss_max{RssKib(pid)};
  std::thread sampler([&] {
    while (sampling) {
      rss_max = std::max<long>(rss_max, RssKib(pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
  const auto end =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.seconds));
  while (Clock::now() < end) {
    auto seconds = legit.Setup(10000, &why);
    if (seconds) {
      p.latencies.push_back(*seconds);
    } else {
      if (p.failures++ == 0) p.first_failure = why;
    }
    legit.Cleanup();
    std::this_thread::sleep_for(std::chrono::milliseconds(s.interval_ms));
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  p.cpu_per_second = (CpuSeconds(pid) - cpu0) / wall;
  p.rcvbuf_errors = UdpRcvbufErrors(lab, lab.pod(1)) - rcvbuf0;
  p.softnet_drops = SoftnetDrops() - softnet0;
  p.metrics = ReadMetrics(lab);
  sampling = false;
  sampler.join();
  p.rss_max_kib = rss_max;
  if (attacker) {
    attacker->WaitExit(std::chrono::seconds(30));
    std::istringstream in(testing::ReadFile(attacker_log));
    std::string key;
    double value = 0;
    std::map<std::string, double> a;
    while (in >> key >> value) a[key] = value;
    p.attacker.sent_initial = static_cast<uint64_t>(a["sent_initial"]);
    p.attacker.sent_with_cookie = static_cast<uint64_t>(a["sent_with_cookie"]);
    p.attacker.send_failures = static_cast<uint64_t>(a["send_failures"]);
    p.attacker.cookies = static_cast<uint64_t>(a["cookies"]);
    p.attacker.responses = static_cast<uint64_t>(a["responses"]);
    p.attacker.other = static_cast<uint64_t>(a["other"]);
    p.attacker.seconds = a["seconds"];
    if (p.attacker.seconds == 0) {
      p.error = "attacker: " + testing::ReadFile(attacker_log).substr(0, 1000);
      return p;
    }
  }
  daemon.Terminate();
  if (!s.logs_dir.empty()) {
    const std::string tag =
        s.logs_dir + "/" + std::to_string(rate ? *rate : 0) + (rate ? "" : "-none");
    testing::WriteFile(tag + "-daemon.log", daemon.Log());
    testing::WriteFile(tag + "-initiator.log", legit.LogTail());
  }
  p.ok = true;
  return p;
}

std::string Describe(const Phase& p) {
  std::ostringstream o;
  o << "[" << p.name << "]\n";
  if (!p.ok) {
    o << "  FAILED: " << p.error << "\n";
    return o.str();
  }
  o << "  legitimate setups: " << p.latencies.size() << " ok, " << p.failures << " failed"
    << (p.failures ? " (first: " + p.first_failure + ")" : "") << "; latency median "
    << Format("%.3f", Percentile(p.latencies, 0.5)) << " s, p95 "
    << Format("%.3f", Percentile(p.latencies, 0.95)) << " s, max "
    << Format("%.3f", p.latencies.empty() ? 0.0 : Percentile(p.latencies, 1.0)) << " s\n";
  o << "  responder CPU " << Format("%.2f", p.cpu_per_second) << " s/s; VmRSS idle "
    << p.rss_idle_kib << " KiB, max " << p.rss_max_kib << " KiB ("
    << Format("%.2f", p.rss_idle_kib ? static_cast<double>(p.rss_max_kib) / p.rss_idle_kib : 0)
    << "x idle); kernel drops: UDP receive buffer in the responder's pod " << p.rcvbuf_errors
    << ", input backlog (all namespaces) " << p.softnet_drops << "\n";
  if (p.rate) {
    const double s = std::max(p.attacker.seconds, 1e-9);
    const double sent = static_cast<double>(p.attacker.sent_initial + p.attacker.sent_with_cookie);
    o << "  attacker: " << Format("%.0f", sent / s) << " datagrams/s sent ("
      << p.attacker.sent_initial << " first requests, " << p.attacker.sent_with_cookie
      << " with a cookie, " << p.attacker.send_failures << " refused by its kernel) in "
      << Format("%.1f", p.attacker.seconds) << " s; got " << p.attacker.cookies << " cookies, "
      << p.attacker.responses << " IKE_SA_INIT responses (half-open SAs made: "
      << Format("%.0f", static_cast<double>(p.attacker.responses) / s) << "/s)\n";
  }
  o << "  /metrics:";
  for (const auto& [k, v] : p.metrics) o << " " << k << " " << Format("%.0f", v) << ";";
  o << "\n";
  return o.str();
}

int Attack(int argc, char** argv) {
  FloodOptions o;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--target") {
      o.target = v;
    } else if (a == "--first-source") {
      o.first_source = v;
    } else if (a == "--sources") {
      o.sources = static_cast<uint32_t>(std::atol(v.c_str()));
    } else if (a == "--rate") {
      o.rate = static_cast<uint32_t>(std::atol(v.c_str()));
    } else if (a == "--seconds") {
      o.seconds = std::atof(v.c_str());
    }
  }
  FloodStats stats;
  std::string error;
  if (!RunFlood(o, &stats, &error)) {
    std::fprintf(stderr, "attacker: %s\n", error.c_str());
    return 1;
  }
  std::fputs(stats.Lines().c_str(), stdout);
  return 0;
}

int Main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--attack") return Attack(argc, argv);
  Settings s;
  s.self = "/proc/" + std::to_string(getpid()) + "/exe";
  char self[4096];
  if (ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1); n > 0) {
    self[n] = 0;
    s.self = self;
  }
  std::string rates = "2000,10000,max", out_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--rates") {
      rates = next();
    } else if (a == "--seconds") {
      s.seconds = std::atof(next().c_str());
    } else if (a == "--ramp") {
      s.ramp = std::atof(next().c_str());
    } else if (a == "--sources") {
      s.sources = static_cast<uint32_t>(std::atol(next().c_str()));
    } else if (a == "--interval-ms") {
      s.interval_ms = std::atoi(next().c_str());
    } else if (a == "--daemon-arg") {
      s.daemon_args.push_back(next());
    } else if (a == "--daemon-binary") {
      s.daemon_binary = next();
    } else if (a == "--legit") {
      s.legit_charon = next() == "charon";
    } else if (a == "--initiator-binary") {
      s.initiator_binary = next();
    } else if (a == "--logs-dir") {
      s.logs_dir = next();
    } else if (a == "--verbose") {
      s.verbose = true;
    } else if (a == "--out") {
      out_path = next();
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--rates 2000,10000,max] [--seconds 20] [--ramp 3] "
          "[--sources 60000] [--interval-ms 200] [--daemon-arg ARG]... [--daemon-binary PATH] "
          "[--legit ours|charon] [--initiator-binary PATH] [--logs-dir DIR [--verbose]] [--out "
          "FILE]\n",
          argv[0]);
      return 2;
    }
  }
  s.rates.push_back(std::nullopt);
  std::istringstream rin(rates);
  for (std::string r; std::getline(rin, r, ',');) {
    s.rates.push_back(r == "max" ? 0u : static_cast<uint32_t>(std::atol(r.c_str())));
  }
  if (s.sources == 0 || s.sources > 65000) {
    std::fprintf(stderr, "ike_flood_bench: --sources must be 1..65000 (%s)\n", kAttackerNet);
    return 2;
  }
  std::string missing = testing::MissingStrongswanPrerequisites();
  if (!missing.empty()) {
    std::fprintf(stderr, "ike_flood_bench: %s\n", missing.c_str());
    return 1;
  }
  std::string error;
  auto lab = Lab::Create(3, &error);
  if (!lab) {
    std::fprintf(stderr, "ike_flood_bench: lab: %s\n", error.c_str());
    return 1;
  }
  // The attacker's addresses: routed to pod 2 by the node, local in pod 2 (it receives what is
  // sent to any of them).
  for (const auto& [ns, argv2] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {lab->node(), {"ip", "route", "add", kAttackerNet, "via", lab->PodV4(2)}},
           {lab->pod(2), {"ip", "route", "add", "local", kAttackerNet, "dev", "lo"}}}) {
    auto r = lab->Exec(ns, argv2);
    if (r.exit_code != 0) {
      std::fprintf(stderr, "ike_flood_bench: route: %s\n", r.err.c_str());
      return 1;
    }
  }
  for (int pod = 0; pod < 2; ++pod) {
    if (!AddInnerAddress(*lab, pod, &error)) {
      std::fprintf(stderr, "ike_flood_bench: %s\n", error.c_str());
      return 1;
    }
  }
  std::unique_ptr<Charon> charon;
  std::unique_ptr<LegitPeer> legit;
  if (s.legit_charon) {
    testing::CharonOptions io = BenchCharonOptions(s.verbose);
    io.reuse_ikesa = false;  // a new IKE SA per initiate
    io.retransmit_timeout = 1.0;
    io.retransmit_base = 1.4;
    io.retransmit_tries = 4;  // 1, 1.4, 2, 2.7 s: gives up after ~9 s
    charon = Charon::Start(lab->pod(0), "legitimate", io, &error);
    if (!charon || !charon->Load(BenchSwanctl(true, lab->PodV4(0), lab->PodV4(1)), &error)) {
      std::fprintf(stderr, "ike_flood_bench: initiator charon: %s\n", error.c_str());
      return 1;
    }
    auto peer = std::make_unique<CharonPeer>(*charon);
    if (!peer->Start(&error)) {
      std::fprintf(stderr, "ike_flood_bench: vici: %s\n", error.c_str());
      return 1;
    }
    legit = std::move(peer);
  } else {
    auto peer = std::make_unique<DaemonPeer>(*lab, s);
    if (!peer->Start(&error)) {
      std::fprintf(stderr, "ike_flood_bench: %s\n", error.c_str());
      return 1;
    }
    legit = std::move(peer);
  }

  utsname uts{};
  uname(&uts);
  std::ostringstream report;
  report << "ike_flood_bench: legitimate IKE SA + child setups ("
         << (s.legit_charon ? "charon initiator over vici" : "our daemon as initiator")
         << ", PSK, "
            "aes128gcm16-prfsha256-x25519) to our daemon under an IKE_SA_INIT flood from "
         << s.sources << " spoofed addresses answering cookies\n"
         << "machine: nproc " << sysconf(_SC_NPROCESSORS_ONLN) << ", " << CpuModel() << ", "
         << uts.sysname << " " << uts.release << "\n"
         << "loadavg at start: " << LoadAvg() << "\n"
         << "each phase: fresh daemon, flood " << Format("%.0f", s.ramp) << " s before and "
         << Format("%.0f", s.seconds) << " s during setups one after the other (" << s.interval_ms
         << " ms apart)";
  if (!s.daemon_binary.empty()) report << "; daemon binary " << s.daemon_binary;
  if (!s.daemon_args.empty()) {
    report << "; daemon args:";
    for (const auto& a : s.daemon_args) report << " " << a;
  }
  report << "\n\n";
  std::fputs(report.str().c_str(), stdout);
  std::fflush(stdout);
  std::vector<Phase> phases;
  for (const auto& rate : s.rates) {
    phases.push_back(RunPhase(*lab, *legit, s, rate));
    std::fputs(Describe(phases.back()).c_str(), stdout);
    std::fflush(stdout);
  }
  std::ostringstream summary;
  summary << "\n| phase | attacker dgram/s | setups ok/failed | median s | p95 s | max s | "
             "responder CPU s/s | RSS max/idle | evicted | cookies sent | rcvbuf drops |\n"
             "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : phases) {
    if (!p.ok) continue;
    const double sent = static_cast<double>(p.attacker.sent_initial + p.attacker.sent_with_cookie);
    auto metric = [&](const std::string& k) {
      auto it = p.metrics.find(k);
      return it == p.metrics.end() ? std::string("-") : Format("%.0f", it->second);
    };
    summary << "| " << p.name << " | "
            << (p.rate ? Format("%.0f", sent / std::max(p.attacker.seconds, 1e-9)) : "0") << " | "
            << p.latencies.size() << "/" << p.failures << " | "
            << Format("%.3f", Percentile(p.latencies, 0.5)) << " | "
            << Format("%.3f", Percentile(p.latencies, 0.95)) << " | "
            << Format("%.3f", p.latencies.empty() ? 0.0 : Percentile(p.latencies, 1.0)) << " | "
            << Format("%.2f", p.cpu_per_second) << " | "
            << Format("%.2f",
                      p.rss_idle_kib ? static_cast<double>(p.rss_max_kib) / p.rss_idle_kib : 0)
            << " | " << metric(R"(ipsec_ike_dos_drops_total{reason="evicted"})") << " | "
            << metric("ipsec_ike_cookies_sent_total") << " | " << p.rcvbuf_errors << " |\n";
  }
  summary << "loadavg at end: " << LoadAvg() << "\n";
  std::fputs(summary.str().c_str(), stdout);
  if (!out_path.empty()) {
    std::ofstream out(out_path, std::ios::app);
    out << report.str();
    for (const auto& p : phases) out << Describe(p);
    out << summary.str();
  }
  bool all_ok = true;
  for (const auto& p : phases) all_ok = all_ok && p.ok;
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace ipsec::bench

int main(int argc, char** argv) { return ipsec::bench::Main(argc, argv); }
