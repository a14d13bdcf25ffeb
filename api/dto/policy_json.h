#pragma once

// JSON <-> policy model. The one place that knows the policy's JSON shape (docs/api.md and
// api/openapi.yaml describe it). Decoding is strict: unknown fields are rejected, every error
// carries the JSON pointer of the fault (Error::path, e.g. "/rules/1/filter_action") and a
// message a person understands. Nothing here does I/O.

#include <string_view>

#include <nlohmann/json.hpp>

#include "api/dto/text.h"  // ParseJson, ParseYaml, ParseJsonOrYaml, ErrorToJson
#include "engine/common/result.h"
#include "engine/policy/model.h"

namespace ipsec::api::dto {

using Json = nlohmann::json;
namespace policy = ipsec::engine::policy;

// Whether preshared keys appear in the output. The API always redacts (keys are write-only);
// only the state store writes them.
enum class SecretMode { kRedact, kInclude };

// Defaults follow docs/api.md: only `name` is required at the top, a filter list's, filter
// action's and rule's `name`, and a rule's `filter_list` and `filter_action`; absent
// `key_exchange.proposals` means DefaultIkeProposals(); every other absent field keeps the
// model's default. A preshared key of "<redacted>" is rejected (keys are write-only).
// PolicyFromJson(PolicyToJson(p, kInclude)) == p.

Result<policy::Policy> PolicyFromJson(const Json& j);
Json PolicyToJson(const policy::Policy& p, SecretMode mode);

// The parts of a policy, for the part-level routes. Error paths are relative to the part.
Result<policy::Rule> RuleFromJson(const Json& j);
Json RuleToJson(const policy::Rule& r, SecretMode mode);
Result<policy::FilterList> FilterListFromJson(const Json& j);
Json FilterListToJson(const policy::FilterList& f);
Result<policy::FilterAction> FilterActionFromJson(const Json& j);
Json FilterActionToJson(const policy::FilterAction& a);
Result<policy::DefaultResponseRule> DefaultResponseFromJson(const Json& j);
Json DefaultResponseToJson(const policy::DefaultResponseRule& d, SecretMode mode);

}  // namespace ipsec::api::dto
