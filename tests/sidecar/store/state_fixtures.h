#pragma once

// Policies and states for the store tests.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/policy/templates.h"
#include "engine/service/engine_service.h"
#include "sidecar/store/checksum.h"

namespace ipsec::sidecar::store::testing {

inline engine::policy::Policy PskPolicy(const std::string& name, const std::string& key) {
  engine::policy::AuthMethod psk;
  psk.kind = engine::policy::AuthKind::kPreSharedKey;
  psk.preshared_key = SecretBytes(key);
  auto p = engine::policy::MakeTemplate("require-security", name, {psk});
  p->description = "policy " + name + " with \"quotes\", unicode \xc3\xa9 and\nnewline";
  return *p;
}

inline engine::service::LocalState TwoPolicies() {
  engine::service::LocalState s;
  s.policies.push_back({PskPolicy("alpha", "alpha-key-\x01\xc3\xa9"), 3});
  s.policies.push_back({PskPolicy("beta", "beta key with spaces"), 5});
  s.assigned = "beta";
  s.last_revision = 9;
  return s;
}

// `j` with a correct checksum, as the store would write it.
inline std::string Seal(nlohmann::json j) {
  j.erase("checksum");
  j["checksum"] = Crc32Text(j.dump());
  return j.dump(2) + "\n";
}

}  // namespace ipsec::sidecar::store::testing
