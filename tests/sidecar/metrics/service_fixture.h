#pragma once

// A real EngineService (no persistence) with a pod-scope policy, for the exporter tests.

#include <memory>
#include <string>

#include "engine/policy/templates.h"
#include "engine/service/engine_service.h"

namespace ipsec::sidecar::metrics::testing {

inline engine::policy::Policy WebPolicy(const std::string& name) {
  engine::policy::AuthMethod psk;
  psk.kind = engine::policy::AuthKind::kPreSharedKey;
  psk.preshared_key = SecretBytes("not-in-metrics");
  return *engine::policy::MakeTemplate("require-security", name, {psk});
}

inline std::unique_ptr<engine::service::EngineService> MakeService() {
  return std::make_unique<engine::service::EngineService>(
      engine::service::EngineService::Options{});
}

inline const engine::service::ChangeContext kCtx{"test", "test"};

}  // namespace ipsec::sidecar::metrics::testing
