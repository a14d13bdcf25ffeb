#pragma once

// Policy files for `ipsecctl policy apply -f`: JSON or YAML, read with api/dto's parser so the
// CLI and the daemon's policy directories accept the same files.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/common/result.h"

namespace ipsec::sidecar::ipsecctl {

// Reads `path` ("-": standard input) and parses it as JSON or YAML. The result is a JSON
// object with a string "name" (the policy's name, the target of PUT /v1/policies/{name}).
// Errors say which file and, for a syntax error, where.
Result<nlohmann::json> LoadPolicyFile(const std::string& path);

}  // namespace ipsec::sidecar::ipsecctl
