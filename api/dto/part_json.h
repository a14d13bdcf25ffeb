#pragma once

// The pieces policy_json.h's parts and the policy share: filters, security methods and
// authentication methods. Error paths are relative to the value given.

#include <string>
#include <vector>

#include "api/dto/json_reader.h"
#include "api/dto/policy_json.h"
#include "engine/common/result.h"
#include "engine/policy/model.h"

namespace ipsec::api::dto {

Result<policy::Filter> FilterFromJson(const Json& j);
Json FilterToJson(const policy::Filter& f);

Result<policy::SecurityMethod> SecurityMethodFromJson(const Json& j);
Json SecurityMethodToJson(const policy::SecurityMethod& m);
Result<std::vector<policy::SecurityMethod>> SecurityMethodsFromJson(const Json& j);
Json SecurityMethodsToJson(const std::vector<policy::SecurityMethod>& methods);

Result<policy::AuthMethod> AuthMethodFromJson(const Json& j);
Json AuthMethodToJson(const policy::AuthMethod& m, SecretMode mode);
Result<std::vector<policy::AuthMethod>> AuthMethodsFromJson(const Json& j);
Json AuthMethodsToJson(const std::vector<policy::AuthMethod>& methods, SecretMode mode);

// A list of items each decoded by `decode` (paths prefixed with the index).
template <typename T, typename Decode>
Result<std::vector<T>> ListFromJson(const Json& j, Decode decode) {
  std::vector<T> out;
  Status s = ReadArray(j, "", [&](const Json& item, const std::string& path) -> Status {
    Result<T> v = decode(item);
    if (!v.ok()) return v.error().WithPathPrefix(path);
    out.push_back(std::move(v).value());
    return Status::Ok();
  });
  if (!s.ok()) return s.error();
  return out;
}

// Runs `decode` on a field's value and stores it, prefixing error paths with the field's path.
template <typename T, typename Decode>
ValueReader Into(T& out, Decode decode) {
  return [&out, decode](const Json& v, const std::string& path) -> Status {
    auto r = decode(v);
    if (!r.ok()) return r.error().WithPathPrefix(path);
    out = std::move(r).value();
    return Status::Ok();
  };
}

}  // namespace ipsec::api::dto
