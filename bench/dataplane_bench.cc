// ESP data path throughput (issue 4): iperf3 between two lab pods, over the same pod-node-pod
// veth path, through
//   (a) ours:   two ipsec-sidecar daemons with the userspace data path (TUN + our ESP), raw ESP
//               (IP protocol 50: no NAT between the pods, so IKE does not encapsulate),
//   (u) ours with --force-udp-encapsulation: ESP in UDP 4500, the framing kernel-libipsec
//               always uses (UDP GSO/GRO apply only here),
//   (b) charon: two strongSwan charons with kernel-libipsec (TUN + libipsec ESP),
//   (c) veth:   no IPsec at all (the ceiling),
// in one invocation. (a), (u) and (b) use the same tunnel: PSK, aes128gcm16-prfsha256-x25519,
// child AES-GCM-128 in tunnel mode between the pods' inner addresses 10.199.<i+1>.1 (on
// loopback; kernel-libipsec cannot tunnel traffic addressed to the IKE peer itself). Figures per
// path: TCP single stream, TCP 4 streams, and 64-byte UDP packets per second received; the
// median of --reps runs of --seconds each. Then the ratios the issue targets: ours >= 10x (b)
// and ours >= 25% of (c), and a verdict per measure for each of our framings ((u) is what the
// Kubernetes manifests deploy; (a) is the daemon's default outside them).
//
// Run as root: build-bench/bench/dataplane_bench [--seconds 5] [--reps 3] [--only a,u,b,c]
//              [--out FILE]
// A path that cannot run (no charon, a daemon that does not start, no SA) is reported as
// failed with the reason and the run exits 1: figures are never invented.

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_machine.h"
#include "tests/interop/lab_configs.h"
#include "tests/support/lab.h"
#include "tests/support/lab_nat.h"
#include "tests/support/strongswan.h"

namespace ipsec::bench {
namespace {

using testing::Charon;
using testing::CharonOptions;
using testing::CommandResult;
using testing::InnerV4;
using testing::Lab;
using testing::PeerSpec;

std::vector<std::string> g_daemon_args;  // --daemon-arg: more flags for our daemons

constexpr const char* kPsk = "interop-lab-psk-0123456789";  // lab_configs.h PskConfig's key

struct Figures {
  std::string path;
  bool ok = false;
  std::string error;
  double tcp1_gbps = 0;  // median, receiver side
  double tcp4_gbps = 0;
  double udp64_pps = 0;  // 64-byte datagrams received per second
  std::string detail;    // every run's figures
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// Pod 1's UDP RcvbufErrors (/proc/net/snmp): datagrams the data path delivered that the
// receiving socket had no room for (the receiver, not the path, was too slow).
double RcvbufErrors(const Lab& lab) {
  CommandResult r = lab.Exec(lab.pod(1), {"cat", "/proc/net/snmp"});
  std::istringstream in(r.out);
  std::string names, values, line;
  while (std::getline(in, line)) {
    if (line.rfind("Udp: ", 0) != 0) continue;
    if (names.empty()) {
      names = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream n(names), v(values);
  std::string name, value;
  while (n >> name && v >> value) {
    if (name == "RcvbufErrors") return std::atof(value.c_str());
  }
  return 0;
}

// One iperf3 client run from pod 0 to `server` (an iperf3 server in pod 1, one test). Returns
// the receiver's bits/s (TCP) or datagrams/s received (UDP), or nullopt with `error`.
std::optional<double> Iperf(const Lab& lab, const std::string& bind, const std::string& server,
                            const std::vector<std::string>& extra, int seconds, bool udp,
                            std::string* error, double* rcvbuf_drops_per_s = nullptr) {
  const double drops_before = udp ? RcvbufErrors(lab) : 0;
  testing::TempDir dir;
  testing::BackgroundProcess srv(
      {"ip", "netns", "exec", lab.pod(1), "iperf3", "-s", "-1", "-B", server, "-p", "5201"},
      dir.path() + "/server.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::string> argv = {
      "iperf3", "-c", server, "-B", bind, "-p", "5201", "-t", std::to_string(seconds), "-J"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CommandResult r = lab.Exec(lab.pod(0), argv, "", std::chrono::seconds(seconds + 30));
  srv.WaitExit(std::chrono::milliseconds(3000));
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || j.is_discarded() || j.contains("error")) {
    *error = "iperf3 " + std::string(udp ? "udp" : "tcp") + " failed: exit " +
             std::to_string(r.exit_code) + " " +
             (j.is_discarded() ? r.out.substr(0, 300) : j.value("error", std::string())) +
             r.err.substr(0, 300) +
             " server: " + ReadText(dir.path() + "/server.log").substr(0, 300);
    return std::nullopt;
  }
  const nlohmann::json& end = j["end"];
  if (!udp) return end["sum_received"].value("bits_per_second", 0.0);
  const nlohmann::json& sum = end["sum"];
  double packets = sum.value("packets", 0.0) - sum.value("lost_packets", 0.0);
  double secs = sum.value("seconds", 0.0);
  if (rcvbuf_drops_per_s != nullptr && secs > 0) {
    *rcvbuf_drops_per_s = (RcvbufErrors(lab) - drops_before) / secs;
  }
  return secs > 0 ? packets / secs : 0.0;
}

// CPU seconds (user + system) the processes `pids` used so far (/proc/PID/stat fields 14-15).
double CpuSeconds(const std::vector<pid_t>& pids) {
  double ticks = 0;
  for (pid_t pid : pids) {
    std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i >= 14) ticks += std::atof(field.c_str());
    }
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The three measurements, --reps times, between `bind` in pod 0 and `server` in pod 1. With
// `pids` (our daemons), also their CPU time per GB of the single TCP stream: a figure the
// machine's other load disturbs less than the throughput.
Figures Measure(const Lab& lab, const std::string& path, const std::string& bind,
                const std::string& server, int seconds, int reps,
                const std::vector<pid_t>& pids = {}) {
  Figures f;
  f.path = path;
  std::vector<double> tcp1, tcp4, udp;
  std::ostringstream detail;
  for (int i = 0; i < reps; ++i) {
    std::string error;
    const double cpu_before = CpuSeconds(pids);
    auto a = Iperf(lab, bind, server, {}, seconds, false, &error);
    const double cpu_tcp1 = CpuSeconds(pids) - cpu_before;
    auto b = a ? Iperf(lab, bind, server, {"-P", "4"}, seconds, false, &error) : std::nullopt;
    // -b 0: as fast as the sender can; the receiver's count is what got through.
    double drops = 0;
    auto c =
        b ? Iperf(lab, bind, server, {"-u", "-l", "64", "-b", "0"}, seconds, true, &error, &drops)
          : std::nullopt;
    if (!c) {
      f.error = "run " + std::to_string(i + 1) + ": " + error;
      return f;
    }
    tcp1.push_back(*a / 1e9);
    tcp4.push_back(*b / 1e9);
    udp.push_back(*c);
    detail << "  run " << i + 1 << ": tcp1 " << Format("%.3f", *a / 1e9) << " Gbit/s, tcp4 "
           << Format("%.3f", *b / 1e9) << " Gbit/s, udp64 " << Format("%.0f", *c) << " pkt/s (+"
           << Format("%.0f", drops) << " pkt/s the iperf3 server's socket dropped: RcvbufErrors)\n";
    if (!pids.empty() && *a > 0) {
      const double gigabytes = *a / 8e9 * seconds;
      detail << "         both daemons' CPU during tcp1: " << Format("%.2f", cpu_tcp1)
             << " s = " << Format("%.2f", cpu_tcp1 / gigabytes) << " CPU-s per GB\n";
    }
  }
  f.ok = true;
  f.tcp1_gbps = Median(tcp1);
  f.tcp4_gbps = Median(tcp4);
  f.udp64_pps = Median(udp);
  f.detail = detail.str();
  return f;
}

bool Ping(const Lab& lab, const std::string& from, const std::string& to, std::string* out) {
  CommandResult r =
      lab.Exec(lab.pod(0), {"ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", from, to});
  *out = r.out + r.err;
  return r.exit_code == 0;
}

Figures RunVeth(const Lab& lab, int seconds, int reps) {
  return Measure(lab, "(c) plain veth", lab.PodV4(0), lab.PodV4(1), seconds, reps);
}

Figures RunCharon(const Lab& lab, int seconds, int reps) {
  Figures f;
  f.path = "(b) strongSwan kernel-libipsec";
  std::string error;
  std::string missing = testing::MissingStrongswanPrerequisites();
  if (!missing.empty()) {
    f.error = missing;
    return f;
  }
  CharonOptions quiet;
  quiet.log_levels = {{"default", 0}, {"ike", 1}, {"knl", 1}};
  auto a = Charon::Start(lab.pod(0), "bench-a", quiet, &error);
  auto b = a ? Charon::Start(lab.pod(1), "bench-b", quiet, &error) : nullptr;
  if (!b) {
    f.error = "charon: " + error;
    return f;
  }
  PeerSpec pa{lab.PodV4(0), lab.PodV4(0), InnerV4(0)};
  PeerSpec pb{lab.PodV4(1), lab.PodV4(1), InnerV4(1)};
  if (!a->Load(testing::PskConfig(pa, pb), &error) ||
      !b->Load(testing::PskConfig(pb, pa), &error) || !a->Initiate("net", &error) ||
      !b->WaitForChild("host", "net", std::chrono::milliseconds(5000), &error)) {
    f.error = "charon tunnel: " + error;
    return f;
  }
  std::string ping;
  if (!Ping(lab, InnerV4(0), InnerV4(1), &ping)) {
    f.error = "no ping through the charon tunnel: " + ping;
    return f;
  }
  Figures m = Measure(lab, f.path, InnerV4(0), InnerV4(1), seconds, reps);
  m.path = f.path;
  return m;
}

// Tunnel mode between the inner addresses, endpoints the pods' addresses, as charon's. The
// same lifetimes as charon's (1 h, no byte limit): the product's FAQ default of 100,000 KB
// would rekey every ~0.2 s at these rates (measured: ~10% less throughput with it, and charon
// would not be rekeying at all).
std::string OurPolicy(const std::string& local_inner, const std::string& remote_inner,
                      const std::string& remote_outer) {
  return R"({"name": "bench",
  "key_exchange": {"proposals": [{"encryption": "aes128gcm16", "integrity": "none",
                                  "prf": "prfsha256", "dh_group": "curve25519"}]},
  "filter_lists": [{"name": "tun", "filters": [
    {"source": ")" +
         local_inner + R"(", "destination": ")" + remote_inner +
         R"(", "mirrored": true}]}],
  "filter_actions": [{"name": "secure", "type": "negotiate", "security_methods": [
    {"protocol": "esp", "esp_encryption": "aes128gcm16", "esp_integrity": "none", "lifetime_kilobytes": 0}]}],
  "rules": [{"name": "tun", "filter_list": "tun", "filter_action": "secure",
    "tunnel_endpoint": ")" +
         remote_outer + R"(",
    "auth_methods": [{"type": "psk", "preshared_key": ")" +
         kPsk + R"("}]}]
})";
}

// (a) as deployed without a NAT: raw ESP (IP protocol 50); (u) with --force-udp-encapsulation:
// ESP in UDP 4500 as kernel-libipsec always sends it (and UDP GSO/GRO apply).
Figures RunOursWith(const Lab& lab, int seconds, int reps, bool udp) {
  Figures f;
  f.path = udp ? "(u) ipsec-sidecar userspace, ESP in UDP" : "(a) ipsec-sidecar userspace, raw ESP";
  std::vector<std::unique_ptr<testing::Daemon>> daemons;
  for (int i = 0; i < 2; ++i) {
    testing::Daemon::Options o;
    o.extra_args = {"--dataplane=userspace", "--log-level=warning"};
    if (udp) o.extra_args.push_back("--force-udp-encapsulation");
    o.extra_args.insert(o.extra_args.end(), g_daemon_args.begin(), g_daemon_args.end());
    daemons.push_back(std::make_unique<testing::Daemon>(lab, i, o));
    if (!daemons.back()->Start()) {
      f.error = "daemon " + std::to_string(i) +
                " did not start: " + daemons.back()->Log().substr(0, 2000);
      return f;
    }
    auto post = daemons[i]->Http("POST", "/v1/policies",
                                 OurPolicy(InnerV4(i), InnerV4(1 - i), lab.PodV4(1 - i)));
    auto put = daemons[i]->Http("PUT", "/v1/assignment", R"({"policy": "bench"})");
    if (post.out.rfind("201\n", 0) != 0 || put.out.rfind("200\n", 0) != 0) {
      f.error = "policy not accepted: " + post.out + " / " + put.out;
      return f;
    }
  }
  // The first packets trigger the negotiation (FAQ: negotiate on the first packet); they wait
  // in the data path's queue. Ping until the tunnel answers.
  std::string ping;
  bool up = false;
  for (int i = 0; i < 10 && !up; ++i) up = Ping(lab, InnerV4(0), InnerV4(1), &ping);
  if (!up) {
    std::string log = daemons[0]->Log();
    f.error = "no ping through our tunnel: " + ping +
              "\ndaemon 0 log tail: " + log.substr(log.size() > 2000 ? log.size() - 2000 : 0) +
              "\n/v1/sas: " + daemons[0]->Http("GET", "/v1/sas").out.substr(0, 1500);
    return f;
  }
  Figures m = Measure(lab, f.path, InnerV4(0), InnerV4(1), seconds, reps,
                      {daemons[0]->pid(), daemons[1]->pid()});
  m.path = f.path;
  m.detail +=
      "  daemon 0 /v1/stats after: " + daemons[0]->Http("GET", "/v1/stats").out.substr(4, 600) +
      "\n";
  return m;
}
Figures RunOurs(const Lab& lab, int seconds, int reps) {
  return RunOursWith(lab, seconds, reps, false);
}
Figures RunOursUdp(const Lab& lab, int seconds, int reps) {
  return RunOursWith(lab, seconds, reps, true);
}

std::string Describe(const Figures& f) {
  if (!f.ok) return f.path + ": FAILED: " + f.error + "\n";
  return f.path + ": tcp1 " + Format("%.3f", f.tcp1_gbps) + " Gbit/s, tcp4 " +
         Format("%.3f", f.tcp4_gbps) + " Gbit/s, udp64 " + Format("%.0f", f.udp64_pps) +
         " pkt/s (medians)\n" + f.detail;
}

std::string Ratio(const char* what, double a, double b) {
  return std::string(what) + (b > 0 ? Format("%.2f", a / b) : std::string("n/a")) + "\n";
}

// The issue's two targets, ours >= 10x (b) and ours >= 25% of (c), judged per measure for one of
// our framings. Where 10x (b) is above the ceiling (c) itself, the first target cannot be met by
// any path in this run, and the verdict says so rather than just "not met".
std::string Verdict(const std::string& label, const Figures& ours, const Figures& b,
                    const Figures& c) {
  struct Measure {
    const char* name;
    double ours, b, c;
    const char* unit;
  };
  const Measure measures[] = {{"tcp1", ours.tcp1_gbps, b.tcp1_gbps, c.tcp1_gbps, "Gbit/s"},
                              {"tcp4", ours.tcp4_gbps, b.tcp4_gbps, c.tcp4_gbps, "Gbit/s"},
                              {"udp64", ours.udp64_pps, b.udp64_pps, c.udp64_pps, "pkt/s"}};
  std::string out = label + "\n";
  for (const Measure& m : measures) {
    if (m.b <= 0 || m.c <= 0) continue;
    const double vs_b = m.ours / m.b, vs_c = m.ours / m.c;
    std::string first = vs_b >= 10 ? "met" : "NOT met";
    if (vs_b < 10 && 10 * m.b > m.c) {
      const char* f = m.unit[0] == 'p' ? "%.0f" : "%.2f";
      first += " (unreachable in this run: 10x (b) = " + Format(f, 10 * m.b) + " " + m.unit +
               " is above the ceiling (c) = " + Format(f, m.c) + ")";
    }
    out += "  " + std::string(m.name) + ": " + Format("%.2f", vs_b) + "x (b) " + first + "; " +
           Format("%.0f", 100 * vs_c) + "% of (c) " + (vs_c >= 0.25 ? "met" : "NOT met") + "\n";
  }
  return out;
}

int Main(int argc, char** argv) {
  int seconds = 5, reps = 3;
  std::string only = "a,u,b,c", out_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seconds") {
      seconds = std::atoi(next().c_str());
    } else if (a == "--reps") {
      reps = std::atoi(next().c_str());
    } else if (a == "--only") {
      only = next();
    } else if (a == "--out") {
      out_path = next();
    } else if (a == "--daemon-arg" && i + 1 < argc) {
      g_daemon_args.push_back(argv[++i]);  // e.g. --dataplane-workers=2
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds N] [--reps N] [--only a,u,b,c] [--out FILE] "
                   "[--daemon-arg ARG]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (seconds < 1 || reps < 1) {
    std::fprintf(stderr, "--seconds and --reps must be >= 1\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "dataplane_bench needs root (network namespaces, TUN)\n");
    return 1;
  }
  std::string error;
  auto lab = Lab::Create(2, &error);
  if (!lab) {
    std::fprintf(stderr, "lab: %s\n", error.c_str());
    return 1;
  }
  for (int i = 0; i < 2; ++i) {
    if (!testing::AddAddress(lab->pod(i), InnerV4(i) + "/32", &error)) {
      std::fprintf(stderr, "inner address: %s\n", error.c_str());
      return 1;
    }
  }
  utsname uts{};
  uname(&uts);
  std::ostringstream report;
  report << "dataplane_bench: iperf3 pod0 -> pod1 (pod-node-pod veth), " << seconds << " s x "
         << reps
         << " runs, medians; tunnel: PSK, aes128gcm16-prfsha256-x25519, ESP AES-GCM-128 "
            "tunnel mode; (a) raw ESP, (u) and (b) ESP in UDP 4500\n"
         << "machine: nproc " << sysconf(_SC_NPROCESSORS_ONLN) << ", " << CpuModel() << ", "
         << uts.sysname << " " << uts.release << "\n"
         << "loadavg at start: " << LoadAvg() << "\n";
  if (!g_daemon_args.empty()) {
    report << "our daemons' extra flags:";
    for (const auto& a : g_daemon_args) report << " " << a;
    report << "\n";
  }
  if (const char* off = std::getenv("IPSEC_DATAPLANE_NO_OFFLOAD")) {
    report << "IPSEC_DATAPLANE_NO_OFFLOAD=" << off << " (offloads switched off)\n";
  }
  report << "\n";
  std::fputs(report.str().c_str(), stdout);
  std::fflush(stdout);
  Figures a, u, b, c;
  auto want = [&](char p) { return only.find(p) != std::string::npos; };
  auto run = [&](Figures& f, auto fn) {
    f = fn(*lab, seconds, reps);
    std::string d = Describe(f);
    std::fputs(d.c_str(), stdout);
    std::fflush(stdout);
    report << d;
  };
  if (want('c')) run(c, RunVeth);
  if (want('b')) run(b, RunCharon);
  if (want('a')) run(a, RunOurs);
  if (want('u')) run(u, RunOursUdp);
  std::ostringstream ratios;
  ratios << "\nratios (targets: (a)/(b) >= 10, (a)/(c) >= 0.25)\n";
  if (a.ok && b.ok) {
    ratios << Ratio("  tcp1  (a)/(b): ", a.tcp1_gbps, b.tcp1_gbps)
           << Ratio("  tcp4  (a)/(b): ", a.tcp4_gbps, b.tcp4_gbps)
           << Ratio("  udp64 (a)/(b): ", a.udp64_pps, b.udp64_pps);
  }
  if (a.ok && c.ok) {
    ratios << Ratio("  tcp1  (a)/(c): ", a.tcp1_gbps, c.tcp1_gbps)
           << Ratio("  tcp4  (a)/(c): ", a.tcp4_gbps, c.tcp4_gbps)
           << Ratio("  udp64 (a)/(c): ", a.udp64_pps, c.udp64_pps);
  }
  if (u.ok && b.ok) {
    ratios << Ratio("  tcp1  (u)/(b): ", u.tcp1_gbps, b.tcp1_gbps)
           << Ratio("  tcp4  (u)/(b): ", u.tcp4_gbps, b.tcp4_gbps)
           << Ratio("  udp64 (u)/(b): ", u.udp64_pps, b.udp64_pps);
  }
  if (u.ok && c.ok) {
    ratios << Ratio("  tcp1  (u)/(c): ", u.tcp1_gbps, c.tcp1_gbps)
           << Ratio("  tcp4  (u)/(c): ", u.tcp4_gbps, c.tcp4_gbps)
           << Ratio("  udp64 (u)/(c): ", u.udp64_pps, c.udp64_pps);
  }
  if (b.ok && c.ok) {
    ratios << Ratio("  tcp1  (b)/(c): ", b.tcp1_gbps, c.tcp1_gbps);
    ratios << "\ntargets (ours >= 10x (b), ours >= 25% of (c)):\n";
    if (u.ok) {
      ratios << Verdict(
          "(u) ESP in UDP: what deploy/ and the Helm chart run (forceUdpEncapsulation, because a "
          "NetworkPolicy cannot admit IP protocol 50)",
          u, b, c);
    }
    if (a.ok) {
      ratios << Verdict("(a) raw ESP: the daemon's default without a NAT, outside Kubernetes", a, b,
                        c);
    }
  }
  ratios << "loadavg at end: " << LoadAvg() << "\n";
  std::fputs(ratios.str().c_str(), stdout);
  report << ratios.str();
  if (!out_path.empty()) {
    std::ofstream out(out_path);
    out << report.str();
  }
  bool failed =
      (want('a') && !a.ok) || (want('u') && !u.ok) || (want('b') && !b.ok) || (want('c') && !c.ok);
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace ipsec::bench

int main(int argc, char** argv) { return ipsec::bench::Main(argc, argv); }
