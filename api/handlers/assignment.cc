#include "api/handlers/assignment.h"

#include "api/dto/json_reader.h"
#include "api/handlers/reply.h"
#include "api/handlers/request_body.h"
#include "api/handlers/service_json.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Result<std::string> AssignmentFromJson(const Json& j) {
  std::string policy;
  dto::ObjectReader r(j, "", "assignment");
  r.String("policy", policy, dto::ObjectReader::kRequired);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  if (policy.empty()) return dto::InvalidAt("/policy", "the policy name is empty");
  return policy;
}

Response AssignmentReply(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok, AssignmentToJson(ctx.service.GetAssignment()));
}

Response GetAssignment(const RequestContext& ctx) { return AssignmentReply(ctx); }

Response PutAssignment(const RequestContext& ctx) {
  auto body = DecodeBody<std::string>(ctx.request, BodyFormat::kJson, AssignmentFromJson);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  if (Status s = ctx.service.AssignPodPolicy(std::get<std::string>(body), ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return AssignmentReply(ctx);
}

Response DeleteAssignment(const RequestContext& ctx) {
  if (Status s = ctx.service.UnassignPodPolicy(ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return AssignmentReply(ctx);
}

}  // namespace

void AddAssignmentRoutes(RouteTable& table) {
  using beast_http::verb;
  table.Add(verb::get, "/v1/assignment", GetAssignment);
  table.Add(verb::put, "/v1/assignment", PutAssignment);
  table.Add(verb::delete_, "/v1/assignment", DeleteAssignment);
}

}  // namespace ipsec::api::handlers
