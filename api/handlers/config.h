#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// GET/PUT /v1/config/ike-logging, body and answer {"enabled": bool}: the IKE negotiation log
// switched at run time (FAQ 39's Oakley log).
void AddConfigRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
