#include "sidecar/metrics/exporter.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/sidecar/metrics/metrics_test_util.h"
#include "tests/sidecar/metrics/service_fixture.h"
#include "tests/sidecar/temp_dir.h"

namespace ipsec::sidecar::metrics {
namespace {

using testing::HttpGet;
using testing::kCtx;
using testing::SampleValue;

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = testing::MakeService();
    Exporter::Options o;
    o.listen = "127.0.0.1:0";
    o.commit = "abc1234";
    o.service = service_.get();
    auto exporter = Exporter::Start(o);
    ASSERT_TRUE(exporter.ok()) << exporter.error().ToString();
    exporter_ = std::move(exporter).value();
    ASSERT_NE(exporter_->port(), 0);
  }

  std::string Scrape() {
    auto r = HttpGet(exporter_->port(), "/metrics");
    EXPECT_TRUE(r) << "no HTTP response from 127.0.0.1:" << exporter_->port();
    if (!r) return "";
    EXPECT_EQ(r->status, 200) << r->headers;
    return r->body;
  }

  std::unique_ptr<engine::service::EngineService> service_;
  std::unique_ptr<Exporter> exporter_;  // declared after the service: destroyed first
};

TEST_F(ExporterTest, ServesBuildInfoOverHttp) {
  const std::string text = Scrape();
  const std::string series =
      std::string("ipsec_build_info{commit=\"abc1234\",version=\"") + BuildVersion() + "\"}";
  EXPECT_EQ(SampleValue(text, series), 1) << text;
  EXPECT_NE(text.find("# TYPE ipsec_build_info gauge"), std::string::npos);
  EXPECT_NE(std::string(BuildVersion()), "0.0.0");
}

TEST_F(ExporterTest, ServesPolicyApiAndEventMetrics) {
  ASSERT_TRUE(service_->CreatePolicy(testing::WebPolicy("web"), kCtx).ok());
  ASSERT_TRUE(service_->AssignPodPolicy("web", kCtx).ok());
  exporter_->ObserveRequest("PUT", "/v1/assignment", 200, 0.004);
  exporter_->events().Emit({"audit.policy_change", engine::telemetry::Severity::kInfo, "x"});

  const std::string text = Scrape();
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_in_force_info{policy="web",scope="pod"})"), 1)
      << text;
  EXPECT_GT(*SampleValue(text, "ipsec_policy_rules_in_force"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_applies_total{result="success"})"), 2);
  EXPECT_EQ(
      SampleValue(text,
                  R"(ipsec_api_requests_total{code="200",method="PUT",route="/v1/assignment"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          text, R"(ipsec_api_request_duration_seconds_count{method="PUT",route="/v1/assignment"})"),
      1);
  EXPECT_EQ(SampleValue(text, R"(ipsec_events_total{type="audit.policy_change"})"), 1);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_sas_active"), 0);
  EXPECT_EQ(text.find("not-in-metrics"), std::string::npos);  // no preshared key, ever

  // Scrape-time values: a change shows on the next scrape without anything pushing it.
  ASSERT_TRUE(service_->UnassignPodPolicy(kCtx).ok());
  const std::string after = Scrape();
  EXPECT_EQ(after.find("ipsec_policy_in_force_info{"), std::string::npos);
  EXPECT_EQ(SampleValue(after, R"(ipsec_policy_applies_total{result="success"})"), 3);
  EXPECT_EQ(exporter_->Scrape().find("ipsec_policy_in_force_info{"), std::string::npos);
}

TEST_F(ExporterTest, OtherPathsAreNotServed) {
  auto r = HttpGet(exporter_->port(), "/v1/policies");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

// promtool is part of the test environment (Debian `prometheus`): a missing promtool is a
// failure, not a skip, so the lint can never silently stop running.
TEST_F(ExporterTest, PromtoolAcceptsTheExposition) {
  ASSERT_TRUE(testing::OnPath("promtool"))
      << "promtool is not installed (Debian package `prometheus`); it is required to lint "
         "the /metrics exposition";
  ASSERT_TRUE(service_->CreatePolicy(testing::WebPolicy("web"), kCtx).ok());
  ASSERT_TRUE(service_->AssignPodPolicy("web", kCtx).ok());
  exporter_->ObserveRequest("GET", "/v1/filters", 200, 0.01);
  exporter_->events().Emit({"policy.applied", engine::telemetry::Severity::kInfo, ""});
  const std::string text = Scrape();
  ASSERT_FALSE(text.empty());
  sidecar::testing::TempDir dir;
  auto r = testing::PromtoolCheckMetrics(text, dir.File("metrics.txt"));
  EXPECT_EQ(r.exit_code, 0) << "promtool check metrics failed:\n" << r.output << "\n---\n" << text;
  EXPECT_EQ(r.output, "") << r.output;
}

TEST(ExporterStartTest, ExporterWithoutAServiceServesTheRest) {
  Exporter::Options o;
  o.listen = "127.0.0.1:0";
  auto exporter = Exporter::Start(o);
  ASSERT_TRUE(exporter.ok()) << exporter.error().ToString();
  const std::string text = (*exporter)->Scrape();
  EXPECT_NE(text.find("ipsec_build_info{"), std::string::npos);
  EXPECT_EQ(text.find("ipsec_policy_rules_in_force"), std::string::npos);
  EXPECT_NE(text.find("commit=\"unknown\""), std::string::npos);
}

// civetweb alone needs up to 2 s to stop (listener_waker.h); the daemon's drain should not.
TEST(ExporterStartTest, StopsQuickly) {
  Exporter::Options o;
  o.listen = "127.0.0.1:0";
  auto exporter = Exporter::Start(o);
  ASSERT_TRUE(exporter.ok()) << exporter.error().ToString();
  const auto start = std::chrono::steady_clock::now();
  exporter = MakeError(ErrorCode::kInternal, "destroyed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
}

TEST(ExporterStartTest, BadOrBusyAddressesAreErrors) {
  for (const char* bad : {"", "9090", "127.0.0.1:", "127.0.0.1:http", ":"}) {
    Exporter::Options o;
    o.listen = bad;
    auto r = Exporter::Start(o);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  Exporter::Options first;
  first.listen = "127.0.0.1:0";
  auto a = Exporter::Start(first);
  ASSERT_TRUE(a.ok());
  Exporter::Options second;
  second.listen = "127.0.0.1:" + std::to_string((*a)->port());
  auto b = Exporter::Start(second);
  ASSERT_FALSE(b.ok()) << "two exporters bound the same port";
  EXPECT_EQ(b.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(b.error().message.find(second.listen), std::string::npos) << b.error().message;
}

}  // namespace
}  // namespace ipsec::sidecar::metrics
