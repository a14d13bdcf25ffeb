#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// GET /v1/sas (IKE and child SAs, as the FAQ's IP Security Monitor lists them), DELETE
// /v1/sas/{id}, GET /v1/stats. The IKE parts are empty shapes until the IKE engine lands.
void AddSaRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
