#pragma once

// ApiMetrics: REST request counts and latencies, registered in a prometheus::Registry.
//
//   ipsec_api_requests_total{method, route, code}        counter
//   ipsec_api_request_duration_seconds{method, route}    histogram, 0.5 ms .. 5 s
//
// Labels stay bounded whatever clients send: method is one of GET HEAD POST PUT PATCH DELETE
// OPTIONS or "other"; route is the router's template ("/v1/policies/{name}", never a raw path),
// and beyond kMaxRoutes distinct templates (or one longer than kMaxRouteLength) it is "other";
// code is the status (100..599) or "other".
//
// Thread-safe: ObserveRequest may be called from any thread.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace ipsec::sidecar::metrics {

class ApiMetrics {
 public:
  static constexpr size_t kMaxRoutes = 64;
  static constexpr size_t kMaxRouteLength = 128;

  // Registers the families in `registry` (not owned; must outlive this object).
  explicit ApiMetrics(prometheus::Registry& registry);
  ApiMetrics(const ApiMetrics&) = delete;
  ApiMetrics& operator=(const ApiMetrics&) = delete;

  void ObserveRequest(std::string_view method, std::string_view route, int code, double seconds);

  static const prometheus::Histogram::BucketBoundaries& Buckets();

 private:
  // Must hold mu_.
  std::string RouteLabelLocked(std::string_view route);

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  std::mutex mu_;
  std::map<std::string, bool, std::less<>> routes_;  // guarded by mu_: the templates seen
  // Guarded by mu_. The metrics themselves are owned by their families and thread-safe.
  std::map<std::tuple<std::string, std::string, std::string>, prometheus::Counter*> counters_;
  std::map<std::pair<std::string, std::string>, prometheus::Histogram*> histograms_;
};

}  // namespace ipsec::sidecar::metrics
