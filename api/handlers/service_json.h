#pragma once

// JSON of the engine service's own structs (docs/api.md, "Shapes"). They live here rather than
// in api/dto, which must not depend on engine/service (../shared/STYLE.md (c)).

#include <cstdint>

#include "api/dto/text.h"
#include "engine/service/engine_service.h"

namespace ipsec::api::handlers {

using Json = dto::Json;

// {"in_force": {"scope", "policy"} | null, "reason", "scopes": [{"scope", "policy", "source",
//  "error", "updated"}]}; `updated` is RFC 3339 UTC, null when the scope was never set.
Json AssignmentToJson(const engine::service::AssignmentStatus& status);
// {"ike_sas": [{"id", "local", "peer", "state"}], "child_sas": [{"id", "ike_sa_id", "rule"}]}
Json SasToJson(const engine::service::SaList& sas);
// {"ike": {...}, "policy": {"generation", "rules_in_force", "filters_generic",
//  "filters_specific", "conflicts_resolved", "applies": {"success", ...}}}
Json StatisticsToJson(const engine::service::IkeStatistics& ike,
                      const engine::service::ServiceCounters& counters);
// The decision of POST /v1/match.
Json MatchResultToJson(const engine::service::MatchResult& match);

// 1700000000 -> "2023-11-14T22:13:20Z".
std::string Rfc3339(int64_t unix_seconds);

}  // namespace ipsec::api::handlers
