#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// /v1/policies (GET list, POST create, DELETE all local policy: FAQ 44) and
// /v1/policies/{name} (GET, PUT create-or-replace, DELETE). Bodies: JSON or YAML policies.
void AddPolicyRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
