// libFuzzer target: bytes as the body of the REST API's policy writes, through the handler path
// a request takes (api/handlers' Router over a real EngineService with an in-memory store):
// JSON or YAML parse -> JSON -> policy model (api/dto) -> validation -> compile into the filter
// table and classifier (engine/policy).
//
// Input: octet 0 picks the request (low 3 bits) and the body's content type (bit 3: YAML);
// the rest is the body.
//   0 POST /v1/policies                          1 PUT /v1/policies/p
//   2 PUT /v1/policies/base/rules/r              3 PUT /v1/policies/base/filter-lists/f
//   4 PUT /v1/policies/base/filter-actions/a     5 PUT /v1/policies/base/default-response-rule
//   6 POST /v1/policies/base/rules               7 PUT /v1/assignment
// Invariants (abort = finding):
//  - the answer is a clear error (4xx with a JSON body naming an error code) or a success;
//    never a crash, a 5xx, or an answer that is not JSON;
//  - an accepted policy round-trips: its GET shape equals what the write answered, the stored
//    model survives JSON (with keys) -> model unchanged, and the GET shape parsed again gives
//    the same model (when it holds no preshared key, which the API redacts);
//  - an accepted policy validates, compiles (CompilePolicy never fails on it), builds a
//    classifier, and can be assigned (put in force) with a 200.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/dto/policy_json.h"
#include "api/handlers/route_table.h"
#include "api/handlers/router.h"
#include "engine/policy/classifier.h"
#include "engine/policy/compiler.h"
#include "engine/policy/validate.h"
#include "engine/service/engine_service.h"
#include "tests/support/fake_persistence.h"

namespace {

namespace http = boost::beast::http;
namespace dto = ipsec::api::dto;
namespace policy = ipsec::engine::policy;
using ipsec::IpAddress;
using Json = nlohmann::json;

[[noreturn]] void Fail(const std::string& what, const std::string& detail = "") {
  std::fprintf(stderr, "policy_json invariant broken: %s\n%s\n", what.c_str(), detail.c_str());
  std::abort();
}

// The pod of the handler tests (tests/support/api_harness.h): eth0 10.99.1.2/24 and
// fd00:99:1::2/64; the kubelet probes from 10.99.0.1.
policy::CompileContext PodContext() {
  policy::CompileContext c;
  policy::PodInterface eth0;
  eth0.name = "eth0";
  eth0.addresses.push_back({*IpAddress::Parse("10.99.1.2"), 24});
  eth0.addresses.push_back({*IpAddress::Parse("fd00:99:1::2"), 64});
  c.interfaces.push_back(eth0);
  c.node_address = IpAddress::Parse("10.99.0.1");
  return c;
}

// A policy with one of each part, for the part-level routes.
constexpr const char* kBase = R"({
  "name": "base",
  "filter_lists": [{"name": "f0", "filters": [{"source": "me", "destination": "10.99.2.0/24",
                                               "protocol": "tcp", "destination_ports": 5432}]}],
  "filter_actions": [{"name": "a0", "type": "negotiate"}],
  "rules": [{"name": "r0", "filter_list": "f0", "filter_action": "a0",
             "auth_methods": [{"type": "psk", "preshared_key": "k"}]}]
})";

class Api {
 public:
  Api() {
    ipsec::engine::service::EngineService::Options options;
    options.persistence = &persistence_;
    options.context = PodContext();
    service_ = std::make_unique<ipsec::engine::service::EngineService>(std::move(options));
    router_ = std::make_unique<ipsec::api::handlers::Router>(*service_);
  }

  http::response<http::string_body> Call(http::verb method, const std::string& target,
                                         const std::string& body = "",
                                         const char* content_type = "application/json") {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    return router_->Handle(req).response;
  }

  ipsec::engine::service::EngineService& service() { return *service_; }

 private:
  ipsec::testing::FakePersistence persistence_;
  std::unique_ptr<ipsec::engine::service::EngineService> service_;
  std::unique_ptr<ipsec::api::handlers::Router> router_;
};

Json ParseBody(const http::response<http::string_body>& res, const std::string& what) {
  Json j = Json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) Fail(what + ": the answer is not JSON", res.body());
  return j;
}

// The policy `name` as stored must round-trip, validate, compile and go in force.
void CheckAccepted(Api& api, const std::string& name) {
  auto stored = api.service().GetPolicy(name);
  if (!stored.ok()) Fail("an accepted policy is not stored: " + name);
  const policy::Policy& p = stored->policy;
  // Its address as the API writes it (Location): the name percent-encoded as a path segment.
  auto get = api.Call(http::verb::get,
                      "/v1/policies/" + ipsec::api::handlers::PercentEncodeSegment(name));
  if (get.result() != http::status::ok) Fail("GET of an accepted policy fails", get.body());
  const Json shape = ParseBody(get, "GET");
  if (shape != dto::PolicyToJson(p, dto::SecretMode::kRedact)) {
    Fail("GET does not show the stored policy", get.body());
  }
  auto again = dto::PolicyFromJson(dto::PolicyToJson(p, dto::SecretMode::kInclude));
  if (!again.ok() || !(*again == p)) {
    Fail("the stored policy does not survive JSON -> model",
         again.ok() ? dto::PolicyToJson(*again, dto::SecretMode::kRedact).dump()
                    : again.error().ToString());
  }
  if (get.body().find("<redacted>") == std::string::npos) {
    auto parsed = dto::PolicyFromJson(shape);
    if (!parsed.ok() || !(*parsed == p)) {
      Fail("the GET shape parsed again differs from the stored policy",
           parsed.ok() ? "" : parsed.error().ToString());
    }
  }
  if (auto s = policy::ValidatePolicy(p); !s.ok()) {
    Fail("an accepted policy does not validate: " + s.error().ToString());
  }
  auto table = policy::CompilePolicy(p, PodContext());
  if (!table.ok()) Fail("a validated policy does not compile: " + table.error().ToString());
  policy::Classifier classifier(std::move(*table));
  auto assign = api.Call(http::verb::put, "/v1/assignment", Json{{"policy", name}}.dump());
  if (assign.result() != http::status::ok)
    Fail("an accepted policy cannot be assigned", assign.body());
}

void CheckAnswer(const http::response<http::string_body>& res, const std::string& what) {
  const unsigned code = res.result_int();
  if (code >= 500) Fail(what + ": answered " + std::to_string(code), res.body());
  if (code == 204) return;
  const Json j = ParseBody(res, what);
  if (code >= 400 && !(j.contains("error") && j["error"].is_object() &&
                       j["error"].contains("code") && j["error"]["code"].is_string())) {
    Fail(what + ": an error without a code", res.body());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Api* api = new Api();  // one service for the process; emptied after every input
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const char* type = mode & 8 ? "application/yaml" : "application/json";
  auto base = api->Call(http::verb::post, "/v1/policies", kBase);
  if (base.result() != http::status::created) Fail("the base policy is refused", base.body());

  static const struct {
    http::verb method;
    const char* target;
    const char* policy;  // the policy the write changes ("": the body names it)
  } kRoutes[] = {
      {http::verb::post, "/v1/policies", ""},
      {http::verb::put, "/v1/policies/p", "p"},
      {http::verb::put, "/v1/policies/base/rules/r", "base"},
      {http::verb::put, "/v1/policies/base/filter-lists/f", "base"},
      {http::verb::put, "/v1/policies/base/filter-actions/a", "base"},
      {http::verb::put, "/v1/policies/base/default-response-rule", "base"},
      {http::verb::post, "/v1/policies/base/rules", "base"},
      {http::verb::put, "/v1/assignment", ""},
  };
  const auto& route = kRoutes[mode % 8];
  auto res = api->Call(route.method, route.target, body, type);
  CheckAnswer(res, route.target);
  if (res.result_int() < 300 && mode % 8 != 7) {
    std::string name = route.policy;
    if (name.empty()) {
      const Json j = ParseBody(res, route.target);
      if (!j.contains("name") || !j["name"].is_string()) Fail("a created policy without a name");
      name = j["name"].get<std::string>();
    }
    CheckAccepted(*api, name);
  }
  // Back to an empty store (FAQ 44: remove all local policy) for the next input.
  CheckAnswer(api->Call(http::verb::delete_, "/v1/assignment"), "DELETE /v1/assignment");
  auto cleared = api->Call(http::verb::delete_, "/v1/policies");
  if (cleared.result() != http::status::ok) Fail("the store cannot be emptied", cleared.body());
  return 0;
}
