#pragma once

// The IKE engine's figures as Prometheus families, built at scrape time from
// EngineService::GetStatistics() (IkeStatistics: totals, per-rule status, IkeCounters). Every
// label takes values from a fixed set, except `rule`, whose values are the negotiating rules of
// the policy in force (at most kMaxRuleSeries of them are exported).
//
//   ipsec_ike_running                                   gauge    1 while the IKE engine runs
//   ipsec_ike_sas_active                                gauge    established IKE SAs (main mode)
//   ipsec_ike_sas_half_open                             gauge    IKE SAs still negotiating
//   ipsec_child_sas_active                              gauge    child SAs (quick mode pairs)
//   ipsec_ike_negotiations_total{exchange,role,result}  counter  exchanges finished; result is
//        success or the failure reason (ike::FailureReason: 4 x 2 x 10 series)
//   ipsec_ike_negotiation_failures_total                counter  all failed exchanges
//   ipsec_ike_negotiation_duration_seconds{exchange}    histogram first request to last answer,
//        exchanges we initiated (a responder's have no duration)
//   ipsec_ike_retransmits_total{exchange}               counter
//   ipsec_ike_dos_drops_total{reason}                   counter  FAQ 59 limits, bad cookies
//   ipsec_ike_cookies_sent_total                        counter  RFC 7296 §2.6
//   ipsec_ike_rekeys_total{kind="ike|child"}            counter
//   ipsec_ike_sas_established_total                     counter  since start
//   ipsec_child_sas_established_total                   counter  since start
//   ipsec_ike_datagrams_dropped_total{reason}           counter  discarded inbound datagrams
//   ipsec_ike_fallbacks_to_clear_total                  counter  FAQ 16: peer did not answer
//   ipsec_rule_sas{rule,kind="configured|established"}  gauge    per negotiating rule:
//        configured = 1 when the rule has a tunnel endpoint (a gateway that should always be
//        reachable), 0 for a transport rule negotiated on demand; established = its child SAs.
//        "A tunnel that should be up and is not":
//          ipsec_rule_sas{kind="configured"} > 0
//            unless on(rule) ipsec_rule_sas{kind="established"} > 0

#include <prometheus/metric_family.h>

#include <cstddef>
#include <vector>

#include "engine/service/engine_service.h"

namespace ipsec::sidecar::metrics {

// Cardinality guard for ipsec_rule_sas: rules beyond this many are not exported (a policy with
// that many negotiating rules is an operator's mistake; /v1/stats still lists them all).
inline constexpr size_t kMaxRuleSeries = 256;

void AddIkeFamilies(const engine::service::IkeStatistics& stats,
                    std::vector<prometheus::MetricFamily>& out);

}  // namespace ipsec::sidecar::metrics
