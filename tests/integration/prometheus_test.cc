// A real Prometheus server (Debian's `prometheus`) scrapes two lab pods' sidecar exporters
// while traffic flows through ESP between them (issue 5, "Real Prometheus"): through the
// Prometheus HTTP API, the SA, negotiation and throughput series exist and move. The metric
// names the Grafana dashboard and the alert rules use are all in the live /metrics (no panel
// or alert on a metric that does not exist), every alert expression evaluates, and
// `promtool check rules` and `promtool check metrics` pass.
// Needs root, prometheus, promtool, curl, iperf3; fails naming what is missing.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "prometheus-test-psk-5b7e0f";
constexpr int kPrometheusPort = 9095;  // in the node namespace: no collision with the host

std::string Source(const std::string& relative) {
  std::ifstream in(std::string(IPSEC_SOURCE_DIR) + "/" + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Transport mode between the two pods, everything secured.
json Policy(const std::string& me, const std::string& peer) {
  return {{"name", "prom"},
          {"filter_lists",
           json::array({{{"name", "peer"},
                         {"filters", json::array({{{"source", me}, {"destination", peer}}})}}})},
          {"filter_actions",
           json::array({{{"name", "require"},
                         {"type", "negotiate"},
                         {"security_methods", json::array({{{"protocol", "esp"},
                                                            {"esp_encryption", "aes128gcm16"},
                                                            {"esp_integrity", "none"}}})}}})},
          {"rules", json::array({{{"name", "pods"},
                                  {"filter_list", "peer"},
                                  {"filter_action", "require"},
                                  {"auth_methods",
                                   json::array({{{"type", "psk"}, {"preshared_key", kPsk}}})}}})}};
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = MissingTool({"prometheus", "promtool", "curl", "iperf3", "ping"});
    ASSERT_TRUE(missing.empty()) << missing;
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
    for (int i = 0; i < 2; ++i) {
      d_[i] = std::make_unique<Daemon>(*lab_, i,
                                       Daemon::Options{.extra_args = {"--dataplane=userspace"}});
      ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
      CommandResult put = d_[i]->Http("PUT", "/v1/policies/prom",
                                      Policy(lab_->PodV4(i), lab_->PodV4(1 - i)).dump());
      ASSERT_TRUE(put.out.rfind("200", 0) == 0 || put.out.rfind("201", 0) == 0) << put.out;
      CommandResult assign = d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "prom"})");
      ASSERT_EQ(assign.out.rfind("200", 0), 0u) << assign.out;
    }
    // Prometheus in the node namespace, which reaches both pods' exporters.
    const std::string config = dir_.path() + "/prometheus.yml";
    WriteFile(config,
              "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
              "scrape_configs:\n  - job_name: ipsec\n    static_configs:\n"
              "      - targets: ['" +
                  lab_->PodV4(0) + ":9090', '" + lab_->PodV4(1) + ":9090']\n");
    prometheus_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{
            "ip", "netns", "exec", lab_->node(), "prometheus", "--config.file=" + config,
            "--storage.tsdb.path=" + dir_.path() + "/tsdb",
            "--web.listen-address=127.0.0.1:" + std::to_string(kPrometheusPort),
            "--log.level=warn"},
        dir_.path() + "/prometheus.log");
    ASSERT_TRUE(WaitFor([&] { return Query("up == 1").size() == 2; }, 30s))
        << "Prometheus did not scrape both pods:\n"
        << ReadFile(dir_.path() + "/prometheus.log");
  }

  // The instant vector of `promql` (Prometheus HTTP API /api/v1/query); empty on any error.
  json Query(const std::string& promql) {
    CommandResult r = lab_->Exec(
        lab_->node(), {"curl", "-sS", "--max-time", "5", "-G",
                       "http://127.0.0.1:" + std::to_string(kPrometheusPort) + "/api/v1/query",
                       "--data-urlencode", "query=" + promql});
    json j = json::parse(r.out, nullptr, false);
    last_query_ = r.out.substr(0, 500);
    if (!j.is_object() || j.value("status", "") != "success") return json::array();
    return j["data"]["result"];
  }
  // The sum of an instant vector's sample values.
  double Sum(const std::string& promql) {
    double total = 0;
    for (const auto& s : Query(promql)) total += std::stod(s["value"][1].get<std::string>());
    return total;
  }

  TempDir dir_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> d_[2];
  std::unique_ptr<BackgroundProcess> prometheus_;
  std::string last_query_;
};

TEST_F(PrometheusTest, SaNegotiationAndThroughputSeriesExistAndMove) {
  // Every condition below is reached asynchronously (the daemons negotiate, Prometheus scrapes
  // each target on its own schedule): each is waited for, per sidecar where it is per sidecar,
  // never assumed after a pause or after another target's sample arrived.
  // Traffic: the first ping negotiates (acquire), then a TCP stream for a few scrapes.
  CommandResult ping =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "5", "-i", "0.2", "-W", "2", lab_->PodV4(1)});
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err << d_[0]->Log();
  ASSERT_TRUE(WaitFor([&] { return Query("ipsec_child_sas_active > 0").size() == 2; }, 15s))
      << "child SAs never showed in Prometheus for both sidecars: " << last_query_;
  EXPECT_TRUE(WaitFor([&] { return Query("ipsec_ike_sas_active > 0").size() == 2; }, 10s))
      << last_query_;
  EXPECT_TRUE(WaitFor(
      [&] { return Sum(R"(sum(ipsec_ike_negotiations_total{result="success"}))") >= 2; }, 10s))
      << last_query_;
  const double before = Sum("sum(ipsec_child_sa_bytes_total)");

  BackgroundProcess server({"ip", "netns", "exec", lab_->pod(1), "iperf3", "-s", "-1"},
                           dir_.path() + "/iperf-server.log");
  ASSERT_TRUE(WaitForTcpListener(lab_->pod(1), 5201))
      << "iperf3 -s did not listen: " << ReadFile(dir_.path() + "/iperf-server.log");
  CommandResult iperf =
      lab_->Exec(lab_->pod(0), {"iperf3", "-c", lab_->PodV4(1), "-t", "4"}, "", 30s);
  ASSERT_EQ(iperf.exit_code, 0) << iperf.out << iperf.err;
  // Throughput moved: the counters grew, and rates over the stream are positive, per rule and
  // peer and for the data path as a whole (a 30 s window: the stream's samples stay in it
  // however late the scrapes that follow come).
  ASSERT_TRUE(WaitFor([&] { return Sum("sum(ipsec_child_sa_bytes_total)") > before + 1e6; }, 10s))
      << "ipsec_child_sa_bytes_total did not grow past " << before << ": " << last_query_;
  EXPECT_TRUE(WaitFor(
      [&] { return Sum(R"(sum(rate(ipsec_child_sa_bytes_total{rule="pods"}[30s])))") > 0; }))
      << last_query_;
  EXPECT_TRUE(WaitFor([&] {
    return Sum(R"(sum(rate(ipsec_dataplane_bytes_total{direction="outbound"}[30s])))") > 0;
  })) << last_query_;
  EXPECT_TRUE(WaitFor([&] {
    return Sum(R"(sum(rate(ipsec_dataplane_packets_total{direction="inbound"}[30s])))") > 0;
  })) << last_query_;
  EXPECT_TRUE(WaitFor([&] {
    return Query(R"(ipsec_child_sa_bytes_total{rule="pods", direction="outbound"})").size() == 2;
  })) << last_query_;
  // The soonest hard expiry per rule, from both sidecars once both have been scraped with it:
  // the policy's 3600 s default lifetime, counting down.
  json expiry;
  ASSERT_TRUE(WaitFor([&] {
    expiry = Query(R"(ipsec_rule_child_sa_expiry_seconds{rule="pods"})");
    return expiry.size() == 2;
  })) << "ipsec_rule_child_sa_expiry_seconds not scraped from both sidecars: " << last_query_;
  for (const auto& e : expiry) {
    const double left = std::stod(e["value"][1].get<std::string>());
    EXPECT_GT(left, 3000);
    EXPECT_LE(left, 3600);
  }
  // Negotiation latency is a histogram with observations.
  EXPECT_TRUE(WaitFor(
      [&] { return Sum("sum(ipsec_ike_negotiation_duration_seconds_count)") > 0; }))
      << last_query_;
}

// Metric names the dashboard and the rules use, against what the exporters really export.
TEST_F(PrometheusTest, DashboardAndAlertsNameOnlyExportedMetricsAndEvaluate) {
  CommandResult ping =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.2", "-W", "2", lab_->PodV4(1)});
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  std::set<std::string> exported;
  for (int i = 0; i < 2; ++i) {
    CommandResult scrape = lab_->Exec(lab_->node(), {"curl", "-sS", "--max-time", "10",
                                                     "http://" + lab_->PodV4(i) + ":9090/metrics"});
    ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
    CommandResult lint = ipsec::testing::Run({"promtool", "check", "metrics"}, scrape.out);
    EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
    std::regex type_line(R"(# TYPE (ipsec_[a-z0-9_]+) (\w+))");
    for (auto it = std::sregex_iterator(scrape.out.begin(), scrape.out.end(), type_line);
         it != std::sregex_iterator(); ++it) {
      exported.insert((*it)[1]);
      if ((*it)[2] == "histogram") {
        for (const char* suffix : {"_bucket", "_sum", "_count"})
          exported.insert((*it)[1].str() + suffix);
      }
    }
  }
  ASSERT_GT(exported.size(), 20u);
  std::regex name(R"(ipsec_[a-z0-9_]+)");
  int checked = 0;
  for (const char* file :
       {"deploy/grafana/ipsec-sidecar-dashboard.json", "deploy/base/prometheusrule.yaml",
        "charts/ipsec-sidecar/files/prometheus-rules.yaml"}) {
    std::string text = Source(file);
    ASSERT_FALSE(text.empty()) << file;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name);
         it != std::sregex_iterator(); ++it) {
      const std::string n = it->str();
      if (n == "ipsec_sidecar") continue;  // the dashboard's and rule group's own names
      EXPECT_TRUE(exported.count(n)) << file << " names " << n << ", which no sidecar exports";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);

  // The rules file is valid for Prometheus, and every expression evaluates on live data.
  CommandResult rules = ipsec::testing::Run(
      {"promtool", "check", "rules",
       std::string(IPSEC_SOURCE_DIR) + "/charts/ipsec-sidecar/files/prometheus-rules.yaml"});
  EXPECT_EQ(rules.exit_code, 0) << rules.out << rules.err;
  std::regex expr_line(R"(expr: (?:\|\n((?:\s{12,}.*\n)+)|(.*)\n))");
  std::string text = Source("deploy/base/prometheusrule.yaml");
  int evaluated = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), expr_line);
       it != std::sregex_iterator(); ++it) {
    std::string expr = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
    CommandResult r = lab_->Exec(
        lab_->node(), {"curl", "-sS", "--max-time", "5", "-G",
                       "http://127.0.0.1:" + std::to_string(kPrometheusPort) + "/api/v1/query",
                       "--data-urlencode", "query=" + expr});
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.value("status", "") == "success")
        << "alert expression does not evaluate: " << expr << "\n"
        << r.out;
    ++evaluated;
  }
  EXPECT_EQ(evaluated, 7);
}

}  // namespace
}  // namespace ipsec::testing
