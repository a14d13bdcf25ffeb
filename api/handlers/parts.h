#pragma once

#include "api/handlers/route_table.h"

namespace ipsec::api::handlers {

// The parts of a pod-scope policy, each edited through EngineService::UpdatePolicy so that the
// whole policy is validated, compiled and persisted, or nothing changes:
//   /v1/policies/{name}/rules[/{rule}]
//   /v1/policies/{name}/filter-lists[/{list}]      DELETE: 409 while a rule uses it
//   /v1/policies/{name}/filter-actions[/{action}]  DELETE: 409 while a rule uses it
//   /v1/policies/{name}/default-response-rule      GET, PUT (never deleted: FAQ 19)
// Collections: GET (list), POST (create, 201 with Location). Items: GET, PUT (replace, or create
// with 201), DELETE (204). Every response carries the policy's ETag; writes honour If-Match.
void AddPartRoutes(RouteTable& table);

}  // namespace ipsec::api::handlers
