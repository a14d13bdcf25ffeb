#pragma once

// Text <-> JSON values: JSON and YAML parsing with errors a person can act on (line, column,
// byte offset), and serialization that cannot throw. Untrusted input: duplicate keys, nesting
// deeper than kMaxDepth and YAML alias bombs are rejected rather than trusted, and no error
// repeats the input (a key pasted in the wrong place must not come back): messages give the
// position, and paths are built from the API's own field names only (field_names.h).

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"

namespace ipsec::api::dto {

using Json = nlohmann::json;

// Deeper documents are rejected; no policy needs more than a handful of levels.
inline constexpr int kMaxDepth = 64;
// YAML aliases can expand a small document into a huge one; conversion stops past this many
// values.
inline constexpr size_t kMaxYamlNodes = 1'000'000;

// Text to JSON with a clear error (line, column, byte) on a syntax fault. Duplicate keys are an
// error (JSON parsers disagree on which one wins).
Result<Json> ParseJson(std::string_view text);
// YAML (a policy file or `ipsecctl policy apply -f x.yaml`) to the same JSON, so one decoder
// serves both. Plain scalars are typed as YAML 1.2's core schema does (true/false, null, ~,
// integers, floats); quoted scalars stay strings ("443" is a string, 443 a number).
Result<Json> ParseYaml(std::string_view text);
// JSON when the text starts with '{' or '[' after whitespace, else YAML.
Result<Json> ParseJsonOrYaml(std::string_view text);

// {"error": {"code": ..., "message": ..., "path": ...}}
Json ErrorToJson(const Error& e);

// Serializes without throwing: invalid UTF-8 (which YAML input can carry into a string) is
// replaced with U+FFFD. indent < 0: compact.
std::string DumpJson(const Json& j, int indent = -1);

}  // namespace ipsec::api::dto
