#include "api/handlers/filters.h"

#include "api/dto/filter_table_json.h"
#include "api/handlers/reply.h"
#include "api/handlers/request_body.h"
#include "api/handlers/service_json.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Result<bool> ParseBoolQuery(const std::optional<std::string>& value, const char* name) {
  if (!value || *value == "false" || *value == "0") return false;
  if (value->empty() || *value == "true" || *value == "1") return true;
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string("query parameter '") + name + "' is true or false (or 1 or 0)");
}

Response GetFilters(const RequestContext& ctx) {
  auto specific = ParseBoolQuery(ctx.Query("specific"), "specific");
  if (!specific.ok()) return ErrorReply(ctx.request, specific.error());
  auto effective = ctx.service.GetEffective();
  dto::TableInfo info;
  if (effective->policy) info.policy = effective->policy->name;
  info.scope = effective->scope;
  info.generation = effective->generation;
  return JsonReply(ctx.request, status::ok,
                   dto::FilterTableToJson(effective->classifier->table(), info, *specific));
}

Response PostMatch(const RequestContext& ctx) {
  auto body =
      DecodeBody<dto::MatchRequest>(ctx.request, BodyFormat::kJson, dto::MatchRequestFromJson);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  const dto::MatchRequest& packet = std::get<dto::MatchRequest>(body);
  return JsonReply(ctx.request, status::ok,
                   MatchResultToJson(ctx.service.Match(packet.Key())));
}

}  // namespace

void AddFilterRoutes(RouteTable& table) {
  using beast_http::verb;
  table.Add(verb::get, "/v1/filters", GetFilters, {"specific"});
  table.Add(verb::post, "/v1/match", PostMatch);
}

}  // namespace ipsec::api::handlers
