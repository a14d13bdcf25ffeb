#include "api/handlers/health.h"

#include "api/handlers/reply.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Response Healthz(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok, Json{{"status", "ok"}});
}

Response Readyz(const RequestContext& ctx) {
  if (ctx.service.Ready()) return JsonReply(ctx.request, status::ok, Json{{"ready", true}});
  return JsonReply(ctx.request, status::service_unavailable,
                   Json{{"ready", false}, {"reason", ctx.service.NotReadyReason()}});
}

}  // namespace

void AddHealthRoutes(RouteTable& table) {
  table.Add(beast_http::verb::get, "/healthz", Healthz);
  table.Add(beast_http::verb::get, "/readyz", Readyz);
}

}  // namespace ipsec::api::handlers
