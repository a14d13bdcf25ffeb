#include "sidecar/metrics/service_collector.h"

#include <string>

#include "engine/policy/names.h"
#include "sidecar/metrics/families.h"
#include "sidecar/metrics/dataplane_families.h"
#include "sidecar/metrics/ike_families.h"

namespace ipsec::sidecar::metrics {
namespace {

using engine::service::ApplyResult;

void AddPolicyFamilies(const engine::service::ServiceCounters& c,
                       std::vector<prometheus::MetricFamily>& out) {
  out.push_back(Gauge("ipsec_policy_rules_in_force", "Active rules of the policy in force.",
                      c.rules_in_force));
  auto filters = GaugeFamily("ipsec_policy_filters",
                             "Filters of the policy in force: generic as configured, specific "
                             "as expanded into the weighted table (FAQ 22).");
  AddSample(filters, c.filters_generic, {{"kind", "generic"}});
  AddSample(filters, c.filters_specific, {{"kind", "specific"}});
  out.push_back(std::move(filters));
  out.push_back(Gauge("ipsec_policy_generation",
                      "Generation of the filter table in force; increments on every change.",
                      static_cast<double>(c.generation)));
  out.push_back(Gauge("ipsec_policy_conflicts_resolved",
                      "Conflicting filter entries resolved to the most restrictive action "
                      "(block > negotiate > permit, FAQ 23) in the table in force.",
                      c.conflicts_resolved));
  out.push_back(Gauge("ipsec_policy_compile_duration_seconds",
                      "Duration of the last policy compilation.", c.last_compile_seconds));
  auto applies = CounterFamily("ipsec_policy_applies_total",
                               "Policy changes by result: success, invalid (rejected by "
                               "validation), conflict (stale revision or name in use), "
                               "persist_failed (could not be stored durably).");
  for (int r = 0; r < engine::service::kApplyResultCount; ++r) {
    AddSample(applies, static_cast<double>(c.policy_applies[r]),
              {{"result", engine::service::Name(static_cast<ApplyResult>(r))}});
  }
  out.push_back(std::move(applies));
}

void AddEffectiveFamilies(const engine::service::Effective* e,
                          std::vector<prometheus::MetricFamily>& out) {
  auto info = GaugeFamily("ipsec_policy_in_force_info",
                          "The policy in force and the scope it was assigned at (closest scope "
                          "wins, FAQ 20); no sample while no policy is in force.");
  if (e != nullptr && e->policy && e->scope) {
    AddSample(info, 1, {{"scope", engine::policy::Name(*e->scope)}, {"policy", e->policy->name}});
  }
  out.push_back(std::move(info));
  out.push_back(Gauge("ipsec_policy_compiled_timestamp_seconds",
                      "Unix time the filter table in force was compiled.",
                      e != nullptr ? static_cast<double>(e->compiled_unix) : 0));
}

}  // namespace

std::vector<prometheus::MetricFamily> ServiceCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  out.push_back(Gauge("ipsec_ready",
                      "1 once the daemon has loaded its state and read every policy source.",
                      service_.Ready() ? 1 : 0));
  AddPolicyFamilies(service_.Counters(), out);
  AddEffectiveFamilies(service_.GetEffective().get(), out);
  AddIkeFamilies(service_.GetStatistics(), out);
  AddDataplaneFamilies(service_, out);
  return out;
}

}  // namespace ipsec::sidecar::metrics
