#include "api/handlers/config.h"

#include "api/dto/json_reader.h"
#include "api/handlers/reply.h"
#include "api/handlers/request_body.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Result<bool> IkeLoggingFromJson(const Json& j) {
  bool enabled = false;
  dto::ObjectReader r(j, "", "IKE logging setting");
  r.Field(
      "enabled",
      [&](const Json& v, const std::string& path) -> Status {
        auto b = dto::ReadBool(v, path);
        if (!b.ok()) return b.error();
        enabled = *b;
        return Status::Ok();
      },
      dto::ObjectReader::kRequired);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return enabled;
}

Response Current(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok,
                   Json{{"enabled", ctx.service.IkeLoggingEnabled()}});
}

Response PutIkeLogging(const RequestContext& ctx) {
  auto body = DecodeBody<bool>(ctx.request, BodyFormat::kJson, IkeLoggingFromJson);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  ctx.service.SetIkeLogging(std::get<bool>(body), ctx.Change());
  return Current(ctx);
}

}  // namespace

void AddConfigRoutes(RouteTable& table) {
  using beast_http::verb;
  table.Add(verb::get, "/v1/config/ike-logging", Current);
  table.Add(verb::put, "/v1/config/ike-logging", PutIkeLogging);
}

}  // namespace ipsec::api::handlers
