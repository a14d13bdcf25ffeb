#include "sidecar/metrics/service_collector.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "sidecar/metrics/event_counter.h"
#include "tests/sidecar/metrics/metrics_test_util.h"
#include "tests/sidecar/metrics/service_fixture.h"

namespace ipsec::sidecar::metrics {
namespace {

using testing::kCtx;
using testing::SampleValue;
using testing::WebPolicy;

std::string Text(const prometheus::Collectable& c) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, c.Collect());
  return out.str();
}

TEST(ServiceCollectorTest, NoPolicyInForce) {
  auto service = testing::MakeService();
  ServiceCollector collector(*service);
  const std::string text = Text(collector);
  EXPECT_EQ(SampleValue(text, "ipsec_ready"), 0);
  EXPECT_EQ(SampleValue(text, "ipsec_policy_rules_in_force"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_filters{kind="generic"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_applies_total{result="success"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_applies_total{result="persist_failed"})"), 0);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_sas_active"), 0);
  EXPECT_EQ(SampleValue(text, "ipsec_child_sas_active"), 0);
  EXPECT_EQ(text.find("ipsec_policy_in_force_info{"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ipsec_policy_in_force_info gauge"), std::string::npos);
}

TEST(ServiceCollectorTest, ValuesAreReadAtScrapeTime) {
  auto service = testing::MakeService();
  ServiceCollector collector(*service);
  const double generation_before = *SampleValue(Text(collector), "ipsec_policy_generation");

  ASSERT_TRUE(service->CreatePolicy(WebPolicy("web"), kCtx).ok());
  ASSERT_TRUE(service->AssignPodPolicy("web", kCtx).ok());
  engine::policy::Policy bad = WebPolicy("bad");
  bad.rules.at(0).filter_list = "missing";
  EXPECT_FALSE(service->CreatePolicy(bad, kCtx).ok());
  service->SetReady(true);

  const std::string text = Text(collector);
  const auto c = service->Counters();
  EXPECT_EQ(SampleValue(text, "ipsec_ready"), 1);
  EXPECT_EQ(SampleValue(text, "ipsec_policy_rules_in_force"), c.rules_in_force);
  EXPECT_GT(c.rules_in_force, 0u);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_filters{kind="generic"})"), c.filters_generic);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_filters{kind="specific"})"), c.filters_specific);
  EXPECT_GT(c.filters_specific, 0u);
  EXPECT_GT(*SampleValue(text, "ipsec_policy_generation"), generation_before);
  EXPECT_EQ(SampleValue(text, "ipsec_policy_conflicts_resolved"), c.conflicts_resolved);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_applies_total{result="success"})"), 2);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_applies_total{result="invalid"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(ipsec_policy_in_force_info{policy="web",scope="pod"})"), 1);
  EXPECT_GE(*SampleValue(text, "ipsec_policy_compile_duration_seconds"), 0);
  EXPECT_GT(*SampleValue(text, "ipsec_policy_compiled_timestamp_seconds"), 1.7e9);
  EXPECT_EQ(text.find("not-in-metrics"), std::string::npos);
}

TEST(EventCounterTest, CountsByTypeWithABound) {
  prometheus::Registry registry;
  EventCounter counter(registry);
  counter.Emit({"policy.applied", engine::telemetry::Severity::kInfo, ""});
  counter.Emit({"policy.applied", engine::telemetry::Severity::kInfo, ""});
  counter.Emit({"", engine::telemetry::Severity::kInfo, ""});
  for (size_t i = 0; i < EventCounter::kMaxTypes + 10; ++i) {
    counter.Emit({"generated." + std::to_string(i), engine::telemetry::Severity::kInfo, ""});
  }
  const std::string text = Text(registry);
  EXPECT_EQ(SampleValue(text, R"(ipsec_events_total{type="policy.applied"})"), 2);
  EXPECT_EQ(SampleValue(text, R"(ipsec_events_total{type="none"})"), 1);
  EXPECT_GE(*SampleValue(text, R"(ipsec_events_total{type="other"})"), 10);
  size_t series = 0;
  for (size_t pos = text.find("ipsec_events_total{"); pos != std::string::npos;
       pos = text.find("ipsec_events_total{", pos + 1)) {
    ++series;
  }
  EXPECT_LE(series, EventCounter::kMaxTypes + 1);
}

}  // namespace
}  // namespace ipsec::sidecar::metrics
