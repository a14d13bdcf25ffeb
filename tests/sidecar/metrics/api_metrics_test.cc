#include "sidecar/metrics/api_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/sidecar/metrics/metrics_test_util.h"

namespace ipsec::sidecar::metrics {
namespace {

using testing::SampleValue;

std::string Text(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

// Series names of the exposition text.
std::string Requests(const std::string& code, const std::string& method, const std::string& route) {
  return "ipsec_api_requests_total{code=\"" + code + "\",method=\"" + method + "\",route=\"" +
         route + "\"}";
}
std::string Count(const std::string& method, const std::string& route) {
  return "ipsec_api_request_duration_seconds_count{method=\"" + method + "\",route=\"" + route +
         "\"}";
}
std::string Bucket(const std::string& method, const std::string& route, const std::string& le) {
  return "ipsec_api_request_duration_seconds_bucket{method=\"" + method + "\",route=\"" + route +
         "\",le=\"" + le + "\"}";
}

TEST(ApiMetricsTest, CountsByMethodRouteAndCode) {
  prometheus::Registry registry;
  ApiMetrics api(registry);
  const std::string route = "/v1/policies/{name}";
  api.ObserveRequest("GET", route, 200, 0.002);
  api.ObserveRequest("GET", route, 200, 0.004);
  api.ObserveRequest("get", route, 404, 0.001);
  api.ObserveRequest("PUT", route, 412, 0.3);
  const std::string text = Text(registry);
  EXPECT_EQ(SampleValue(text, Requests("200", "GET", route)), 2) << text;
  EXPECT_EQ(SampleValue(text, Requests("404", "GET", route)), 1);
  EXPECT_EQ(SampleValue(text, Requests("412", "PUT", route)), 1);
  EXPECT_EQ(SampleValue(text, Count("GET", route)), 3);
  EXPECT_EQ(SampleValue(text, Bucket("GET", route, "0.0025")), 2);
  EXPECT_EQ(SampleValue(text, Bucket("PUT", route, "0.25")), 0);
  EXPECT_EQ(SampleValue(text, Bucket("PUT", route, "0.5")), 1);
  EXPECT_EQ(SampleValue(text, Bucket("PUT", route, "+Inf")), 1);
}

TEST(ApiMetricsTest, BucketsSpanHalfAMillisecondToFiveSeconds) {
  const auto& b = ApiMetrics::Buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 5);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(ApiMetricsTest, LabelsStayBounded) {
  prometheus::Registry registry;
  ApiMetrics api(registry);
  api.ObserveRequest("BREW", "/v1/policies", 200, 0.001);  // unknown method
  api.ObserveRequest("GET", "/v1/policies", 999, 0.001);   // impossible code
  api.ObserveRequest("GET", "", 404, 0.001);               // no route matched
  api.ObserveRequest("GET", std::string(500, 'x'), 404, 0.001);
  for (size_t i = 0; i < ApiMetrics::kMaxRoutes + 50; ++i) {
    api.ObserveRequest("GET", "/r" + std::to_string(i), 200, 0.001);
  }
  const std::string text = Text(registry);
  EXPECT_TRUE(SampleValue(text, Requests("200", "other", "/v1/policies")));
  EXPECT_TRUE(SampleValue(text, Requests("other", "GET", "/v1/policies")));
  EXPECT_TRUE(SampleValue(text, Requests("404", "GET", "none")));
  EXPECT_TRUE(SampleValue(text, Requests("404", "GET", "other")));
  // 1 for /v1/policies, then new templates until the cap; the rest are "other".
  std::set<std::string> routes;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("ipsec_api_requests_total{", 0) != 0) continue;
    auto start = line.find("route=\"") + 7;
    routes.insert(line.substr(start, line.find('"', start) - start));
  }
  EXPECT_LE(routes.size(), ApiMetrics::kMaxRoutes + 2);  // + "none" and "other"
  EXPECT_TRUE(routes.count("other"));
}

TEST(ApiMetricsTest, ConcurrentObservations) {
  prometheus::Registry registry;
  ApiMetrics api(registry);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&api, t] {
      for (int i = 0; i < 1000; ++i) {
        api.ObserveRequest(t % 2 ? "GET" : "POST", "/v1/policies", 200 + (i % 2), 0.001);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string text = Text(registry);
  EXPECT_EQ(SampleValue(text, Count("GET", "/v1/policies")), 2000);
  EXPECT_EQ(SampleValue(text, Requests("201", "POST", "/v1/policies")), 1000);
}

}  // namespace
}  // namespace ipsec::sidecar::metrics
