#include "api/handlers/sas.h"

#include "api/handlers/reply.h"
#include "api/handlers/service_json.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Response GetSas(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok, SasToJson(ctx.service.ListSas()));
}

Response DeleteSa(const RequestContext& ctx) {
  if (Status s = ctx.service.DeleteSa(ctx.Param("id"), ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return NoContent(ctx.request);
}

Response GetStats(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok,
                   StatisticsToJson(ctx.service.GetStatistics(), ctx.service.Counters()));
}

}  // namespace

void AddSaRoutes(RouteTable& table) {
  using beast_http::verb;
  table.Add(verb::get, "/v1/sas", GetSas);
  table.Add(verb::delete_, "/v1/sas/{id}", DeleteSa);
  table.Add(verb::get, "/v1/stats", GetStats);
}

}  // namespace ipsec::api::handlers
