#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// /v1/assignment: GET the assignment status (which scope's policy is in force and why, FAQ 20),
// PUT {"policy": "name"} to assign a pod-scope policy, DELETE to unassign at pod scope. Every
// answer is the assignment status.
void AddAssignmentRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
