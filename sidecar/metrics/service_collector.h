#pragma once

// ServiceCollector: the engine's policy and IKE figures, read from EngineService at scrape
// time (Counters(), GetStatistics(), GetEffective(), Ready()), so a scrape never sees a stale
// value and the engine never knows Prometheus exists (../shared/STYLE.md (c)).
//
//   ipsec_ready                                   gauge   1 once state and sources are loaded
//   ipsec_policy_rules_in_force                   gauge
//   ipsec_policy_filters{kind="generic|specific"} gauge
//   ipsec_policy_generation                       gauge   increments on every table change
//   ipsec_policy_conflicts_resolved               gauge   in the table in force (FAQ 23)
//   ipsec_policy_compile_duration_seconds         gauge   the last compile
//   ipsec_policy_compiled_timestamp_seconds       gauge   when the table in force was compiled
//   ipsec_policy_applies_total{result}            counter success|invalid|conflict|persist_failed
//   ipsec_policy_in_force_info{scope,policy}      gauge 1; no sample while no policy is in force
//   ipsec_ike_*, ipsec_child_sas_*, ipsec_rule_sas  the IKE engine's figures (ike_families.h)
//
// Thread-safe: Collect may run on any thread (the service's readers are thread-safe).

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "engine/service/engine_service.h"

namespace ipsec::sidecar::metrics {

class ServiceCollector final : public prometheus::Collectable {
 public:
  // Not owned; must outlive this collector (and any Exposer it is registered with).
  explicit ServiceCollector(const engine::service::EngineService& service) : service_(service) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const engine::service::EngineService& service_;
};

}  // namespace ipsec::sidecar::metrics
