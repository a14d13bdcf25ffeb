#pragma once

// What the fault tests (faults_*_test.cc) and the soak bench share: two of our daemons in two
// lab pods securing everything between the pods (tests/integration/pair_policy.h, userspace
// ESP data path), their SA lists, the "settled" condition (one IKE SA and one child SA on each
// side, paired), and `ping -D -O` logs read back into replies and gaps.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/integration_util.h"
#include "tests/integration/pair_policy.h"
#include "tests/support/lab.h"

namespace ipsec::testing {

// A `ping -D -O` log: the replies (sequence number, arrival time) and ping's own summary.
struct PingLog {
  struct Reply {
    int seq = 0;
    double at = 0;  // seconds, the Unix time ping printed
  };
  std::vector<Reply> replies;
  int transmitted = -1;
  int received = -1;

  static PingLog Parse(const std::string& text) {
    PingLog log;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      const size_t seq = line.find("icmp_seq=");
      if (line.rfind("[", 0) == 0 && seq != std::string::npos &&
          line.find(" bytes from ") != std::string::npos) {
        log.replies.push_back(
            {std::atoi(line.c_str() + seq + 9), std::strtod(line.c_str() + 1, nullptr)});
      }
      int t = 0, r = 0;
      if (std::sscanf(line.c_str(), "%d packets transmitted, %d received", &t, &r) == 2) {
        log.transmitted = t;
        log.received = r;
      }
    }
    return log;
  }
  double LossPercent() const {
    return transmitted > 0 ? 100.0 * (transmitted - received) / transmitted : 100.0;
  }
  // Echoes that got no answer, not counting those that may still have been on the way when
  // ping stopped: an echo counts as lost only once a later one was answered `settle` seconds
  // or more before the last answer (reordering delays answers; ping's own summary counts
  // every echo in flight at SIGINT as lost).
  int Lost(double settle = 1.0) const {
    if (replies.empty()) return 0;
    double last_at = 0;
    std::set<int> seen;
    for (const Reply& r : replies) {
      seen.insert(r.seq);
      last_at = std::max(last_at, r.at);
    }
    int settled_upto = 0;  // highest sequence number answered `settle` s before the end
    for (const Reply& r : replies) {
      if (r.at <= last_at - settle) settled_upto = std::max(settled_upto, r.seq);
    }
    int lost = 0;
    for (int q = 1; q < settled_upto; ++q) lost += seen.count(q) ? 0 : 1;
    return lost;
  }
  // The longest outage: from the last reply before the widest gap in sequence numbers to the
  // first reply after it (seconds; 0 when nothing was lost between two replies), and how many
  // echoes went unanswered in it.
  struct Gap {
    double seconds = 0;
    int lost = 0;
    double from = 0;  // Unix time of the last reply before it
  };
  Gap LongestGap() const {
    Gap g;
    for (size_t i = 1; i < replies.size(); ++i) {
      const int lost = replies[i].seq - replies[i - 1].seq - 1;
      const double s = replies[i].at - replies[i - 1].at;
      if (lost > 0 && s > g.seconds) g = {s, lost, replies[i - 1].at};
    }
    return g;
  }
};

inline double UnixNowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Two daemons in pods 0 and 1 of `lab`, each with PairPolicy (rule "pods", tunnel mode, PSK).
class DaemonPair {
 public:
  DaemonPair(const Lab& lab, std::vector<std::string> extra_args)
      : lab_(lab), extra_args_(std::move(extra_args)) {}

  const Lab& lab() const { return lab_; }
  Daemon& d(int i) { return *d_[i]; }

  // Starts daemon `i` (again, with the same state directory when it existed) and turns its IKE
  // log on. Returns "" or what went wrong.
  std::string Start(int i) {
    if (!d_[i]) {
      std::vector<std::string> args = {"--dataplane=userspace"};
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      d_[i] = std::make_unique<Daemon>(lab_, i, Daemon::Options{.extra_args = args});
    }
    if (!d_[i]->Start())
      return "daemon " + std::to_string(i) + " did not turn ready:\n" + d_[i]->Log();
    CommandResult on = d_[i]->Http("PUT", "/v1/config/ike-logging", R"({"enabled": true})");
    if (Status(on) != 200) return "ike-logging: " + on.out + on.err;
    return "";
  }

  // PairPolicy on daemon `i`, with lifetimes (seconds; 0: the defaults) and the child SA's
  // byte lifetime (KiB; 0: none; -1: the default).
  std::string Apply(int i, const std::string& psk, int child_lifetime = 0, int ike_lifetime = 0,
                    int child_lifetime_kb = -1) {
    nlohmann::json methods = nlohmann::json::array({EspGcm128()});
    if (child_lifetime > 0) methods[0]["lifetime_seconds"] = child_lifetime;
    if (child_lifetime_kb >= 0) methods[0]["lifetime_kilobytes"] = child_lifetime_kb;
    nlohmann::json policy = PairPolicy(lab_.PodV4(i), lab_.PodV4(1 - i), true, psk, methods);
    if (ike_lifetime > 0) policy["key_exchange"]["ike_sa_lifetime_seconds"] = ike_lifetime;
    CommandResult put = d_[i]->Http("PUT", "/v1/policies/pair", policy.dump());
    if (Status(put) != 200 && Status(put) != 201) return "PUT policy: " + put.out + put.err;
    CommandResult assign = d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "pair"})");
    if (Status(assign) != 200) return "PUT assignment: " + assign.out + assign.err;
    return "";
  }

  nlohmann::json Sas(int i) const {
    nlohmann::json j = Body(d_[i]->Http("GET", "/v1/sas"));
    return j.is_object() && j.contains("ike_sas") ? j["ike_sas"] : nlohmann::json::array();
  }
  nlohmann::json Stats(int i) const { return Body(d_[i]->Http("GET", "/v1/stats")); }
  std::string IkeLog(int i) const { return ReadFile(d_[i]->dir() + "/log/ike.log"); }
  std::string Metrics(int i) const {
    return lab_
        .Exec(lab_.node(),
              {"curl", "-sS", "--max-time", "10", "http://" + lab_.PodV4(i) + ":9090/metrics"})
        .out;
  }

  // Settled: each side has exactly one IKE SA, established, with exactly one child SA,
  // installed, and the two sides name the same SPIs.
  bool Settled() const {
    const nlohmann::json a = Sas(0), b = Sas(1);
    auto one = [](const nlohmann::json& s) {
      return s.size() == 1 && s[0]["state"] == "established" && s[0]["child_sas"].size() == 1 &&
             s[0]["child_sas"][0]["state"] == "installed";
    };
    return one(a) && one(b) && a[0]["spi_i"] == b[0]["spi_i"] && a[0]["spi_r"] == b[0]["spi_r"] &&
           a[0]["child_sas"][0]["spi_in"] == b[0]["child_sas"][0]["spi_out"] &&
           a[0]["child_sas"][0]["spi_out"] == b[0]["child_sas"][0]["spi_in"];
  }

  std::string Diagnostics() const {
    std::string s;
    for (int i = 0; i < 2; ++i) {
      if (!d_[i]) continue;
      s += "\n--- daemon " + std::to_string(i) + " SAs: " + Sas(i).dump() +
           "\n--- stats: " + Stats(i).dump() + "\n--- IKE log:\n" + IkeLog(i) +
           "\n--- daemon log (tail):\n";
      const std::string log = d_[i]->Log();
      s += log.size() > 6000 ? log.substr(log.size() - 6000) : log;
    }
    return s;
  }

 private:
  const Lab& lab_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Daemon> d_[2];
};

}  // namespace ipsec::testing
