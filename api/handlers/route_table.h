#pragma once

// The route table behind Router: path templates ("/v1/policies/{name}/rules/{rule}") with one
// handler per method, matched against percent-decoded path segments. Knows nothing of the
// resources; each resource file adds its routes (policies.h, parts.h, ...).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "engine/common/result.h"
#include "engine/service/engine_service.h"

namespace ipsec::api::handlers {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// Everything a handler needs about one request. Valid only during the call.
struct RequestContext {
  engine::service::EngineService& service;
  const Request& request;
  std::string_view route;  // the matched template
  std::vector<std::pair<std::string, std::string>> params;  // {name} -> decoded segment
  std::vector<std::pair<std::string, std::string>> query;   // decoded, in order

  // The value of a path parameter of the route (empty if the route has none of that name).
  const std::string& Param(std::string_view name) const;
  // The last value of a query parameter.
  std::optional<std::string> Query(std::string_view name) const;
  // For the audit event: route "PUT /v1/policies/{name}", actor "api".
  engine::service::ChangeContext Change() const;
};

using RouteHandler = std::function<Response(const RequestContext&)>;

struct MethodHandler {
  beast_http::verb method = beast_http::verb::get;
  RouteHandler handler;
  std::vector<std::string> query_params;  // the query parameters this method accepts
};

struct Route {
  std::string path_template;
  std::vector<std::string> segments;  // "{name}" marks a parameter
  std::vector<MethodHandler> methods;

  const MethodHandler* Find(beast_http::verb method) const;
  std::string Allow() const;  // "GET, PUT"
};

class RouteTable {
 public:
  // Adds `method` on `path_template`; a template's methods are kept in the order added.
  void Add(beast_http::verb method, const std::string& path_template, RouteHandler handler,
           std::vector<std::string> query_params = {});

  // The route whose template matches `segments` (already percent-decoded), and its parameters.
  // Literal segments win over parameters at the same position.
  const Route* Match(const std::vector<std::string>& segments,
                     std::vector<std::pair<std::string, std::string>>& params) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// "/a/b%20c/" -> {"a", "b c"}: split on '/', percent-decode each segment ('+' stays '+'). A
// trailing slash is ignored. Fails on a malformed escape or a target that is not a path.
Result<std::vector<std::string>> SplitPath(std::string_view path);
// "a=1&b=x+y" -> {{"a","1"},{"b","x y"}} ('+' is a space in a query).
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);
// Percent-decoding; `plus_is_space` for query components.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Encodes a path segment (for Location headers): unreserved characters stay as they are.
std::string PercentEncodeSegment(std::string_view segment);

}  // namespace ipsec::api::handlers
