#pragma once

// Drives api/handlers' Router in-process: a real EngineService over an in-memory
// FakePersistence, requests built as Beast messages (no sockets). Every response is checked for
// the watched secrets (preshared keys are write-only: no response may carry one). Header-only;
// link the test with ipsec_handlers.

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/handlers/router.h"
#include "engine/service/engine_service.h"
#include "tests/support/fake_persistence.h"

namespace ipsec::testing {

namespace beast_http = boost::beast::http;
using HttpRequest = beast_http::request<beast_http::string_body>;
using HttpResponse = beast_http::response<beast_http::string_body>;

// The pod of the handler tests: eth0 with 10.99.1.2/24 and fd00:99:1::2/64; the kubelet probes
// from node 10.99.0.1.
inline engine::policy::CompileContext PodContext() {
  engine::policy::CompileContext c;
  engine::policy::PodInterface eth0;
  eth0.name = "eth0";
  eth0.addresses.push_back({*IpAddress::Parse("10.99.1.2"), 24});
  eth0.addresses.push_back({*IpAddress::Parse("fd00:99:1::2"), 64});
  c.interfaces.push_back(eth0);
  c.node_address = IpAddress::Parse("10.99.0.1");
  return c;
}

class ApiHarness {
 public:
  explicit ApiHarness(engine::policy::CompileContext context = PodContext()) {
    engine::service::EngineService::Options options;
    options.persistence = &persistence_;
    options.events = &events_;
    options.context = std::move(context);
    service_ = std::make_unique<engine::service::EngineService>(std::move(options));
    router_ = std::make_unique<api::handlers::Router>(*service_);
  }

  api::handlers::HandlerResult Call(
      beast_http::verb method, const std::string& target, const std::string& body = "",
      const std::string& content_type = "application/json",
      std::initializer_list<std::pair<beast_http::field, std::string>> headers = {}) {
    HttpRequest req{method, target, 11};
    req.set(beast_http::field::host, "127.0.0.1");
    if (!body.empty() && !content_type.empty()) {
      req.set(beast_http::field::content_type, content_type);
    }
    for (const auto& [field, value] : headers) req.set(field, value);
    req.body() = body;
    req.prepare_payload();
    api::handlers::HandlerResult result = router_->Handle(req);
    for (const auto& secret : secrets_) {
      if (result.response.body().find(secret) != std::string::npos) {
        ADD_FAILURE() << "the response to " << target << " carries the secret '" << secret
                      << "': " << result.response.body();
      }
    }
    return result;
  }

  // A preshared key no response may show. kSecret is watched from the start.
  static constexpr const char* kSecret = "hunter2-secret";
  void WatchSecret(std::string secret) { secrets_.push_back(std::move(secret)); }

  HttpResponse Get(const std::string& target) { return Call(beast_http::verb::get, target).response; }
  HttpResponse Post(const std::string& target, const std::string& body) {
    return Call(beast_http::verb::post, target, body).response;
  }
  HttpResponse Put(const std::string& target, const std::string& body) {
    return Call(beast_http::verb::put, target, body).response;
  }
  HttpResponse Delete(const std::string& target) {
    return Call(beast_http::verb::delete_, target).response;
  }

  engine::service::EngineService& service() { return *service_; }
  api::handlers::Router& router() { return *router_; }
  FakePersistence& persistence() { return persistence_; }
  RecordingEventSink& events() { return events_; }

 private:
  std::vector<std::string> secrets_ = {kSecret};
  FakePersistence persistence_;
  RecordingEventSink events_;
  std::unique_ptr<engine::service::EngineService> service_;
  std::unique_ptr<api::handlers::Router> router_;
};

// The body parsed as JSON (null when it is not JSON).
inline nlohmann::json BodyJson(const HttpResponse& res) {
  return nlohmann::json::parse(res.body(), nullptr, false);
}

inline int Code(const HttpResponse& res) { return static_cast<int>(res.result_int()); }

}  // namespace ipsec::testing
