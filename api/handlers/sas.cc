#include "api/handlers/sas.h"

#include <optional>
#include <string>

#include "api/dto/json_reader.h"
#include "api/handlers/reply.h"
#include "api/handlers/request_body.h"
#include "api/handlers/service_json.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Response GetSas(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok, SasToJson(ctx.service.ListSas()));
}

struct InitiateRequest {
  std::string rule;
  std::optional<IpAddress> peer;
};

// {"rule": "<rule name>", "peer": "<ip>"} (peer optional: the rule's tunnel endpoint).
Result<InitiateRequest> InitiateRequestFromJson(const Json& j) {
  InitiateRequest out;
  dto::ObjectReader r(j, "", "SA initiation");
  r.String("rule", out.rule, dto::ObjectReader::kRequired);
  r.Field("peer", [&](const Json& v, const std::string& path) -> Status {
    auto text = dto::ReadString(v, path);
    if (!text.ok()) return text.error();
    auto ip = IpAddress::Parse(*text);
    if (!ip) return dto::InvalidAt(path, "the value is not an IP address");
    out.peer = *ip;
    return Status::Ok();
  });
  if (Status s = r.Finish(); !s.ok()) return s.error();
  if (out.rule.empty()) return dto::InvalidAt("/rule", "the rule name is empty");
  return out;
}

// POST /v1/sas: 201 {"id": "ike-<n>"}, Location /v1/sas/ike-<n>. The SA is connecting when this
// answers; GET /v1/sas shows how the negotiation goes.
Response InitiateSa(const RequestContext& ctx) {
  auto body = DecodeBody<InitiateRequest>(ctx.request, BodyFormat::kJson, InitiateRequestFromJson);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  const auto& req = std::get<InitiateRequest>(body);
  auto id = ctx.service.InitiateSa(req.rule, req.peer, ctx.Change());
  if (!id.ok()) return ErrorReply(ctx.request, id.error());
  Response res = JsonReply(ctx.request, status::created, Json{{"id", *id}});
  res.set(beast_http::field::location, "/v1/sas/" + PercentEncodeSegment(*id));
  return res;
}

Response DeleteSa(const RequestContext& ctx) {
  if (Status s = ctx.service.DeleteSa(ctx.Param("id"), ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return NoContent(ctx.request);
}

// POST /v1/sas/{id}/rekey: 202 {"id": id}; the rekey runs on (GET /v1/sas shows it). 404 for
// no such SA, 409 while it cannot be rekeyed (an IKE SA not yet established).
Response RekeySa(const RequestContext& ctx) {
  const std::string id = ctx.Param("id");
  if (Status s = ctx.service.RekeySa(id, ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return JsonReply(ctx.request, status::accepted, Json{{"id", id}});
}

Response GetStats(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok,
                   StatisticsToJson(ctx.service.GetStatistics(), ctx.service.Counters()));
}

}  // namespace

void AddSaRoutes(RouteTable& table) {
  using beast_http::verb;
  table.Add(verb::get, "/v1/sas", GetSas);
  table.Add(verb::post, "/v1/sas", InitiateSa);
  table.Add(verb::delete_, "/v1/sas/{id}", DeleteSa);
  table.Add(verb::post, "/v1/sas/{id}/rekey", RekeySa);
  table.Add(verb::get, "/v1/stats", GetStats);
}

}  // namespace ipsec::api::handlers
