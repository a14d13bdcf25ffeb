#pragma once

// The REST API's router (docs/api.md): a pure request -> response function over the engine
// service (../shared/STYLE.md rule 12). It owns no socket and does no authentication (the HTTP
// layer checks the bearer token before calling it). Each resource's handlers live in their own
// file (policies, parts, assignment, filters, sas, config, health, policy_templates); the router
// matches the path, answers 404 / 405 (with Allow) / 400 for a malformed target or unknown query
// parameter, and never lets an exception escape.
//
// Thread-safe: Handle() may run on many threads at once (the service is thread-safe and the
// route table is immutable after construction).

#include <string>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/handlers/route_table.h"
#include "engine/service/engine_service.h"

namespace ipsec::api::handlers {

struct HandlerResult {
  Response response;
  // The matched route template ("/v1/policies/{name}/rules/{rule}"), or "unmatched" when no
  // route matched: a bounded label for metrics and logs.
  std::string route;
};

// One method on one route template, for the OpenAPI check and documentation.
struct RouteInfo {
  std::string method;         // "GET"
  std::string path_template;  // "/v1/policies/{name}"
  std::vector<std::string> query_params;
};

inline constexpr const char* kUnmatchedRoute = "unmatched";

class Router {
 public:
  // `service` is not owned and must outlive the router.
  explicit Router(engine::service::EngineService& service);

  HandlerResult Handle(const Request& request) const;

  // Every method and template served, in registration order.
  std::vector<RouteInfo> Routes() const;

 private:
  HandlerResult Dispatch(const Request& request) const;

  engine::service::EngineService& service_;
  RouteTable table_;
};

}  // namespace ipsec::api::handlers
