#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// GET /v1/filters (generic filters as configured) and GET /v1/filters?specific=true (the
// expanded, weighted table, FAQ 22) of the policy in force; POST /v1/match (a packet -> the
// deciding entry, its action and why).
void AddFilterRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
