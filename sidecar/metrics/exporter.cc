#include "sidecar/metrics/exporter.h"

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <sstream>

#include "sidecar/metrics/api_metrics.h"
#include "sidecar/metrics/event_counter.h"
#include "sidecar/metrics/listener_waker.h"
#include "sidecar/metrics/service_collector.h"

#ifndef IPSEC_VERSION
#define IPSEC_VERSION "0.0.0"
#endif

namespace ipsec::sidecar::metrics {
namespace {

// civetweb takes "port", "host:port" or "[v6]:port"; reject the rest before it does, with a
// clearer message than its own.
Status CheckListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "metrics listen address '" + listen + "' is not host:port");
  }
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      return MakeError(ErrorCode::kInvalidArgument,
                       "metrics listen address '" + listen + "' has a bad port");
    }
  }
  return Status::Ok();
}

}  // namespace

const char* BuildVersion() { return IPSEC_VERSION; }

Exporter::Exporter() = default;

Exporter::~Exporter() {
  if (!exposer_) return;
  ListenerWaker waker(listen_host_, port_);  // stop in milliseconds, not civetweb's 2 s
  exposer_.reset();
}

Result<std::unique_ptr<Exporter>> Exporter::Start(Options options) {
  if (Status s = CheckListen(options.listen); !s.ok()) return s.error();
  std::unique_ptr<Exporter> e(new Exporter());
  try {
    e->registry_ = std::make_shared<prometheus::Registry>();
    prometheus::BuildGauge()
        .Name("ipsec_build_info")
        .Help("Build of the running ipsec-sidecar (always 1).")
        .Register(*e->registry_)
        .Add({{"version", options.version.empty() ? BuildVersion() : options.version},
              {"commit", options.commit.empty() ? "unknown" : options.commit}})
        .Set(1);
    e->api_ = std::make_unique<ApiMetrics>(*e->registry_);
    e->events_ = std::make_unique<EventCounter>(*e->registry_);
    if (options.service != nullptr) {
      e->service_collector_ = std::make_shared<ServiceCollector>(*options.service);
    }
    e->exposer_ = std::make_unique<prometheus::Exposer>(
        options.listen, static_cast<size_t>(options.threads > 0 ? options.threads : 1));
    e->exposer_->RegisterCollectable(e->registry_);
    if (e->service_collector_) e->exposer_->RegisterCollectable(e->service_collector_);
    const auto ports = e->exposer_->GetListeningPorts();
    if (ports.empty()) {
      return MakeError(ErrorCode::kUnavailable,
                       "metrics listener on " + options.listen + " reports no port");
    }
    e->port_ = static_cast<uint16_t>(ports.front());
    e->listen_host_ = options.listen.substr(0, options.listen.rfind(':'));
  } catch (const std::exception& ex) {  // civetweb throws when it cannot bind
    return MakeError(ErrorCode::kUnavailable,
                     "cannot serve metrics on " + options.listen + ": " + ex.what());
  }
  return e;
}

void Exporter::ObserveRequest(std::string_view method, std::string_view route, int code,
                              double seconds) {
  api_->ObserveRequest(method, route, code, seconds);
}

engine::telemetry::EventSink& Exporter::events() { return *events_; }

std::string Exporter::Scrape() const {
  auto families = registry_->Collect();
  if (service_collector_) {
    auto more = service_collector_->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace ipsec::sidecar::metrics
