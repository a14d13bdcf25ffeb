#include "api/handlers/service_json.h"

#include <ctime>

#include "api/dto/filter_table_json.h"
#include "engine/policy/names.h"

namespace ipsec::api::handlers {

namespace service = engine::service;
namespace policy = engine::policy;

std::string Rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

Json AssignmentToJson(const service::AssignmentStatus& status) {
  Json in_force = nullptr;
  if (status.in_force_scope && status.in_force_policy) {
    in_force = Json{{"scope", policy::Name(*status.in_force_scope)},
                    {"policy", *status.in_force_policy}};
  }
  Json scopes = Json::array();
  for (const auto& s : status.scopes) {
    scopes.push_back(Json{{"scope", policy::Name(s.scope)},
                          {"policy", s.policy ? Json(*s.policy) : Json(nullptr)},
                          {"source", s.source},
                          {"error", s.error},
                          {"updated", s.updated_unix > 0 ? Json(Rfc3339(s.updated_unix))
                                                         : Json(nullptr)}});
  }
  return Json{{"in_force", std::move(in_force)},
              {"reason", status.reason},
              {"scopes", std::move(scopes)}};
}

Json SasToJson(const service::SaList& sas) {
  Json ike = Json::array();
  for (const auto& sa : sas.ike_sas) {
    ike.push_back(
        Json{{"id", sa.id}, {"local", sa.local}, {"peer", sa.peer}, {"state", sa.state}});
  }
  Json child = Json::array();
  for (const auto& sa : sas.child_sas) {
    child.push_back(Json{{"id", sa.id}, {"ike_sa_id", sa.ike_sa_id}, {"rule", sa.rule}});
  }
  return Json{{"ike_sas", std::move(ike)}, {"child_sas", std::move(child)}};
}

Json StatisticsToJson(const service::IkeStatistics& ike, const service::ServiceCounters& c) {
  Json applies = Json::object();
  for (int i = 0; i < service::kApplyResultCount; ++i) {
    applies[service::Name(static_cast<service::ApplyResult>(i))] = c.policy_applies[i];
  }
  return Json{{"ike",
               {{"ike_sas_active", ike.ike_sas_active},
                {"child_sas_active", ike.child_sas_active},
                {"negotiations_total", ike.negotiations_total},
                {"negotiation_failures_total", ike.negotiation_failures_total},
                {"dos_drops_total", ike.dos_drops_total}}},
              {"policy",
               {{"generation", c.generation},
                {"rules_in_force", c.rules_in_force},
                {"filters_generic", c.filters_generic},
                {"filters_specific", c.filters_specific},
                {"conflicts_resolved", c.conflicts_resolved},
                {"applies", std::move(applies)}}}};
}

Json MatchResultToJson(const service::MatchResult& match) {
  return dto::MatchToJson(match.action, match.entry ? &*match.entry : nullptr, match.reason,
                          match.policy, match.generation);
}

}  // namespace ipsec::api::handlers
