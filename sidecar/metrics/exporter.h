#pragma once

// Exporter: the Prometheus endpoint (GET /metrics, no authentication, its own listen address,
// ../../docs/api.md). It owns a prometheus::Exposer (civetweb threads) and a Registry, and
// serves:
//   ipsec_build_info{version, commit} 1
//   the API's request metrics (api_metrics.h), fed through ObserveRequest
//   ipsec_events_total{type} (event_counter.h), fed through events()
//   the engine's policy and IKE figures (service_collector.h), read at scrape time
//
// Lifetime: the service passed in must outlive the Exporter. Destroying the Exporter stops the
// listener (in tens of milliseconds: listener_waker.h) before anything it reads goes away.
// Thread-safe: every method may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/common/result.h"
#include "engine/service/engine_service.h"
#include "engine/telemetry/event.h"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace ipsec::sidecar::metrics {

class ApiMetrics;
class EventCounter;
class ServiceCollector;

// The release version (the CMake project version).
const char* BuildVersion();

class Exporter {
 public:
  struct Options {
    std::string listen = "0.0.0.0:9090";  // host:port, "[v6]:port"; port 0 picks a free one
    std::string version;                  // empty: BuildVersion()
    std::string commit = "unknown";       // the build's commit
    // Not owned; must outlive the Exporter. nullptr: no engine metrics (tests, early start-up).
    const engine::service::EngineService* service = nullptr;
    int threads = 2;  // civetweb worker threads
  };

  // Registers the metrics and starts listening. kUnavailable (naming the address) when the
  // address cannot be bound; kInvalidArgument for a malformed address.
  static Result<std::unique_ptr<Exporter>> Start(Options options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // The bound port (the real one when Options::listen asked for port 0).
  uint16_t port() const { return port_; }

  // One REST request: method, route template ("/v1/policies/{name}"), status, latency.
  void ObserveRequest(std::string_view method, std::string_view route, int code, double seconds);

  // A sink counting events by type; add it to the daemon's event fan-out.
  engine::telemetry::EventSink& events();

  // The exposition text /metrics serves right now (for tests and diagnostics).
  std::string Scrape() const;

 private:
  Exporter();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ApiMetrics> api_;
  std::unique_ptr<EventCounter> events_;
  std::shared_ptr<ServiceCollector> service_collector_;  // null without a service
  uint16_t port_ = 0;
  std::string listen_host_;
  // Declared last: destroyed first, so no scrape runs while the rest is torn down.
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace ipsec::sidecar::metrics
