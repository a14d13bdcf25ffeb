#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// GET /v1/sas (IKE SAs with their child SAs, as the FAQ's IP Security Monitor lists them),
// POST /v1/sas (initiate an IKE SA for a rule), DELETE /v1/sas/{id} (sending Delete), GET
// /v1/stats (IKE and policy statistics). Without a running IKE engine the lists are empty and
// POST answers 503.
void AddSaRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
