#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// GET /healthz (the process answers) and GET /readyz (state loaded and every policy source
// read: EngineService::Ready). Public: the HTTP layer serves them without a token.
void AddHealthRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
