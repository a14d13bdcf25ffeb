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
    in_force =
        Json{{"scope", policy::Name(*status.in_force_scope)}, {"policy", *status.in_force_policy}};
  }
  Json scopes = Json::array();
  for (const auto& s : status.scopes) {
    scopes.push_back(
        Json{{"scope", policy::Name(s.scope)},
             {"policy", s.policy ? Json(*s.policy) : Json(nullptr)},
             {"source", s.source},
             {"error", s.error},
             {"updated", s.updated_unix > 0 ? Json(Rfc3339(s.updated_unix)) : Json(nullptr)}});
  }
  return Json{
      {"in_force", std::move(in_force)}, {"reason", status.reason}, {"scopes", std::move(scopes)}};
}

namespace {

// ESP/AH SPIs as 8 hex digits, as tshark, swanctl and `ip xfrm` show them.
std::string SpiHex(uint32_t spi) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i, spi >>= 4) out[i] = kHex[spi & 0xf];
  return out;
}

}  // namespace

Json SasToJson(const service::SaList& sas) {
  Json ike = Json::array();
  for (const auto& sa : sas.ike_sas) {
    Json children = Json::array();
    for (const auto& c : sa.children) {
      children.push_back(Json{{"id", c.id},
                              {"rule", c.rule},
                              {"state", c.state},
                              {"mode", c.mode},
                              {"protocol", c.protocol},
                              {"algorithms", c.algorithms},
                              {"pfs", c.pfs},
                              {"udp_encapsulation", c.udp_encapsulation},
                              {"spi_in", SpiHex(c.spi_in)},
                              {"spi_out", SpiHex(c.spi_out)},
                              {"ah_spi_in", c.ah_spi_in ? Json(SpiHex(c.ah_spi_in)) : Json()},
                              {"ah_spi_out", c.ah_spi_out ? Json(SpiHex(c.ah_spi_out)) : Json()},
                              {"local_ts", c.local_ts},
                              {"remote_ts", c.remote_ts},
                              {"established_unix", c.established_unix},
                              {"rekey_in_seconds", c.rekey_in_seconds},
                              {"expire_in_seconds", c.expire_in_seconds},
                              {"bytes_in", c.bytes_in},
                              {"packets_in", c.packets_in},
                              {"bytes_out", c.bytes_out},
                              {"packets_out", c.packets_out},
                              {"last_used_unix", c.last_used_unix}});
    }
    ike.push_back(Json{{"id", sa.id},
                       {"state", sa.state},
                       {"role", sa.role},
                       {"local", sa.local},
                       {"remote", sa.remote},
                       {"local_id", sa.local_id},
                       {"remote_id", sa.remote_id},
                       {"local_auth", sa.local_auth},
                       {"remote_auth", sa.remote_auth},
                       {"rule", sa.rule},
                       {"algorithms", sa.algorithms},
                       {"spi_i", sa.spi_i},
                       {"spi_r", sa.spi_r},
                       {"nat_local", sa.nat_local},
                       {"nat_remote", sa.nat_remote},
                       {"udp_4500", sa.udp_4500},
                       {"message_id_out", sa.message_id_out},
                       {"message_id_in", sa.message_id_in},
                       {"established_unix", sa.established_unix},
                       {"rekey_in_seconds", sa.rekey_in_seconds},
                       {"expire_in_seconds", sa.expire_in_seconds},
                       {"failure", sa.failure.empty() ? Json(nullptr) : Json(sa.failure)},
                       {"child_sas", std::move(children)}});
  }
  return Json{{"ike_sas", std::move(ike)}};
}

Json StatisticsToJson(const service::IkeStatistics& ike, const service::ServiceCounters& c) {
  Json applies = Json::object();
  for (int i = 0; i < service::kApplyResultCount; ++i) {
    applies[service::Name(static_cast<service::ApplyResult>(i))] = c.policy_applies[i];
  }
  Json rules = Json::array();
  for (const auto& r : ike.rules) {
    rules.push_back(Json{{"rule", r.rule},
                         {"tunnel", r.tunnel},
                         {"ike_sas", r.ike_sas},
                         {"child_sas", r.child_sas}});
  }
  const auto& t = ike.totals;
  Json dropped = Json::object();
  for (int r = 0; r < service::kIkeDropReasonCount; ++r) {
    dropped[service::IkeDropReasonLabel(r)] = t.datagrams_dropped[r];
  }
  return Json{{"ike",
               {{"running", ike.running},
                {"ike_sas_active", t.ike_sas_active},
                {"ike_sas_half_open", t.ike_sas_half_open},
                {"child_sas_active", t.child_sas_active},
                {"negotiations_total", t.negotiations_total},
                {"negotiation_failures_total", t.negotiation_failures_total},
                {"retransmits_total", t.retransmits_total},
                {"dos_drops_total", t.dos_drops_total},
                {"cookies_sent_total", t.cookies_sent_total},
                {"datagrams_dropped_total", t.datagrams_dropped_total},
                {"datagrams_dropped", std::move(dropped)},
                {"fallbacks_to_clear_total", t.fallbacks_to_clear_total},
                {"rules", std::move(rules)}}},
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
