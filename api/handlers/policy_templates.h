#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// GET /v1/templates (the predefined policies' names, FAQ 12) and GET
// /v1/templates/{template}?name=N (a policy to start from, without auth methods).
void AddTemplateRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
