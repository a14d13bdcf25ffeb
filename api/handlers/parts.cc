#include "api/handlers/parts.h"

#include <algorithm>

#include "api/dto/policy_json.h"
#include "api/handlers/reply.h"
#include "api/handlers/request_body.h"

namespace ipsec::api::handlers {
namespace {

using beast_http::status;
using beast_http::verb;
using engine::policy::Policy;
using engine::service::StoredPolicy;

// What differs between rules, filter lists and filter actions; the handlers below are shared.
template <typename T>
struct PartKind {
  const char* segment;  // URL segment: "filter-lists"
  const char* field;    // the policy's field and the list's key: "filter_lists"
  const char* param;    // "{list}" without braces
  const char* noun;     // "filter list"
  std::vector<T> Policy::*items;
  Result<T> (*decode)(const Json&);
  Json (*encode)(const T&);  // secrets redacted
  // Why the part cannot be deleted (a rule refers to it); OK when nothing does.
  Status (*check_delete)(const Policy& policy, const std::string& name);
};

template <typename T>
auto FindPart(std::vector<T>& items, const std::string& name) {
  return std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
}

Status NotUsedByRules(const Policy& policy, const std::string& name, const char* noun,
                      std::string engine::policy::Rule::*reference) {
  for (const auto& rule : policy.rules) {
    if (rule.*reference == name) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       std::string(noun) + " '" + name + "' is used by rule '" + rule.name +
                           "'; change or delete the rule first");
    }
  }
  return Status::Ok();
}

const PartKind<engine::policy::Rule> kRules{
    "rules", "rules", "rule", "rule", &Policy::rules, dto::RuleFromJson,
    [](const engine::policy::Rule& r) { return dto::RuleToJson(r, dto::SecretMode::kRedact); },
    [](const Policy&, const std::string&) { return Status::Ok(); }};

const PartKind<engine::policy::FilterList> kFilterLists{
    "filter-lists", "filter_lists", "list", "filter list", &Policy::filter_lists,
    dto::FilterListFromJson, dto::FilterListToJson,
    [](const Policy& p, const std::string& name) {
      return NotUsedByRules(p, name, "filter list", &engine::policy::Rule::filter_list);
    }};

const PartKind<engine::policy::FilterAction> kFilterActions{
    "filter-actions", "filter_actions", "action", "filter action", &Policy::filter_actions,
    dto::FilterActionFromJson, dto::FilterActionToJson,
    [](const Policy& p, const std::string& name) {
      return NotUsedByRules(p, name, "filter action", &engine::policy::Rule::filter_action);
    }};

// Errors of the whole-policy validation point into the policy ("/rules/2/filter_list"). When
// the fault is in the part the request sent (at `prefix`), the path becomes relative to the
// body; otherwise it is not in the body, so the path moves into the message.
Error ForPart(Error e, const std::string& prefix, const std::string& policy_name) {
  if (e.path.empty()) return e;
  if (!prefix.empty() && e.path.compare(0, prefix.size(), prefix) == 0 &&
      (e.path.size() == prefix.size() || e.path[prefix.size()] == '/')) {
    e.path = e.path.substr(prefix.size());
    return e;
  }
  e.message = "policy '" + policy_name + "' at " + e.path + ": " + e.message;
  e.path.clear();
  return e;
}

// Runs `mutate` on the policy through the service; errors the mutation itself returns keep their
// paths, validation errors go through ForPart with `*prefix` (set by the mutation).
Result<StoredPolicy> Update(const RequestContext& ctx, const std::string& name,
                            const std::function<Status(Policy&, std::string&)>& mutate) {
  auto expected = ExpectedRevision(ctx, name);
  if (!expected.ok()) return expected.error();
  std::string prefix;
  bool mutation_failed = false;
  auto stored = ctx.service.UpdatePolicy(
      name, *expected,
      [&](Policy& p) {
        Status s = mutate(p, prefix);
        mutation_failed = !s.ok();
        return s;
      },
      ctx.Change());
  if (stored.ok() || mutation_failed) return stored;
  return ForPart(stored.error(), prefix, name);
}

Response WithETag(Response res, uint64_t revision) {
  SetETag(res, revision);
  return res;
}

std::string PartLocation(const std::string& policy, const char* segment,
                         const std::string& part) {
  return "/v1/policies/" + PercentEncodeSegment(policy) + "/" + segment + "/" +
         PercentEncodeSegment(part);
}

template <typename T>
Response ListParts(const PartKind<T>& kind, const RequestContext& ctx) {
  auto stored = ctx.service.GetPolicy(ctx.Param("name"));
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  Json list = Json::array();
  for (const T& item : stored->policy.*kind.items) list.push_back(kind.encode(item));
  return WithETag(JsonReply(ctx.request, status::ok, Json{{kind.field, std::move(list)}}),
                  stored->revision);
}

template <typename T>
Response GetPart(const PartKind<T>& kind, const RequestContext& ctx) {
  auto stored = ctx.service.GetPolicy(ctx.Param("name"));
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  const std::string& part = ctx.Param(kind.param);
  auto& items = stored->policy.*kind.items;
  auto it = FindPart(items, part);
  if (it == items.end()) {
    return ErrorReply(ctx.request, MakeError(ErrorCode::kNotFound,
                                             "policy '" + ctx.Param("name") + "' has no " +
                                                 kind.noun + " named '" + part + "'"));
  }
  return WithETag(JsonReply(ctx.request, status::ok, kind.encode(*it)), stored->revision);
}

// POST (create only) and PUT (create or replace) of one part.
template <typename T>
Response WritePart(const PartKind<T>& kind, const RequestContext& ctx, bool put) {
  const std::string& name = ctx.Param("name");
  const std::string* path_part = put ? &ctx.Param(kind.param) : nullptr;
  auto body = DecodeBody<T>(ctx.request, BodyFormat::kJsonOrYaml, kind.decode, path_part);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  T& part = std::get<T>(body);
  if (put && part.name != *path_part) {
    return ErrorReply(ctx.request,
                      MakeError(ErrorCode::kInvalidArgument,
                                "the body names " + std::string(kind.noun) + " '" + part.name +
                                    "' but the path names '" + *path_part + "'; a " + kind.noun +
                                    " cannot be renamed (create the new one, then delete the old)",
                                "/name"));
  }
  bool created = false;
  auto stored = Update(ctx, name, [&](Policy& p, std::string& prefix) -> Status {
    auto& items = p.*kind.items;
    auto it = FindPart(items, part.name);
    if (it != items.end() && !put) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "policy '" + name + "' already has a " + kind.noun + " named '" +
                           part.name + "'; use PUT to replace it",
                       "/name");
    }
    created = it == items.end();
    if (created) {
      items.push_back(part);
      it = items.end() - 1;
    } else {
      *it = part;
    }
    prefix = "/" + std::string(kind.field) + "/" + std::to_string(it - items.begin());
    return Status::Ok();
  });
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  const auto& items = stored->policy.*kind.items;
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == part.name; });
  Response res = JsonReply(ctx.request, created ? status::created : status::ok,
                           it != items.end() ? kind.encode(*it) : Json(nullptr));
  if (created) res.set(beast_http::field::location, PartLocation(name, kind.segment, part.name));
  return WithETag(std::move(res), stored->revision);
}

template <typename T>
Response DeletePart(const PartKind<T>& kind, const RequestContext& ctx) {
  const std::string& name = ctx.Param("name");
  const std::string& part = ctx.Param(kind.param);
  auto stored = Update(ctx, name, [&](Policy& p, std::string&) -> Status {
    auto& items = p.*kind.items;
    auto it = FindPart(items, part);
    if (it == items.end()) {
      return MakeError(ErrorCode::kNotFound,
                       "policy '" + name + "' has no " + kind.noun + " named '" + part + "'");
    }
    if (Status s = kind.check_delete(p, part); !s.ok()) return s;
    items.erase(it);
    return Status::Ok();
  });
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  return WithETag(NoContent(ctx.request), stored->revision);
}

template <typename T>
void AddKind(RouteTable& table, const PartKind<T>& kind) {
  const std::string collection = "/v1/policies/{name}/" + std::string(kind.segment);
  const std::string item = collection + "/{" + kind.param + "}";
  table.Add(verb::get, collection, [&kind](const RequestContext& c) { return ListParts(kind, c); });
  table.Add(verb::post, collection,
            [&kind](const RequestContext& c) { return WritePart(kind, c, false); });
  table.Add(verb::get, item, [&kind](const RequestContext& c) { return GetPart(kind, c); });
  table.Add(verb::put, item, [&kind](const RequestContext& c) { return WritePart(kind, c, true); });
  table.Add(verb::delete_, item, [&kind](const RequestContext& c) { return DeletePart(kind, c); });
}

// ---- The default response rule (FAQ 19): one per policy, GET and PUT only -----------------

Response GetDefaultResponse(const RequestContext& ctx) {
  auto stored = ctx.service.GetPolicy(ctx.Param("name"));
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  Json body = dto::DefaultResponseToJson(stored->policy.default_response, dto::SecretMode::kRedact);
  return WithETag(JsonReply(ctx.request, status::ok, body), stored->revision);
}

Response PutDefaultResponse(const RequestContext& ctx) {
  using engine::policy::DefaultResponseRule;
  auto body = DecodeBody<DefaultResponseRule>(ctx.request, BodyFormat::kJsonOrYaml,
                                              dto::DefaultResponseFromJson);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  DefaultResponseRule& rule = std::get<DefaultResponseRule>(body);
  auto stored = Update(ctx, ctx.Param("name"), [&](Policy& p, std::string& prefix) -> Status {
    p.default_response = rule;
    prefix = "/default_response_rule";
    return Status::Ok();
  });
  if (!stored.ok()) return ErrorReply(ctx.request, stored.error());
  Json out = dto::DefaultResponseToJson(stored->policy.default_response, dto::SecretMode::kRedact);
  return WithETag(JsonReply(ctx.request, status::ok, out), stored->revision);
}

}  // namespace

void AddPartRoutes(RouteTable& table) {
  AddKind(table, kRules);
  AddKind(table, kFilterLists);
  AddKind(table, kFilterActions);
  table.Add(verb::get, "/v1/policies/{name}/default-response-rule", GetDefaultResponse);
  table.Add(verb::put, "/v1/policies/{name}/default-response-rule", PutDefaultResponse);
}

}  // namespace ipsec::api::handlers
