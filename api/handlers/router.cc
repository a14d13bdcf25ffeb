#include "api/handlers/router.h"

#include <boost/core/demangle.hpp>
#include <exception>
#include <typeinfo>

#include "api/handlers/assignment.h"
#include "api/handlers/config.h"
#include "api/handlers/filters.h"
#include "api/handlers/health.h"
#include "api/handlers/parts.h"
#include "api/handlers/policies.h"
#include "api/handlers/policy_templates.h"
#include "api/handlers/reply.h"
#include "api/handlers/sas.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

// Whether `query` holds a parameter `method` does not take.
bool HasUnknownQueryParam(const std::vector<std::pair<std::string, std::string>>& query,
                          const MethodHandler& method) {
  for (const auto& [key, value] : query) {
    bool known = false;
    for (const auto& name : method.query_params) known = known || name == key;
    if (!known) return true;
  }
  return false;
}

}  // namespace

Router::Router(engine::service::EngineService& service) : service_(service) {
  AddHealthRoutes(table_);
  AddPolicyRoutes(table_);
  AddPartRoutes(table_);
  AddTemplateRoutes(table_);
  AddAssignmentRoutes(table_);
  AddFilterRoutes(table_);
  AddSaRoutes(table_);
  AddConfigRoutes(table_);
}

std::vector<RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  for (const Route& route : table_.routes()) {
    for (const MethodHandler& m : route.methods) {
      out.push_back(RouteInfo{std::string(beast_http::to_string(m.method)), route.path_template,
                              m.query_params});
    }
  }
  return out;
}

HandlerResult Router::Handle(const Request& request) const {
  try {
    return Dispatch(request);
  } catch (const std::exception& e) {
    // what() may hold request content (a parser's message): never repeated to the client nor
    // logged; the exception's type says which kind of bug it is.
    service_.ReportHandlerFailure(std::string(request.target().substr(
                                      0, request.target().find('?'))),
                                  boost::core::demangle(typeid(e).name()));
    return HandlerResult{StatusReply(request, status::internal_server_error, "internal",
                                     "internal error while serving the request"),
                         kUnmatchedRoute};
  } catch (...) {
    service_.ReportHandlerFailure(std::string(request.target().substr(
                                      0, request.target().find('?'))),
                                  "unknown");
    return HandlerResult{
        StatusReply(request, status::internal_server_error, "internal", "internal error"),
        kUnmatchedRoute};
  }
}

HandlerResult Router::Dispatch(const Request& request) const {
  std::string_view target = request.target();
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query_text =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  auto segments = SplitPath(path);
  if (!segments.ok()) return {ErrorReply(request, segments.error()), kUnmatchedRoute};
  std::vector<std::pair<std::string, std::string>> params;
  const Route* route = table_.Match(*segments, params);
  if (route == nullptr) {
    return {StatusReply(request, status::not_found, "not_found",
                        "no such route: " + std::string(path) + " (see docs/api.md)"),
            kUnmatchedRoute};
  }
  const MethodHandler* method = route->Find(request.method());
  if (method == nullptr) {
    Response res = StatusReply(request, status::method_not_allowed, "method_not_allowed",
                               std::string(request.method_string()) + " is not allowed on " +
                                   route->path_template + "; allowed: " + route->Allow());
    res.set(beast_http::field::allow, route->Allow());
    return {std::move(res), route->path_template};
  }
  auto query = ParseQuery(query_text);
  if (!query.ok()) return {ErrorReply(request, query.error()), route->path_template};
  if (HasUnknownQueryParam(*query, *method)) {
    // Its name is not repeated: the query is request content (docs/api.md, "Errors").
    std::string takes = method->query_params.empty() ? "none" : "";
    for (const auto& name : method->query_params) takes += (takes.empty() ? "" : ", ") + name;
    return {ErrorReply(request, MakeError(ErrorCode::kInvalidArgument,
                                          "unknown query parameter; this route takes: " + takes)),
            route->path_template};
  }
  RequestContext ctx{service_, request, route->path_template, std::move(params),
                     std::move(query).value()};
  return {method->handler(ctx), route->path_template};
}

}  // namespace ipsec::api::handlers
