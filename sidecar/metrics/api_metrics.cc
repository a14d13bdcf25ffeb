#include "sidecar/metrics/api_metrics.h"

#include <array>
#include <cctype>

namespace ipsec::sidecar::metrics {
namespace {

constexpr std::array<std::string_view, 7> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};

std::string MethodLabel(std::string_view method) {
  std::string upper(method);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string_view m : kMethods) {
    if (upper == m) return upper;
  }
  return "other";
}

std::string CodeLabel(int code) {
  return code >= 100 && code <= 599 ? std::to_string(code) : "other";
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& ApiMetrics::Buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  return kBuckets;
}

ApiMetrics::ApiMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("ipsec_api_requests_total")
                    .Help("REST API requests by method, route template and status code.")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("ipsec_api_request_duration_seconds")
                     .Help("REST API request latency by method and route template, from the "
                           "request read to the response written.")
                     .Register(registry)) {}

std::string ApiMetrics::RouteLabelLocked(std::string_view route) {
  if (route.empty()) return "none";
  if (route.size() > kMaxRouteLength) return "other";
  if (routes_.find(route) != routes_.end()) return std::string(route);
  if (routes_.size() >= kMaxRoutes) return "other";
  routes_.emplace(std::string(route), true);
  return std::string(route);
}

void ApiMetrics::ObserveRequest(std::string_view method, std::string_view route, int code,
                                double seconds) {
  std::string m = MethodLabel(method);
  std::string c = CodeLabel(code);
  prometheus::Counter* counter = nullptr;
  prometheus::Histogram* histogram = nullptr;
  {
    std::lock_guard lock(mu_);
    std::string r = RouteLabelLocked(route);
    auto& slot = counters_[{m, r, c}];
    if (slot == nullptr) slot = &requests_.Add({{"method", m}, {"route", r}, {"code", c}});
    counter = slot;
    auto& hslot = histograms_[{m, r}];
    if (hslot == nullptr) hslot = &durations_.Add({{"method", m}, {"route", r}}, Buckets());
    histogram = hslot;
  }
  counter->Increment();
  histogram->Observe(seconds < 0 ? 0 : seconds);
}

}  // namespace ipsec::sidecar::metrics
