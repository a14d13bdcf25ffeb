#pragma once

// JSON <-> policy model. The one place that knows the policy's JSON shape (docs/policy.md and
// api/openapi.yaml describe it). Decoding is strict: unknown fields are rejected, every error
// carries the JSON pointer of the fault (Error::path, e.g. "/rules/1/filter_action") and a
// message a person understands. Nothing here does I/O.

#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"
#include "engine/policy/model.h"

namespace ipsec::api::dto {

using Json = nlohmann::json;
namespace policy = ipsec::engine::policy;

// Whether preshared keys appear in the output. The API always redacts (keys are write-only);
// only the state store writes them.
enum class SecretMode { kRedact, kInclude };

Result<policy::Policy> PolicyFromJson(const Json& j);
Json PolicyToJson(const policy::Policy& p, SecretMode mode);

// The parts of a policy, for the part-level routes.
Result<policy::Rule> RuleFromJson(const Json& j);
Json RuleToJson(const policy::Rule& r, SecretMode mode);
Result<policy::FilterList> FilterListFromJson(const Json& j);
Json FilterListToJson(const policy::FilterList& f);
Result<policy::FilterAction> FilterActionFromJson(const Json& j);
Json FilterActionToJson(const policy::FilterAction& a);
Result<policy::DefaultResponseRule> DefaultResponseFromJson(const Json& j);
Json DefaultResponseToJson(const policy::DefaultResponseRule& d, SecretMode mode);

// Text to JSON with a clear error (line and column) on a syntax fault.
Result<Json> ParseJson(std::string_view text);
// YAML (a policy file or `ipsecctl policy apply -f x.yaml`) to the same JSON, so one decoder
// serves both.
Result<Json> ParseYaml(std::string_view text);
// JSON when the text starts with '{' or '[' after whitespace, else YAML.
Result<Json> ParseJsonOrYaml(std::string_view text);

// {"error": {"code": ..., "message": ..., "path": ...}}
Json ErrorToJson(const Error& e);

}  // namespace ipsec::api::dto
