#include "api/handlers/policy_templates.h"

#include "api/dto/json_reader.h"
#include "api/dto/policy_json.h"
#include "api/handlers/reply.h"
#include "engine/policy/templates.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;

Response ListTemplates(const RequestContext& ctx) {
  return JsonReply(ctx.request, status::ok,
                   Json{{"templates", engine::policy::TemplateNames()}});
}

Response GetTemplate(const RequestContext& ctx) {
  const std::string& name = ctx.Param("template");
  std::string policy_name = ctx.Query("name").value_or("");
  if (policy_name.empty()) policy_name = name;
  auto policy = engine::policy::MakeTemplate(name, policy_name, {});
  if (!policy) {
    return ErrorReply(ctx.request,
                      MakeError(ErrorCode::kNotFound,
                                "no template named '" + name + "'; the templates are: " +
                                    dto::JoinNames(engine::policy::TemplateNames())));
  }
  return JsonReply(ctx.request, status::ok,
                   dto::PolicyToJson(*policy, dto::SecretMode::kRedact));
}

}  // namespace

void AddTemplateRoutes(RouteTable& table) {
  table.Add(beast_http::verb::get, "/v1/templates", ListTemplates);
  table.Add(beast_http::verb::get, "/v1/templates/{template}", GetTemplate, {"name"});
}

}  // namespace ipsec::api::handlers
