#include "api/handlers/policies.h"

#include "api/dto/policy_json.h"
#include "api/handlers/reply.h"
#include "api/handlers/request_body.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;
using engine::policy::Policy;
using engine::service::StoredPolicy;

Response PolicyReply(const Request& req, status code, const StoredPolicy& stored) {
  Response res = JsonReply(req, code, dto::PolicyToJson(stored.policy, dto::SecretMode::kRedact));
  SetETag(res, stored.revision);
  return res;
}

std::string PolicyLocation(const std::string& name) {
  return "/v1/policies/" + PercentEncodeSegment(name);
}

Response ListPolicies(const RequestContext& ctx) {
  std::vector<StoredPolicy> policies = ctx.service.ListPolicies();
  std::optional<std::string> assigned;
  for (const auto& scope : ctx.service.GetAssignment().scopes) {
    if (scope.scope == engine::policy::Scope::kPod) assigned = scope.policy;
  }
  Json list = Json::array();
  for (const auto& stored : policies) {
    list.push_back(Json{{"revision", stored.revision},
                        {"assigned", assigned == stored.policy.name},
                        {"policy", dto::PolicyToJson(stored.policy, dto::SecretMode::kRedact)}});
  }
  return JsonReply(ctx.request, status::ok, Json{{"policies", std::move(list)}});
}

Response CreatePolicy(const RequestContext& ctx) {
  auto body = DecodeBody<Policy>(ctx.request, BodyFormat::kJsonOrYaml, dto::PolicyFromJson);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  Policy& policy = std::get<Policy>(body);
  auto stored = ctx.service.CreatePolicy(std::move(policy), ctx.Change());
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  Response res = PolicyReply(ctx.request, status::created, *stored);
  res.set(beast_http::field::location, PolicyLocation(stored->policy.name));
  return res;
}

// FAQ 44: remove all local policy.
Response DeleteAllPolicies(const RequestContext& ctx) {
  size_t count = ctx.service.ListPolicies().size();
  if (Status s = ctx.service.DeleteAllLocalPolicy(ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return JsonReply(ctx.request, status::ok, Json{{"deleted", count}});
}

Response GetPolicy(const RequestContext& ctx) {
  auto stored = ctx.service.GetPolicy(ctx.Param("name"));
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  return PolicyReply(ctx.request, status::ok, *stored);
}

Response PutPolicy(const RequestContext& ctx) {
  const std::string& name = ctx.Param("name");
  auto body =
      DecodeBody<Policy>(ctx.request, BodyFormat::kJsonOrYaml, dto::PolicyFromJson, &name);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  auto expected = ExpectedRevision(ctx, name);
  if (!expected.ok()) return ErrorReply(ctx.request, expected.error());
  const bool existed = expected->has_value() || ctx.service.GetPolicy(name).ok();
  auto stored = ctx.service.PutPolicy(name, std::move(std::get<Policy>(body)), *expected,
                                      ctx.Change());
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  Response res = PolicyReply(ctx.request, existed ? status::ok : status::created, *stored);
  if (!existed) res.set(beast_http::field::location, PolicyLocation(name));
  return res;
}

Response DeletePolicy(const RequestContext& ctx) {
  const std::string& name = ctx.Param("name");
  auto expected = ExpectedRevision(ctx, name);
  if (!expected.ok()) return ErrorReply(ctx.request, expected.error());
  if (Status s = ctx.service.DeletePolicy(name, *expected, ctx.Change()); !s.ok()) {
    return ErrorReply(ctx.request, s.error());
  }
  return NoContent(ctx.request);
}

}  // namespace

void AddPolicyRoutes(RouteTable& table) {
  using beast_http::verb;
  table.Add(verb::get, "/v1/policies", ListPolicies);
  table.Add(verb::post, "/v1/policies", CreatePolicy);
  table.Add(verb::delete_, "/v1/policies", DeleteAllPolicies);
  table.Add(verb::get, "/v1/policies/{name}", GetPolicy);
  table.Add(verb::put, "/v1/policies/{name}", PutPolicy);
  table.Add(verb::delete_, "/v1/policies/{name}", DeletePolicy);
}

}  // namespace ipsec::api::handlers
