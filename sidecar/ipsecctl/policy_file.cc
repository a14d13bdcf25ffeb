#include "sidecar/ipsecctl/policy_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/dto/policy_json.h"

namespace ipsec::sidecar::ipsecctl {

Result<nlohmann::json> LoadPolicyFile(const std::string& path) {
  std::string shown = path == "-" ? "standard input" : path;
  std::ostringstream content;
  if (path == "-") {
    content << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "cannot read " + shown + ": " + std::strerror(errno));
    }
    content << in.rdbuf();
  }
  auto parsed = api::dto::ParseJsonOrYaml(content.str());
  if (!parsed.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, shown + ": " + parsed.error().message,
                     parsed.error().path);
  }
  nlohmann::json policy = std::move(parsed.value());
  if (!policy.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, shown + ": a policy must be an object");
  }
  auto name = policy.find("name");
  if (name == policy.end() || !name->is_string() || name->get<std::string>().empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     shown +
                         ": the policy has no \"name\" (it names the policy to create or "
                         "replace)",
                     "/name");
  }
  return policy;
}

}  // namespace ipsec::sidecar::ipsecctl
