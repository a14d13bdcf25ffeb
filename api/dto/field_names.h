#pragma once

// The field names of the API's request documents (docs/api.md, api/openapi.yaml): our words,
// not the client's. An error may repeat a key of a request body only when it is one of these
// (a duplicate "name", "filters" inside a rule); any other key is request content, which errors
// never repeat (docs/api.md, "Errors"): a preshared key pasted where a key belongs must not come
// back in a response or a log line. The list is the set of properties of every request body
// in api/openapi.yaml (openapi_test checks both ways); a field missing here is not unsafe, its
// name is only left out of messages and paths that would otherwise show it.

#include <span>
#include <string_view>

namespace ipsec::api::dto {

bool IsFieldName(std::string_view key);
// All of them, sorted.
std::span<const std::string_view> FieldNames();

}  // namespace ipsec::api::dto
